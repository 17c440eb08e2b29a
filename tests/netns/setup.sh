#!/usr/bin/env bash
# setup.sh (from ../shared/netns-mpi, owned here) - fake a small cluster on one Linux machine with network namespaces.
#
# Every "node" is a network namespace with one veth link (veth0) to a bridge that
# lives in its own "switch" namespace, so nothing is added to the host's own
# network: no interfaces, addresses or routes outside the namespaces.
#
#   setup.sh create [N]   make N nodes (default 2): <P>1..<P>N at <SUBNET>.1..N/24
#   setup.sh destroy      kill every process still inside the namespaces, delete them
#                         and the Open MPI session dirs left by killed jobs
#   setup.sh status       list nodes, addresses, link state, processes inside
#   setup.sh hostfile     print an Open MPI hostfile for the nodes (slots=NETNS_MPI_SLOTS)
#
#   setup.sh link <node> down|up   cut/restore a node's link (inside the node's namespace)
#
# Knobs (environment):
#   NETNS_MPI_PREFIX  namespace/host name prefix (default mpinode); switch ns is <P>-sw
#   NETNS_MPI_SUBNET  first three octets of the /24 (default 10.200.0)
#   NETNS_MPI_SLOTS   slots per node in the hostfile (default 1)
#   NETNS_MPI_RATE    optional egress rate limit per node link, e.g. 1gbit (tc tbf);
#                     this kernel has no netem, so latency cannot be added
#   NETNS_MPI_TCP_RETRIES2  optional net.ipv4.tcp_retries2 in each node (kernel default 15,
#                     i.e. a dead peer is noticed after ~15 min; 3-5 gives seconds)
#
# Root only. Name resolution: /etc/netns/<ns>/hosts is bind-mounted over /etc/hosts by
# `ip netns exec`, so every node resolves every other node by name.
set -euo pipefail

PREFIX=${NETNS_MPI_PREFIX:-mpinode}
SUBNET=${NETNS_MPI_SUBNET:-10.200.0}
SLOTS=${NETNS_MPI_SLOTS:-1}
SW=$PREFIX-sw
STATE=/run/netns-mpi-$PREFIX   # remembers how many nodes we made

log() { printf '[netns-mpi] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"
command -v ip >/dev/null || die "iproute2 (ip) is missing: apt-get install -y iproute2"

ns_exists() { ip netns list | awk '{print $1}' | grep -qx -- "$1"; }
nodes() { # names of the nodes we created
    local n; n=$(cat "$STATE/count" 2>/dev/null || echo 0)
    local i; for ((i = 1; i <= n; i++)); do echo "$PREFIX$i"; done
}

create() {
    local n=${1:-2}
    [[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le 250 ]] || die "node count must be 1..250, got '$n'"
    ns_exists "$SW" && die "$SW already exists; run '$0 destroy' first"
    mkdir -p "$STATE"; echo "$n" >"$STATE/count"

    ip netns add "$SW"
    ip -n "$SW" link set lo up
    ip -n "$SW" link add br0 type bridge   # STP off: ports forward at once
    ip -n "$SW" link set br0 up

    local hosts="127.0.0.1 localhost"$'\n'
    local i; for ((i = 1; i <= n; i++)); do hosts+="$SUBNET.$i $PREFIX$i"$'\n'; done

    for ((i = 1; i <= n; i++)); do
        local node=$PREFIX$i
        ip netns add "$node"
        ip -n "$node" link set lo up
        # veth pair created inside the switch ns; one end moved straight into the node
        ip -n "$SW" link add "p$i" type veth peer name veth0 netns "$node"
        ip -n "$SW" link set "p$i" master br0 up
        ip -n "$node" addr add "$SUBNET.$i/24" dev veth0
        ip -n "$node" link set veth0 up
        if [ -n "${NETNS_MPI_RATE:-}" ]; then
            ip netns exec "$node" tc qdisc replace dev veth0 root tbf \
                rate "$NETNS_MPI_RATE" burst 256k latency 50ms
        fi
        if [ -n "${NETNS_MPI_TCP_RETRIES2:-}" ]; then
            ip netns exec "$node" sysctl -qw net.ipv4.tcp_retries2="$NETNS_MPI_TCP_RETRIES2"
        fi
        mkdir -p "/etc/netns/$node"
        printf '%s' "$hosts" >"/etc/netns/$node/hosts"
    done
    # smoke test: node 1 reaches node n over the bridge. No ping on a minimal Debian:
    # a TCP connect to a closed port must be *refused* (RST came back), not time out.
    if ((n > 1)); then
        local ok=0 _
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            local out; out=$(ip netns exec "${PREFIX}1" timeout 2 bash -c \
                "exec 3<>/dev/tcp/$PREFIX$n/9" 2>&1 || true)
            if [[ $out == *refused* ]]; then ok=1; break; fi
            sleep 0.2
        done
        ((ok)) || die "${PREFIX}1 cannot reach $PREFIX$n over the bridge"
    fi
    log "created $n node(s): $(nodes | tr '\n' ' ')(switch ns $SW, subnet $SUBNET.0/24)"
}

kill_inside() { # kill what runs in namespace $1: TERM, wait up to 3 s, then KILL
    local ns=$1 pids
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -z "$pids" ] && return 0
    log "killing in $ns: $(echo $pids)"
    kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 30); do
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        [ -z "$pids" ] && return 0
        sleep 0.1
    done
    kill -KILL $pids 2>/dev/null || true
    sleep 0.2
}

destroy() {
    local n; n=$(cat "$STATE/count" 2>/dev/null || echo 0)
    local i
    for ((i = 1; i <= n; i++)); do
        local node=$PREFIX$i
        if ns_exists "$node"; then kill_inside "$node"; ip netns del "$node"; fi
        rm -rf "/etc/netns/$node"
        # session dirs of jobs killed mid-run (named after the node's UTS hostname)
        rm -rf "${TMPDIR:-/tmp}/ompi.$node".* /dev/shm/vader_segment."$node".*
    done
    if ns_exists "$SW"; then kill_inside "$SW"; ip netns del "$SW"; fi   # also deletes p* and br0
    rm -rf "$STATE"
    rmdir /etc/netns 2>/dev/null || true   # only if nothing else uses it
    log "destroyed"
}

status() {
    ns_exists "$SW" || { log "not created"; return 0; }
    local node
    for node in $(nodes); do
        printf '%-12s %s  %s  pids: %s\n' "$node" \
            "$(ip -n "$node" -br addr show veth0 | awk '{print $3}')" \
            "$(ip -n "$node" -br link show veth0 | awk '{print $2}')" \
            "$(ip netns pids "$node" | tr '\n' ' ')"
    done
}

hostfile() { local node; for node in $(nodes); do echo "$node slots=$SLOTS"; done; }

link() {
    local node=${1:?node} state=${2:?down|up}
    [[ $state == up || $state == down ]] || die "link state must be up or down"
    ns_exists "$node" || die "no namespace $node"
    ip -n "$node" link set veth0 "$state"
}

case ${1:-} in
    create) create "${2:-2}" ;;
    destroy) destroy ;;
    status) status ;;
    hostfile) hostfile ;;
    link) link "${2:-}" "${3:-}" ;;
    *) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
