#!/usr/bin/env bash
# The three-node replicated cluster (config/cluster/node{1,2,3}.ini) in network namespaces, so that
# tests can cut links between nodes (docs/replication.md, "Testing in network namespaces").
#
#   scripts/netns-cluster.sh up [--prefix P] [--max-orders N] [--segment-bytes B]
#                               [--leader-flag FLAG]... [--edit SED]... [--ns-stem S]
#                               [--subnet A.B.C] [--tmpfs-mb M] [--no-start] [--no-build]
#       four namespaces exn-P-hub (a bridge, address 10.231.0.254: clients there reach every
#       node) and exn-P-1..3 (one node each, veth into the bridge, address 10.231.0.N), the
#       profiles rewritten to those addresses in the state directory, the three daemons started
#       at once; prints prefix=P and leader=ADDR. P defaults to this shell's pid.
#       --max-orders and --segment-bytes shrink the books and the WAL segments (quicker start-up).
#       --edit applies a sed expression to the three generated profiles (after the rewrite).
#       --ns-stem (default exn) and --subnet (default 10.231.0) name the namespaces and pick the
#       addresses, so that two test suites never share either; later actions read them from the
#       state directory. --tmpfs-mb mounts a tmpfs of M MiB on each node's data directory (a disk
#       a test can fill; `down` unmounts it). --no-start builds everything but starts no daemon.
#   scripts/netns-cluster.sh down --prefix P
#       stops every process in the namespaces (SIGKILL), deletes them and the state directory.
#   partition A,B/C   DROP (iptables, inside the namespaces) every packet between the two groups
#   isolate N         partition N/the others
#   heal              removes every DROP rule
#   kill N [SIGNAL]   signals node N's daemon (default KILL) and waits for it to exit
#   pause N, resume N SIGSTOP / SIGCONT of node N's daemon
#   start N [--flag F]...  (re)starts node N's daemon and waits until it is ready; each --flag
#                     is one more argument for the daemon, this start only (a --test-fault)
#   exec N CMD...     runs CMD inside node N's namespace (the load client: exec 1 exchangectl ...);
#                     N = hub runs it in the bridge's namespace, which reaches every node
#   metric N NAME     prints node N's /metrics value NAME (scraped inside its namespace), or nothing
#   status            namespaces, each daemon's state and durable LSN, the DROP rules
#
# Every action but `up` takes --prefix P (or EXN_PREFIX). The state (generated profiles, data
# directories, logs, pids) is in /tmp/exchanged-netns-P unless --dir DIR. Two clusters with
# different prefixes never share a name: the addresses are inside their own namespaces only.
# `up` tears down what it created if it fails; callers trap `down` for the rest.
set -uo pipefail
cd "$(dirname "$0")/.."

usage() {
    sed -n '2,/^[^#]/p' "$0" | grep '^#' | sed -e 's/^# \{0,1\}//' >&2
    exit 2
}
die() {
    echo "netns-cluster.sh: $*" >&2
    exit 1
}

[ $# -ge 1 ] || usage
action=$1
shift
prefix=${EXN_PREFIX:-} dir= max_orders= segment_bytes= build=1 leader_flags=() start_flags=() rest=()
subnet= ns_stem= edits=() tmpfs_mb= start_daemons=1
bin=${EXCHANGED_BIN_DIR:-./build/bin}
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=${2:?--prefix needs a name}; shift 2 ;;
        --dir) dir=${2:?--dir needs a directory}; shift 2 ;;
        --max-orders) max_orders=${2:?--max-orders needs a number}; shift 2 ;;
        --segment-bytes) segment_bytes=${2:?--segment-bytes needs a number}; shift 2 ;;
        --leader-flag) leader_flags+=("${2:?--leader-flag needs a flag}"); shift 2 ;;
        --flag) start_flags+=("${2:?--flag needs a flag}"); shift 2 ;;
        --edit) edits+=(-e "${2:?--edit needs a sed expression}"); shift 2 ;;
        --ns-stem) ns_stem=${2:?--ns-stem needs a name}; shift 2 ;;
        --subnet) subnet=${2:?--subnet needs A.B.C}; shift 2 ;;
        --tmpfs-mb) tmpfs_mb=${2:?--tmpfs-mb needs a size}; shift 2 ;;
        --no-start) start_daemons=0; shift ;;
        --no-build) build=0; shift ;;
        --) shift; rest+=("$@"); break ;;
        *) rest+=("$1"); shift ;;
    esac
