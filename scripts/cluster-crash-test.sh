#!/usr/bin/env bash
# scripts/crash-test.sh's kill -9 cycle for the replicated scheme (ack_after = quorum): a
# three-node cluster on loopback (scripts/run-cluster.sh; node 1 leads and acknowledges once two of
# the three WALs hold an order), `exchangectl load` on the leader with the ack journal on, and in
# each cycle a kill -9 under load of
#   leader    node 1;
#   follower  node 2 or 3 (drawn from the seed);
#   all       all three at once;
# (--kill rotate, the default, takes them in turn). The killed nodes are restarted in the same
# roles (no `cluster promote`: a restarted leader recovers from its own store and WAL and begins a
# new epoch through its own promise round, docs/replication.md "A leader's restart") on the same
# data directories. Each cycle then requires:
#   0. the load to have ended as the kill ends it (exit 3) or finished (exit 0), with something
#      acknowledged, and the killed nodes to have restarted;
#   1. the quorum at the kill: copies of the three data directories taken right after it
#      (running nodes SIGSTOPped while copied), recovered by `exchanged --recover`: at least two
#      of them hold every order, fill and cancel acknowledged before the kill (`exchangectl store
#      lost` of the journal's lines read until then must find nothing lost; the followers' copies
#      first, the leader's only when one of them lacks something);
#   2. the followers to catch up with the restarted cluster (equal durable LSNs on /metrics);
#   3. copies of both followers' data directories, recovered, to hold every acknowledged order,
#      fill and cancel of every cycle so far (`store lost`: nothing lost; `store verify` on each),
#      the live leader to know every one (`exchangectl verify`), and the followers' logs to hold
#      the leader's records byte for byte (`exchangectl wal compare`).
# After the last cycle the live leader is verified once more and the nodes stop with SIGTERM.
# Prints one line per cycle, the acknowledged orders lost, and `N passed, M failed`, as
# crash-test.sh does (scripts/bench-modes.sh reads them).
#
#   scripts/cluster-crash-test.sh [--config-dir DIR | --profile FILE] [--cycles N] [--seed S]
#                                 [--orders N] [--rate R] [--mix SPEC]
#                                 [--kill rotate|leader|follower|all] [--planted-fault] [--keep]
#                                 [--no-build]
# The nodes' profiles: DIR/node{1,2,3}.ini (default config/cluster), or --profile FILE (e.g.
# config/regulatory.ini) as all three nodes, each with the [server] listen and admin_listen and the
# [replication] section of its config/cluster profile, the followers without ack_after = quorum.
# Either way loopback ports 93N0..93N2 are moved to 97(N+3)0..97(N+3)2 (9740-9762: promote_test.sh
# has 9710-9732), the WAL segments are 8 MiB (the copies stay
# small), the books hold 262,144 orders (quick starts) and the state hash is checkpointed every
# 1000 commands.
# --planted-fault runs the leader with --test-fault quorum_leader_only (its own durable LSN counts
# as a quorum) and stops both followers (SIGSTOP) for 0.5 s before each kill: the leader then
# acknowledges orders only it holds, and check 1 must fail (tests/repl/cluster_crash_test.sh).
# --keep: a failed cycle's files (the copies taken at the kill and after the restart, the live data
# directories, the nodes' logs, the journals and each check's output) are kept in
# /tmp/exchanged-cluster-crash-kept-SEED-cN, and the cycle's line says where.
# Exit: 0 all passed, 1 a check failed, 2 usage.
set -uo pipefail

configs=config/cluster profile= cycles=3 seed=$((RANDOM * 32768 + RANDOM)) orders=200000
rate=50000 mix=new=80,cancel=10,replace=8,mass_cancel=1 kill_kind=rotate planted=0 build=1 keep=0
usage() {
    echo "usage: scripts/cluster-crash-test.sh [--config-dir DIR | --profile FILE] [--cycles N]" \
        "[--seed S] [--orders N] [--rate R] [--mix SPEC] [--kill rotate|leader|follower|all]" \
        "[--planted-fault] [--keep] [--no-build]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
        --planted-fault) planted=1; shift; continue ;;
        --keep) keep=1; shift; continue ;;
        --no-build) build=0; shift; continue ;;
        --config-dir) configs=${2:-} ;;
        --profile) profile=${2:-} ;;
        --cycles) cycles=${2:-} ;;
        --seed) seed=${2:-} ;;
        --orders) orders=${2:-} ;;
        --rate) rate=${2:-} ;;
        --mix) mix=${2:-} ;;
        --kill) kill_kind=${2:-} ;;
        *) usage ;;
    esac
    shift 2 || usage
