#!/usr/bin/env bash
# The randomised etcd nemesis (`scripts/cluster-test.sh --nemesis ...` runs this script): the
# three-node cluster in network namespaces (scripts/netns-cluster.sh, namespaces xnem-P-*, subnet
# 10.232.0.0/24) with automatic failover through etcd (lease_ttl_ms = 2000) and three etcd members,
# one inside each node's namespace, so that a partition cuts a node's etcd member with it. Each
# node's data directory is a tmpfs of its own (the full-disk fault fills it).
#
# Two clients run `exchangectl load` in the bridge's namespace (they reach every node, as clients
# on the internet would), one run after another until the cluster settled after the schedule, each
# run with its own ack journal: client 1 gives up on a silent node after 2 s and starts each 2 s
# run at the next node (it reaches both sides of a partition); client 2 gives up after 10 s and
# stays on its node until a run ends early (it is still connected when a paused leader wakes up).
# A follower's login refusal names the leader it knows, which exchangectl follows.
#
# Meanwhile a schedule of 2 to 3 faults drawn from the cycle's seed plays, one after the other:
#
#   kill_leader       kill -9 of the leader (the node whose /metrics says role 1), restarted after
#                     SECONDS with its own profile (it follows whoever etcd names)
#   kill_follower     kill -9 of follower SLOT (1 or 2, in node order), restarted after SECONDS
#   isolate_leader    the leader cut off from both other nodes (and their etcd members) for SECONDS
#   isolate_follower  follower SLOT cut off for SECONDS
#   split             a majority/minority split: node SLOT (1..3, by number) alone, for SECONDS
#   bridge            the leader cut off from follower SLOT only (each still reaches the third node)
#   isolate_etcd      only the etcd member in the namespace of the leader (SLOT 0) or of follower
#                     SLOT cut off from the other members and nodes; the nodes still reach each other
#   pause_leader      SIGSTOP of the leader for SECONDS (2.5 to 5: longer than the lease), SIGCONT
#   pause_follower    SIGSTOP of follower SLOT, SIGCONT after SECONDS
#   full_disk         node SLOT's (0: the leader's, else a follower's) data directory filled by a
#                     file for SECONDS, then the file removed; the daemon must exit naming the
#                     error or keep running (refusing), and is restarted if it exited
#
# Then everything heals (rules flushed, every node resumed, every dead node restarted), the
# cluster must settle on one leader (role 1, lease held, seen twice 1 s apart; a node that exits
# meanwhile is restarted) with both followers caught up, and a last load through the bridge must
# be acknowledged. Each fault's longest time without any ack is printed. The nodes are killed and the checks run:
#   - nothing acknowledged lost: the final leader's WAL, recovered into a store of its own, holds
#     every order, fill and cancel of all journals (exchangectl store verify);
#   - identical logs: each follower's log equals the leader's (exchangectl wal compare);
#   - equal state hashes at equal LSNs (exchangectl wal state over the three logs);
#   - no LSN acknowledged under two epochs: every acknowledged order whose NewOrder record is in
#     a copy of a killed node's WAL (taken before its restart: the tail divergence repair may cut
#     later) is at that LSN with that epoch and those bytes in the final log;
#   - no two leaders acknowledging in overlapping terms: each ack's term is the epoch of its order's
#     record (the client protocol carries no epoch; only the leader of epoch E writes command
#     records of epoch E, and a record is acknowledged by the term that wrote it), its time the
#     journal's rx_us (when the client's kernel received the reply: a client descheduled on a
#     loaded machine reads late, but its kernel stamps the arrival). For epochs E1 < E2, no ack of
#     E1 may arrive more than --overlap-margin-ms (default 250) after the first ack of E2. All
#     processes share one clock (CLOCK_REALTIME of this machine), so the margin covers only the
#     delivery of a reply sent at the end of E1's term: from the daemon's send to the client's
#     kernel, across the namespaces' veth links. A correct leader stops acknowledging before its validity ends
#     (TTL minus a margin, counted from its last renewal's send) and etcd expires the key at TTL
#     after that renewal, after which the next term still needs a campaign, a promise round and a
#     start (about a second here), so honest terms are separated by far more than the margin.
#
# A failing cycle prints its seed and schedule; `--nemesis --cycles 1 --seed S` replays the
# schedule (process timing differs from run to run). --keep keeps a failing cycle's files.
#
# usage: scripts/cluster-test.sh --nemesis [--cycles N] [--seed S] [--keep|--keep-all] [--no-build]
#            [--schedule 'FAULT SLOT SECONDS; ...'] [--planted-fault lease_ignore_expiry]
#            [--overlap-margin-ms M]
#   --keep-all keeps every cycle's files (to study a slow failover in a passing cycle).
#   --planted-fault lease_ignore_expiry: every node started with --test-fault
#     lease_ignore_expiry,quorum_leader_only (a leader ignores its lapsed lease and counts its own
#     durable LSN as a quorum); with an isolate_leader schedule longer than the lease the overlap
#     check must fail ("two leaders acknowledged in overlapping terms").
# Exit: 0 all passed, 1 a cycle failed, 2 usage, 77 skipped (not root, no etcd, no namespaces).
set -uo pipefail
cd "$(dirname "$0")/.."

