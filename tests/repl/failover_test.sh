#!/usr/bin/env bash
# Automatic failover through etcd with real processes (docs/failover.md): one throw-away etcd
# member (scripts/etcd-test-cluster.sh) and three daemons on loopback from the config/cluster
# profiles, moved to ports 98x0..98x2, with [replication] etcd_endpoints and lease_ttl_ms = 2000.
#
#   kill   load with an ack journal; kill -9 of the leader; a follower leads within a few seconds
#          (the time from the kill to the first acknowledged order on the new leader is printed);
#          a second load is acknowledged by the new leader; the old leader, restarted with its
#          own profile (role = leader), rejoins as a follower; every acknowledged order is in the
#          new leader's store (`exchangectl store verify`) and the three logs agree (`wal compare`).
#   pause  SIGSTOP of the leader longer than the lease, SIGCONT: it steps down (its login refusal
#          names the new leader) and follows again in the same process; the journals hold.
#   fault  the pause with the planted fault lease_ignore_expiry (the leader ignores its lapsed
#          lease): the pause checks must fail, and this part passes only when they do.
#
# usage: failover_test.sh BIN_DIR [kill|pause|fault|pause-fault|all]. Exit 77 (skipped) without etcd.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
bin=${1:-build/bin}
part=${2:-all}
case "$part" in kill|pause|fault|pause-fault|all) ;; *) echo "failover_test.sh: unknown part '$part'" >&2; exit 2 ;; esac
if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
    echo "failover test: SKIPPED (etcd and etcdctl are not installed: scripts/setup-deps.sh)"
    exit 77
fi
# shellcheck source=tests/repl/cluster_test_lib.sh
. tests/repl/cluster_test_lib.sh

etcd_dir=$(mktemp -d /tmp/exchanged-failover-etcd.XXXXXX)
rmdir "$etcd_dir"
if ! endpoints=$(scripts/etcd-test-cluster.sh start "$etcd_dir" --members 1); then
    echo "failover test: FAILED (etcd did not start)"
    exit 1
fi
cluster_test_init failover-test 98 16384 \
    "/^\[replication\]/a etcd_endpoints = $endpoints\nlease_ttl_ms = 2000"
