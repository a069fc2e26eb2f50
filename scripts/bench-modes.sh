#!/usr/bin/env bash
# The seed's comparison of durability schemes, measured on this code: for each scheme the same
# end-to-end load (`exchangectl load`, 2 connections, fresh data directory) at saturation and at a
# fixed offered rate, then kill -9 cycles (scripts/crash-test.sh; the quorum scheme's cluster:
# scripts/cluster-crash-test.sh) counting the acknowledged orders each scheme loses. Prints a Markdown table for docs/benchmarks.md.
#   scripts/bench-modes.sh [--orders N] [--rate R] [--cycles N] [--crash-orders N] [--seed S]
#                          [--schemes "async hybrid wal batch_sync wal_batch double_write quorum"]
#                          [--json]
#                          [--no-stall-probe]
# Every scheme is config/standard.ini with its [persistence] preset and these knobs in common:
# store batches of 1000 records or 10 ms, and critical_order_threshold = 98, so that the 2% of the
# load's orders above 98 lots (quantities are 1..100 lots) are critical.
#   async       mode = async        ack at match, no WAL, the store catches up
#   hybrid      mode = hybrid_sync  ack after the WAL fsync, critical orders after the store
#   wal         mode = wal_batch    with batch_size = 1, batch_timeout_ms = 0: an fsync as soon as
#                                   one record waits (what arrives during it forms the next batch)
#   batch_sync  mode = batch_sync   ack at match, no WAL, critical orders after the store
#   wal_batch   mode = wal_batch    group commit of 100 records or 1 ms (standard.ini)
#   double_write mode = double_write ack once Redis holds the record (no WAL), store async; on a
#                                   throw-away Redis of its own (scripts/redis-test-server.sh, AOF
#                                   appendfsync always), emptied before each load; skipped
#                                   without redis-server
#   quorum      mode = wal_batch    with ack_after = quorum: the three-node cluster of
#                                   config/cluster/ on loopback (scripts/run-cluster.sh, moved to
#                                   ports 9740-9762), acked once two of the three WALs hold the
#                                   order; the load goes to the leader. Its kill -9 cycles are
#                                   scripts/cluster-crash-test.sh's (the same cycles, orders and
#                                   rate; the leader, a follower, all three killed in turn, each
#                                   restarted in its role)
# Beside every load runs the stall probe of docs/benchmarks.md (`exchangectl bench jitter
# --period-us 1000`, a thread that sleeps to a 1 ms schedule and records how late it wakes, in
# one-second runs until the load ends): the worst second's p99 lateness and the latest wake-up flag
# runs where the machine froze. It costs one wake-up a millisecond; --no-stall-probe leaves it out.
# Throughput and ack latency are the load's accepted orders only (refusals have their own columns).
# --json prints one JSON object per scheme per line instead of the table (docs/benchmarks.md lists
# the keys).
set -uo pipefail

orders=500000 rate=20000 cycles=20 crash_orders=200000 seed=1 json=0 stall_probe=1
schemes="async hybrid wal batch_sync wal_batch double_write quorum"
usage() {
    echo "usage: scripts/bench-modes.sh [--orders N] [--rate R] [--cycles N] [--crash-orders N]" \
        "[--seed S] [--schemes \"async hybrid wal batch_sync wal_batch double_write quorum\"]" \
        "[--json]" \
        "[--no-stall-probe]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
        --json) json=1; shift; continue ;;
        --no-stall-probe) stall_probe=0; shift; continue ;;
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
        async | hybrid | wal | batch_sync | wal_batch | double_write | quorum) ;;
        *) echo "bench-modes: unknown scheme '$scheme'" >&2; usage ;;
    esac
done

cd "$(dirname "$0")/.." || exit 1
if [ ! -x build/bin/exchanged ] || [ ! -x build/bin/exchangectl ]; then
    { ./scripts/setup-deps.sh && ./scripts/build.sh release exchanged exchangectl; } >&2 || exit 1