cycles=1 seed=$(((RANDOM << 15) | RANDOM)) keep=0 build=1 fixed_schedule= planted= margin_ms=250
daemon_flags=() settle_seconds=30
while [ $# -gt 0 ]; do
    case "$1" in
        --nemesis) shift ;;
        --cycles) cycles=${2:?--cycles needs a number}; shift 2 ;;
        --seed) seed=${2:?--seed needs a number}; shift 2 ;;
        --keep) keep=1; shift ;;
        --keep-all) keep=2; shift ;;
        --no-build) build=0; shift ;;
        --schedule) fixed_schedule=${2:?--schedule needs faults}; shift 2 ;;
        --planted-fault) planted=${2:?--planted-fault needs a name}; shift 2 ;;
        --overlap-margin-ms) margin_ms=${2:?--overlap-margin-ms needs a number}; shift 2 ;;
        *) echo "cluster-test.sh --nemesis: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
case "$planted" in
    '') ;;
    # Two nodes that both think they lead never settle: its checks need no 30 s wait for that.
    # A leader that ignores its lapsed lease and acknowledges alone (quorum_leader_only): cut off,
    # it goes on acknowledging while the majority side elects and serves a new term. Alone,
    # lease_ignore_expiry acknowledges nothing late: a paused leader is deposed on waking by the
    # new leader's queued promise request, and its followers left it for the new term.
    lease_ignore_expiry)
        daemon_flags=(--flag --test-fault --flag "lease_ignore_expiry,quorum_leader_only")
        settle_seconds=5 ;;
    *) echo "cluster-test.sh --nemesis: unknown planted fault '$planted' (lease_ignore_expiry)" >&2; exit 2 ;;
esac
for value in "$cycles" "$seed" "$margin_ms"; do
    [[ "$value" =~ ^[0-9]+$ ]] || { echo "cluster-test.sh --nemesis: '$value' is not a whole number" >&2; exit 2; }
done
if [ "$(id -u)" -ne 0 ]; then
    echo "cluster-test.sh --nemesis: SKIP: needs root (network namespaces, iptables, tmpfs)"
    exit 77
fi
for tool in ip nsenter iptables curl etcd etcdctl mountpoint; do
    if ! command -v "$tool" >/dev/null; then
        echo "cluster-test.sh --nemesis: SKIP: '$tool' not found (scripts/setup-deps.sh installs it)"
        exit 77
    fi
done

bin=$(realpath "${EXCHANGED_BIN_DIR:-build/bin}")
export EXCHANGED_BIN_DIR=$bin
if [ "$build" = 1 ]; then
    ./scripts/build.sh release exchanged exchangectl >/dev/null || exit 1
