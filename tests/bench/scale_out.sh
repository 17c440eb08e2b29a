#!/usr/bin/env bash
# Weak scaling of gan_train over emulated nodes (network namespaces, links shaped with tc).
#
#   flock /tmp/gan_heavy.lock bash tests/bench/scale_out.sh BUILD_DIR [RATE]     # root only
#
# 1 rank alone against 2 and 4 nodes x 1 rank, and 2 nodes x 2 ranks, each node's link capped
# at RATE (default 1gbit, tc tbf, tests/netns/setup.sh), per-rank batch 64 and 512, in each
# mode that BUILD_DIR/gan_train supports (the others print a "skipped" row):
#   blocking      --overlap off --compress none   (a build without those flags: no flag, which
#                                                   is its only, blocking, behaviour)
#   overlapped    --overlap on
#   bf16          --compress bf16
#   powersgd:4    --compress powersgd:4
#   hierarchical-off / -on   2 nodes x 2 ranks, blocking's flags plus --hierarchical off|on
#                 (a build without --hierarchical runs -off with no flag: its flat allreduce)
# Every run is gan_train itself with --augment none --eval-every 0 --sample-every 0
# --checkpoint-every 0 --steps N --log-every N/8 (N chosen for SCALE_OUT_SECONDS of training, at least 40)
# and --out in a temporary directory. Its throughput is the median of the progress lines'
# img/s after the first (warm-up); each case runs SCALE_OUT_REPEATS times, round-robin over
# the cases, and reports the median and the range of those runs.
#
# Per case it prints images per second per rank; the weak-scaling efficiency: per-rank img/s
# over img/s of 1 rank alone with the same batch and flags (the hierarchical rows: blocking's),
# and also over 1 rank blocking (compression's own compute then counts against it); the step
# time and its excess over 1 rank alone; the exposed communication per step and the comm share
# that gan_train reports; the bytes each node's veth0 sent and received per step (interface
# counters read in every node namespace at the first and at the last but one progress line),
# the packets the tc shapers and veth0's receive side dropped, and the segments TCP retransmitted
# and its retransmission timeouts in that window (summed over the nodes); then a
# RESULT line per case and a Markdown table.
#
# The machine's cores are shared by every emulated node: 4 ranks on 2 cores are
# oversubscribed, so the 4-node and the 2 x 2 rows cannot exceed cores/ranks (printed as
# cpu_ceiling). The honest headline is 2 nodes x 1 rank. The machine may be shared too: each
# run waits (up to SCALE_OUT_IDLE_WAIT s, 120) for idle cores, measures the CPU time that other
# processes took during its window, and runs again (twice at most) when that exceeds 0.25 of a
# core; others_cores_max in the RESULT line is the worst that remained.
#
# Knobs (environment): SCALE_OUT_REPEATS (3), SCALE_OUT_SECONDS (training seconds per run,
# 3), SCALE_OUT_MODES ("blocking overlapped bf16 powersgd:4"; MODE+overlap adds --overlap on,
# e.g. powersgd:4+overlap), SCALE_OUT_ONLY (an extended regex; only cases whose label
# "nodes=N ranks_per_node=R batch=B mode=M" matches run, with the 1-rank runs they need),
# SCALE_OUT_MPI_ARGS (extra mpirun arguments for the multi-node runs, e.g. "--mca
# coll_tuned_use_dynamic_rules 1 --mca coll_tuned_allreduce_algorithm 4" to force a ring),
# SCALE_OUT_LOG (also append the RESULT lines and the table to this file). About 6 minutes on
# 2 cores with every mode (28 cases x 3 runs), plus any wait for idle cores.
set -uo pipefail
usage="usage: scale_out.sh BUILD_DIR [RATE]   (root; wrap it in flock /tmp/gan_heavy.lock)"
build=$(realpath "${1:?$usage}")
rate=${2:-1gbit}
gan=$build/gan_train
[ -x "$gan" ] || { echo "scale_out: no $gan" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "scale_out: needs root (network namespaces and tc)" >&2; exit 2; }
repeats=${SCALE_OUT_REPEATS:-3}
seconds=${SCALE_OUT_SECONDS:-3}
only=${SCALE_OUT_ONLY:-}
read -r -a extra_mpi <<< "${SCALE_OUT_MPI_ARGS:-}"
NET=$(cd "$(dirname "$0")/../netns" && pwd)
export NETNS_MPI_PREFIX=ganscale NETNS_MPI_SUBNET=10.203.0 NETNS_MPI_RATE=$rate
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
P=$NETNS_MPI_PREFIX
tmp=$(mktemp -d /tmp/scale_out.XXXXXX)
trap 'bash "$NET/setup.sh" destroy > /dev/null 2>&1; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
bash "$NET/setup.sh" destroy > /dev/null 2>&1
bash "$NET/setup.sh" create 4 > /dev/null 2>&1 || { echo "scale_out: cannot create network namespaces" >&2; exit 1; }
for n in 1 2 4; do bash "$NET/setup.sh" hostfile | head -$n > "$tmp/hosts$n"; done
NETNS_MPI_SLOTS=2 bash "$NET/setup.sh" hostfile | head -2 > "$tmp/hosts2x2"
mca=(--mca plm_rsh_agent "$NET/netns-agent" --bind-to none --mca btl tcp,self,vader
     --mca btl_tcp_if_include "$NETNS_MPI_SUBNET.0/24" --mca oob_tcp_if_include "$NETNS_MPI_SUBNET.0/24"
     -x OPENBLAS_NUM_THREADS)
