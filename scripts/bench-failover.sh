#!/usr/bin/env bash
# Failover time through etcd (docs/failover.md): one throw-away etcd member and the three nodes of
# config/cluster/ on loopback (ports moved to 98x0..98x2, [replication] etcd_endpoints, lease 2 s).
# Each failover: a load runs against the leader (`exchangectl load`, ack journal), the leader gets
# kill -9, and the time from the kill to the first order acknowledged by the new leader is taken
# from the journal's at_us; the old leader is then restarted (it rejoins as a follower) and the
# next failover kills the current leader. Prints each time, then median, p99 and max.
# --timeline prints, per failover, when each step happened (ms after the kill, from the nodes' log
# timestamps); --ports PP moves the nodes to PPx0..PPx2 (default 98); --keep DIR keeps the logs.
#   scripts/bench-failover.sh [--failovers N] [--rate R] [--bin DIR] [--lease-ms MS] [--timeline]
#                             [--ports PP] [--keep DIR]
# Needs etcd and etcdctl (scripts/setup-deps.sh) and built binaries (scripts/build.sh release).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
failovers=20 rate=2000 bin=build/bin lease_ms=2000 timeline=0 pp=98 keep=""
while [ $# -gt 0 ]; do
    case "$1" in
        --failovers) failovers=${2:?}; shift 2 ;;
        --rate) rate=${2:?}; shift 2 ;;
        --bin) bin=${2:?}; shift 2 ;;
        --lease-ms) lease_ms=${2:?}; shift 2 ;;
        --timeline) timeline=1; shift ;;
        --ports) pp=${2:?}; shift 2 ;;
        --keep) keep=${2:?}; shift 2 ;;
        -h|--help) sed -n 2,12p "$0"; exit 0 ;;
        *) echo "bench-failover: unknown argument: $1" >&2; exit 2 ;;
    esac
done
command -v etcd >/dev/null || { echo "bench-failover: etcd is not installed (scripts/setup-deps.sh)" >&2; exit 2; }
[ -x "$bin/exchanged" ] || { echo "bench-failover: no $bin/exchanged (scripts/build.sh release)" >&2; exit 2; }