cleanup() {
    if [ -n "${FAILOVER_TEST_KEEP:-}" ]; then  # for debugging: the logs stay
        for run in "$work"/run-*; do stop_all "$(basename "${run#*run-}")"; done
        echo "kept $work"
        scripts/etcd-test-cluster.sh stop "$etcd_dir" >/dev/null 2>&1
        return
    fi
    cluster_test_cleanup
    scripts/etcd-test-cluster.sh stop "$etcd_dir" >/dev/null 2>&1
}
trap cleanup EXIT

now_us() { date +%s%6N; }

metric() {  # ADMIN_PORT SERIES
    curl -s -m 1 "http://127.0.0.1:$1/metrics" | awk -v s="$2" '$1 == s {print $2}'
}

start_node() {  # NAME NODE [exchanged flags...]
    local run=$work/run-$1 node=$2
    shift 2
    local lines=0
    mkdir -p "$run"
    [ -f "$run/node$node.log" ] && lines=$(wc -l <"$run/node$node.log")
    "$bin/exchanged" --config "$work/config/node$node.ini" --data-dir "$run/node$node" "$@" \
        >>"$run/node$node.log" 2>&1 &
    echo $! >"$run/node$node.pid"
    disown $!  # a later kill -9 is expected, not news
    for _ in $(seq 300); do
        tail -n +"$((lines + 1))" "$run/node$node.log" | grep -q 'ready:' && return 0
        kill -0 "$(cat "$run/node$node.pid")" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# The node (1..3) whose /metrics says it leads, among NODES, within SECONDS; empty if none.
wait_leader() {  # SECONDS NODE...
    local seconds=$1 node
    shift
    for _ in $(seq $((seconds * 20))); do
        for node in "$@"; do
            if [ "$(metric "98${node}1" exchanged_replication_role)" = 1 ]; then
                echo "$node"
                return 0
            fi
        done
        sleep 0.05
    done
    return 1
}

start_three() {  # NAME [node 1's exchanged flags...] -> the leader's node id
    local name=$1 node
    shift
    start_node "$name" 1 "$@" || { echo "node 1 did not start"; return 1; }
    for node in 2 3; do
        start_node "$name" "$node" || { echo "node $node did not start"; return 1; }
    done
}

first_accepted_us() {  # JOURNAL
    awk '/^accepted / { for (i = 2; i <= NF; i++) if ($i ~ /^at_us=/) { print substr($i, 7); exit } }' "$1"
}

# Until an order sent to one of NODES is acknowledged (by it, or by the leader its login refusal
# names): one-order loads at their client ports. The journal is $run/probe.journal.
probe_new_leader() {  # NAME SECONDS NODE...
    local name=$1 seconds=$2 run=$work/run-$1 node i=0
    shift 2
    local deadline=$(($(date +%s) + seconds))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        for node in "$@"; do
            i=$((i + 1))
            rm -f "$run/probe-try.journal"
            "$bin/exchangectl" load --connect "127.0.0.1:98${node}0" --orders 1 --connections 1 \
                --timeout 1 --id-base $((3000000 + i)) --journal "$run/probe-try.journal" \
                --config "$work/config/node1.ini" >>"$run/probe.out" 2>&1
            if grep -q '^accepted ' "$run/probe-try.journal" 2>/dev/null; then
                mv "$run/probe-try.journal" "$run/probe.journal"
                echo "$node"
                return 0
            fi
        done
        sleep 0.05
    done
    return 1
}

compare_logs() {  # NAME LEADER OTHER...
    local run=$work/run-$1 leader=$2 node status=0
    shift 2
    for node in "$@"; do
        if "$bin/exchangectl" wal compare "$run/node$leader" "$run/node$node" \
            >"$run/compare-$node.out" 2>&1; then
            echo "  node $node's log against node $leader's: $(tail -n 1 "$run/compare-$node.out")"
        else
            echo "  node $node's log differs from node $leader's: $(tail -n 1 "$run/compare-$node.out")"
            status=1
        fi
    done
    return $status
}

# Until the leader (admin port of LEADER) says node NODE acknowledged all it shipped.
caught_up() {  # LEADER NODE SECONDS
    local shipped acked
    for _ in $(seq $(($3 * 10))); do
        shipped=$(metric "98${1}1" exchanged_replication_shipped_lsn)
        acked=$(metric "98${1}1" "exchanged_replication_follower_acked_lsn{node=\"$2\"}")
        [ -n "$acked" ] && [ "$acked" = "$shipped" ] && [ "${acked%.*}" -gt 0 ] && return 0
        sleep 0.1
    done
    echo "  node $2: acknowledged LSN ${acked:-?} of ${shipped:-?} shipped by node $1"
    return 1
}

stop_all() {  # NAME
    local run=$work/run-$1 node
    for node in 1 2 3; do
        [ -f "$run/node$node.pid" ] || continue
        kill -CONT "$(cat "$run/node$node.pid")" 2>/dev/null
        kill -TERM "$(cat "$run/node$node.pid")" 2>/dev/null
    done
    for node in 1 2 3; do
        [ -f "$run/node$node.pid" ] || continue
        for _ in $(seq 200); do
            kill -0 "$(cat "$run/node$node.pid")" 2>/dev/null || break
            sleep 0.05
        done
        kill -9 "$(cat "$run/node$node.pid")" 2>/dev/null
    done
}

if [ "$part" = kill ] || [ "$part" = all ]; then
    echo "== kill: kill -9 of the leader under load; a follower takes over through etcd"
    name="kill"
    run=$work/run-$name
    if start_three "$name" && leader=$(wait_leader 20 1 2 3); then
        echo "  node $leader leads epoch $(metric "98${leader}1" exchanged_replication_epoch)"
        [ "$leader" = 1 ] || fail "node $leader leads at start, not the configured node 1"
        load "$name" "$run/acks-1.journal" "98${leader}0" 200000 0 &
        loader=$!
        wait_acked "$run/acks-1.journal" 2000
        others=$(echo 1 2 3 | tr ' ' '\n' | grep -v "^$leader$" | tr '\n' ' ')
        killed_us=$(now_us)
        kill_node "$name" "$leader"
        wait "$loader"
        echo "  $(grep -c '^accepted ' "$run/acks-1.journal") orders acknowledged before the kill"
        # shellcheck disable=SC2086
        # exchangectl follows a follower's login refusal to the leader: any port will do.
        if probe_new_leader "$name" 20 $others >/dev/null && new=$(wait_leader 5 $others); then
            first=$(first_accepted_us "$run/probe.journal")
            ms=$(((first - killed_us) / 1000))
            epoch=$(metric "98${new}1" exchanged_replication_epoch)
            echo "  failover: node $new leads epoch $epoch; first acknowledged order $ms ms after the kill -9 (lease 2000 ms)"
            [ "$ms" -le 10000 ] || fail "the failover took $ms ms"
            load "$name" "$run/acks-2.journal" "98${new}0" 2000 1000000
            acked2=$(grep -c '^accepted ' "$run/acks-2.journal")
            echo "  $acked2 orders acknowledged by the new leader"
            [ "$acked2" -gt 0 ] || fail "the new leader acknowledged nothing: $(tail -n 1 "$run/load.out")"
            # The old leader, with its own profile (role = leader): etcd names the holder, so it
            # follows; divergence repair cuts what the others never had.
            if start_node "$name" "$leader"; then
                grep -q "failover: node $leader follows node $new at epoch $epoch" "$run/node$leader.log" ||
                    sleep 1
                grep -q "failover: node $leader follows node $new at epoch $epoch" "$run/node$leader.log" ||
                    fail "the old leader does not say it follows node $new: $(grep failover "$run/node$leader.log" | tail -n 2)"
                caught_up "$new" "$leader" 20 && echo "  node $leader rejoined as a follower and caught up" ||
                    fail "the old leader did not catch up as a follower"
                [ "$(metric "98${leader}1" exchanged_replication_role)" = 0 ] ||
                    fail "the old leader does not report role follower"
            else
                fail "the old leader did not restart: $(tail -n 2 "$run/node$leader.log")"
            fi
            for node in $others; do
                [ "$node" = "$new" ] || caught_up "$new" "$node" 20 || fail "node $node did not catch up"
            done
            stop_all "$name"
            # shellcheck disable=SC2046  # the other two node ids, as two words
            compare_logs "$name" "$new" $(echo 1 2 3 | tr ' ' '\n' | grep -v "^$new$") ||
                fail "the logs differ"
            holds_journals "$name" "$new" "$run/acks-1.journal" "$run/probe.journal" \
                "$run/acks-2.journal" || fail "the new leader lacks acknowledged orders"
        else
            fail "no follower acknowledged an order within 20 s of the kill: $(grep -h failover "$run"/node*.log | tail -n 5)"
        fi
    else
        fail "the cluster did not start or elect a leader: $(grep -h 'failover\|error' "$run"/node*.log | tail -n 5)"
    fi
    stop_all "$name"
fi

# pause NAME [node 1's flags...]: SIGSTOP of the leader (node 1) for 4 s, then SIGCONT; the
# checks count into $pause_failures, with why. With pause_first_failure=1 (the planted fault) it
# returns at the first failed check: that part only needs the checks to fail, and each later one
# would wait for its timeout (about 120 s in all).
pause_first_failure=0
pause() {
    local name=$1 run=$work/run-$1
    shift
    pause_failures=0
    pfail() { echo "  check failed: $*"; pause_failures=$((pause_failures + 1)); }
    # True when the run should end here (the caller stops the nodes).
    failed_early() {
        [ "$pause_first_failure" = 1 ] && [ "$pause_failures" -gt 0 ] &&
            echo "  (stopping at the first failed check)"
    }
    if ! start_three "$name" "$@" || ! leader=$(wait_leader 20 1 2 3) || [ "$leader" != 1 ]; then
        fail "the cluster did not start with node 1 leading"
        return
    fi
    load "$name" "$run/acks-1.journal" 9810 2000 0
    echo "  $(grep -c '^accepted ' "$run/acks-1.journal") orders acknowledged by node 1"
    kill -STOP "$(cat "$run/node1.pid")"
    if ! new=$(wait_leader 15 2 3); then
        kill -CONT "$(cat "$run/node1.pid")"
        fail "no follower took over while node 1 was paused"
        return
    fi
    echo "  node $new leads epoch $(metric "98${new}1" exchanged_replication_epoch) while node 1 is paused"
    sleep 1
    kill -CONT "$(cat "$run/node1.pid")"
    local stepped=""
    for _ in $(seq 100); do
        grep -q "failover: node 1 steps down" "$run/node1.log" && stepped=yes && break
        sleep 0.05
    done
    [ -n "$stepped" ] && echo "  node 1: $(grep -m 1 -o 'steps down from epoch [0-9]*' "$run/node1.log")" ||
        pfail "node 1 did not step down after SIGCONT"
    failed_early && return
    # In the same process: a follower again, of the new leader's epoch (promised to its round,
    # which waited in node 1's admin queue, or to the holder etcd names).
    local followed="" epoch
    epoch=$(metric "98${new}1" exchanged_replication_epoch)
    for _ in $(seq 100); do
        [ "$(metric 9811 exchanged_replication_role)" = 0 ] &&
            [ "$(metric 9811 exchanged_replication_promised_epoch)" = "$epoch" ] && followed=yes && break
        sleep 0.1
    done
    [ -n "$followed" ] && echo "  node 1 runs as a follower of epoch $epoch again (same process)" ||
        pfail "node 1 does not run as a follower of node $new's epoch $epoch"
    failed_early && return
    "$bin/exchangectl" status --connect 127.0.0.1:9810 --account alice --instrument AAPL \
        --client-order-id 1 --timeout 2 --config "$work/config/node1.ini" >"$run/login.out" 2>&1
    if grep -q "leader at 127.0.0.1:98${new}0" "$run/login.out"; then
        echo "  node 1's login refusal names node $new"
    else
        pfail "node 1's login refusal does not name node $new: $(grep -m 1 -i 'reject\|refus\|error' "$run/login.out")"
    fi
    failed_early && return
    load "$name" "$run/acks-2.journal" "98${new}0" 2000 1000000
    echo "  $(grep -c '^accepted ' "$run/acks-2.journal") orders acknowledged by node $new"
    caught_up "$new" 1 20 && echo "  node 1 follows node $new and caught up" ||
        pfail "node 1 did not catch up as a follower of node $new"
    failed_early && return
    stop_all "$name"
    # shellcheck disable=SC2046  # the other two node ids, as two words
    compare_logs "$name" "$new" $(echo 1 2 3 | tr ' ' '\n' | grep -v "^$new$") ||
        pfail "the logs differ"
    holds_journals "$name" "$new" "$run/acks-1.journal" "$run/acks-2.journal" ||
        pfail "node $new lacks acknowledged orders"
}

if [ "$part" = pause ] || [ "$part" = pause-fault ] || [ "$part" = all ]; then
    echo "== pause: SIGSTOP of the leader longer than the lease, SIGCONT: it steps down and follows"
    pause pause
    [ "$pause_failures" -eq 0 ] || fail "$pause_failures pause checks failed"
    stop_all pause
fi

if [ "$part" = fault ] || [ "$part" = pause-fault ] || [ "$part" = all ]; then
    echo "== fault: the same with lease_ignore_expiry (the leader ignores its lapsed lease)"
    pause_first_failure=1
    pause fault --test-fault lease_ignore_expiry
    pause_first_failure=0
    if [ "$pause_failures" -gt 0 ]; then
        echo "  the checks caught the planted fault ($pause_failures failed)"
    else
        fail "the pause checks passed with the leader ignoring its lapsed lease"
    fi
    stop_all fault
fi

if [ "$failures" -eq 0 ]; then
    echo "failover test: PASS"
    exit 0
fi
echo "failover test: $failures FAILED"
exit 1
