#!/usr/bin/env bash
# The seed's comparison of durability schemes, measured on this code: for each scheme the same
# end-to-end load (`exchangectl load`, 2 connections, fresh data directory) at saturation and at a
# fixed offered rate, then kill -9 cycles (scripts/crash-test.sh) counting the acknowledged orders
# each scheme loses. Prints a Markdown table for docs/benchmarks.md.
#   scripts/bench-modes.sh [--orders N] [--rate R] [--cycles N] [--crash-orders N] [--seed S]
#                          [--schemes "async hybrid wal batch_sync wal_batch"]
# Every scheme is config/standard.ini with its [persistence] preset and these knobs in common:
# store batches of 1000 records or 10 ms, and critical_order_threshold = 98, so that the 2% of the
# load's orders above 98 lots (quantities are 1..100 lots) are critical.
#   async       mode = async        ack at match, no WAL, the store catches up
#   hybrid      mode = hybrid_sync  ack after the WAL fsync, critical orders after the store
#   wal         mode = wal_batch    with batch_size = 1, batch_timeout_ms = 0: an fsync as soon as
#                                   one record waits (what arrives during it forms the next batch)
#   batch_sync  mode = batch_sync   ack at match, no WAL, critical orders after the store
#   wal_batch   mode = wal_batch    group commit of 100 records or 1 ms (standard.ini)
set -uo pipefail

orders=500000 rate=20000 cycles=20 crash_orders=200000 seed=1
schemes="async hybrid wal batch_sync wal_batch"
usage() {
    echo "usage: scripts/bench-modes.sh [--orders N] [--rate R] [--cycles N] [--crash-orders N]" \
        "[--seed S] [--schemes \"async hybrid wal batch_sync wal_batch\"]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
        --orders) orders=${2:-} ;;
        --rate) rate=${2:-} ;;
        --cycles) cycles=${2:-} ;;
        --crash-orders) crash_orders=${2:-} ;;
        --seed) seed=${2:-} ;;
        --schemes) schemes=${2:-} ;;
        *) usage ;;
    esac
    shift 2 || usage
done
for number in "$orders" "$rate" "$cycles" "$crash_orders" "$seed"; do
    [[ $number =~ ^[0-9]+$ ]] || usage
done
for scheme in $schemes; do
    case $scheme in
        async | hybrid | wal | batch_sync | wal_batch) ;;
        *) echo "bench-modes: unknown scheme '$scheme'" >&2; usage ;;
    esac
done

cd "$(dirname "$0")/.."
if [ ! -x build/bin/exchanged ] || [ ! -x build/bin/exchangectl ]; then
    { ./scripts/setup-deps.sh && ./scripts/build.sh release exchanged exchangectl; } >&2 || exit 1
fi
dir=$(mktemp -d /tmp/exchanged-modes.XXXXXX)
daemon=
cleanup() {
    [ -n "$daemon" ] && kill -9 "$daemon" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

# write_profile SCHEME FILE: standard.ini with the scheme's preset in place of its own knobs.
write_profile() {
    local mode extra=
    case $1 in
        async) mode=async ;;
        hybrid) mode=hybrid_sync ;;
        wal) mode=wal_batch extra="batch_size = 1
batch_timeout_ms = 0" ;;
        batch_sync) mode=batch_sync ;;
        wal_batch) mode=wal_batch ;;
    esac
    # Drop the knobs the presets set, and the ones every scheme shares, then add them after the
    # section headers (inih takes a key anywhere in its section).
    awk -v mode="$mode" -v extra="$extra" '
        /^(mode|ack_after|enable_wal|wal_sync|sync_for_critical|critical_order_threshold|store_batch_size|store_batch_timeout_ms) *=/ { next }
        /^(batch_size|batch_timeout_ms) *=/ && extra != "" { next }
        { print }
        /^\[persistence\]/ {
            print "mode = " mode
            print "store_batch_size = 1000"
            print "store_batch_timeout_ms = 10"
            if (extra != "") print extra
        }
        /^\[safety\]/ { print "critical_order_threshold = 98" }
    ' config/standard.ini >"$2"
}

# run_load PROFILE RATE NAME: one load on a fresh data directory; the JSON line goes to NAME.json.
run_load() {
    local data=$dir/data-$3 port
    rm -rf "$data"
    port=$((20000 + RANDOM % 20000))
    build/bin/exchanged --config "$1" --data-dir "$data" --listen "127.0.0.1:$port" \
        --admin-listen 127.0.0.1:0 >"$dir/$3.log" 2>&1 &
    daemon=$!
    for _ in $(seq 600); do
        grep -q "ready:" "$dir/$3.log" && break
        sleep 0.1
    done
    build/bin/exchangectl load --connect "127.0.0.1:$port" --orders "$orders" --connections 2 \
        --rate "$2" --config "$1" --seed "$seed" --json >"$dir/$3.json" 2>"$dir/$3.err"
    kill -TERM "$daemon"
    wait "$daemon" 2>/dev/null
    daemon=
}

json() { sed -E "s/.*\"$2\":([0-9.]+).*/\1/" "$1"; }

echo "bench-modes: orders=$orders rate=$rate cycles=$cycles crash_orders=$crash_orders seed=$seed" >&2
echo "| scheme | mode | saturated orders/s | mean ack (saturated) | p99 ack (saturated) |" \
    "mean ack at $rate/s | p99 ack at $rate/s | acked orders lost over $cycles kill -9 |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for scheme in $schemes; do
    profile=$dir/$scheme.ini
    write_profile "$scheme" "$profile"
    mode=$(sed -n 's/^mode = //p' "$profile")
    echo "bench-modes: $scheme: saturated load ($(cut -d" " -f1-3 /proc/loadavg) load average)" >&2
    run_load "$profile" 0 "$scheme-saturated"
    echo "bench-modes: $scheme: $rate orders/s" >&2
    run_load "$profile" "$rate" "$scheme-rate"
    echo "bench-modes: $scheme: $cycles kill -9 cycles" >&2
    ./scripts/crash-test.sh --config "$profile" --cycles "$cycles" --seed "$seed" \
        --orders "$crash_orders" --rate "$rate" >"$dir/$scheme-crash.out" 2>&1
    crash_status=$?
    lost=$(sed -n 's/^acknowledged orders lost: \([0-9]* of [0-9]*\).*/\1/p' "$dir/$scheme-crash.out")
    [ "$crash_status" -eq 0 ] || lost="$lost (crash-test FAILED: $(tail -n 1 "$dir/$scheme-crash.out"))"
    s=$dir/$scheme-saturated.json r=$dir/$scheme-rate.json
    awk -v scheme="$scheme" -v mode="$mode" -v lost="${lost:-?}" \
        -v tput="$(json "$s" orders_per_sec)" -v s_mean="$(json "$s" mean_us)" \
        -v s_p99="$(json "$s" p99_us)" -v r_mean="$(json "$r" mean_us)" \
        -v r_p99="$(json "$r" p99_us)" 'BEGIN {
            printf "| %s | %s | %.0f | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %s |\n", scheme, mode,
                tput, s_mean / 1000, s_p99 / 1000, r_mean / 1000, r_p99 / 1000, lost
        }'
done