common=(--augment none --eval-every 0 --sample-every 0 --checkpoint-every 0)

help=$("$gan" --help 2>&1)
has() { grep -q -- "$1" <<< "$help"; }
# mode_flags MODE: the mode's gan_train flags on stdout, or status 1 and the reason. MODE+overlap
# (e.g. powersgd:4+overlap, for SCALE_OUT_MODES) adds --overlap on to MODE's flags.
mode_flags() {
  local blocking=() m=${1%+overlap} f
  has --overlap && blocking+=(--overlap off)
  has --compress && blocking+=(--compress none)
  case $m in
    blocking) f="${blocking[*]}" ;;
    overlapped) has --overlap || { echo "this build has no --overlap"; return 1; }; f="--overlap on" ;;
    bf16 | powersgd:*)
      has --compress || { echo "this build has no --compress"; return 1; }; f="--compress $m" ;;
    hierarchical-off) has --hierarchical && blocking+=(--hierarchical off); f="${blocking[*]}" ;;
    hierarchical-on)
      has --hierarchical || { echo "this build has no --hierarchical"; return 1; }
      f="${blocking[*]} --hierarchical on" ;;
    *) echo "unknown mode $m"; return 1 ;;
  esac
  if [ "$m" != "$1" ]; then
    has --overlap || { echo "this build has no --overlap"; return 1; }
    f="$f --overlap on"
  fi
  echo "$f"
}
cores=$(nproc)
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
isa=$(grep -o -w 'avx512f\|avx512_bf16\|amx_tile\|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')
echo "scale_out: $gan, links $rate (tc tbf), $cores cores: $cpu (${isa:-no AVX-512}), $(mpirun --version | head -1)"
echo "scale_out: $repeats runs per case of about ${seconds}s of training; 4 ranks on $cores cores are oversubscribed (4 nodes x 1, 2 nodes x 2): those rows cannot exceed $cores/4 of 1 rank alone; the honest headline is 2 nodes x 1 rank"

# The cases: "nodes ranks_per_node batch mode". The 1-rank runs come first in each round.
read -r -a modes <<< "${SCALE_OUT_MODES:-blocking overlapped bf16 powersgd:4}"
[[ " ${modes[*]} " == *" blocking "* ]] || modes=(blocking "${modes[@]}")   # every efficiency needs it
cases=()
for b in 64 512; do for m in "${modes[@]}"; do cases+=("1 1 $b $m"); done; done
for b in 64 512; do
  for n in 2 4; do for m in "${modes[@]}"; do cases+=("$n 1 $b $m"); done; done
  for m in hierarchical-off hierarchical-on; do cases+=("2 2 $b $m"); done