fi
work=$(mktemp -d /tmp/exchanged-nemesis.XXXXXX)
prefix=n$$
state=$work/cluster
subnet=10.232.0
etcd_client_port=9907 etcd_peer_port=9908
# shellcheck source=cluster-checks.sh
. scripts/cluster-checks.sh
# shellcheck source=nemesis-checks.sh
. scripts/nemesis-checks.sh
client_pids=()
stop_clients() {
    local pid
    for pid in "${client_pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${client_pids[@]}"; do wait "$pid" 2>/dev/null; done
    client_pids=()
}
cleanup() {
    stop_clients
    nc down --ns-stem xnem >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns_path() { echo "/run/netns/xnem-$prefix-$1"; }
addr() { echo "$subnet.$1"; }
# Node NODE's /metrics value NAME, scraped in its namespace (admin port 93N1 of the profiles):
# the same as cluster-checks.sh's, without a netns-cluster.sh process per call, which the waits
# below make many of.
metric() {  # NODE NAME
    nsenter --net="$(ns_path "$1")" -- curl -s --max-time 1 "http://$(addr "$1"):93${1}1/metrics" \
        2>/dev/null | awk -v name="$2" '$1 == name {print $2; exit}'
}
etcd_endpoints() { echo "http://$(addr 1):$etcd_client_port,http://$(addr 2):$etcd_client_port,http://$(addr 3):$etcd_client_port"; }

# One etcd member inside node NODE's namespace, its data in the work directory (not the node's
# tmpfs: filling a node's disk must not fill its etcd member's). --pre-vote (off by default in
# etcd 3.4): without it a member back from a cut, its raft term raised by the elections it held
# alone, forces an election on the others; renewals then fail for over a second and the leader
# steps down although only a follower's machine was cut off (seen in the nemesis).
start_etcd() {  # NODE
    local node=$1 dir=$work/etcd$1 cluster=
    for n in 1 2 3; do cluster+="${cluster:+,}m$n=http://$(addr "$n"):$etcd_peer_port"; done
    mkdir -p "$dir"
    nsenter --net="$(ns_path "$node")" -- etcd --name "m$node" --data-dir "$dir/data" \
        --listen-client-urls "http://$(addr "$node"):$etcd_client_port" \
        --advertise-client-urls "http://$(addr "$node"):$etcd_client_port" \
        --listen-peer-urls "http://$(addr "$node"):$etcd_peer_port" \
        --initial-advertise-peer-urls "http://$(addr "$node"):$etcd_peer_port" \
        --initial-cluster "$cluster" --initial-cluster-state new \
        --initial-cluster-token "nemesis-$prefix" --pre-vote=true \
        --logger zap --log-outputs stderr \
        >"$dir/etcd.log" 2>&1 </dev/null &
    echo $! >"$dir/pid"
}

start_etcd_cluster() {
    local node
    for node in 1 2 3; do start_etcd "$node"; done
    for _ in $(seq 100); do
        nc exec hub etcdctl --endpoints "$(etcd_endpoints)" --command-timeout=1s endpoint health \
            >"$work/etcd-health.out" 2>&1 && return 0
        sleep 0.2
    done
    echo "  etcd did not become healthy: $(tail -n 2 "$work/etcd-health.out")"
    return 1
}

# The node whose /metrics says it leads (role 1) with the highest epoch, waiting up to SECONDS
# for one; the last known leader if none appears.
leader_now() {  # [SECONDS]
    local node role epoch best= best_epoch=-1 deadline=$((SECONDS + ${1:-10}))
    while [ "$SECONDS" -le "$deadline" ]; do
        for node in 1 2 3; do
            role=$(metric "$node" exchanged_replication_role)
            [ "$role" = 1 ] || continue
            epoch=$(metric "$node" exchanged_replication_epoch)
            epoch=${epoch%.*}
            [ "${epoch:-0}" -gt "$best_epoch" ] && best=$node best_epoch=${epoch:-0}
        done
        if [ -n "$best" ]; then
            echo "$best" >"$work/leader"
            echo "$best"
            return 0
        fi
        sleep 0.2
    done
    cat "$work/leader"
}
follower_of() {  # LEADER SLOT: the SLOT-th (1 or 2) other node, in node order
    local node n=0
    for node in 1 2 3; do
        [ "$node" = "$1" ] && continue
        n=$((n + 1))
        [ "$n" = "$2" ] && echo "$node"
    done
}
node_for_slot() {  # SLOT: 0 the leader, 1 or 2 a follower
    local leader
    leader=$(leader_now)
    if [ "$1" = 0 ]; then echo "$leader"; else follower_of "$leader" "$1"; fi
}

start_daemon() {  # NODE
    nc start "$1" "${daemon_flags[@]}" >>"$work/starts.out" 2>&1 || {
        echo "    node $1 did not restart: $(tail -n 2 "$state/node$1.log" | paste -sd ' ')"
        return 1
    }
}

# A copy of a killed node's WAL before it restarts (divergence repair may cut its tail later):
# the epoch check compares it with the final log.
keep_wal() {  # NODE
    local copy
    copy=$work/copies/$(($(find "$work/copies" -mindepth 1 -maxdepth 1 | wc -l) + 1))-node$1
    mkdir -p "$copy" && cp -a "$state/node$1/wal" "$copy/wal"
}

kill_and_restart() {  # NODE SECONDS
    nc kill "$1" && keep_wal "$1" && sleep "$2" && start_daemon "$1"
}

# Only the etcd member in NODE's namespace cut off: every packet to or from another address on an
# etcd port (client or peer, either end) is dropped there. The nodes' replication links stay up.
isolate_etcd_member() {  # NODE
    local node=$1 other
    for other in 1 2 3; do
        [ "$other" = "$node" ] && continue
        for dir in -s -d; do
            nsenter --net="$(ns_path "$node")" -- iptables -A EXN-PART "$dir" "$(addr "$other")" -p tcp \
                -m multiport --ports "$etcd_client_port,$etcd_peer_port" -j DROP || return 1
        done
    done
}

fault_kill_leader() { kill_and_restart "$(leader_now)" "$2"; }
fault_kill_follower() { kill_and_restart "$(node_for_slot "$1")" "$2"; }
fault_isolate_leader() { nc isolate "$(leader_now)" && sleep "$2" && nc heal; }
fault_isolate_follower() { nc isolate "$(node_for_slot "$1")" && sleep "$2" && nc heal; }
fault_split() {
    local others
    others=$(for n in 1 2 3; do [ "$n" = "$1" ] || echo "$n"; done | paste -sd,)
    nc partition "$others/$1" && sleep "$2" && nc heal
}
fault_bridge() {
    local leader
    leader=$(leader_now)
    nc partition "$leader/$(follower_of "$leader" "$1")" && sleep "$2" && nc heal
}
fault_isolate_etcd() { isolate_etcd_member "$(node_for_slot "$1")" && sleep "$2" && nc heal; }
fault_pause_leader() {
    local node
    node=$(leader_now)
    nc pause "$node" && sleep "$2" && nc resume "$node"
}
fault_pause_follower() {
    local node
    node=$(node_for_slot "$1")
    nc pause "$node" && sleep "$2" && nc resume "$node"
}
# The node's tmpfs filled by a file (dd stops at ENOSPC), held, removed. The daemon either keeps
# running (the WAL's segments are preallocated: it may refuse or wait) or exits naming the error;
# an exit without a line naming the disk fails the fault.
fault_full_disk() {
    local node lines
    node=$(node_for_slot "$1")
    lines=$(wc -l <"$state/node$node.log")
    dd if=/dev/zero of="$state/node$node/nemesis-fill" bs=1M status=none 2>/dev/null
    sleep "$2"
    rm -f "$state/node$node/nemesis-fill"
    nc status | grep -q "^node $node: .*: down" || return 0
    local said
    said=$(tail -n +"$((lines + 1))" "$state/node$node.log" | grep -i -m 1 'no space\|ENOSPC\|disk\|full')
    echo "    node $node exited on the full disk: ${said:-$(tail -n 1 "$state/node$node.log")}"
    [ -n "$said" ] || { echo "  FAIL: node $node exited without naming the full disk"; return 1; }
    start_daemon "$node"
}

# Faults, the leader's listed more often (drawn uniformly from this list).
faults=(kill_leader kill_leader kill_follower isolate_leader isolate_follower split bridge
    isolate_etcd pause_leader pause_leader pause_follower full_disk)

# The cycle's schedule from its seed: lines "FAULT SLOT SECONDS".
schedule_for() {  # SEED
    if [ -n "$fixed_schedule" ]; then
        tr ';' '\n' <<<"$fixed_schedule" | sed -e 's/^ *//' -e '/^$/d'
        return
    fi
    RANDOM=$1
    local steps=$((2 + RANDOM % 2)) fault slot tenths
    for _ in $(seq "$steps"); do
        fault=${faults[RANDOM % ${#faults[@]}]}
        case "$fault" in
            split) slot=$((1 + RANDOM % 3)) ;;
            isolate_etcd | full_disk) slot=$((RANDOM % 3)) ;;
            *) slot=$((1 + RANDOM % 2)) ;;
        esac
        case "$fault" in
            pause_leader) tenths=$((25 + RANDOM % 26)) ;;  # 2.5 to 5 s: longer than the lease
            *) tenths=$((10 + RANDOM % 31)) ;;              # 1 to 4 s
        esac
        echo "$fault $slot $((tenths / 10)).$((tenths % 10))"
    done
}

