#!/usr/bin/env bash
# run_fuzz.sh FUZZER CORPUS_DIR SECONDS: replay every corpus input (the regression
# tests: any crash ever found is kept there), then fuzz for SECONDS from a copy of
# the corpus. Fails on any crash, leak or sanitizer report.
set -euo pipefail
fuzzer=$1 corpus=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "replaying $(ls "$corpus" | wc -l) inputs from $corpus"
"$fuzzer" "$corpus"/* 2>&1 | tail -2
cp "$corpus"/* "$work"/
"$fuzzer" -max_total_time="$seconds" -seed=1 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work" 2> "$work.log" || { tail -60 "$work.log"; rm -f "$work.log"; exit 1; }
grep -E "stat::number_of_executed_units|stat::new_units_added" "$work.log"
rm -f "$work.log"
