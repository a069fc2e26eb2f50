#!/usr/bin/env bash
# Replication with real processes (docs/replication.md): three daemons on loopback from the
# config/cluster profiles (moved to other ports), started by scripts/run-cluster.sh.
#
#   1. kill -9 of the leader in the middle of `exchangectl load` (ack journal on), then of both
#      followers: every order the leader acknowledged is durable on a follower. The check: each
#      follower's WAL recovered into its store (exchanged --recover), then `exchangectl store
#      verify` of the journal against it; the followers' logs are prefixes of the leader's, so the
#      longer one must hold every acknowledged order.
#   2. both followers killed: the leader acknowledges nothing new, and once the oldest order has
#      waited quorum_timeout_ms another account's new orders are refused as unavailable.
#   3. mutation: the leader with --test-fault quorum_leader_only (its own durable LSN counts as a
#      quorum) acknowledges with both followers dead, and the check of 1 fails.
#   4. kill -9 and restart of a follower under load: the load finishes (the leader and the other
#      follower are a majority), the restarted follower catches up, and holds every acked order.
#      Its hot standby applied every record and wrote its store (verified without --recover).
#      The other follower, restarted with --test-fault standby_apply_skip (its
#      applier drops a command), stops at the next checkpoint record naming the LSN.
#
# usage: cluster_test.sh BIN_DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build/bin}
# shellcheck source=tests/repl/cluster_test_lib.sh
. tests/repl/cluster_test_lib.sh
# Ports 95x0..95x2. Checkpoint records every 500 commands, so that a standby checks its state hash
# often.
cluster_test_init cluster-test 95 131072 \
    's/^enable_checksums = true/enable_checksums = true\ncheckpoint_interval = 500/'
# A client profile with bob only: a second account, whose orders no held reply of alice's orders
# waits in front of.
grep -v '^alice = ' "$work/config/node1.ini" >"$work/config/bob.ini"
leader=127.0.0.1:9510

# Recovers both followers' WALs into their stores and verifies the journal against each; true
# when a follower holds every acknowledged order (prints what each check said).
acked_on_a_follower() {  # NAME JOURNAL
    local run=$work/run-$1 journal=$2 held=1
    for node in 2 3; do
        if ! "$bin/exchanged" --config "$work/config/node$node.ini" --data-dir "$run/node$node" \
            --recover >"$run/recover-$node.out" 2>&1; then
            echo "  follower $node: recovery failed: $(tail -n 1 "$run/recover-$node.out")"
            continue
        fi
        if "$bin/exchangectl" store verify --journal "$journal" \
            --config "$work/config/node$node.ini" --data-dir "$run/node$node" \
            >"$run/verify-$node.out" 2>&1; then
            echo "  follower $node holds every acknowledged order: $(tail -n 2 "$run/verify-$node.out" | head -n 1)"
            held=0
        else
            echo "  follower $node lacks acknowledged orders: $(grep -m 1 -i 'fail\|missing' "$run/verify-$node.out")"
        fi
    done
    return $held
}

echo "== 1. kill -9 of the leader under load"
if start_cluster kill-leader; then
    journal=$work/run-kill-leader/acks.journal
    "$bin/exchangectl" load --connect "$leader" --orders 200000 --connections 2 --rate 10000 \
        --timeout 5 --journal "$journal" --config "$work/config/node1.ini" \
        >"$work/run-kill-leader/load.out" 2>&1 &
    load=$!
    # Kill once a few thousand orders are acknowledged (never after a fixed time alone).
    for _ in $(seq 300); do
        count=$(grep -c '^accepted ' "$journal" 2>/dev/null)
        [ "${count:-0}" -ge 3000 ] && break
        sleep 0.1
    done
    kill_node kill-leader 1
    wait "$load"
    acked=$(grep -c '^accepted ' "$journal")
    kill_node kill-leader 2
    kill_node kill-leader 3
    echo "  $acked orders acknowledged before the kill"
    if [ "$acked" -eq 0 ]; then
        fail "nothing was acknowledged: $(tail -n 1 "$work/run-kill-leader/load.out")"
    elif ! acked_on_a_follower kill-leader "$journal"; then
        fail "an acknowledged order is on no follower"
    fi
    scripts/run-cluster.sh stop --data-dir "$work/run-kill-leader" >/dev/null
else
    fail "the cluster did not start"
fi

# Both followers killed; returns the orders the leader acknowledged after that.
acks_without_followers() {  # NAME
    local run=$work/run-$1
    kill_node "$1" 2
    kill_node "$1" 3
    "$bin/exchangectl" load --connect "$leader" --orders 200 --rate 1000 --timeout 3 \
        --journal "$run/alice.journal" --config "$work/config/node1.ini" >"$run/alice.out" 2>&1
    grep -c '^accepted ' "$run/alice.journal"
}

echo "== 2. both followers killed: nothing new is acknowledged"
if start_cluster no-followers; then
    run=$work/run-no-followers
    acked=$(acks_without_followers no-followers)
    echo "  $acked orders acknowledged without followers"
    [ "$acked" -eq 0 ] || fail "the leader acknowledged $acked orders with both followers dead"
    # alice's orders have waited over quorum_timeout_ms (1 s) by now: bob's are refused at once.
    "$bin/exchangectl" load --connect "$leader" --orders 20 --rate 1000 --timeout 5 \
        --id-base 1000000 --journal "$run/bob.journal" --config "$work/config/bob.ini" \
        >"$run/bob.out" 2>&1
    refused=$(grep -c '^rejected .*reason=unavailable' "$run/bob.journal")
    echo "  $refused of bob's 20 orders refused as unavailable"
    [ "$refused" -eq 20 ] || fail "expected bob's 20 orders refused unavailable: $(tail -n 1 "$run/bob.out")"
    grep -q '^accepted ' "$run/bob.journal" && fail "bob's orders were acknowledged"
    scripts/run-cluster.sh stop --data-dir "$run" >/dev/null