done
label() { echo "nodes=$1 ranks_per_node=$2 batch=$3 mode=$4"; }
wanted() { # $@: a case; the 1-rank runs that a wanted case needs are wanted too
  [ -z "$only" ] && return 0
  local n r b m c; read -r n r b m <<< "$*"
  if [ "$n" = 1 ]; then
    for c in "${cases[@]}"; do
      set -- $c
      [ "$1" != 1 ] || continue
      local base=$4; [[ $4 == hierarchical-* ]] && base=blocking
      grep -Eq -- "$only" <<< "$(label 1 1 "$b" "$m")" && return 0
      [ "$3" = "$b" ] && { [ "$base" = "$m" ] || [ "$m" = blocking ]; } && grep -Eq -- "$only" <<< "$(label $c)" && return 0
    done
    return 1
  fi
  grep -Eq -- "$only" <<< "$(label "$n" "$r" "$b" "$m")"
}

# snapshot NODES: per node "tx rx drops retrans rto rx_dropped": veth0's bytes, its tc qdisc's
# drops, TCP's retransmitted segments and retransmission timeouts, veth0's receive drops.
snapshot() {
  local i
  for ((i = 1; i <= $1; i++)); do
    ip netns exec "$P$i" sh -c 'cat /sys/class/net/veth0/statistics/tx_bytes /sys/class/net/veth0/statistics/rx_bytes
      tc -s qdisc show dev veth0 | tr -d "(),:" | awk "{for (i = 1; i < NF; i++) if (\$i == \"dropped\") d += \$(i + 1)} END {print d + 0}"
      awk "/^Tcp:/ {if (!c) {for (i = 1; i <= NF; i++) if (\$i == \"RetransSegs\") c = i} else print \$c}" /proc/net/snmp
      awk "/^TcpExt:/ {if (!c) {for (i = 1; i <= NF; i++) if (\$i == \"TCPTimeouts\") c = i} else print \$c}" /proc/net/netstat
      cat /sys/class/net/veth0/statistics/rx_dropped' \
      | tr '\n' ' '
    echo
  done
}

# A guess of the step time (ms) for a case's first run; later runs use the measured one.
guess_ms() {
  local n=$1 r=$2 b=$3 ranks=$(($1 * $2))
  awk -v n="$n" -v b="$b" -v ranks="$ranks" -v cores="$cores" 'BEGIN {
    c = 0.135 + 0.0192 * b; if (ranks > cores) c *= ranks / cores
    comm = (n == 1) ? 0 : (n == 2 ? 6 : 45); print c + comm }'
}
declare -A step_ms
records=$tmp/records.tsv   # case label, run, ranks, steps, median img/s (all ranks), ...
: > "$records"

# The machine is shared: CPU time (user+nice+system, all cores) in clock ticks, and the CPU
# time of this run's own processes (everything with its --out on the command line).
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '/^cpu / { print $2 + $3 + $4; exit }' /proc/stat; }
own_ticks() {
  local p t=0
  for p in $(pgrep -f -- "--out $tmp/out"); do
    t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2> /dev/null || echo 0)))
  done
  echo $t
}
# wait_idle: until the cores are idle (under 10% busy over 0.3 s), at most SCALE_OUT_IDLE_WAIT s.
idle_wait=${SCALE_OUT_IDLE_WAIT:-120}
wait_idle() {
  local t0=$SECONDS a b
  while :; do
    a=$(cpu_ticks); sleep 0.3; b=$(cpu_ticks)
    awk -v d=$((b - a)) -v t="$tck" -v c="$cores" 'BEGIN { exit !(d / t / 0.3 / c < 0.10) }' && return 0
    ((SECONDS - t0 >= idle_wait)) && { echo "  (the cores are still busy after ${idle_wait}s: running anyway)"; return 1; }
    sleep 1
  done
}