fi
dir=$(mktemp -d /tmp/exchanged-modes.XXXXXX)
daemon=
redis_address=
cluster=
cleanup() {
    [ -n "$daemon" ] && kill -9 "$daemon" 2>/dev/null
    [ -n "$cluster" ] && scripts/run-cluster.sh stop --data-dir "$cluster" >/dev/null 2>&1
    [ -n "$redis_address" ] && scripts/redis-test-server.sh stop "$dir/redis" >/dev/null 2>&1
    # BENCH_MODES_KEEP=1 keeps the logs, profiles and outputs for a look afterwards.
    if [ -n "${BENCH_MODES_KEEP:-}" ]; then
        echo "bench-modes: kept $dir" >&2
    else
        rm -rf "$dir"
    fi
}
trap cleanup EXIT

# write_profile SCHEME FILE [BASE]: BASE (standard.ini) with the scheme's preset in place of its
# own knobs.
write_profile() {
    local mode extra= base=${3:-config/standard.ini}
    case $1 in
        async) mode=async ;;
        hybrid) mode=hybrid_sync ;;
        wal) mode=wal_batch extra="batch_size = 1
batch_timeout_ms = 0" ;;
        batch_sync) mode=batch_sync ;;
        wal_batch) mode=wal_batch ;;
        double_write) mode=double_write extra="redis_address = $redis_address" ;;
        quorum) mode=wal_batch extra="ack_after = quorum" ;;
    esac
    # Drop the knobs the presets set, and the ones every scheme shares, then add them after the
    # section headers (inih takes a key anywhere in its section).
    awk -v mode="$mode" -v extra="$extra" '
        /^(mode|ack_after|enable_wal|wal_sync|sync_for_critical|critical_order_threshold|store_batch_size|store_batch_timeout_ms) *=/ { next }
        /^(batch_size|batch_timeout_ms) *=/ && extra ~ /batch/ { next }
        { print }
        /^\[persistence\]/ {
            print "mode = " mode
            print "store_batch_size = 1000"
            print "store_batch_timeout_ms = 10"
            if (extra != "") print extra
        }
        /^\[safety\]/ { print "critical_order_threshold = 98" }
    ' "$base" >"$2"
}

# write_cluster_profiles DIR: the quorum scheme's node{1,2,3}.ini in DIR, each config/cluster's
# with the knobs every scheme shares; the leader (node 1) acks after the quorum.
write_cluster_profiles() {
    mkdir -p "$1"
    write_profile quorum "$1/node1.src" config/cluster/node1.ini
    write_profile wal_batch "$1/node2.src" config/cluster/node2.ini
    write_profile wal_batch "$1/node3.src" config/cluster/node3.ini
    # Ports 9740-9762, not config/cluster's 93xx: an operator's cluster may run on those.
    for node in 1 2 3; do
        sed -e 's/127\.0\.0\.1:931/127.0.0.1:974/g' -e 's/127\.0\.0\.1:932/127.0.0.1:975/g' \
            -e 's/127\.0\.0\.1:933/127.0.0.1:976/g' "$1/node$node.src" >"$1/node$node.ini"
    done
}

# stall_probe UNTIL_PID NAME: one-second runs of the probe until process UNTIL_PID ends, one JSON
# line each in NAME.stall.
stall_probe() {
    while kill -0 "$1" 2>/dev/null; do
        build/bin/exchangectl bench jitter --period-us 1000 --seconds 1 --json \
            >>"$dir/$2.stall" 2>/dev/null || break
    done
}

# fresh_redis: empties the double_write scheme's Redis, whose stream belongs to the data directory
# of the last run (a fresh one would refuse it).
fresh_redis() {
    [ -n "$redis_address" ] && redis-cli -h "${redis_address%:*}" -p "${redis_address##*:}" \
        FLUSHALL >/dev/null
}