else
    fail "the cluster did not start"
fi

echo "== 3. mutation: the leader's own durable LSN counted as a quorum"
if start_cluster mutation --test-fault quorum_leader_only; then
    acked=$(acks_without_followers mutation)
    echo "  $acked orders acknowledged without followers under the fault"
    kill_node mutation 1
    if [ "$acked" -eq 0 ]; then
        fail "the planted fault acknowledged nothing: the mutation proves nothing"
    elif acked_on_a_follower mutation "$work/run-mutation/alice.journal"; then
        fail "the check passed with acknowledged orders on no follower"
    else
        echo "  the check caught the planted fault"
    fi
else
    fail "the cluster did not start"
fi

echo "== 4. a follower killed and restarted under load catches up"
if start_cluster restart-follower; then
    run=$work/run-restart-follower
    journal=$run/acks.journal
    "$bin/exchangectl" load --connect "$leader" --orders 20000 --connections 2 --rate 10000 \
        --timeout 10 --journal "$journal" --config "$work/config/node1.ini" >"$run/load.out" 2>&1 &
    load=$!
    wait_acked() {
        for _ in $(seq 300); do
            count=$(grep -c '^accepted ' "$journal" 2>/dev/null)
            [ "${count:-0}" -ge "$1" ] && return 0
            sleep 0.1
        done
        return 1
    }
    wait_acked 4000
    kill_node restart-follower 3
    wait_acked 8000
    "$bin/exchanged" --config "$work/config/node3.ini" --data-dir "$run/node3" \
        >>"$run/node3.log" 2>&1 &
    echo $! >"$run/node3.pid"
    wait "$load" || fail "the load did not finish with one follower restarting: $(tail -n 1 "$run/load.out")"
    # Node 3 has caught up once its acknowledged LSN is the last one the leader shipped, and its
    # standby has applied that LSN and written it to its store.
    caught_up=
    for _ in $(seq 300); do
        metrics=$(curl -s "http://127.0.0.1:9511/metrics")
        shipped=$(echo "$metrics" | awk '/^exchanged_replication_shipped_lsn /{print $2}')
        three=$(echo "$metrics" | awk '/^exchanged_replication_follower_acked_lsn\{node="3"\} /{print $2}')
        standby=$(curl -s "http://127.0.0.1:9531/metrics")
        applied=$(echo "$standby" | awk '/^exchanged_replication_applied_lsn /{print $2}')
        stored=$(echo "$standby" | awk '/^exchanged_store_lsn /{print $2}')
        if [ -n "$shipped" ] && [ "$shipped" != 0 ] && [ "$shipped" = "$three" ] &&
            [ "$shipped" = "$applied" ] && [ "$shipped" = "$stored" ]; then
            caught_up=1
            break
        fi
        sleep 0.1
    done
    echo "  node 3 acknowledged LSN ${three:-?} of ${shipped:-?} shipped, applied ${applied:-?}, stored ${stored:-?}"
    [ -n "$caught_up" ] || fail "the restarted follower did not catch up, apply and store"
    # Mutation: node 2's standby drops a command; the next checkpoint record must stop it.
    kill_node restart-follower 2
    "$bin/exchanged" --config "$work/config/node2.ini" --data-dir "$run/node2" \
        --test-fault standby_apply_skip >>"$run/node2.log" 2>&1 &
    node2=$!
    "$bin/exchangectl" load --connect "$leader" --orders 2000 --rate 5000 --timeout 10 \
        --id-base 2000000 --config "$work/config/node1.ini" >"$run/load-2.out" 2>&1 ||
        fail "the load with node 2's standby failing: $(tail -n 1 "$run/load-2.out")"
    for _ in $(seq 100); do
        kill -0 "$node2" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$node2" 2>/dev/null; then
        kill -9 "$node2"
        fail "node 2's standby applied a dropped command and carried on"
    elif wait "$node2"; then
        fail "node 2 stopped with exit 0 after a checkpoint mismatch"
    elif mismatch=$(grep -m 1 'checkpoint mismatch at WAL record LSN' "$run/node2.log"); then
        echo "  the check caught the planted fault: ${mismatch#*standby: }"
    else
        fail "node 2 stopped without naming the checkpoint mismatch: $(tail -n 1 "$run/node2.log")"
    fi
    scripts/run-cluster.sh stop --data-dir "$run" >/dev/null
    # The store node 3's standby wrote (no --recover); the daemon holds it exclusively while up.
    if "$bin/exchangectl" store verify --journal "$journal" --config "$work/config/node3.ini" \
        --data-dir "$run/node3" >"$run/verify-3.out" 2>&1; then
        echo "  node 3's store holds every acknowledged order: $(tail -n 2 "$run/verify-3.out" | head -n 1)"
    else
        fail "the restarted follower's store lacks acknowledged orders: $(grep -m 1 FAIL "$run/verify-3.out")"
    fi
else
    fail "the cluster did not start"
fi

if [ "$failures" -eq 0 ]; then
    echo "cluster test: PASS"
    exit 0
fi
echo "cluster test: $failures FAILED"
exit 1
