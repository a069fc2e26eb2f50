#!/usr/bin/env bash
# A manual promotion with real processes (docs/replication.md: Promotion): three daemons on
# loopback from the config/cluster profiles (moved to ports 97x0..97x2), started by
# scripts/run-cluster.sh.
#
#   1. kill -9 of the leader under `exchangectl load` (journal 1); `cluster promote 2` (which
#      fetches first when node 3's log is longer); node 3's login refusal names node 2 and
#      `exchangectl` follows it; load against the new leader (journal 2); node 1 back as a
#      follower from its own data directory, its profile's role edited but not its epoch: it
#      adopts epoch 2 from node 2's frames (divergence repair cuts a departed tail);
#      every acknowledged order of both journals is in the new leader's store after
#      `exchanged --recover` (`exchangectl store verify`).
#   2. two nodes killed: `cluster promote` fails with "no majority" and changes nothing.
#   3. a follower cut off under load (its log stays short) promoted while the leader runs: it
#      fetches what it lacks from the leader, which is deposed by its promise (refuses orders
#      unavailable, restarts as a follower from its data_dir/replication.state, names the new
#      leader in login refusals), and the candidate's store holds the journal.
#      Node 3 is down during that promotion and restarts with its profile unchanged (a follower of
#      epoch 1): it adopts epoch 2 from node 2's frames, persists it, names node 2 in its login
#      refusal, and its log ends identical to node 2's (`exchangectl wal compare`).
#   4. the same with the planted faults promote_any_log (the candidate leads without fetching: the
#      journal check fails) and, on node 3, refuse_newer_epoch (it refuses node 2's stream: the
#      check that it follows fails): the mutations the checks must catch.
#
# usage: promote_test.sh BIN_DIR [failover|fetch|all]   (failover: 1 and 2; fetch: 3 and 4)
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build/bin}
part=${2:-all}
case "$part" in failover|fetch|all) ;; *) echo "promote_test.sh: unknown part '$part'" >&2; exit 2 ;; esac
# shellcheck source=tests/repl/cluster_test_lib.sh
. tests/repl/cluster_test_lib.sh
cluster_test_init promote-test 97 16384  # ports 97x0..97x2