# run_load PROFILE RATE NAME: one load on a fresh data directory; the JSON line goes to NAME.json,
# its exit code to NAME.exit, the probe's lines (if on) to NAME.stall.
# With a directory of cluster profiles for PROFILE (the quorum scheme), the three nodes serve it
# and the load goes to the leader (node 1); NAME.log is then the leader's log.
run_load() {
    local data=$dir/data-$3 port load probe= admin address
    rm -rf "$data"
    fresh_redis
    : >"$dir/$3.stall"
    if [ -d "$1" ]; then
        cluster=$data
        scripts/run-cluster.sh start --data-dir "$data" --config-dir "$1" --no-build \
            >"$dir/$3.cluster" 2>&1 || { cat "$dir/$3.cluster" >&2; exit 1; }
        address=$(sed -n 's/^leader=//p' "$dir/$3.cluster")
        daemon=$(cat "$data/node1.pid")
        ln -sf "$data/node1.log" "$dir/$3.log"
        profile_for_load=$1/node1.ini
    else
        port=$((20000 + RANDOM % 20000))
        address=127.0.0.1:$port
        # The admin endpoint is read once, after the load (store_progress).
        build/bin/exchanged --config "$1" --data-dir "$data" --listen "$address" \
            --admin-listen "127.0.0.1:$((port + 1))" >"$dir/$3.log" 2>&1 &
        daemon=$!
        profile_for_load=$1
    fi
    for _ in $(seq 600); do
        grep -qs "ready:" "$dir/$3.log" && break
        sleep 0.1
    done
    build/bin/exchangectl load --connect "$address" --orders "$orders" --connections 2 \
        --rate "$2" --config "$profile_for_load" --seed "$seed" --json >"$dir/$3.json" \
        2>"$dir/$3.err" &
    load=$!
    if [ "$stall_probe" -eq 1 ]; then
        stall_probe "$load" "$3" &
        probe=$!
    fi
    wait "$load"
    echo $? >"$dir/$3.exit"
    # Where the store was when the last ack left: the floor of a scheme whose critical acks wait
    # for the store (each account's replies queue behind its critical orders, so such a scheme
    # cannot accept faster than the store commits).
    admin=$(sed -nE 's/.* admin=([0-9.]+:[0-9]+).*/\1/p' "$dir/$3.log" | head -n 1)
    curl -s --max-time 5 "http://$admin/metrics" 2>/dev/null |
        awk '$1 == "exchanged_store_lsn" { printf "%.0f\n", $2 }' >"$dir/$3.store_lsn"
    [ -n "$probe" ] && wait "$probe"
    if [ "$(cat "$dir/$3.exit")" -ne 0 ]; then
        echo "bench-modes: $3: exchangectl load exited $(cat "$dir/$3.exit"):" \
            "$(grep -v '^load: ' "$dir/$3.err" | tail -n 1)" >&2
    fi
    if [ -n "$cluster" ]; then
        scripts/run-cluster.sh stop --data-dir "$cluster" >/dev/null 2>&1
        cluster=
    else
        kill -TERM "$daemon"
        wait "$daemon" 2>/dev/null
    fi
    daemon=
    # The clean stop writes everything: its store LSN is the load's last record.
    sed -nE 's/.*store at LSN ([0-9]+).*/\1/p' "$dir/$3.log" | tail -n 1 >"$dir/$3.final_lsn"
}

# store_progress NAME: "records/s share" of the store during load NAME: the records it had
# committed when the last ack left, per second of the load and as a share of all the load's
# records; "null null" when either was not seen.
store_progress() {
    local at_end final elapsed
    at_end=$(cat "$dir/$1.store_lsn" 2>/dev/null)
    final=$(cat "$dir/$1.final_lsn" 2>/dev/null)
    elapsed=$(value "$dir/$1.json" elapsed_s)
    if [ -z "$at_end" ] || [ -z "$final" ] || [ "$final" -eq 0 ] || [ "$elapsed" = null ]; then
        echo "null null"
        return
    fi
    awk -v a="$at_end" -v f="$final" -v e="$elapsed" 'BEGIN { printf "%.0f %.3f\n", a / e, a / f }'
}

# value FILE KEY: the number (or true/false) after "KEY": in a one-line JSON object, or null.
value() {
    local v
    v=$(sed -nE "s/.*\"$2\":(-?[0-9.]+|true|false).*/\1/p" "$1" 2>/dev/null | head -n 1)
    echo "${v:-null}"
}