# attempt REPEAT n r b mode flags...: one run; its record in $tmp/rec.
attempt() {
  local rep=$1 n=$2 r=$3 b=$4 m=$5; shift 5
  local key="$n $r $b $m" ranks=$((n * r)) hosts=hosts$n ms every
  [ "$r" = 2 ] && hosts=hosts2x2
  ms=${step_ms[$key]:-$(guess_ms "$n" "$r" "$b")}
  every=$(awk -v ms="$ms" -v s="$seconds" 'BEGIN { e = int(s * 1000 / ms / 8); print e < 5 ? 5 : e }')
  steps=$((every * 8))
  local out=$tmp/out log=$tmp/run.log extra=()
  rm -rf "$out"
  [ "$n" -gt 1 ] && extra=("${extra_mpi[@]}")
  wait_idle
  local t0; t0=$(date +%s.%N)
  timeout -k 5 180 "$NET/nsrun" "${P}1" mpirun --hostfile "$tmp/$hosts" -np "$ranks" "${mca[@]}" "${extra[@]}" \
    "$gan" "${common[@]}" --batch-size "$b" --steps "$steps" --log-every "$every" --out "$out" "$@" > "$log" 2>&1 &
  local job=$! s1="" c1="" c2="" w1="" w2=""
  # At the first and at the last but one progress line (as they arrive: tail -f, no polling;
  # both mid-run, so that the delay between a line and its snapshot is alike at both ends):
  # the interface counters of every node and the CPU time of the machine and of this run.
  rm -f "$tmp"/{s1,c1,c2,w1,w2}
  tail -n +1 -s 0.2 -f --pid=$job "$log" 2> /dev/null | while IFS= read -r line; do
    [[ $line =~ ^step\ +([0-9]+)/ ]] || continue
    if [ ! -e "$tmp/s1" ]; then
      echo "${BASH_REMATCH[1]}" > "$tmp/s1"
      echo "$(date +%s.%N) $(cpu_ticks) $(own_ticks)" > "$tmp/w1"; snapshot "$n" > "$tmp/c1"
    elif [ "${BASH_REMATCH[1]}" = "$((steps - every))" ]; then
      echo "$(date +%s.%N) $(cpu_ticks) $(own_ticks)" > "$tmp/w2"; snapshot "$n" > "$tmp/c2"; break
    fi
  done
  [ -e "$tmp/c2" ] && { s1=$(cat "$tmp/s1"); c1=$(cat "$tmp/c1"); c2=$(cat "$tmp/c2"); w1=$(cat "$tmp/w1"); w2=$(cat "$tmp/w2"); }
  wait $job
  local rc=$? wall; wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  # img/s of the progress lines after the first; exposed communication and img/s of a done
  # or summary line, if gan_train prints them; the other processes' CPU (in cores) meanwhile.
  /usr/bin/python3 - "$log" "$rc" "$ranks" "$steps" "$s1" "$c1" "$c2" "$wall" "$w1" "$w2" "$tck" "$every" << 'EOF' > "$tmp/rec"
import re, statistics, sys
log, rc, ranks, steps, s1, c1, c2, wall, w1, w2, tck, every = sys.argv[1:]
lines = open(log, errors="replace").read().splitlines()
rates = [float(m.group(1)) for l in lines if l.startswith("step ") for m in [re.search(r"([0-9.]+) img/s", l)] if m]
rate = statistics.median(rates[1:]) if len(rates) > 1 else float("nan")
exposed, done_rate = "n/a", "n/a"
for l in lines:
    m = re.search(r"exposed[^0-9]*?([0-9.]+) *(ms|us|µs)\b", l)
    if m:
        exposed = f"{float(m.group(1)) / (1000 if m.group(2) != 'ms' else 1):.3f}"
    m = re.search(r"([0-9.]+) img/s per rank", l)   # the summary line: "communication: exposed ..."
    if m and not l.startswith("step "):
        done_rate = m.group(1)
    elif l.startswith("done") and re.search(r"[0-9.]+ img/s", l):
        done_rate = f"{float(re.search(r'([0-9.]+) img/s', l).group(1)) / int(ranks):.1f}"
comm = [float(m.group(1)) for l in lines if l.startswith("step ") for m in [re.search(r"comm ([0-9.]+)%", l)] if m]
comm = f"{statistics.median(comm[1:]):.0f}" if len(comm) > 1 else "n/a"
tx = rx = drops = retrans = rto = rxdrop = foreign = "n/a"
if c1 and c2 and s1:
    a = [list(map(int, x.split())) for x in c1.strip().splitlines()]
    b = [list(map(int, x.split())) for x in c2.strip().splitlines()]
    k = int(steps) - int(every) - int(s1)
    tx = f"{statistics.mean(y[0] - x[0] for x, y in zip(a, b)) / k:.0f}"
    rx = f"{statistics.mean(y[1] - x[1] for x, y in zip(a, b)) / k:.0f}"
    drops = str(sum(y[2] - x[2] for x, y in zip(a, b)))
    retrans = str(sum(y[3] - x[3] for x, y in zip(a, b)))
    rto = str(sum(y[4] - x[4] for x, y in zip(a, b)))
    rxdrop = str(sum(y[5] - x[5] for x, y in zip(a, b)))
if w1 and w2:
    (t1, j1, o1), (t2, j2, o2) = map(float, w1.split()), map(float, w2.split())
    foreign = f"{max(0.0, (j2 - j1) - (o2 - o1)) / float(tck) / (t2 - t1):.2f}"
if rc != "0":
    rate = float("nan")
print("\t".join([rc, ranks, steps, f"{rate:.1f}", exposed, done_rate, tx, rx, drops, retrans, wall, foreign, comm,
                 rxdrop, rto]))
EOF
  [ "$rc" = 0 ] || cp "$log" "$tmp/failed.log"
}

