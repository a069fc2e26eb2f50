#!/usr/bin/env bash
# Seeded fault schedules over the three-node cluster in network namespaces (scripts/netns-cluster.sh,
# docs/replication.md "Testing in network namespaces"). Each cycle starts a fresh cluster, runs
# `exchangectl load` (alice and bob, ack journal) in the leader's namespace, and meanwhile plays a
# schedule of 2 to 4 faults drawn from the cycle's seed, one after the other:
#
#   kill -9 of a follower, restarted after a pause   | a follower cut off (iptables DROP), healed
#   SIGSTOP of a follower, SIGCONT after a pause      | the leader cut off from both, healed
#
# Then it heals everything, waits for the load to end and for both followers' durable LSN to reach
# the leader's, stops the nodes (kill -9) and checks:
#   - nothing acknowledged is lost: each follower's WAL, copied and recovered into a store of its
#     own (exchanged --recover), holds every order, fill and cancel of the journal (store verify);
#   - the followers' logs hold the leader's records byte for byte (exchangectl wal compare).
# A failing cycle prints its seed and schedule; `--cycles 1 --seed THAT` plays the same schedule
# again (the timing of the processes differs from run to run).
#
# While the leader is cut off, copies of both followers' WALs are taken just before the heal; at the
# end, one of them must hold every order acknowledged before the heal.
#
# usage: scripts/cluster-test.sh [--cycles N] [--seed S] [--keep] [--planted-fault] [--no-build]
#   --keep copies a failing cycle's files (logs, data, journal) to a directory it names.
#   --planted-fault runs the leader with --test-fault quorum_leader_only (its own durable LSN
#   counts as a quorum): a schedule that cuts the leader off must then fail (scripts/test.sh
#   checks that it does).
# Exit: 0 all passed, 1 a cycle failed, 2 usage, 77 skipped (not root, no network namespaces).
# The leader (node 1) is never killed: that needs a promotion; see fault_kill_leader.
set -uo pipefail
cd "$(dirname "$0")/.."

cycles=1 seed=$(((RANDOM << 15) | RANDOM)) keep=0 build=1 leader_flags=()
while [ $# -gt 0 ]; do
    case "$1" in
        --cycles) cycles=${2:?--cycles needs a number}; shift 2 ;;
        --seed) seed=${2:?--seed needs a number}; shift 2 ;;
        --keep) keep=1; shift ;;
        --planted-fault) leader_flags=(--leader-flag --test-fault --leader-flag quorum_leader_only); shift ;;
        --no-build) build=0; shift ;;
        *) echo "cluster-test.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
for value in "$cycles" "$seed"; do
    [[ "$value" =~ ^[0-9]+$ ]] || { echo "cluster-test.sh: '$value' is not a whole number" >&2; exit 2; }
done
if [ "$(id -u)" -ne 0 ]; then
    echo "cluster-test.sh: SKIP: needs root (network namespaces, veth pairs, iptables)"
    exit 77
fi
for tool in ip nsenter iptables curl; do
    if ! command -v "$tool" >/dev/null; then
        echo "cluster-test.sh: SKIP: '$tool' not found (scripts/setup-deps.sh installs it)"
        exit 77
    fi
done

bin=$(realpath "${EXCHANGED_BIN_DIR:-build/bin}")
export EXCHANGED_BIN_DIR=$bin
if [ "$build" = 1 ]; then
    ./scripts/build.sh release exchanged exchangectl >/dev/null || exit 1