# stall NAME...: the worst one-second p99 and the longest stall (µs) over the probes' runs.
stall() {
    local name files=()
    for name in "$@"; do
        files+=("$dir/$name.stall")
    done
    cat "${files[@]}" 2>/dev/null | awk '
        match($0, /"p99_ns":[0-9]+/) { p = substr($0, RSTART + 9, RLENGTH - 9) + 0; if (p > p99) p99 = p; n++ }
        match($0, /"max_ns":[0-9]+/) { m = substr($0, RSTART + 9, RLENGTH - 9) + 0; if (m > max) max = m }
        END { if (n == 0) print "null null"; else printf "%.1f %.1f\n", p99 / 1000, max / 1000 }'
}

# us_as_ms VALUE: microseconds as "N.NN ms", or "?" for null.
us_as_ms() {
    if [ "$1" = null ]; then echo "?"; else awk -v v="$1" 'BEGIN { printf "%.2f ms", v / 1000 }'; fi
}

echo "bench-modes: orders=$orders rate=$rate cycles=$cycles crash_orders=$crash_orders seed=$seed" \
    "stall_probe=$stall_probe" >&2
if [ "$json" -eq 0 ]; then
    echo "| scheme | mode | load avg | saturated accepted/s | refused (saturated) |" \
        "mean ack (saturated) | p99 ack (saturated) | mean ack at $rate/s | p99 ack at $rate/s |" \
        "acked orders lost over $cycles kill -9 | loss ms (worst cycle) | stall p99 / max |" \
        "store records/s during the saturated load (share at its last ack) |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
