#!/usr/bin/env bash
# gan_train across hosts with mpirun and a hostfile, with settings that make a lost host
# end the job within seconds instead of minutes.
#
#   jobs/run_hosts.sh HOSTFILE RANKS [gan_train options]
#
# HOSTFILE lists one host per line with its slots ("node1 slots=16"). The build and the
# dataset must be at the same path on every host (or give --data).
# Environment: GAN_TRAIN (default build/gan_train), MPIRUN_ARGS (extra mpirun arguments,
# e.g. "--mca btl_tcp_if_include 10.0.0.0/24" to pick the network).
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,10p' "$0"; exit 2; }
hostfile=$1 ranks=$2; shift 2
GAN_TRAIN=${GAN_TRAIN:-$(cd "$(dirname "$0")/.." && pwd)/build/gan_train}
fail_fast=(
  # The launcher's daemons talk over TCP; by default a dead peer is noticed only after the
  # kernel's keepalive (300 s + 9 x 20 s). Probe after 5 s idle, every 1 s, give up after 3.
  --mca oob_tcp_keepalive_time 5 --mca oob_tcp_keepalive_intvl 1 --mca oob_tcp_keepalive_probes 3
)
# One rank per slot, one OpenBLAS thread per rank; ranks are bound to cores by default.
# -x passes the variable to the remote ranks.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
exec mpirun --hostfile "$hostfile" -np "$ranks" "${fail_fast[@]}" -x OPENBLAS_NUM_THREADS \
  ${MPIRUN_ARGS:-} "$GAN_TRAIN" "$@"