fi
work=$(mktemp -d /tmp/exchanged-cluster-test.XXXXXX)
prefix=c$$
state=$work/cluster
# shellcheck source=cluster-checks.sh
. scripts/cluster-checks.sh
cleanup() {
    nc down >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
# A signal (ctest's timeout, Ctrl-C) exits through the EXIT trap too: no namespace is left behind.
trap 'exit 130' INT TERM

# Faults the schedules draw from, one function each: NODE and SECONDS come from the seed. A kill -9
# of the leader needs a follower promoted (exchangectl cluster promote, being built): add
# kill_leader to this list once fault_kill_leader does that, and make the checks take the new
# leader's node instead of node 1.
faults=(kill_follower isolate_follower pause_follower isolate_leader)
fault_kill_follower() {
    nc kill "$1" && sleep "$2" && nc start "$1" >/dev/null
}
fault_isolate_follower() {
    nc isolate "$1" && sleep "$2" && nc heal
}
fault_pause_follower() {
    nc pause "$1" && sleep "$2" && nc resume "$1"
}
# While the leader is cut off, the followers' WALs are all that a majority holds: copies taken just
# before the heal must hold every order acknowledged before it (checked at the end of the cycle,
# when the journal is complete).
fault_isolate_leader() {
    local copies
    copies=$work/cut$(find "$work" -maxdepth 1 -name 'cut*' | wc -l)
    nc isolate 1 && sleep "$2" || return 1
    for node in 2 3; do
        copy_follower_wal "$node" "$copies/copy$node" || return 1
    done
    now_us >"$copies/healed"
    nc heal
}
fault_kill_leader() {
    echo "kill -9 of the leader needs a promotion, which is not built yet" >&2
    return 1
}

# The cycle's schedule from its seed: lines "FAULT NODE SECONDS".
schedule_for() {  # SEED
    RANDOM=$1
    local steps=$((2 + RANDOM % 3)) fault node tenths
    for _ in $(seq "$steps"); do
        fault=${faults[RANDOM % ${#faults[@]}]}
        node=$((2 + RANDOM % 2))
        [ "$fault" = isolate_leader ] && node=1
        tenths=$((5 + RANDOM % 21))  # 0.5 to 2.5 s
        echo "$fault $node $((tenths / 10)).$((tenths % 10))"
    done
}

describe() {  # SCHEDULE
    local text=
    while read -r fault node seconds; do
        text+="${text:+; }$fault $node for ${seconds}s"
    done <<<"$1"
    echo "$text"
}

run_cycle() {  # CYCLE_SEED: returns 0 when every check passed; prints why not
    local cycle_seed=$1 schedule journal=$work/acks.journal total=0 load status=0
    schedule=$(schedule_for "$cycle_seed")
    echo "  schedule: $(describe "$schedule")"
    if ! nc up --no-build --max-orders 131072 --segment-bytes 8388608 "${leader_flags[@]}" \
        >"$work/up.out" 2>&1; then
        echo "  the cluster did not start: $(tail -n 3 "$work/up.out")"
        return 1
    fi
    while read -r _ _ seconds; do
        total=$((total + ${seconds%.*} + 1))
    done <<<"$schedule"
    # Orders for the schedule and 2 s either side; held orders wait at most a partition plus TCP's
    # retransmission back-off, well inside the timeout.
    start_load "$journal" $(((total + 4) * 1000)) "$state/config/node1.ini" --connections 2 \
        --rate 1000 --timeout 30
    load=$!
    sleep 2
    while read -r fault node seconds; do
        if ! "fault_$fault" "$node" "$seconds"; then
            echo "  FAIL: the fault '$fault $node' could not be applied"
            status=1
        fi
        sleep 0.3
    done <<<"$schedule"
    nc heal
    for node in 2 3; do
        nc resume "$node" 2>/dev/null
        nc status | grep -q "^node $node: .*: down" && nc start "$node" >/dev/null
    done
    if ! wait "$load"; then
        echo "  FAIL: the load did not finish: $(tail -n 1 "$journal.out")"
        status=1
    fi
    echo "  load: $(grep 'sent ' "$journal.out" | tail -n 1 | sed 's/^ *//')"
    if ! wait_caught_up 30; then
        echo "  FAIL: the followers did not catch up"
        status=1
    fi
    for node in 1 2 3; do nc kill "$node" >/dev/null 2>&1 & done
    wait
    for node in 2 3; do
        mkdir -p "$work/copy$node" && cp -a "$state/node$node/wal" "$work/copy$node/wal"
        if ! verify_copy "$node" "$work/copy$node" "$journal"; then
            echo "  FAIL: follower $node lost acknowledged orders"
            status=1
        fi
    done
    local cut held
    for cut in "$work"/cut*; do
        [ -d "$cut" ] || continue
        journal_until "$journal" "$(cat "$cut/healed")" >"$cut/until-heal.journal"
        held=
        for node in 2 3; do
            verify_copy "$node" "$cut/copy$node" "$cut/until-heal.journal" && held=1 && break
        done
        if [ -z "$held" ]; then
            echo "  FAIL: an order acknowledged while the leader was cut off ($(basename "$cut")) is on no follower"
            status=1
        fi
    done
    if ! compare_logs "$state/node1" "$state/node2" "$state/node3"; then
        echo "  FAIL: a follower's log differs from the leader's"
        status=1
    fi
    return $status
}

passed=0 failed=0
echo "cluster-test: $cycles cycle(s), seed $seed"
for cycle in $(seq "$cycles"); do
    cycle_seed=$((seed + cycle - 1))
    echo "== cycle $cycle (seed $cycle_seed)"
    if run_cycle "$cycle_seed"; then
        passed=$((passed + 1))
        echo "  cycle $cycle: PASS"
    else
        failed=$((failed + 1))
        echo "  cycle $cycle: FAIL (seed $cycle_seed: $(describe "$(schedule_for "$cycle_seed")"))"
        echo "  rerun: scripts/cluster-test.sh --cycles 1 --seed $cycle_seed${leader_flags[*]:+ --planted-fault}"
        if [ "$keep" = 1 ]; then
            cp -a "$work" "$work-cycle$cycle"
            echo "  kept: $work-cycle$cycle"
        fi
    fi
    nc down >/dev/null 2>&1
    rm -rf "${work:?}"/*
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