describe() {  # SCHEDULE
    local text= fault slot seconds
    while read -r fault slot seconds; do
        text+="${text:+; }$fault $slot $seconds"
    done <<<"$1"
    echo "$text"
}

# One client: load runs one after another until $work/clients-stop exists (the cluster settled
# after the schedule), each with a journal of its own ($work/client-C-I.journal). Client 1
# (impatient: a silent node is given up after 2 s) runs 2 s each, starting each at the next node,
# so it reaches every side of a partition (a follower's refusal sends it to the leader that
# follower knows). Client 2 (patient: 10 s) runs 4 s each at the node it last used, moving on only
# after a run ended early: it is still connected when a paused leader wakes. Client order ids:
# each run its own range.
client_loop() {  # CLIENT
    local client=$1 node=$1 run=0 code timeout=2 orders=300
    [ "$client" = 2 ] && timeout=10 orders=600
    while [ ! -e "$work/clients-stop" ]; do
        run=$((run + 1))
        nc exec hub "$bin/exchangectl" load --connect "$(client_address "$node")" \
            --orders "$orders" --connections 2 --rate 150 --timeout "$timeout" \
            --id-base "$(((client * 10000 + run) * 1000000))" \
            --journal "$work/client-$client-$run.journal" --config "$state/config/node1.ini" \
            >>"$work/client-$client-$run.journal.out" 2>&1
        code=$?
        echo "run $run node $node exit $code" >>"$work/client-$client.runs"
        if [ "$code" != 0 ] || [ "$client" = 1 ]; then
            node=$((node % 3 + 1))
        fi
        [ "$code" = 0 ] || sleep 0.2
    done
}

