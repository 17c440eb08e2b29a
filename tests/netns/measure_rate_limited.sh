#!/usr/bin/env bash
# Step time and allreduce share of gan_train on 2 and 4 emulated nodes whose links are
# capped at a rate (default 1gbit, tc tbf), one rank per node, per-rank batch 64; plus
# the allreduce time over the capped links from 4 B to 4 MiB (to fit alpha and beta).
# Prints RESULT lines (tests/bench/run_bench.sh collects them). Root only.
#   tests/netns/measure_rate_limited.sh BUILD_DIR [RATE]
set -uo pipefail
build=$(realpath "${1:?usage: measure_rate_limited.sh BUILD_DIR [RATE]}")
rate=${2:-1gbit}
NET=$(cd "$(dirname "$0")" && pwd)
export NETNS_MPI_PREFIX=gannode NETNS_MPI_SUBNET=10.201.0 NETNS_MPI_RATE=$rate
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
trap 'bash "$NET/setup.sh" destroy > /dev/null 2>&1' EXIT
bash "$NET/setup.sh" destroy > /dev/null 2>&1
bash "$NET/setup.sh" create 4 > /dev/null 2>&1 || { echo "measure_rate_limited: cannot create namespaces" >&2; exit 1; }
hosts=$(mktemp)
bash "$NET/setup.sh" hostfile > "$hosts"
mca=(--mca plm_rsh_agent "$NET/netns-agent" --bind-to none --mca btl tcp,self
     --mca btl_tcp_if_include 10.201.0.0/24 --mca oob_tcp_if_include 10.201.0.0/24)
for n in 2 4; do
  timeout -k 5 300 "$NET/nsrun" gannode1 mpirun --hostfile "$hosts" -np $n "${mca[@]}" \
    "$build/gan_bench" --batch 64 --repeats 3 --seconds 1.5 | grep '^RESULT mode=train' \
    | sed "s/^RESULT /RESULT setting=netns-$rate nodes=$n /"
done
timeout -k 5 300 "$NET/nsrun" gannode1 mpirun --hostfile "$hosts" -np 2 "${mca[@]}" "$build/gan_bench" --allreduce \
  | sed "s/^RESULT /RESULT setting=netns-$rate nodes=2 /"
rm -f "$hosts"
