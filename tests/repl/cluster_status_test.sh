#!/usr/bin/env bash
# `exchangectl cluster status` against three real daemons (scripts/run-cluster.sh, the
# config/cluster profiles moved to ports 96x0..96x2):
#   1. all three answer: leader and two connected followers, exit 0;
#   2. after some orders every node's durable LSN and the followers' acked LSN reach the leader's;
#   3. follower 3 killed: shown unreachable, the leader's view of it disconnected, exit 0 (two of
#      three are a majority);
#   4. follower 2 killed too: quorum lost, exit 4;
#   5. the leader killed: no leader, exit 3;
#   6. bad flags refused with exit 2 and the flag named.
# On the way: every exchanged_replication_* series the alert rules read is on the leader's /metrics.
# usage: cluster_status_test.sh BIN_DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build/bin}
# shellcheck source=tests/repl/cluster_test_lib.sh
. tests/repl/cluster_test_lib.sh
cluster_test_init cluster-status 96 131072  # ports 96x0..96x2
run=$work/run-status

status() {  # NAME: runs cluster status into $work/NAME.out, echoes its exit code
    "$bin/exchangectl" cluster status --config "$configs" >"$work/$1.out" 2>&1
    local code=$?
    sed 's/^/  /' "$work/$1.out" >&2
    echo "$code"
}

# The row of node $2 in output $1, as "ROLE EPOCH DURABLE APPLIED SHIPPED/ACKED LAG LAG_MS
# CONNECTED".
row() {
    awk -v n="$2" '$1 == n {print $2, $3, $4, $5, $6, $7, $8, $9}' "$work/$1.out"
}

if ! start_cluster status; then
    echo "cluster status test: the cluster did not start"
    exit 1
fi

echo "== 1. all three nodes"
code=$(status all)
[ "$code" -eq 0 ] || fail "exit $code with all three nodes up"
[[ "$(row all 1)" == "leader 1 "* ]] || fail "node 1 is not shown as the leader of epoch 1"
for node in 2 3; do
    [[ "$(row all $node)" == "follower 1 "*" yes" ]] || fail "node $node is not a connected follower"
done
grep -q '^ok: 3 of 3 replicas connected' "$work/all.out" || fail "no 'ok: 3 of 3' verdict"

# Every replication series the alert rules read is one a leader exports (a misspelt name would
# never fire; tests/ops/prometheus_alert_test.sh checks the others on a single node).
curl -sf http://127.0.0.1:9611/metrics >"$work/leader.metrics" || fail "GET /metrics on the leader"
for name in $(grep -v '^\s*#' ops/prometheus/exchanged.rules.yml |
    grep -oE 'exchanged_replication_[a-z0-9_]+' | sort -u); do
    grep -qE "^$name(\{| )" "$work/leader.metrics" || fail "the alert rules read $name, which a leader does not export"
done

echo "== 2. after 1000 orders the LSNs agree"
"$bin/exchangectl" load --connect 127.0.0.1:9610 --orders 1000 --rate 2000 --timeout 5 \
    --config "$work/config/node1.ini" >"$work/load.out" 2>&1 || fail "load: $(tail -n 1 "$work/load.out")"
agreed=
for _ in $(seq 50); do
    code=$(status lsns 2>/dev/null)
    leader_lsn=$(row lsns 1 | awk '{print $3}')
    if [ "${leader_lsn:-0}" -ge 1000 ] &&
        [ "$(row lsns 2 | awk '{print $3, $4, $5}')" = "$leader_lsn $leader_lsn $leader_lsn" ] &&
        [ "$(row lsns 3 | awk '{print $3, $4, $5}')" = "$leader_lsn $leader_lsn $leader_lsn" ]; then
        agreed=1
        break
    fi
    sleep 0.1
done
sed 's/^/  /' "$work/lsns.out"
[ -n "$agreed" ] || fail "the followers' durable, applied and acked LSNs never reached the leader's"

echo "== 3. follower 3 killed"
kill_node status 3
disconnected=
for _ in $(seq 100); do
    code=$(status one-down 2>/dev/null)
    [[ "$(row one-down 3)" == *" no" ]] && disconnected=1 && break
    sleep 0.1
done
sed 's/^/  /' "$work/one-down.out"
[ -n "$disconnected" ] || fail "the leader never reported node 3 disconnected"
[[ "$(row one-down 3)" == "unreachable "* ]] || fail "node 3 is not shown unreachable"
grep -q '^3 .*connect' "$work/one-down.out" || fail "node 3's row does not say why it is unreachable"
[ "$code" -eq 0 ] || fail "exit $code with two of three nodes up (a majority)"

echo "== 4. follower 2 killed too: quorum lost"
kill_node status 2
for _ in $(seq 100); do
    code=$(status no-quorum 2>/dev/null)
    [ "$code" -eq 4 ] && break
    sleep 0.1
done
sed 's/^/  /' "$work/no-quorum.out"
[ "$code" -eq 4 ] || fail "exit $code, not 4, with both followers down"
grep -q '^quorum lost: 1 of 3' "$work/no-quorum.out" || fail "no 'quorum lost' verdict"

echo "== 5. the leader killed"
kill_node status 1
code=$(status no-leader)
[ "$code" -eq 3 ] || fail "exit $code, not 3, with the leader down"
grep -q '^no leader answered' "$work/no-leader.out" || fail "no 'no leader' verdict"

echo "== 6. bad flags"
refused() {  # EXPECTED_TEXT ARGS...
    local expected=$1
    shift
    "$bin/exchangectl" cluster status "$@" >"$work/bad.out" 2>&1
    local code=$?
    if [ "$code" -ne 2 ] || ! grep -q -- "$expected" "$work/bad.out"; then
        fail "cluster status $* exited $code without '$expected': $(head -n 1 "$work/bad.out")"
    else
        echo "  refused: cluster status $*: $(head -n 1 "$work/bad.out")"
    fi
}
refused "give either --config" 
refused "give either --config" --config "$work/config/node1.ini" --nodes 127.0.0.1:9611
refused "'foo' is not HOST:PORT" --nodes foo
refused "unknown" --bogus
refused "--timeout" --nodes 127.0.0.1:9611 --timeout 0
refused "unexpected argument" --nodes 127.0.0.1:9611 extra
"$bin/exchangectl" cluster status --config "$work/nonexistent.ini" >"$work/bad.out" 2>&1
code=$?
{ [ "$code" -eq 1 ] && grep -q "nonexistent.ini" "$work/bad.out"; } ||
    fail "a missing profile: exit $code, $(head -n 1 "$work/bad.out")"

if [ "$failures" -eq 0 ]; then
    echo "cluster status test: PASS"
    exit 0
fi
echo "cluster status test: $failures FAILED"
exit 1
