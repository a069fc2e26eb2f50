#!/usr/bin/env bash
# The flush worker under load: starts exchanged on a profile (fresh data dir), drives it with
# `exchangectl load`, samples /metrics every 100 ms while the load runs and until the store has
# caught up, and prints the flush lag and uncommitted records (median, p99, max) and how long the
# store took to catch up after the last ack. Results go in docs/benchmarks.md.
#   scripts/bench-flush-lag.sh [--profile standard] [--orders 1m] [--rate R] [--connections 2]
set -euo pipefail
cd "$(dirname "$0")/.."

profile=standard orders=1m rate=0 connections=2
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) profile=$2; shift 2 ;;
        --orders) orders=$2; shift 2 ;;
        --rate) rate=$2; shift 2 ;;
        --connections) connections=$2; shift 2 ;;
        *) echo "bench-flush-lag: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -x build/bin/exchanged ] && [ -x build/bin/exchangectl ] || ./scripts/build.sh release exchanged exchangectl >/dev/null

dir=$(mktemp -d /tmp/exchanged-flush-lag.XXXXXX)
port=$((20000 + RANDOM % 20000)); admin=$((port + 1))
build/bin/exchanged --config "config/$profile.ini" --data-dir "$dir/data" \
    --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin" >"$dir/daemon.log" 2>&1 &
daemon=$!
trap 'kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do grep -q "ready:" "$dir/daemon.log" && break; sleep 0.1; done

scrape() {
    exec 3<>"/dev/tcp/127.0.0.1/$admin"
    printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
    awk '/^exchanged_store_flush_lag_seconds /{l=$2} /^exchanged_store_uncommitted_records /{u=$2}
         /^exchanged_store_lsn /{s=$2} /^exchanged_wal_durable_lsn /{d=$2}
         END {print l, u, s, d}' <&3
    exec 3<&-
}

args=(--connect "127.0.0.1:$port" --orders "$orders" --connections "$connections"
      --config "config/$profile.ini" --json)
[ "$rate" != 0 ] && args+=(--rate "$rate")
build/bin/exchangectl load "${args[@]}" >"$dir/load.json" &
load=$!
: >"$dir/samples"
trap 'cp "$dir/samples" /tmp/last-flush-samples 2>/dev/null; cp "$dir/daemon.log" /tmp/last-flush-daemon.log 2>/dev/null; kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; rm -rf "$dir"' EXIT
while kill -0 "$load" 2>/dev/null; do scrape >>"$dir/samples"; sleep 0.1; done
wait "$load"
done_at=$(date +%s.%N)
read -r _ uncommitted _ _ < <(scrape)
while [ "${uncommitted%.*}" != 0 ]; do sleep 0.05; read -r _ uncommitted _ _ < <(scrape); done
caught_up=$(awk -v a="$(date +%s.%N)" -v b="$done_at" 'BEGIN {printf "%.2f", a - b}')

stats() {  # column -> "median p99 max"
    awk -v c="$1" '{print $c}' "$dir/samples" | sort -g |
        awk '{v[NR]=$1} END {if (NR==0) {print "- - -"; exit}
             printf "%s %s %s\n", v[int((NR+1)/2)], v[int(NR*0.99+0.999)], v[NR]}'
}
read -r lag50 lag99 lagmax < <(stats 1)
read -r un50 un99 unmax < <(stats 2)
ops=$(sed -E 's/.*"orders_per_sec":([0-9.]+).*/\1/' "$dir/load.json")
rejected=$(sed -E 's/.*"rejected":([0-9]+).*/\1/' "$dir/load.json")
echo "profile=$profile orders=$orders rate=$rate orders_per_sec=$ops rejected=$rejected samples=$(wc -l <"$dir/samples")"
echo "flush lag seconds: median $lag50 p99 $lag99 max $lagmax"
echo "uncommitted records: median $un50 p99 $un99 max $unmax"
echo "store caught up ${caught_up} s after the last ack"
