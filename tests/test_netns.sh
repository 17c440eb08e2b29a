#!/usr/bin/env bash
# Multi-node on emulated hosts: each "node" is a Linux network namespace with its own
# veth link to a bridge, so ranks on different nodes talk TCP over a real link that
# can be cut (tests/netns/setup.sh). Open MPI's rsh launcher starts a daemon in each
# node through tests/netns/netns-agent. Checks: 2- and 4-node runs end byte-identical
# to 1-node runs with the same ranks and seed; a cut link ends the job within 15 s with
# nothing left running, and the run resumes; a short outage is survived.
source "$(dirname "$0")/lib.sh" "$@"
NET=$HERE/netns
export NETNS_MPI_PREFIX=gannode NETNS_MPI_SUBNET=10.201.0
if [ "$(id -u)" -ne 0 ] || ! command -v ip > /dev/null || ! ip netns add gannode-probe 2> /dev/null; then
  echo "SKIP: network namespaces need root and iproute2 (ip netns add failed)"; exit 77
fi
ip netns del gannode-probe
trap 'bash "$NET/setup.sh" destroy > /dev/null 2>&1; rm -rf "$TMP"' EXIT
bash "$NET/setup.sh" destroy > /dev/null 2>&1
bash "$NET/setup.sh" create 4 > /dev/null 2>&1 || { bad "could not create 4 network namespaces"; summary; exit 1; }
cd "$TMP"
bash "$NET/setup.sh" hostfile > hosts4
head -2 hosts4 > hosts2

# The settings the project documents for multi-node runs (jobs/run_hosts.sh): TCP between
# nodes on the cluster network, no core binding (every fake node sees the same cores), and
# keepalive probes so a lost node is noticed in seconds.
mca=(--mca plm_rsh_agent "$NET/netns-agent" --bind-to none --mca btl tcp,self,vader
     --mca btl_tcp_if_include 10.201.0.0/24 --mca oob_tcp_if_include 10.201.0.0/24
     --mca oob_tcp_keepalive_time 5 --mca oob_tcp_keepalive_intvl 1 --mca oob_tcp_keepalive_probes 3)
# on_nodes HOSTFILE N ARGS...: gan_train on N ranks spread over the hostfile's nodes,
# launched from node 1 (mpirun must run inside a node's namespace).
on_nodes() {
  local hosts=$1 n=$2; shift 2
  timeout -k 5 ${TIMEOUT:-180} "$NET/nsrun" gannode1 "$MPIRUN" --hostfile "$hosts" -np "$n" "${mca[@]}" \
    -x OPENBLAS_NUM_THREADS "$GAN" "$@"
}
args=(--steps 300 --log-every 100 --sample-every 150 --checkpoint-every 150 --eval-every 0)

for nodes in 2 4; do
  on_nodes hosts$nodes $nodes "${args[@]}" --out run > multi$nodes.log 2>&1
  rc=$?  # before the message's $(...) resets $?
  check "$nodes-node run exits 0 (got $rc: $(tail -2 multi$nodes.log))" test $rc -eq 0
  check "$nodes-node run says it is done" grep -q "done: step 300 of 300" multi$nodes.log
  check "$nodes-node run: start line lists $nodes hosts" grep -q "$nodes ranks on $nodes hosts: gannode1 (1)" multi$nodes.log
  check "$nodes-node run: layout" $PY "$HERE/check_layout.py" run --steps 300 --world $nodes
  mv run multi$nodes
  mpi $nodes "${args[@]}" --out run > single$nodes.log 2>&1
  check "$nodes nodes vs 1 node, $nodes ranks: byte-identical checkpoints" cmp multi$nodes/checkpoint.h5 run/checkpoint.h5
  rm -rf run
done

