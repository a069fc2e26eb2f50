#!/usr/bin/env bash
# A leader restarted after a whole-cluster crash begins a new term (docs/replication.md: A
# leader's restart), with real processes: three daemons from the config/cluster profiles on ports
# 9770-9792, `exchangectl load` with an ack journal on the leader, kill -9 of all three, then the
# leader's log loses its last records that both followers hold (`exchangectl wal cut`, as a power
# cut that lost its unsynced tail would leave it; the store is kept far behind by a slow store
# batch, as a real store trails the synced WAL), and all three restart:
#   fixed    the leader refuses logins until a majority promised a new epoch, fetches the records
#            it lacks and leads: every acknowledged order is in its books (`exchanged --recover`,
#            `exchangectl store verify`), new orders are accepted and on a follower too, the three logs hold identical
#            records (`wal compare`) and the state hashes are equal (`wal state`).
#   planted  the same with --test-fault restart_resume_term on the leader (it resumes its old
#            term blind, the old behaviour): the check of the acknowledged orders must fail.
# usage: new_term_test.sh BIN_DIR fixed|planted
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build/bin}
mode=${2:-fixed}
case "$mode" in fixed|planted) ;; *) echo "new_term_test.sh: unknown mode '$mode'" >&2; exit 2 ;; esac
# shellcheck source=tests/repl/cluster_test_lib.sh
. tests/repl/cluster_test_lib.sh
# Ports 93N0..93N2 move to 97(N+6)0..97(N+6)2; the store commits at most every 2 s.
cluster_test_init new-term 93 16384 \
    's/127\.0\.0\.1:931/127.0.0.1:977/g' 's/127\.0\.0\.1:932/127.0.0.1:978/g' \
    's/127\.0\.0\.1:933/127.0.0.1:979/g' \
    's/^store_batch_size = .*/store_batch_size = 1000000/' \
    's/^store_batch_timeout_ms = .*/store_batch_timeout_ms = 2000/'
run=$work/run-crash
# NEW_TERM_KEEP=1 keeps the scratch directory (logs, data) for a look afterwards.
if [ -n "${NEW_TERM_KEEP:-}" ]; then
    trap 'scripts/run-cluster.sh stop --data-dir "$run" >/dev/null 2>&1; echo "kept $work"' EXIT
fi
leader_flags=()
[ "$mode" = planted ] && leader_flags=(--leader-flag --test-fault --leader-flag restart_resume_term)

last_lsn() {  # NODE: the last LSN of its WAL
    "$bin/exchangectl" wal verify "$run/node$1" | sed -n 's/^lsn range: [0-9]*\.\.//p'
}
metric() {  # ADMIN_PORT SERIES
    curl -s --max-time 2 "http://127.0.0.1:$1/metrics" | awk -v s="$2" '$1 == s {printf "%.0f\n", $2}'
}

echo "== $mode: load, kill -9 of all three, the leader's tail lost, restart"
start_cluster crash || { echo "FAIL: the cluster did not start"; exit 1; }
load crash "$run/acks-1.journal" 9770 200000 0 &
loader=$!
wait_acked "$run/acks-1.journal" 3000 || fail "fewer than 3000 orders acknowledged in 30 s"
for node in 1 2 3; do kill -9 "$(cat "$run/node$node.pid")"; done
for node in 1 2 3; do kill_node crash "$node"; done
wait "$loader"
acked1=$(grep -c '^accepted ' "$run/acks-1.journal")
one=$(last_lsn 1) two=$(last_lsn 2) three=$(last_lsn 3)
low=$((two < three ? two : three))
low=$((low < one ? low : one))
# Records both followers hold, so acknowledged ones among them (the last acknowledgements of the
# run are at most a group commit and a round trip before the kill).
cut=$((low - 300))
echo "  $acked1 orders acknowledged; last LSN: node 1 $one, node 2 $two, node 3 $three"
"$bin/exchangectl" wal cut "$run/node1" --to "$cut" | sed 's/^/  /'
flags=()
for flag in "${leader_flags[@]}"; do flags+=("$flag"); done
started=$(date +%s.%N)
# The followers first, then the leader, whose round then finds all three.
if ! scripts/run-cluster.sh restart 2 3 --data-dir "$run" --config-dir "$work/config" \
    >"$run/restart.out" 2>&1 ||
    ! scripts/run-cluster.sh restart 1 --data-dir "$run" --config-dir "$work/config" \
        "${flags[@]}" >>"$run/restart.out" 2>&1; then
    cat "$run/restart.out"
    fail "the cluster did not restart"
fi
echo "  restarted in $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
grep -h 'restarts as leader\|majority for epoch\|fetch\|TEST FAULT\|ready:' "$run/node1.log" |
    sed -e 's/^[^]]*] //' -e 's/^/  node 1: /' | cut -c1-200

echo "== $mode: new orders on the restarted leader"
load crash "$run/acks-2.journal" 9770 2000 1000000
acked2=$(grep -c '^accepted ' "$run/acks-2.journal")
echo "  $acked2 of 2000 new orders acknowledged"
[ "$acked2" -eq 2000 ] || fail "the restarted leader acknowledged $acked2 of 2000 new orders"
caught=
for _ in $(seq 300); do
    a=$(metric 9771 exchanged_wal_durable_lsn) b=$(metric 9781 exchanged_wal_durable_lsn)
    c=$(metric 9791 exchanged_wal_durable_lsn)
    [ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" = "$c" ] && { caught=$a; break; }
    sleep 0.1
done
echo "  durable LSN: node 1 ${a:-?}, node 2 ${b:-?}, node 3 ${c:-?}"
[ -n "$caught" ] || fail "the followers did not catch up with the restarted leader"
scripts/run-cluster.sh stop --data-dir "$run" >/dev/null 2>&1

echo "== $mode: every acknowledged order on the leader; logs and state hashes equal"
holds_journals crash 1 "$run/acks-1.journal" "$run/acks-2.journal" ||
    fail "the restarted leader lacks acknowledged orders"
# The new term's orders are on a majority: a follower holds them too (resuming the old term, the
# leader acknowledged orders at the LSNs where the followers kept their own records).
holds_journals crash 2 "$run/acks-2.journal" ||
    fail "follower 2 lacks orders the restarted leader acknowledged"
for node in 2 3; do
    if "$bin/exchangectl" wal compare "$run/node1" "$run/node$node" >"$run/compare.out" 2>&1; then
        echo "  node 1 and node $node: $(tail -n 1 "$run/compare.out")"
    else
        fail "the logs of node 1 and node $node differ: $(tail -n 1 "$run/compare.out")"
    fi
done
for node in 1 2 3; do
    "$bin/exchangectl" wal state "$run/node$node" --config "$work/config/node$node.ini" \
        --to "${caught:-1}" 2>&1 | grep '^shard' >"$run/state-$node.out"
done
if [ -s "$run/state-1.out" ] && cmp -s "$run/state-1.out" "$run/state-2.out" &&
    cmp -s "$run/state-1.out" "$run/state-3.out"; then
    echo "  state hashes equal at LSN $caught: $(head -n 1 "$run/state-1.out")"
else
    fail "the state hashes differ at LSN ${caught:-?}"
fi

if [ "$mode" = planted ]; then
    if [ "$failures" -eq 0 ]; then
        echo "FAIL: the planted fault restart_resume_term was not caught"
        exit 1
    fi
    echo "PASS: the planted fault restart_resume_term was caught ($failures failed checks)"
    exit 0
fi
[ "$failures" -eq 0 ] || { echo "FAIL: $failures check(s) failed"; exit 1; }
echo "PASS"