# run_one REPEAT n r b mode flags...: an attempt, repeated (at most twice more) when other
# processes took more than 0.25 of a core during its measured window.
run_one() {
  local rep=$1 n=$2 r=$3 b=$4 m=$5; shift 5
  local try out_rc out_rate out_exposed out_tx out_drops out_retrans out_wall out_foreign steps
  for try in 1 2 3; do
    attempt "$rep" "$n" "$r" "$b" "$m" "$@"
    IFS=$'\t' read -r out_rc _ _ out_rate out_exposed _ out_tx _ out_drops out_retrans out_wall out_foreign _ < "$tmp/rec"
    [ "$out_rc" = 0 ] || break
    awk -v f="$out_foreign" 'BEGIN { exit !(f == "n/a" || f < 0.25) }' && break
    echo "  run $rep $(label "$n" "$r" "$b" "$m"): other processes took $out_foreign cores meanwhile; again"
  done
  printf '%s\t%s\t%s\t%s\n' "$(label "$n" "$r" "$b" "$m")" "$rep" "$*" "$(cat "$tmp/rec")" >> "$records"
  if [ "$out_rc" != 0 ]; then
    echo "  run $rep $(label "$n" "$r" "$b" "$m"): FAILED (status $out_rc): $(grep -v '^step' "$tmp/failed.log" | tail -2 | tr '\n' ' ')"
    return
  fi
  local ranks=$((n * r))
  step_ms["$n $r $b $m"]=$(awk -v x="$out_rate" -v b="$b" -v k="$ranks" 'BEGIN { print b * k / x * 1000 }')
  printf '  run %s %-55s %5d steps %5.1fs %8.0f img/s per rank  tx %s B/step  tbf drops %s  retrans %s  exposed %s  others %s cores\n' \
    "$rep" "$(label "$n" "$r" "$b" "$m")" "$steps" "$out_wall" \
    "$(awk -v x="$out_rate" -v k="$ranks" 'BEGIN { print x / k }')" "$out_tx" "$out_drops" "$out_retrans" "$out_exposed" "$out_foreign"
}