start_node() {  # NAME NODE [CONFIG [FLAG...]]
    local run=$work/run-$1 node=$2 config=${3:-$work/config/node$2.ini}
    shift 3 2>/dev/null || shift $#
    local lines
    lines=$(wc -l <"$run/node$node.log" 2>/dev/null || echo 0)
    "$bin/exchanged" --config "$config" --data-dir "$run/node$node" "$@" >>"$run/node$node.log" 2>&1 &
    echo $! >"$run/node$node.pid"
    disown $!  # a later kill -9 is expected, not news
    for _ in $(seq 300); do
        tail -n +"$((lines + 1))" "$run/node$node.log" | grep -q 'ready:' && return 0
        kill -0 "$(cat "$run/node$node.pid")" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

metric() {  # ADMIN_PORT SERIES
    curl -s "http://127.0.0.1:$1/metrics" | awk -v s="$2" '$1 == s {print $2}'
}

# `exchangectl status` at a follower's client port: it prints the refusal and follows it.
login_via() {  # CLIENT_PORT -> $run/login.out
    "$bin/exchangectl" status --connect "127.0.0.1:$1" --account alice --instrument AAPL \
        --client-order-id 1 --timeout 2 --config "$work/config/node1.ini" >"$run/login.out" 2>&1
}

promote() {  # NAME NODE [flags...] -> exit code; output in $work/run-NAME/promote.out
    local run=$work/run-$1 node=$2
    shift 2
    "$bin/exchangectl" cluster promote "$node" --config "$configs" "$@" >"$run/promote.out" 2>&1
}

if [ "$part" = fetch ]; then
    echo "== 1. and 2. skipped (part fetch)"
elif echo "== 1. kill -9 of the leader under load, promotion, load on the new leader" &&
    start_cluster failover; then
    run=$work/run-failover
    load failover "$run/acks-1.journal" 9710 200000 0 &
    loader=$!
    wait_acked "$run/acks-1.journal" 2000
    kill_node failover 1
    wait "$loader"
    acked1=$(grep -c '^accepted ' "$run/acks-1.journal")
    two=$(metric 9721 exchanged_wal_durable_lsn)
    three=$(metric 9731 exchanged_wal_durable_lsn)
    echo "  $acked1 orders acknowledged before the kill; durable LSN: node 2 $two, node 3 $three"
    candidate=2
    if promote failover "$candidate"; then
        sed 's/^/  /' "$run/promote.out"
        epoch=$(grep -o 'leads epoch [0-9]*' "$run/promote.out" | grep -o '[0-9]*$')
        grep -q "ready:.*promoted to leader at epoch $epoch" "$run/node$candidate.log" ||
            fail "node $candidate's ready line does not say it was promoted"
        # Node 3 ran through the promotion: its login refusal now names the new leader.
        login_via 9730
        grep -q "leader at 127.0.0.1:97${candidate}0): following it to 127.0.0.1:97${candidate}0" "$run/login.out" ||
            fail "node 3's login refusal does not name node $candidate: $(grep -m 1 -i reject "$run/login.out")"
        load failover "$run/acks-2.journal" "97${candidate}0" 2000 1000000
        acked2=$(grep -c '^accepted ' "$run/acks-2.journal")
        echo "  $acked2 orders acknowledged by the new leader"
        [ "$acked2" -gt 0 ] || fail "the new leader acknowledged nothing: $(tail -n 1 "$run/load.out")"
        # Node 1 rejoins as a follower: its profile says role follower (as an operator sets it),
        # its epoch is left at 1 and it adopts the new one from node 2's frames; its log, which
        # may end with records the new leader never had, is cut back by divergence repair.
        sed -e 's/^role = leader/role = follower/' \
            -e '/^ack_after = quorum/d' "$work/config/node1.ini" >"$work/config/node1-follower.ini"
        if start_node failover 1 "$work/config/node1-follower.ini"; then
            shipped= one=
            for _ in $(seq 200); do
                shipped=$(metric "97${candidate}1" exchanged_replication_shipped_lsn)
                one=$(metric "97${candidate}1" 'exchanged_replication_follower_acked_lsn{node="1"}')
                [ -n "$one" ] && [ "$one" = "$shipped" ] && break
                sleep 0.1
            done
            echo "  node 1 follows epoch $epoch: acknowledged LSN ${one:-?} of ${shipped:-?}"
            grep -q "adopted epoch $epoch from the leader's frames" "$run/node1.log" ||
                fail "node 1 did not adopt epoch $epoch from node $candidate's frames"
            cut=$(grep -m 1 -o 'cutting LSN [0-9.]*' "$run/node1.log")
            echo "  node 1, its log cut back: ${cut:-nothing to cut}"
            [ -n "$one" ] && [ "$one" = "$shipped" ] || fail "node 1 did not catch up as a follower"
        else
            fail "node 1 did not start as a follower: $(tail -n 2 "$run/node1.log")"
        fi

        echo "== 2. two nodes killed: no majority, nothing changes"
        other=$((5 - candidate))
        kill_node failover 1
        kill_node failover "$other"
        state_before=$(cat "$run/node$candidate/replication.state")
        promote failover "$candidate"
        code=$?
        echo "  $(cat "$run/promote.out")"
        [ "$code" -eq 1 ] && grep -q '^cluster promote: no majority: 1 of 3' "$run/promote.out" ||
            fail "promote with two nodes dead: exit $code, expected 1 and 'no majority'"
        [ "$(cat "$run/node$candidate/replication.state")" = "$state_before" ] ||
            fail "the failed promotion changed node $candidate's state file"
        [ "$(metric "97${candidate}1" exchanged_replication_role)" = 1 ] ||
            fail "node $candidate no longer leads after the failed promotion"
        scripts/run-cluster.sh stop --data-dir "$run" >/dev/null
        holds_journals failover "$candidate" "$run/acks-1.journal" "$run/acks-2.journal" ||
            fail "the new leader lacks acknowledged orders"
    else
        fail "cluster promote $candidate failed: $(cat "$run/promote.out")"
    fi
    scripts/run-cluster.sh stop --data-dir "$run" >/dev/null
else
    fail "the cluster did not start"
fi

# Node 2 killed, load acknowledged by nodes 1 and 3, node 2 back on another replication port
# (the leader cannot reach it): its log stays short while the leader runs.
short_candidate() {  # NAME
    local run=$work/run-$1
    # Killed before it holds the leader's term start record (LSN 1), its log would be of no
    # epoch, which `cluster promote` refuses to extend from node 1's epoch-1 log.
    for _ in $(seq 100); do
        [ "$(metric 9711 'exchanged_replication_follower_acked_lsn{node="2"}')" -ge 1 ] 2>/dev/null && break
        sleep 0.1
    done
    kill_node "$1" 2
    load "$1" "$run/acks.journal" 9710 2000 0
    echo "  $(grep -c '^accepted ' "$run/acks.journal") orders acknowledged with node 2 dead"
    sed -e 's/^listen = 127.0.0.1:9722/listen = 127.0.0.1:9729/' "$work/config/node2.ini" \
        >"$work/config/node2-cut.ini"
    start_node "$1" 2 "$work/config/node2-cut.ini" || fail "node 2 did not restart"
}

# Node 3, down while node 2 was promoted to epoch 2, restarts with its profile unchanged (a
# follower of epoch 1): it adopts epoch 2 from node 2's frames and follows it. Fails, saying why,
# when it does not catch up with node 2 (given up at once when it refuses node 2's stream).
missed_round_rejoins() {  # NAME [FLAG...]
    local name=$1 run=$work/run-$1
    shift
    start_node "$name" 3 "$work/config/node3.ini" "$@" || { echo "  node 3 did not restart"; return 1; }
    local shipped='' three=''
    for _ in $(seq 200); do
        shipped=$(metric 9721 exchanged_replication_shipped_lsn)
        three=$(metric 9721 'exchanged_replication_follower_acked_lsn{node="3"}')
        [ -n "$three" ] && [ "$three" = "$shipped" ] && break
        grep -q 'this follower follows epoch' "$run/node3.log" && break
        sleep 0.1
    done
    echo "  node 3, down during the promotion: acknowledged LSN ${three:-?} of ${shipped:-?} to node 2"
    if [ -z "$three" ] || [ "$three" != "$shipped" ]; then
        echo "  node 3 did not follow node 2: $(grep -m 1 -o 'connection to the leader closed: .*' "$run/node3.log")"
        return 1
    fi
    grep -q "adopted epoch 2 from the leader's frames (this node had promised 1; it missed" \
        "$run/node3.log" || { echo "  node 3 did not log its adoption of epoch 2"; return 1; }
    grep -q '^epoch=2$' "$run/node3/replication.state" ||
        { echo "  node 3 did not persist epoch 2"; return 1; }
    # Node 2's term start record names it (logged once the login refusal names it too); the
    # record is acknowledged a moment before that.
    for _ in $(seq 50); do
        grep -q 'node 2 leads epoch 2 (its term start record)' "$run/node3.log" && return 0
        sleep 0.1
    done
    echo "  node 3 did not learn from the term start record that node 2 leads"
    return 1
}

# After the cluster stopped: node 3's log is node 2's (`exchangectl wal compare`).
same_log_as_leader() {  # NAME
    local run=$work/run-$1
    if "$bin/exchangectl" wal compare "$run/node2" "$run/node3" >"$run/compare.out" 2>&1; then
        echo "  node 2 and node 3: $(tail -n 1 "$run/compare.out")"
    else
        echo "  the logs of node 2 and node 3 differ: $(tail -n 1 "$run/compare.out")"
        return 1
    fi
}

if [ "$part" = failover ]; then
    echo "== 3. and 4. skipped (part failover)"
elif echo "== 3. a candidate with a shorter log fetches the rest from the live leader, which is deposed;" &&
    echo "      a follower down during the promotion adopts the new epoch" && start_cluster fetch; then
    run=$work/run-fetch
    short_candidate fetch
    kill_node fetch 3
    if promote fetch 2; then
        sed 's/^/  /' "$run/promote.out"
        grep -q 'node 2 fetched LSN [0-9]*\.\.' "$run/promote.out" || fail "node 2 fetched nothing"
        grep -q '^role=follower$' "$run/node1/replication.state" ||
            fail "the deposed leader did not record role=follower"
        load fetch "$run/refused.journal" 9710 20 2000000
        refused=$(grep -c '^rejected .*reason=unavailable' "$run/refused.journal")
        echo "  the deposed leader refused $refused of 20 orders as unavailable"
        [ "$refused" -eq 20 ] ||
            fail "the deposed leader did not refuse new orders: $(tail -n 1 "$run/load.out")"
        kill -TERM "$(cat "$run/node1.pid")"
        while kill -0 "$(cat "$run/node1.pid")" 2>/dev/null; do sleep 0.05; done
        start_node fetch 1 || fail "node 1 did not restart"
        grep -q 'replication: role follower at epoch 2 from .*replication.state' "$run/node1.log" ||
            fail "the deposed leader did not restart as a follower from its state file"
        # Its login refusal names the new leader ([replication] clients), not its profile's.
        login_via 9710
        grep -q 'leader at 127.0.0.1:9720): following it to 127.0.0.1:9720' "$run/login.out" ||
            fail "node 1's login refusal does not name node 2: $(grep -m 1 -i reject "$run/login.out")"
        missed_round_rejoins fetch || fail "node 3, down during the promotion, does not follow node 2"
        # Node 2's term start record named it: node 3's login refusal names it too.
        login_via 9730
        grep -q 'leader at 127.0.0.1:9720): following it to 127.0.0.1:9720' "$run/login.out" ||
            fail "node 3's login refusal does not name node 2: $(grep -m 1 -i reject "$run/login.out")"
        scripts/run-cluster.sh stop --data-dir "$run" >/dev/null
        holds_journals fetch 2 "$run/acks.journal" ||
            fail "the promoted candidate lacks acknowledged orders after its fetch"
        same_log_as_leader fetch || fail "node 3's log is not node 2's"
    else
        fail "promote of the shorter log failed: $(cat "$run/promote.out")"
    fi
    scripts/run-cluster.sh stop --data-dir "$run" >/dev/null
else
    fail "the cluster did not start"
fi

if [ "$part" = failover ]; then
    :
elif echo "== 4. mutations: the candidate leads without the longest log (promote_any_log); node 3" &&
    echo "      refuses the newer epoch (refuse_newer_epoch, the behaviour before adoption)" &&
    start_cluster mutation; then
    run=$work/run-mutation
    short_candidate mutation
    kill_node mutation 3
    if promote mutation 2 --test-fault promote_any_log; then
        echo "  $(tail -n 1 "$run/promote.out") (planted fault)"
        grep -q 'fetched' "$run/promote.out" && fail "the planted fault fetched records"
        if missed_round_rejoins mutation --test-fault refuse_newer_epoch; then
            fail "the check passed with node 3 refusing the newer epoch"
        else
            echo "  the check caught the planted fault refuse_newer_epoch"
        fi
        scripts/run-cluster.sh stop --data-dir "$run" >/dev/null
        if holds_journals mutation 2 "$run/acks.journal"; then
            fail "the check passed with the candidate lacking acknowledged orders"
        else
            echo "  the check caught the planted fault promote_any_log"
        fi
    else
        fail "promote with the planted fault failed: $(cat "$run/promote.out")"
    fi
    scripts/run-cluster.sh stop --data-dir "$run" >/dev/null
else
    fail "the cluster did not start"
fi

if [ "$failures" -eq 0 ]; then
    echo "promote test: PASS"
    exit 0
fi
echo "promote test: $failures FAILED"
exit 1