# Until both followers' durable LSN equals the leader's (above 0): SECONDS at most (a deadline,
# not a count of tries: a scrape of a stuck node takes up to 1 s). Prints the LSNs either way.
caught_up_within() {  # SECONDS LEADER
    local leader=$2 lsn node lsns ok deadline=$((SECONDS + $1))
    while :; do
        lsn=$(metric "$leader" exchanged_wal_durable_lsn) ok=1 lsns=
        [ -n "$lsn" ] && [ "$lsn" != 0 ] || ok=0
        for node in 1 2 3; do
            [ "$node" = "$leader" ] && continue
            local theirs
            theirs=$(metric "$node" exchanged_wal_durable_lsn)
            lsns+="${lsns:+, }node $node ${theirs:-?}"
            [ "$theirs" = "$lsn" ] || ok=0
        done
        if [ "$ok" = 1 ]; then
            echo "  caught up: durable LSN $lsn on all three nodes (leader node $leader)"
            return 0
        fi
        [ "$SECONDS" -lt "$deadline" ] || break
        sleep 0.2
    done
    echo "  not caught up after $1 s: durable LSN leader (node $leader) ${lsn:-?}, $lsns"
    return 1
}

# Until one node leads (role 1, lease held) and the other two follow (role 0), the same node
# seen so twice 1 s apart (a paused leader just woken may still say role 1 for a moment): SECONDS
# at most.
settled_leader() {  # SECONDS
    local node leaders followers deadline=$((SECONDS + $1)) seen=
    while [ "$SECONDS" -le "$deadline" ]; do
        leaders=() followers=0
        for node in 1 2 3; do
            # A node may exit after the schedule (a full disk's late error): restarted here.
            if ! nsenter --net="$(ns_path "$node")" -- true 2>/dev/null ||
                ! kill -0 "$(cat "$state/node$node.pid" 2>/dev/null)" 2>/dev/null; then
                echo "    node $node is down while settling: restarted ($(tail -n 1 "$state/node$node.log" | cut -c 1-200))" >&2
                start_daemon "$node" >&2
            fi
            case "$(metric "$node" exchanged_replication_role)" in
                1) [ "$(metric "$node" exchanged_failover_lease_held)" = 1 ] && leaders+=("$node") ;;
                0) followers=$((followers + 1)) ;;
            esac
        done
        if [ "${#leaders[@]}" = 1 ] && [ "$followers" = 2 ]; then
            if [ "$seen" = "${leaders[0]}" ]; then
                echo "${leaders[0]}"
                return 0
            fi
            seen=${leaders[0]}
            sleep 1
            continue
        fi
        seen=
        sleep 0.2
    done
    return 1
}