work=$(mktemp -d /tmp/exchanged-bench-failover.XXXXXX)
etcd_dir=$work/etcd
cleanup() {
    local pidfile
    for pidfile in "$work"/node*.pid; do
        [ -f "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null
    done
    scripts/etcd-test-cluster.sh stop "$etcd_dir" >/dev/null 2>&1
    [ -n "$keep" ] && { mkdir -p "$keep"; cp "$work"/*.log "$keep"/ 2>/dev/null; }
    rm -rf "$work"
}
trap cleanup EXIT
endpoints=$(scripts/etcd-test-cluster.sh start "$etcd_dir" --members 1) || { echo "etcd did not start" >&2; exit 1; }
for node in 1 2 3; do
    sed -e "s/127\.0\.0\.1:93/127.0.0.1:$pp/g" -e "s/^max_orders = .*/max_orders = 262144/" \
        -e "/^\[replication\]/a etcd_endpoints = $endpoints\nlease_ttl_ms = $lease_ms" \
        "config/cluster/node$node.ini" >"$work/node$node.ini"
done

metric() { curl -s -m 1 "http://127.0.0.1:${pp}${1}1/metrics" | awk -v s="$2" '$1 == s {print $2}'; }
now_us() { date +%s%6N; }
start_node() {  # NODE
    "$bin/exchanged" --config "$work/node$1.ini" --data-dir "$work/node$1" >>"$work/node$1.log" 2>&1 &
    echo $! >"$work/node$1.pid"
    disown $!
}
leader_of() {  # SECONDS -> the leading node
    for _ in $(seq $(($1 * 20))); do
        for node in 1 2 3; do
            [ "$(metric "$node" exchanged_replication_role)" = 1 ] && { echo "$node"; return 0; }
        done
        sleep 0.05
    done
    return 1
}
first_accepted_us() {
    awk '/^accepted / { for (i = 2; i <= NF; i++) if ($i ~ /^at_us=/) { print substr($i, 7); exit } }' "$1"
}

# step_ms LOG PATTERN: ms after the kill of the first line at or after it matching PATTERN ("-").
step_ms() {
    local stamp
    stamp=$(grep -a -- "$2" "$1" | while read -r when _; do
        [ "$(date -u -d "$when" +%s%3N 2>/dev/null || echo 0)" -ge $((killed / 1000)) ] && { echo "$when"; break; }
    done)
    [ -n "$stamp" ] && echo $(($(date -u -d "$stamp" +%s%3N) - killed / 1000)) || echo -
}
# The steps of one failover on the new leader, from its log (ms after the kill): its campaign won
# (the key lapsed up to one 50 ms poll before), the promise round done, the follower stopped, the
# books recovered, the pipeline built (term start record), the gateway ready; then the first ack
# the probes saw.
timeline() {  # NODE EPOCH FIRST_ACK_MS
    local log=$work/node$1.log
    printf '  timeline ms: won %s, promised %s, follower stopped %s, recovered %s, term start %s, ready %s, first ack %s\n' \
        "$(step_ms "$log" "won the leader key at epoch $2:")" "$(step_ms "$log" "failover: node $1 leads epoch $2 ")" \
        "$(step_ms "$log" "told to lead epoch $2:")" "$(step_ms "$log" "recovered from the store\|books handed over by the standby")" \
        "$(step_ms "$log" "epoch $2 begins at LSN")" "$(step_ms "$log" "ready: .*promoted to leader at epoch $2 ")" "$3"
}

for node in 1 2 3; do start_node "$node"; done
leader=$(leader_of 60) || { echo "no leader after 60 s" >&2; exit 1; }
times=()
base=0
for i in $(seq "$failovers"); do
    base=$((base + 1000000))
    # A load that outlasts the failover: the client follows the refusal of a follower to the
    # new leader, so its journal holds the first acknowledgement after the kill.
    "$bin/exchangectl" load --connect "127.0.0.1:${pp}${leader}0" --orders $((rate * 60)) \
        --rate "$rate" --connections 1 --timeout 2 --id-base "$base" \
        --journal "$work/load-$i.journal" --config "$work/node1.ini" >"$work/load-$i.out" 2>&1 &
    loader=$!
    for _ in $(seq 100); do
        acked=$(grep -c '^accepted ' "$work/load-$i.journal" 2>/dev/null)
        [ "${acked:-0}" -ge 200 ] && break
        sleep 0.05
    done
    # The leader as /metrics says now: a term may have ended without a kill (a lease lost on a
    # starved machine), which the summary counts.
    leader=$(leader_of 10) || { echo "failover $i: no leader before the kill" >&2; exit 1; }
    killed=$(now_us)
    kill -9 "$(cat "$work/node$leader.pid")"
    wait "$loader" 2>/dev/null
    old=$leader
    # The first acknowledgement after the kill, from one-order probes at the survivors' ports
    # (a refused login is followed to the leader it names).
    first=""
    deadline=$(($(date +%s) + 30))
    j=0
    while [ -z "$first" ] && [ "$(date +%s)" -lt "$deadline" ]; do
        for node in 1 2 3; do
            [ "$node" = "$old" ] && continue
            j=$((j + 1))
            rm -f "$work/probe.journal"
            "$bin/exchangectl" load --connect "127.0.0.1:${pp}${node}0" --orders 1 --connections 1 \
                --timeout 1 --id-base $((base + 500000 + j)) --journal "$work/probe.journal" \
                --config "$work/node1.ini" >/dev/null 2>&1
            first=$(first_accepted_us "$work/probe.journal")
            [ -n "$first" ] && break
        done
    done
    [ -n "$first" ] || { echo "failover $i: no acknowledgement within 30 s" >&2; exit 1; }
    ms=$(((first - killed) / 1000))
    times+=("$ms")
    leader=$(leader_of 5) || { echo "failover $i: no leader on /metrics" >&2; exit 1; }
    epoch=$(metric "$leader" exchanged_replication_epoch)
    echo "failover $i: node $old killed, node $leader leads epoch $epoch, first ack after $ms ms"
    [ "$timeline" = 1 ] && timeline "$leader" "$epoch" "$ms"
    start_node "$old"
    for _ in $(seq 300); do  # the old leader back as a follower before the next kill
        [ "$(metric "$old" exchanged_replication_role)" = 0 ] &&
            [ "$(metric "$old" exchanged_replication_promised_epoch)" = "$(metric "$leader" exchanged_replication_epoch)" ] && break
        sleep 0.1
    done
    sleep 1
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
n=${#times[@]}
median=$(echo "$sorted" | sed -n "$(((n + 1) / 2))p")
p99=$(echo "$sorted" | sed -n "$(((n * 99 + 99) / 100))p")
max=$(echo "$sorted" | tail -n 1)
echo "failover time (kill -9 of the leader to the first acknowledged order on the new leader), lease $lease_ms ms, load $rate orders/s on 1 connection, $n failovers:"
echo "  median $median ms, p99 $p99 ms, max $max ms"
# A killed leader logs nothing more: every step-down line is a term that ended without a kill.
stepped=$(cat "$work"/node*.log | grep -c 'failover: node [0-9] steps down')
echo "  terms that ended without a kill (a lease lost while the node ran): $stepped"
cat "$work"/node*.log | grep 'failover: node [0-9] steps down' | cut -c1-300 || true