done
for number in "$cycles" "$seed" "$orders" "$rate"; do
    [[ $number =~ ^[0-9]+$ ]] || usage
done
case $kill_kind in
    rotate | leader | follower | all) ;;
    *) echo "cluster-crash-test: --kill takes rotate, leader, follower or all" >&2; usage ;;
esac
if [ -n "$profile" ]; then
    [ -r "$profile" ] || {
        echo "cluster-crash-test: cannot read the profile '$profile'" >&2
        exit 2
    }
    profile=$(realpath "$profile")
else
    for node in 1 2 3; do
        [ -r "$configs/node$node.ini" ] || {
            echo "cluster-crash-test: cannot read $configs/node$node.ini" >&2
            exit 2
        }
    done
    configs=$(realpath "$configs")
fi

cd "$(dirname "$0")/.." || exit 1
bin=$(realpath "${EXCHANGED_BIN_DIR:-build/bin}")
if [ "$build" = 1 ] || [ ! -x "$bin/exchanged" ] || [ ! -x "$bin/exchangectl" ]; then
    ./scripts/build.sh release exchanged exchangectl >&2 || exit 1
fi
export EXCHANGED_BIN_DIR=$bin
dir=$(mktemp -d /tmp/exchanged-cluster-crash.XXXXXX)
cluster=$dir/cluster
cleanup() {
    for node in 2 3; do
        [ -f "$cluster/node$node.pid" ] && kill -CONT "$(cat "$cluster/node$node.pid")" 2>/dev/null
    done
    scripts/run-cluster.sh stop --data-dir "$cluster" >/dev/null 2>&1
    # CLUSTER_CRASH_KEEP=1 keeps the logs, journals and data for a look afterwards.
    if [ -n "${CLUSTER_CRASH_KEEP:-}" ]; then
        echo "cluster-crash-test: kept $dir" >&2
    else
        rm -rf "$dir"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
journal=$dir/acks.journal
: >"$journal"
RANDOM=$seed
# shellcheck source=crash-cycle-lib.sh
. scripts/crash-cycle-lib.sh

# The three profiles in $dir/config: ports 9740-9762, 8 MiB segments, a checkpoint every 1000
# commands, and books of 262,144 orders: start-up (and each --recover of a copy) allocates them in
# full, and three nodes on one machine allocating a million each took 9 s to start.
max_orders=262144
mkdir -p "$dir/config"
for node in 1 2 3; do
    source_file=$configs/node$node.ini
    if [ -n "$profile" ]; then
        # The profile, with the node's [server] addresses and [replication] section taken from
        # config/cluster/nodeN.ini; only the leader acknowledges after the quorum.
        awk -v node="$node" -v cluster="config/cluster/node$node.ini" '
            BEGIN {
                while ((getline line < cluster) > 0) {
                    if (line ~ /^\[/) section = line
                    if (section == "[replication]") replication = replication line "\n"
                    else if (section == "[server]" && line ~ /^(listen|admin_listen) *=/)
                        server[substr(line, 1, index(line, " ") - 1)] = line
                }
            }
            /^\[/ { section = $0 }
            section == "[replication]" { if ($0 == "[replication]") printf "%s", replication; next }
            section == "[server]" && /^(listen|admin_listen) *=/ { print server[$1]; next }
            node != 1 && /^ack_after *=/ { next }
            { print }
        ' "$profile" >"$dir/config/node$node.src"
        source_file=$dir/config/node$node.src
    fi
    sed -e 's/127\.0\.0\.1:931/127.0.0.1:974/g' -e 's/127\.0\.0\.1:932/127.0.0.1:975/g' \
        -e 's/127\.0\.0\.1:933/127.0.0.1:976/g' -e "s/^max_orders *=.*/max_orders = $max_orders/" \
        -e 's/^wal_segment_bytes *=.*/wal_segment_bytes = 8388608/' \
        -e '/^checkpoint_interval *=/d' -e 's/^\[safety\]$/[safety]\ncheckpoint_interval = 1000/' \
        "$source_file" >"$dir/config/node$node.ini"
done
for node in 1 2 3; do
    if ! out=$("$bin"/exchanged --config "$dir/config/node$node.ini" --check-config 2>&1); then
        echo "cluster-crash-test: node $node's profile does not load: $out" >&2
        exit 2
    fi
done
if ! grep -q '^ack_after = quorum' "$dir/config/node1.ini"; then
    echo "cluster-crash-test: the leader's profile does not acknowledge after the quorum" \
        "([persistence] ack_after = quorum)" >&2
    exit 2
fi
leader_flags=()
[ "$planted" = 1 ] && leader_flags=(--leader-flag --test-fault --leader-flag quorum_leader_only)
address=$(sed -n 's/^listen = //p' "$dir/config/node1.ini" | head -n 1)
echo "cluster-crash-test: profiles ${profile:-$configs} cycles=$cycles seed=$seed orders=$orders" \
    "rate=$rate mix=$mix kill=$kill_kind${leader_flags[*]:+ (planted fault: quorum_leader_only)}"

pid_of() { cat "$cluster/node$1.pid" 2>/dev/null; }
admin_of() { sed -n 's/^admin_listen = //p' "$dir/config/node$1.ini" | head -n 1; }
durable_lsn() {
    curl -s --max-time 2 "http://$(admin_of "$1")/metrics" 2>/dev/null |
        awk '$1 == "exchanged_wal_durable_lsn" { printf "%.0f\n", $2 }'
}
now_us() { date +%s%6N; }

# kill_nodes NODE...: kill -9, and wait until each is dead.
kill_nodes() {
    local node pid
    for node in "$@"; do kill -9 "$(pid_of "$node")" 2>/dev/null; done
    for node in "$@"; do
        pid=$(pid_of "$node")
        while alive "$pid"; do sleep 0.02; done
    done
}

# copy_nodes DEST [NODE...]: each node's (default all three) data directory in DEST/nodeN; a
# running node is stopped (SIGSTOP) while its directory is copied, which is what a kill -9 at
# that moment would leave.
copy_nodes() {
    local dest=$1 node pid nodes=("${@:2}")
    [ ${#nodes[@]} -gt 0 ] || nodes=(1 2 3)
    mkdir -p "$dest"
    for node in "${nodes[@]}"; do
        pid=$(pid_of "$node")
        kill -STOP "$pid" 2>/dev/null
        cp -a "$cluster/node$node" "$dest/node$node"
        kill -CONT "$pid" 2>/dev/null
    done
}

# recover_copy NODE COPY NAME: exchanged --recover on the copy, as check NAME.
recover_copy() {
    check "$3" "$bin"/exchanged --config "$dir/config/node$1.ini" --data-dir "$2" --recover
}

# Waits up to SECONDS until both followers' durable LSN equals the leader's (above 0).
wait_caught_up() {  # SECONDS
    local leader two three
    for _ in $(seq $(($1 * 10))); do
        leader=$(durable_lsn 1) two=$(durable_lsn 2) three=$(durable_lsn 3)
        if [ -n "$leader" ] && [ "$leader" != 0 ] && [ "$two" = "$leader" ] &&
            [ "$three" = "$leader" ]; then
            caught_up_lsn=$leader
            return 0
        fi
        sleep 0.1
    done
    why="the followers did not catch up in $1 s: durable LSN leader ${leader:-?},"
    why+=" node 2 ${two:-?}, node 3 ${three:-?}"
    return 1
}

# pick_victims CYCLE: the nodes the cycle kills, in `victims` (not in a $(...) subshell: its
# RANDOM would not follow the seed).
pick_victims() {
    local kind=$kill_kind kinds=(leader follower all)
    [ "$kind" = rotate ] && kind=${kinds[$((($1 - 1) % 3))]}
    case $kind in
        leader) victims=1 ;;
        follower) victims=$((2 + RANDOM % 2)) ;;
        all) victims="1 2 3" ;;
    esac
}

# run_cycle CYCLE: true when every check passed; `why` says what failed otherwise.
run_cycle() {
    local cycle=$1 cut held node load_status
    pick_victims "$cycle"
    victims_text=$([ "$victims" = "1 2 3" ] && echo "all three" || echo "node $victims")
    start_cycle_load "$address" "$dir/config/node1.ini" "$cycle"
    wait_kill_moment "$cycle"
    if [ "$planted" = 1 ]; then
        # The followers hold nothing new meanwhile; only the planted fault acknowledges.
        kill -STOP "$(pid_of 2)" "$(pid_of 3)"
        sleep 0.5
    fi
    # shellcheck disable=SC2086 # one word per node
    kill_nodes $victims
    cut=$(now_us)
    copy_nodes "$dir/at-kill-$cycle"
    # shellcheck disable=SC2086
    if ! scripts/run-cluster.sh restart $victims --data-dir "$cluster" --config-dir "$dir/config" \
        "${leader_flags[@]}" >"$dir/restart-$cycle.out" 2>&1; then
        why="the restart of $victims_text failed: $(tail -n 1 "$dir/restart-$cycle.out")"
        return 1
    fi
    wait "$load" 2>/dev/null
    load_status=$?
    judge_load "$load_status" "$cycle"
    [ -n "$why" ] && return 1

    # 1. Every order acknowledged before the kill is on a majority of the copies.
    journal_until "$dir/run-$cycle.journal" "$cut" >"$dir/until-kill-$cycle.journal"
    acked_at_kill=$(grep -c '^accepted ' "$dir/until-kill-$cycle.journal")
    # The followers first: when both hold everything, the leader's copy adds nothing.
    held=0 held_by=
    for node in 2 3 1; do
        [ "$held" -ge 2 ] && break
        recover_copy "$node" "$dir/at-kill-$cycle/node$node" "recover-at-kill-$cycle-node$node" ||
            return 1
        # store lost, not store verify: a copy may hold commands whose acks never left (a
        # replace that moved an acknowledged order's price), which lose nothing.
        if "$bin"/exchangectl store lost --journal "$dir/until-kill-$cycle.journal" \
            --config "$dir/config/node$node.ini" --data-dir "$dir/at-kill-$cycle/node$node" \
            --rate "$rate" --burst 2048 >"$dir/at-kill-$cycle-node$node.lost" 2>&1; then
            held=$((held + 1)) held_by+=" $node"
        fi
    done
    if [ "$held" -lt 2 ]; then
        why="$acked_at_kill orders acknowledged before the kill, but only ${held} of 3 nodes"
        why+=" hold all of them (node(s)${held_by:- none}): an acknowledged order was on no"
        why+=" majority"
        for node in 1 2 3; do
            cp "$dir/at-kill-$cycle-node$node.lost" \
                "/tmp/crash-test-$seed-at-kill-$cycle-node$node.lost" 2>/dev/null
        done
        return 1
    fi
    rm -rf "$dir/at-kill-$cycle"

    # 2. The restarted cluster catches up.
    wait_caught_up 30 || return 1

    # 3. Every acknowledgement of every cycle on each follower's recovered copy and on the live
    # leader; the logs agree.
    copy_nodes "$dir/after-$cycle" 2 3
    for node in 2 3; do
        recover_copy "$node" "$dir/after-$cycle/node$node" "recover-after-$cycle-node$node" ||
            return 1
    done
    # Nothing acknowledged may be missing (the loss window is none); store lost counts it.
    if ! check "store-lost-$cycle" "$bin"/exchangectl store lost \
        --journal "$dir/run-$cycle.journal" --kept "$dir/kept-$cycle.journal" \
        --config "$dir/config/node2.ini" --data-dir "$dir/after-$cycle/node2" --rate "$rate" \
        --burst 2048; then
        return 1
    fi
    cat "$dir/kept-$cycle.journal" >>"$journal" || { why="could not append to $journal"; return 1; }
    for node in 2 3; do
        check "store-verify-$cycle-node$node" "$bin"/exchangectl store verify \
            --journal "$journal" --config "$dir/config/node$node.ini" \
            --data-dir "$dir/after-$cycle/node$node" || return 1
    done
    check "verify-live-$cycle" "$bin"/exchangectl verify --connect "$address" \
        --journal "$journal" --config "$dir/config/node1.ini" || return 1
    # The leader's log as it stands (it writes nothing while idle), against the copies.
    for node in 2 3; do
        check "wal-compare-$cycle-node$node" "$bin"/exchangectl wal compare \
            "$cluster/node1" "$dir/after-$cycle/node$node" || return 1
    done
    rm -rf "$dir/after-$cycle"
    return 0
}

# keep_failed_cycle CYCLE: copies what the failed cycle left into a directory of its own and
# prints its name (--keep).
keep_failed_cycle() {
    local cycle=$1 kept=/tmp/exchanged-cluster-crash-kept-$seed-c$1 node
    rm -rf "$kept"
    mkdir -p "$kept/live" || return 1
    for copy in at-kill after; do
        [ -d "$dir/$copy-$cycle" ] && cp -a "$dir/$copy-$cycle" "$kept/$copy"
    done
    copy_nodes "$kept/live"
    for node in 1 2 3; do
        cp "$cluster/node$node.log" "$cluster/node$node.log.old" "$kept/live/" 2>/dev/null
    done
    cp -a "$dir/config" "$kept/"
    cp "$dir"/*"-$cycle".* "$dir"/*"-$cycle"-*.* "$dir/acks.journal" "$kept/" 2>/dev/null
    echo "$kept"
}

start=$(date +%s.%N)
if ! scripts/run-cluster.sh start --no-build --data-dir "$cluster" --config-dir "$dir/config" \
    "${leader_flags[@]}" >"$dir/start.out" 2>&1; then
    echo "cluster-crash-test: the cluster did not start: $(tail -n 3 "$dir/start.out")" >&2
    print_totals 0 0 "$cycles" 0 0 1
    exit 1
fi
passed=0 failed=0 total_acked=0 total_lost=0
for cycle in $(seq "$cycles"); do
    why= caught_up_lsn= acked_at_kill=
    cycle_start=$(date +%s.%N)
    run_cycle "$cycle"
    acked=$(grep -c '^accepted ' "$dir/run-$cycle.journal" 2>/dev/null)
    lost=$(sed -n 's/^lost: \([0-9]*\) accepted orders.*/\1/p' "$dir/store-lost-$cycle.out" \
        2>/dev/null)
    total_acked=$((total_acked + ${acked:-0})) total_lost=$((total_lost + ${lost:-0}))
    seconds=$(awk -v a="$cycle_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    if [ -z "$why" ]; then
        passed=$((passed + 1))
        echo "cycle $cycle: PASS (kill -9 of $victims_text; ${acked:-0} orders acknowledged," \
            "${lost:-0} of them lost; ${acked_at_kill} before the kill, on a majority; caught up" \
            "at LSN $caught_up_lsn; logs equal; ${seconds} s)"
    else
        failed=$((failed + 1))
        kept=
        [ "$keep" = 1 ] && kept=$(keep_failed_cycle "$cycle")
        echo "cycle $cycle: FAIL (kill -9 of $victims_text: $why; ${seconds} s)${kept:+; kept in $kept}"
        # A failed cycle leaves the cluster in an unknown state: the next one starts it again.
        scripts/run-cluster.sh stop --data-dir "$cluster" >/dev/null 2>&1
        for node in 2 3; do kill -CONT "$(pid_of "$node")" 2>/dev/null; done
        if ! scripts/run-cluster.sh restart 1 2 3 --data-dir "$cluster" \
            --config-dir "$dir/config" "${leader_flags[@]}" >"$dir/restart-after-fail.out" 2>&1
        then
            echo "cluster-crash-test: the cluster did not start again after the failure" >&2
            break
        fi
    fi
done

# After the last cycle: the live leader knows everything, and the nodes stop cleanly.
why=
if check verify-final "$bin"/exchangectl verify --connect "$address" --journal "$journal" \
    --config "$dir/config/node1.ini"; then
    for node in 1 2 3; do
        kill -TERM "$(pid_of "$node")" 2>/dev/null
    done
    for node in 1 2 3; do
        pid=$(pid_of "$node")
        for _ in $(seq 200); do alive "$pid" || break; sleep 0.05; done
        alive "$pid" && why="node $node did not stop within 10 s of SIGTERM"
    done
fi
if [ -z "$why" ]; then
    passed=$((passed + 1))
    echo "final check: PASS (the restarted leader knows every acknowledgement; clean stop)"
else
    failed=$((failed + 1))
    echo "final check: FAIL ($why)"
fi
echo "seconds per cycle: $(awk -v a="$start" -v b="$(date +%s.%N)" -v n="$cycles" \
    'BEGIN { printf "%.1f", (b - a) / n }') (whole run included)"
print_totals "$total_lost" "$total_acked" "$cycles" 0 "$passed" "$failed"
[ "$failed" -eq 0 ]