run_cycle() {  # CYCLE_SEED
    local cycle_seed=$1 schedule status=0 started=$SECONDS
    schedule=$(schedule_for "$cycle_seed")
    echo "  schedule: $(describe "$schedule")"
    mkdir -p "$work/copies"
    if ! nc up --no-build --no-start --ns-stem xnem --subnet "$subnet" --tmpfs-mb 96 \
        --max-orders 65536 --segment-bytes 8388608 \
        --edit "/^\[replication\]/a etcd_endpoints = $(etcd_endpoints)\nlease_ttl_ms = 2000" \
        >"$work/up.out" 2>&1; then
        echo "  the namespaces were not built: $(tail -n 3 "$work/up.out")"
        return 1
    fi
    start_etcd_cluster || return 1
    local node pids=()
    for node in 3 2 1; do
        start_daemon "$node" &
        pids+=($!)
    done
    wait "${pids[@]}"  # not the etcd members, which run on
    if ! leader=$(settled_leader 20); then
        echo "  no leader was elected at start: $(grep -h 'failover' "$state"/node*.log | tail -n 3)"
        return 1
    fi
    echo "$leader" >"$work/leader"
    echo "  node $leader leads epoch $(metric "$leader" exchanged_replication_epoch)"
    local fault slot seconds fault_began
    : >"$work/faults"
    rm -f "$work/clients-stop"
    client_loop 1 &
    client_pids+=($!)
    client_loop 2 &
    client_pids+=($!)
    sleep 1.5
    while read -r fault slot seconds; do
        echo "    $(date +%T.%2N) $fault $slot ${seconds}s (leader node $(leader_now 3))"
        fault_began=$(now_us)
        if ! "fault_$fault" "$slot" "$seconds"; then
            echo "  FAIL: the fault '$fault $slot' could not be applied"
            status=1
        fi
        echo "$fault $slot $seconds $fault_began $(now_us)" >>"$work/faults"
        sleep 1
    done <<<"$schedule"
    nc heal
    for node in 1 2 3; do
        if nc status | grep -q "^node $node: .*: paused"; then nc resume "$node"; fi
        rm -f "$state/node$node/nemesis-fill"
    done
    for node in 1 2 3; do
        if nc status | grep -q "^node $node: .*: down"; then
            echo "    node $node is down after the schedule: restarted"
            start_daemon "$node" || status=1
        fi
    done
    # The clients run on until the cluster settled (they see the last failover through), and 1 s
    # more.
    local final settled=1
    if ! final=$(settled_leader "$settle_seconds"); then
        echo "  FAIL: the cluster did not settle on one leader within $settle_seconds s: $(nc status | grep '^node' | paste -sd ' ')"
        status=1 settled=0
        final=$(leader_now 1)
    else
        echo "  $(date +%T.%2N) settled: node $final leads epoch $(metric "$final" exchanged_replication_epoch)"
        sleep 1
    fi
    touch "$work/clients-stop"
    local pid clients_end_us
    for pid in "${client_pids[@]}"; do wait "$pid"; done
    client_pids=()
    clients_end_us=$(now_us)
    echo "  $(date +%T.%2N) the clients stopped"
    # The settled leader serves: a last load through the bridge, from a follower (its refusal
    # names the leader).
    if [ "$settled" = 1 ] && ! timeout 20 nsenter --net="$(ns_path hub)" -- "$bin/exchangectl" load \
        --connect "$(client_address "$(follower_of "$final" 1)")" \
        --orders 300 --connections 2 --rate 300 --timeout 5 --id-base 9000000000 \
        --journal "$work/client-0-1.journal" --config "$state/config/node1.ini" \
        >"$work/client-0-1.journal.out" 2>&1; then
        echo "  FAIL: the last load was not acknowledged: $(tail -n 1 "$work/client-0-1.journal.out")"
        status=1
    fi
    echo "  $(date +%T.%2N) the last load done"
    if ! caught_up_within "$settle_seconds" "$final"; then
        echo "  FAIL: the followers did not catch up"
        status=1
    fi
    local runs
    runs=$(cat "$work"/client-[12].runs 2>/dev/null | wc -l)
    echo "  $runs client runs, $(cat "$work"/client-*.journal 2>/dev/null | grep -c '^accepted ') orders acknowledged"
    pids=()
    for node in 1 2 3; do
        nc kill "$node" >/dev/null 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}"
    local all=$work/all.journal
    cat "$work"/client-*.journal >"$all" 2>/dev/null
    mkdir -p "$work/final$final" && cp -a "$state/node$final/wal" "$work/final$final/wal"
    if ! verify_copy "$final" "$work/final$final" "$all"; then
        echo "  FAIL: the leader (node $final) lost acknowledged orders"
        status=1
    fi
    local others=()
    for node in 1 2 3; do [ "$node" = "$final" ] || others+=("$state/node$node"); done
    if ! compare_logs "$state/node$final" "${others[@]}"; then
        echo "  FAIL: a follower's log differs from the leader's"
        status=1
    fi
    if ! state_hashes_equal "$state/config/node$final.ini" "$state/node1" "$state/node2" "$state/node3"; then
        echo "  FAIL: state hashes differ at an equal LSN"
        status=1
    fi
    # Besides the killed nodes' copies, the three logs as they ended: a node never killed (a
    # leader deposed in-process, or one that never stepped down) keeps its tail until here.
    local logs=("$work"/copies/* "$state/node1" "$state/node2" "$state/node3")
    ack_gaps_per_fault "$work/faults" "$all" "$clients_end_us"
    if ! acks_keep_their_lsn "$state/config/node$final.ini" "$state/node$final" "$all" "${logs[@]}"; then
        echo "  FAIL: an LSN was acknowledged under two epochs"
        status=1
    fi
    if ! terms_do_not_overlap "$state/config/node$final.ini" "$state/node$final" "$all" "$margin_ms" \
        "${logs[@]}"; then
        echo "  FAIL: two leaders acknowledged in overlapping terms"
        status=1
    fi
    echo "  cycle time: $((SECONDS - started)) s"
    return $status
}

passed=0 failed=0
echo "cluster-test --nemesis: $cycles cycle(s), seed $seed${planted:+, planted fault $planted}"
for cycle in $(seq "$cycles"); do
    cycle_seed=$((seed + cycle - 1))
    echo "== cycle $cycle (seed $cycle_seed)"
    if run_cycle "$cycle_seed"; then
        passed=$((passed + 1))
        echo "  cycle $cycle: PASS"
        if [ "$keep" = 2 ]; then
            stop_clients
            cp -a "$work" "$work-cycle$cycle" 2>/dev/null
            echo "  kept: $work-cycle$cycle"
        fi
    else
        failed=$((failed + 1))
        echo "  cycle $cycle: FAIL (seed $cycle_seed: $(describe "$(schedule_for "$cycle_seed")"))"
        echo "  rerun: scripts/cluster-test.sh --nemesis --cycles 1 --seed $cycle_seed${planted:+ --planted-fault $planted}${fixed_schedule:+ --schedule '$fixed_schedule'}"
        if [ "$keep" != 0 ]; then
            stop_clients
            cp -a "$work" "$work-cycle$cycle" 2>/dev/null
            echo "  kept: $work-cycle$cycle"
        fi
    fi
    stop_clients
    nc down --ns-stem xnem >/dev/null 2>&1
    rm -rf "${work:?}"/*
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