start=$(date +%s)
for rep in $(seq "$repeats"); do
  echo "== round $rep of $repeats"
  for c in "${cases[@]}"; do
    read -r n r b m <<< "$c"
    wanted $c || continue
    if ! flags=$(mode_flags "$m"); then
      [ "$rep" = 1 ] && echo "  $(label $c): skipped ($flags)"
      printf '%s\t%s\tskipped (%s)\n' "$(label $c)" "$rep" "$flags" >> "$records"
      continue
    fi
    read -r -a fl <<< "$flags"
    run_one "$rep" $c "${fl[@]}"
  done
done
echo "scale_out: $(( $(date +%s) - start )) s of runs"

/usr/bin/python3 - "$records" "$cores" "$rate" "$cpu" "${SCALE_OUT_MPI_ARGS:-}" << 'EOF' | tee -a "${SCALE_OUT_LOG:-/dev/null}"
import math, statistics, sys
from collections import OrderedDict
records, cores, rate, cpu, mpi_args = sys.argv[1:]
cores = int(cores)
cases = OrderedDict()
for line in open(records):
    f = line.rstrip("\n").split("\t")
    c = cases.setdefault(f[0], {"runs": [], "skipped": None, "flags": ""})
    if f[2].startswith("skipped"):
        c["skipped"] = f[2]
        continue
    c["flags"] = f[2]
    rc, ranks, steps, r, exposed, done_rate, tx, rx, drops, retrans, wall, foreign, comm, rxdrop, rto = f[3:]
    if rc == "0" and r != "nan":
        c["runs"].append(dict(ranks=int(ranks), rate=float(r) / int(ranks), exposed=exposed, done=done_rate,
                              tx=tx, rx=rx, drops=drops, retrans=retrans, foreign=foreign, comm=comm,
                              rxdrop=rxdrop, rto=rto))

def kv(label):
    return dict(x.split("=", 1) for x in label.split())

def med(xs):
    xs = [float(x) for x in xs if x not in ("n/a", "")]
    return statistics.median(xs) if xs else None

def base_of(label):
    k = kv(label)
    mode = "blocking" if k["mode"].startswith("hierarchical") else k["mode"]
    return f"nodes=1 ranks_per_node=1 batch={k['batch']} mode={mode}"

rows = []
for label, c in cases.items():
    k = kv(label)
    n, rpn, b = int(k["nodes"]), int(k["ranks_per_node"]), int(k["batch"])
    ranks = n * rpn
    ceiling = min(1.0, cores / ranks)
    if c["skipped"] and not c["runs"]:
        print(f"RESULT scale_out {label} skipped=\"{c['skipped'][9:-1]}\"")
        rows.append((k, None, c["skipped"]))
        continue
    runs = c["runs"]
    if not runs:
        print(f"RESULT scale_out {label} failed=1")
        rows.append((k, None, "failed"))
        continue
    rates = [x["rate"] for x in runs]
    m = statistics.median(rates)
    base = cases.get(base_of(label), {}).get("runs", [])
    bm = statistics.median([x["rate"] for x in base]) if base else None
    eff = (m / bm) if bm else None
    eff_rng = (min(rates) / bm, max(rates) / bm) if bm else None
    blk = cases.get(f"nodes=1 ranks_per_node=1 batch={b} mode=blocking", {}).get("runs", [])
    eff_blk = m / statistics.median([x["rate"] for x in blk]) if blk else None
    step = b / m * 1000
    extra = step - b / bm * 1000 if bm else None
    exposed = med(x["exposed"] for x in runs)
    tx, rx = med(x["tx"] for x in runs), med(x["rx"] for x in runs)
    drops = med(x["drops"] for x in runs)
    retrans = med(x["retrans"] for x in runs)
    rxdrop, rto = med(x["rxdrop"] for x in runs), med(x["rto"] for x in runs)
    done = med(x["done"] for x in runs)
    comm = med(x["comm"] for x in runs)
    others = [float(x["foreign"]) for x in runs if x["foreign"] != "n/a"]
    others = max(others) if others else None
    fmt = lambda v, f: "n/a" if v is None else format(v, f)
    print(f"RESULT scale_out {label} rate={rate} runs={len(runs)} img_s_per_rank={m:.0f} "
          f"img_s_min={min(rates):.0f} img_s_max={max(rates):.0f} efficiency={fmt(eff, '.3f')} "
          f"eff_min={fmt(eff_rng and eff_rng[0], '.3f')} eff_max={fmt(eff_rng and eff_rng[1], '.3f')} "
          f"eff_vs_blocking_1rank={fmt(eff_blk, '.3f')} "
          f"cpu_ceiling={ceiling:.2f} step_ms={step:.3f} extra_ms={fmt(extra, '.3f')} "
          f"tx_bytes_per_step={fmt(tx, '.0f')} rx_bytes_per_step={fmt(rx, '.0f')} exposed={fmt(exposed, '.3f')} "
          f"drops={fmt(drops, '.0f')} rx_dropped={fmt(rxdrop, '.0f')} retrans={fmt(retrans, '.0f')} rto={fmt(rto, '.0f')} summary_img_s_per_rank={fmt(done, '.0f')} comm_pct={fmt(comm, '.0f')} "
          f"others_cores_max={fmt(others, '.2f')} "
          f"flags=\"{c['flags']}\"")
    rows.append((k, dict(m=m, lo=min(rates), hi=max(rates), eff=eff, rng=eff_rng, blk=eff_blk, ceiling=ceiling, step=step,
                         extra=extra, exposed=exposed, tx=tx, rx=rx, drops=drops, retrans=retrans, rxdrop=rxdrop, rto=rto,
                         flags=c["flags"]), None))