done
if [ -z "$prefix" ]; then
    [ "$action" = up ] || die "$action needs --prefix P (the one 'up' printed)"
    prefix=$$
fi
case "$prefix" in
    *[!a-zA-Z0-9]* | ?????????????*) die "--prefix '$prefix': letters and digits only, at most 12" ;;
esac
dir=${dir:-/tmp/exchanged-netns-$prefix}
# The stem and subnet `up` was given, unless this action names them again.
if [ -f "$dir/network" ]; then
    [ -n "$ns_stem" ] || ns_stem=$(sed -n 's/^ns_stem=//p' "$dir/network")
    [ -n "$subnet" ] || subnet=$(sed -n 's/^subnet=//p' "$dir/network")
fi
ns_stem=${ns_stem:-exn} subnet=${subnet:-10.231.0}
[[ "$ns_stem" =~ ^[a-z]{1,6}$ ]] || die "--ns-stem '$ns_stem': 1 to 6 lower-case letters"
[[ "$subnet" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "--subnet '$subnet': expected A.B.C"
[ -z "$tmpfs_mb" ] || [[ "$tmpfs_mb" =~ ^[1-9][0-9]*$ ]] || die "--tmpfs-mb '$tmpfs_mb': not a size in MiB"
ns_of() { echo "$ns_stem-$prefix-$1"; }
addr_of() { echo "$subnet.$1"; }
node_arg() {
    case "${1:-}" in
        1 | 2 | 3) ;;
        *) die "$action: expected a node number 1, 2 or 3, got '${1:-}'" ;;
    esac
}
in_ns() {  # NODE CMD...
    local node=$1
    shift
    # nsenter execs the command (ip netns exec forks and waits).
    nsenter --net="/run/netns/$(ns_of "$node")" -- "$@"
}
pid_of() { cat "$dir/node$1.pid" 2>/dev/null; }
alive() {
    local pid
    pid=$(pid_of "$1") && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

require_root() {
    [ "$(id -u)" -eq 0 ] || die "needs root (ip netns, veth, iptables)"
    command -v ip >/dev/null || die "'ip' (iproute2) not found"
    command -v nsenter >/dev/null || die "'nsenter' (util-linux) not found"
    command -v iptables >/dev/null || die "'iptables' not found (scripts/setup-deps.sh installs it)"
}

teardown() {
    local node pid
    for node in 1 2 3 hub; do
        local ns
        ns=$(ns_of "$node")
        ip netns list 2>/dev/null | grep -qw "^$ns" || continue
        # Every process in our own namespaces was started by this script or by its caller.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -CONT "$pid" 2>/dev/null
            kill -KILL "$pid" 2>/dev/null
        done
        for _ in $(seq 50); do
            [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
            sleep 0.1
        done
        ip netns del "$ns" 2>/dev/null
    done
    # The data directories' tmpfs mounts (--tmpfs-mb), once nothing runs on them.
    local mount
    for node in 1 2 3; do
        mount=$dir/node$node
        mountpoint -q "$mount" 2>/dev/null && umount "$mount"
    done
    rm -rf "$dir"
}

write_profiles() {
    mkdir -p "$dir/config" || return 1
    local node sed_args=()
    # 127.0.0.1:93NP is node N's port P: each node's addresses become its namespace's.
    sed_args=(-E -e "s/127\.0\.0\.1:93([1-3])([0-9])/$subnet.\1:93\1\2/g")
    [ -n "$max_orders" ] && sed_args+=(-e "s/^max_orders = .*/max_orders = $max_orders/")
    [ -n "$segment_bytes" ] &&
        sed_args+=(-e "s/^wal_segment_bytes = .*/wal_segment_bytes = $segment_bytes/")
    sed_args+=("${edits[@]}")
    for node in 1 2 3; do
        sed "${sed_args[@]}" "config/cluster/node$node.ini" >"$dir/config/node$node.ini" || return 1
        if grep -q '127\.0\.0\.1' "$dir/config/node$node.ini"; then
            echo "netns-cluster.sh: node$node.ini still names 127.0.0.1 after the rewrite" >&2
            return 1
        fi
    done
}

make_network() {
    local hub node
    hub=$(ns_of hub)
    ip netns add "$hub" || return 1
    ip -n "$hub" link set lo up &&
        ip -n "$hub" link add br0 type bridge &&
        ip -n "$hub" addr add "$(addr_of 254)/24" dev br0 &&
        ip -n "$hub" link set br0 up || return 1
    for node in 1 2 3; do
        local ns
        ns=$(ns_of "$node")
        ip netns add "$ns" || return 1
        ip -n "$ns" link set lo up &&
            ip link add eth0 netns "$ns" type veth peer name "n$node" netns "$hub" &&
            ip -n "$hub" link set "n$node" master br0 up &&
            ip -n "$ns" addr add "$(addr_of "$node")/24" dev eth0 &&
            ip -n "$ns" link set eth0 up || return 1
        # The partition rules live in their own chain, hooked into INPUT and OUTPUT.
        in_ns "$node" iptables -N EXN-PART &&
            in_ns "$node" iptables -I INPUT -j EXN-PART &&
            in_ns "$node" iptables -I OUTPUT -j EXN-PART || return 1
    done
}

launch_node() {  # NODE: starts its daemon in the background
    local node=$1 flags=()
    if [ "$node" = 1 ] && [ -f "$dir/leader.flags" ]; then
        mapfile -t flags <"$dir/leader.flags"
    fi
    if alive "$node"; then
        echo "netns-cluster.sh: node $node is already running (pid $(pid_of "$node"))" >&2
        return 1
    fi
    # Where this start's lines begin in the log, which earlier starts' lines precede.
    cat "$dir/node$node.log" 2>/dev/null | wc -l >"$dir/node$node.logstart"
    # A simple command, not in_ns: the background job is nsenter itself, which execs the daemon.
    nsenter --net="/run/netns/$(ns_of "$node")" -- "$bin/exchanged" \
        --config "$dir/config/node$node.ini" --data-dir "$dir/node$node" "${flags[@]}" \
        "${start_flags[@]}" \
        >>"$dir/node$node.log" 2>&1 &
    echo $! >"$dir/node$node.pid"
}

wait_ready() {  # NODE: until its log says "ready:" (30 s at most)
    local node=$1 lines
    lines=$(cat "$dir/node$node.logstart")
    for _ in $(seq 300); do
        tail -n +"$((lines + 1))" "$dir/node$node.log" | grep -q 'ready:' && return 0
        alive "$node" || break
        sleep 0.1
    done
    echo "netns-cluster.sh: node $node did not become ready; its log ($dir/node$node.log):" >&2
    tail -n 20 "$dir/node$node.log" >&2
    return 1
}

start_node() { launch_node "$1" && wait_ready "$1"; }

drop_between() {  # NODE OTHER: node NODE drops every packet from or to OTHER
    local other
    other=$(addr_of "$2")
    in_ns "$1" iptables -A EXN-PART -s "$other" -j DROP &&
        in_ns "$1" iptables -A EXN-PART -d "$other" -j DROP
}

heal() {
    local node
    for node in 1 2 3; do
        in_ns "$node" iptables -F EXN-PART || return 1
    done
}

partition() {  # "A,B/C"
    local spec=$1 left right a b
    [[ "$spec" =~ ^[1-3](,[1-3])*/[1-3](,[1-3])*$ ]] ||
        die "partition: expected groups like 1,2/3, got '$spec'"
    left=${spec%/*} right=${spec#*/}
    for a in ${left//,/ }; do
        for b in ${right//,/ }; do
            [ "$a" != "$b" ] || die "partition '$spec': node $a is on both sides"
        done
    done
    heal || die "partition: could not clear the old rules"
    for a in ${left//,/ }; do
        for b in ${right//,/ }; do
            drop_between "$a" "$b" && drop_between "$b" "$a" || die "partition: iptables failed"
        done
    done
}

metric() {  # NODE NAME: the value, scraped inside the node's namespace
    local node=$1 port
    port=$(grep -m 1 '^admin_listen' "$dir/config/node$node.ini" | sed 's/.*://')
    in_ns "$node" curl -s --max-time 2 "http://$(addr_of "$node"):$port/metrics" 2>/dev/null |
        awk -v name="$2" '$1 == name {print $2; exit}'
}

node_state() {
    local pid
    if ! alive "$1"; then
        echo down
        return
    fi
    pid=$(pid_of "$1")
    case "$(awk '/^State:/{print $2}' "/proc/$pid/status" 2>/dev/null)" in
        T) echo "paused (pid $pid)" ;;
        *) echo "running (pid $pid)" ;;
    esac
}

# down also clears namespaces whose state directory is gone.
[ "$action" = up ] || [ "$action" = down ] || [ -d "$dir" ] ||
    die "no cluster with prefix '$prefix' (no $dir)"
case "$action" in
    up)
        require_root
        [ -e "$dir" ] && die "$dir exists: is cluster '$prefix' up already? ('down --prefix $prefix')"
        ip netns list | grep -q "^$ns_stem-$prefix-" && die "namespaces $ns_stem-$prefix-* exist already"
        if [ "$build" = 1 ]; then
            ./scripts/build.sh release exchanged exchangectl >&2 || die "the build failed"
        fi
        trap 'teardown' EXIT
        trap 'exit 130' INT TERM
        mkdir -p "$dir" || die "cannot create $dir"
        printf 'ns_stem=%s\nsubnet=%s\n' "$ns_stem" "$subnet" >"$dir/network"
        if [ -n "$tmpfs_mb" ]; then
            for node in 1 2 3; do
                mkdir -p "$dir/node$node" &&
                    mount -t tmpfs -o "size=${tmpfs_mb}m" "$(ns_of "$node")-data" "$dir/node$node" ||
                    die "could not mount a tmpfs on $dir/node$node"
            done
        fi
        write_profiles || die "could not write the profiles into $dir/config"
        printf '%s\n' "${leader_flags[@]}" | grep -v '^$' >"$dir/leader.flags"
        make_network || die "could not build the namespaces and the bridge"
        if [ "$start_daemons" = 0 ]; then
            trap - EXIT INT TERM
            echo "namespaces $ns_stem-$prefix-{hub,1,2,3} ready, no daemon started"
            echo "prefix=$prefix"
            exit 0
        fi
        # All three start at once (the leader redials a follower not listening yet).
        for node in 3 2 1; do
            launch_node "$node" || die "node $node did not start"
        done
        for node in 3 2 1; do
            wait_ready "$node" || die "node $node did not start"
        done
        trap - EXIT INT TERM
        client=$(grep -m 1 '^listen' "$dir/config/node1.ini" | sed 's/^listen = //')
        echo "cluster ready in namespaces $ns_stem-$prefix-{1,2,3}: leader (node 1) at $client"
        echo "state in $dir; stop with: scripts/netns-cluster.sh down --prefix $prefix"
        echo "prefix=$prefix"
        echo "leader=$client"
        ;;
    down) teardown ;;
    partition) partition "${rest[0]:-}" ;;
    isolate)
        node_arg "${rest[0]:-}"
        others=$(for n in 1 2 3; do [ "$n" = "${rest[0]}" ] || echo "$n"; done | paste -sd,)
        partition "${rest[0]}/$others" ;;
    heal) heal || die "heal: iptables failed" ;;
    kill)
        node_arg "${rest[0]:-}"
        signal=${rest[1]:-KILL}
        alive "${rest[0]}" || die "node ${rest[0]} is not running"
        pid=$(pid_of "${rest[0]}")
        kill -CONT "$pid" 2>/dev/null
        kill -"$signal" "$pid" || die "kill -$signal $pid failed"
        for _ in $(seq 300); do
            kill -0 "$pid" 2>/dev/null || exit 0
            sleep 0.05
        done
        die "node ${rest[0]} (pid $pid) still runs 15 s after SIG$signal" ;;
    pause | resume)
        node_arg "${rest[0]:-}"
        alive "${rest[0]}" || die "node ${rest[0]} is not running"
        kill -"$([ "$action" = pause ] && echo STOP || echo CONT)" "$(pid_of "${rest[0]}")" ;;
    start)
        node_arg "${rest[0]:-}"
        start_node "${rest[0]}" || exit 1 ;;
    exec)
        [ "${rest[0]:-}" = hub ] || node_arg "${rest[0]:-}"
        [ ${#rest[@]} -ge 2 ] || die "exec: expected a command after the node"
        in_ns "${rest[@]}" ;;
    metric)
        node_arg "${rest[0]:-}"
        metric "${rest[0]}" "${rest[1]:?metric needs a NAME}" ;;
    status)
        for node in 1 2 3; do
            echo "node $node: $(ns_of "$node") $(addr_of "$node"): $(node_state "$node")," \
                "durable LSN $(metric "$node" exchanged_wal_durable_lsn)"
            in_ns "$node" iptables -S EXN-PART | grep -- '-j DROP' | sed 's/^/    /'
        done ;;
    *) usage ;;
esac
