#!/usr/bin/env bash
# The fetch a promotion makes when its candidate lacks records (docs/failover.md): the three nodes
# of config/cluster/ (ports 93x0..93x2) take a load, then GET /replication/records?from=N at
# follower node 2 asks for the last few records of its live WAL, --calls times; prints the median,
# p90 and max of the calls' time (curl's time_total) in ms.
#   scripts/bench-record-fetch.sh [--bin DIR] [--orders N] [--calls C]
# Needs built binaries (scripts/build.sh release) and curl.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
bin=build/bin orders=20000 calls=30
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin=${2:?}; shift 2 ;;
        --orders) orders=${2:?}; shift 2 ;;
        --calls) calls=${2:?}; shift 2 ;;
        -h|--help) sed -n 2,6p "$0"; exit 0 ;;
        *) echo "bench-record-fetch: unknown argument: $1" >&2; exit 2 ;;
    esac
done
[ -x "$bin/exchanged" ] || { echo "bench-record-fetch: no $bin/exchanged (scripts/build.sh release)" >&2; exit 2; }
work=$(mktemp -d /tmp/exchanged-bench-fetch.XXXXXX)
pids=()
cleanup() {
    [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null && wait "${pids[@]}" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
for node in 1 2 3; do
    "$bin/exchanged" --config "config/cluster/node$node.ini" --data-dir "$work/node$node" \
        >"$work/node$node.log" 2>&1 &
    pids+=($!)
done
metric() { curl -s -m 1 "http://127.0.0.1:93${1}1/metrics" | awk -v s="$2" '$1 == s {print int($2)}'; }
for _ in $(seq 100); do
    [ "$(metric 1 exchanged_replication_role)" = 1 ] && break
    sleep 0.1
done
"$bin/exchangectl" load --connect 127.0.0.1:9310 --orders "$orders" --rate 10000 \
    --config config/cluster/node1.ini >"$work/load.out" 2>&1 || { cat "$work/load.out" >&2; exit 1; }
sleep 1
lsn=$(metric 2 exchanged_wal_durable_lsn)
if [ -z "$lsn" ] || [ "$lsn" -le 5 ]; then echo "bench-record-fetch: follower 2 has no records" >&2; exit 1; fi
for _ in $(seq "$calls"); do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' \
        "http://127.0.0.1:9321/replication/records?from=$((lsn - 5))"
done >"$work/times"
failed=$(awk '$1 != 200' "$work/times" | wc -l)
echo "record fetch of LSN $((lsn - 5))..$lsn from follower 2's live WAL, $calls calls ($failed failed), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg):"
awk '$1 == 200 {print $2 * 1000}' "$work/times" | sort -n |
    awk '{a[NR] = $1} END {printf "  median %.1f ms, p90 %.1f ms, max %.1f ms\n", a[int((NR + 1) / 2)], a[int((NR * 9 + 9) / 10)], a[NR]}'