# Two ranks on each of 2 nodes: --hierarchical (auto: on here) sums within each node first and
# sends one rank's data per node; it must say so, be deterministic, and end within float
# rounding of the flat sums (--hierarchical off) on the same nodes.
sed 's/slots=1/slots=2/' hosts2 > hosts2x2
hargs=(--steps 60 --log-every 30 --sample-every 0 --checkpoint-every 0 --eval-every 0 --cooldown 0)
on_nodes hosts2x2 4 "${hargs[@]}" --out hier > hier.log 2>&1
rc=$?
check "2 nodes x 2 ranks, --hierarchical auto: exits 0 (got $rc: $(tail -2 hier.log))" test $rc -eq 0
check "2 nodes x 2 ranks: the start-up says the sums are hierarchical" grep -q "4 ranks on 2 hosts (up to 2 per host).*hierarchical: within each host first" hier.log
on_nodes hosts2x2 4 "${hargs[@]}" --out hier2 > /dev/null 2>&1
check "2 nodes x 2 ranks, hierarchical: deterministic" $PY "$HERE/same_state.py" hier/checkpoint.h5 hier2/checkpoint.h5
on_nodes hosts2x2 4 "${hargs[@]}" --hierarchical off --out flat > flat.log 2>&1
check "2 nodes x 2 ranks, --hierarchical off: exits 0" test $? -eq 0
check "2 nodes x 2 ranks: hierarchical and flat sums agree to float rounding" $PY "$HERE/close_state.py" flat/checkpoint.h5 hier/checkpoint.h5
rm -rf hier hier2 flat

# Cut node 2's link mid-run: the job must end, with a message, within 15 s.
cut_trials=${CUT_TRIALS:-3} slow=0 times=()
for trial in $(seq "$cut_trials"); do
  rm -rf cut
  TIMEOUT=120 on_nodes hosts2 2 --steps 1000000 --batch-size 16 --log-every 100 --checkpoint-every 500 --eval-every 0 --out cut > cut.log 2>&1 &
  job=$!
  for _ in $(seq 300); do grep -q "^step *1[0-9][0-9][0-9]/" cut.log 2> /dev/null && break; sleep 0.1; done
  t0=$(date +%s.%N)
  bash "$NET/setup.sh" link gannode2 down
  wait "$job"; status=$?
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  times+=("$secs")
  awk -v s="$secs" 'BEGIN { exit !(s <= 15) }' || slow=$((slow + 1))
  sleep 1
  left=$(ip netns pids gannode1; ip netns pids gannode2)
  check "cut $trial: job failed (status $status) with a message" \
    bash -c "[ $status -ne 0 ] && grep -qiE 'lost communication|unreachable|connection|terminated' cut.log"
  check "cut $trial: nothing left running in the nodes ($left)" test -z "$left"
  bash "$NET/setup.sh" link gannode2 up
done
echo "link cut -> job exit: ${times[*]} s over $cut_trials trials"
check "every cut ended the job within 15 s (${times[*]} s)" test "$slow" -eq 0
check "the last checkpoint is intact and the run resumes" \
  bash -c "timeout 120 '$MPIRUN' --oversubscribe -n 2 '$GAN' --steps \$(( \$($PY -c \"import h5py; print(h5py.File('cut/checkpoint.h5').attrs['step'])\") + 50 )) --batch-size 16 --out cut --resume > resume.log 2>&1"

# A 3 s outage is survived: TCP retransmits once the link is back.
on_nodes hosts2 2 --steps 3000 --batch-size 16 --log-every 100 --eval-every 0 --out flap > flap.log 2>&1 &
job=$!
for _ in $(seq 300); do grep -q "^step *5[0-9][0-9]/" flap.log 2> /dev/null && break; sleep 0.1; done
bash "$NET/setup.sh" link gannode2 down; sleep 3; bash "$NET/setup.sh" link gannode2 up
wait "$job"
check "a 3 s outage is survived ($(tail -1 flap.log))" grep -q "done: step 3000 of 3000" flap.log
summary