print()
print(f"Links {rate} (tc tbf), {cores} cores: {cpu}. The headline is 2 nodes × 1 rank. Median of the runs, "
      "range in brackets. Efficiency = img/s "
      "per rank ÷ img/s of 1 rank alone (same batch and flags; the hierarchical rows: blocking's). "
      "'vs 1 rank blocking' divides by 1 rank with --overlap off --compress none instead (compression's own "
      "compute counts against it). Rows with 4 ranks share the cores: their ceiling is the cpu column."
      + (f" Extra mpirun arguments: `{mpi_args}`." if mpi_args else ""))
print()
print("| nodes × ranks | batch | mode | img/s per rank | efficiency | vs 1 rank blocking | cpu ceiling | step ms | over 1 rank, ms | exposed ms | wire B/step per node (tx / rx) | drops (tbf / veth rx) | TCP retransmits / timeouts |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for k, r, why in rows:
    head = f"| {k['nodes']} × {k['ranks_per_node']} | {k['batch']} | {k['mode']} |"
    if r is None:
        print(head + f" {why} |" + " |" * 10)
        continue
    f0 = lambda v: "n/a" if v is None else f"{v:,.0f}"
    eff = "n/a" if r["eff"] is None else f"{r['eff']:.2f} ({r['rng'][0]:.2f}–{r['rng'][1]:.2f})"
    if k["nodes"] == "1":
        eff = "1 (baseline)"
    blk = "n/a" if r["blk"] is None else f"{r['blk']:.2f}"
    print(head + f" {r['m']:,.0f} ({r['lo']:,.0f}–{r['hi']:,.0f}) | {eff} | {blk} | {r['ceiling']:.2f} | {r['step']:.2f} | "
          + ("n/a" if r["extra"] is None else f"{r['extra']:.2f}") + " | "
          + ("n/a" if r["exposed"] is None else f"{r['exposed']:.2f}") + " | "
          + ("" if r["tx"] is None else f"{f0(r['tx'])} / {f0(r['rx'])}") + " | "
          + ("" if r["drops"] is None else f"{f0(r['drops'])} / {f0(r['rxdrop'])}") + " | "
          + ("" if r["retrans"] is None else f"{f0(r['retrans'])} / {f0(r['rto'])}") + " |")
EOF