fi
for scheme in $schemes; do
    if [ "$scheme" = double_write ] && [ -z "$redis_address" ]; then
        if ! command -v redis-server >/dev/null 2>&1; then
            echo "bench-modes: double_write skipped: redis-server is not installed" >&2
            continue
        fi
        redis_address=$(scripts/redis-test-server.sh start "$dir/redis") || exit 1
    fi
    if [ "$scheme" = quorum ]; then
        profile=$dir/quorum
        write_cluster_profiles "$profile"
        mode=$(sed -n 's/^mode = //p' "$profile/node1.ini")
    else
        profile=$dir/$scheme.ini
        write_profile "$scheme" "$profile"
        mode=$(sed -n 's/^mode = //p' "$profile")
    fi
    load_avg=$(cut -d" " -f1 /proc/loadavg)
    echo "bench-modes: $scheme: saturated load ($(cut -d" " -f1-3 /proc/loadavg) load average)" >&2
    run_load "$profile" 0 "$scheme-saturated"
    echo "bench-modes: $scheme: $rate orders/s" >&2
    run_load "$profile" "$rate" "$scheme-rate"
    scheme_cycles=$cycles
    echo "bench-modes: $scheme: $cycles kill -9 cycles" >&2
    if [ "$scheme" = quorum ]; then
        ./scripts/cluster-crash-test.sh --config-dir "$profile" --cycles "$cycles" \
            --seed "$seed" --orders "$crash_orders" --rate "$rate" --no-build \
            >"$dir/$scheme-crash.out" 2>&1
    else
        fresh_redis
        ./scripts/crash-test.sh --config "$profile" --cycles "$cycles" --seed "$seed" \
            --orders "$crash_orders" --rate "$rate" >"$dir/$scheme-crash.out" 2>&1
    fi
    crash_status=$?
    # "acknowledged orders lost: N of M over C kill -9 cycles[; worst cycle X ms of acked flow]"
    summary=$(grep '^acknowledged orders lost: ' "$dir/$scheme-crash.out" | tail -n 1)
    lost=$(sed -nE 's/^acknowledged orders lost: ([0-9]+) of .*/\1/p' <<<"$summary")
    acked=$(sed -nE 's/^acknowledged orders lost: [0-9]+ of ([0-9]+).*/\1/p' <<<"$summary")
    loss_ms=$(sed -nE 's/.*; worst cycle ([0-9.]+) ms of acked flow.*/\1/p' <<<"$summary")
    lost=${lost:-null} acked=${acked:-null} loss_ms=${loss_ms:-null}
    crash_ok=false
    [ "$crash_status" -eq 0 ] && crash_ok=true
    [ "$crash_status" -eq 0 ] || echo "bench-modes: $scheme: crash-test FAILED:" \
        "$(tail -n 1 "$dir/$scheme-crash.out")" >&2
    s=$dir/$scheme-saturated.json r=$dir/$scheme-rate.json
    read -r stall_p99 stall_max <<<"$(stall "$scheme-saturated" "$scheme-rate")"
    read -r s_stall_p99 _ <<<"$(stall "$scheme-saturated")"
    read -r r_stall_p99 _ <<<"$(stall "$scheme-rate")"
    read -r store_per_sec store_share <<<"$(store_progress "$scheme-saturated")"
    if [ "$json" -eq 1 ]; then
        printf '{"scheme":"%s","mode":"%s","load_avg":%s,' "$scheme" "$mode" "$load_avg"
        printf '"saturated_accepted_per_sec":%s,"saturated_refused":%s,' \
            "$(value "$s" orders_per_sec)" "$(value "$s" refused)"
        printf '"saturated_rejected":%s,"saturated_mean_us":%s,"saturated_p99_us":%s,' \
            "$(value "$s" rejected)" "$(value "$s" mean_us)" "$(value "$s" p99_us)"
        printf '"saturated_exit":%s,' "$(cat "$dir/$scheme-saturated.exit")"
        printf '"saturated_store_per_sec":%s,"saturated_store_share":%s,' \
            "$store_per_sec" "$store_share"
        printf '"rate_offered":%s,"rate_accepted_per_sec":%s,"rate_refused":%s,' \
            "$rate" "$(value "$r" orders_per_sec)" "$(value "$r" refused)"
        printf '"rate_mean_us":%s,"rate_p99_us":%s,"rate_exit":%s,' \
            "$(value "$r" mean_us)" "$(value "$r" p99_us)" "$(cat "$dir/$scheme-rate.exit")"
        printf '"cycles":%s,"acked":%s,"lost":%s,"loss_ms":%s,"crash_ok":%s,' \
            "$scheme_cycles" "$acked" "$lost" "$loss_ms" "$crash_ok"
        printf '"stall_p99_us":%s,"stall_max_us":%s,' "$stall_p99" "$stall_max"
        printf '"saturated_stall_p99_us":%s,"rate_stall_p99_us":%s}\n' "$s_stall_p99" "$r_stall_p99"
        continue
    fi
    lost_text="$lost of $acked"
    [ "$crash_ok" = true ] || lost_text="$lost_text (crash-test FAILED: $(tail -n 1 "$dir/$scheme-crash.out"))"
    loss_ms_text=$([ "$loss_ms" = null ] && echo "?" || echo "$loss_ms ms")
    stall_text="$(us_as_ms "$stall_p99") / $(us_as_ms "$stall_max")"
    [ "$stall_probe" -eq 1 ] || stall_text="off"
    awk -v scheme="$scheme" -v mode="$mode" -v load_avg="$load_avg" \
        -v tput="$(value "$s" orders_per_sec)" -v refused="$(value "$s" refused)" \
        -v s_mean="$(value "$s" mean_us)" -v s_p99="$(value "$s" p99_us)" \
        -v r_mean="$(value "$r" mean_us)" -v r_p99="$(value "$r" p99_us)" -v lost="$lost_text" \
        -v loss_ms="$loss_ms_text" -v stall="$stall_text" -v store_per_sec="$store_per_sec" \
        -v store_share="$store_share" '
        function ms(v) { return v == "null" ? "?" : sprintf("%.2f ms", v / 1000) }
        function n(v) { return v == "null" ? "?" : sprintf("%.0f", v) }
        BEGIN {
            store = store_per_sec == "null" ? "?" : sprintf("%s (%.0f%%)", n(store_per_sec), store_share * 100)
            printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", scheme,
                mode, load_avg, n(tput), n(refused), ms(s_mean), ms(s_p99), ms(r_mean), ms(r_p99),
                lost, loss_ms, stall, store
        }'
done
