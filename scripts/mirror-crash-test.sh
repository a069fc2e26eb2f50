#!/usr/bin/env bash
# Crash cycles of mode double_write (the Redis mirror, docs/durability.md: Double write) with real
# processes: a throw-away Redis (scripts/redis-test-server.sh, AOF with appendfsync always) and
# scripts/crash-test.sh on config/standard.ini turned into a double_write profile, four ways:
# kill -9 of the daemon, of Redis (restarted on its AOF while the daemon waits, then the daemon),
# of both, and Redis silent past the profile's redis_hold_limit_ms (the daemon must exit 1 by
# itself, dropping the replies it held). Every run must lose no acknowledged order; crash-test.sh
# checks each cycle with exchanged --recover, exchangectl store lost / store verify, and
# exchangectl verify after the restart.
#   scripts/mirror-crash-test.sh [--cycles N] [--orders N] [--rate R] [--seed S] [--planted-fault]
# --planted-fault runs Redis without its AOF (appendonly no: a restart empties it) under --kill
# both only, while the profile still states no loss: the checks must fail (exit 0 when they do).
set -uo pipefail

cycles=2 orders=100000 rate=30000 seed=$((RANDOM * 32768 + RANDOM)) planted=0
usage() {
    echo "usage: scripts/mirror-crash-test.sh [--cycles N] [--orders N] [--rate R] [--seed S]" \
        "[--planted-fault]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
        --planted-fault) planted=1; shift; continue ;;
        --cycles) cycles=${2:-} ;;
        --orders) orders=${2:-} ;;
        --rate) rate=${2:-} ;;
        --seed) seed=${2:-} ;;
        *) usage ;;
    esac
    shift 2 || usage
done
for number in "$cycles" "$orders" "$rate" "$seed"; do
    [[ $number =~ ^[0-9]+$ ]] || usage
done
cd "$(dirname "$0")/.." || exit 1
if ! command -v redis-server >/dev/null 2>&1; then
    echo "mirror-crash-test: skipped: redis-server is not installed (scripts/setup-deps.sh)"
    exit 0
fi
dir=$(mktemp -d /tmp/exchanged-mirror-crash.XXXXXX)
cleanup() {
    scripts/redis-test-server.sh stop "$dir/redis" >/dev/null 2>&1
    rm -rf "$dir"
}
trap cleanup EXIT

# write_profile ADDRESS FILE: standard.ini in mode double_write on the given Redis.
write_profile() {
    awk -v addr="$1" '
        /^(mode|ack_after|enable_wal|wal_sync|wal_path|wal_compression|wal_segment_bytes|wal_max_recycled_segments|batch_size|batch_timeout_ms) *=/ { next }
        { print }
        /^\[persistence\]/ { print "mode = double_write"; print "redis_address = " addr }
    ' config/standard.ini >"$2"
}

kills="daemon redis both redis-silent"
if [ "$planted" -eq 1 ]; then
    kills=both
    export REDIS_APPENDONLY=no
fi
failed=0
for kill in $kills; do
    scripts/redis-test-server.sh stop "$dir/redis" >/dev/null 2>&1
    if ! address=$(scripts/redis-test-server.sh start "$dir/redis"); then
        echo "mirror-crash-test: could not start redis-server" >&2
        exit 1
    fi
    write_profile "$address" "$dir/double_write.ini"
    echo "mirror-crash-test: --kill $kill (Redis $address$([ "$planted" -eq 1 ] && echo ", no AOF: planted fault"))"
    if ! scripts/crash-test.sh --config "$dir/double_write.ini" --cycles "$cycles" \
        --orders "$orders" --rate "$rate" --seed "$seed" --kill "$kill" --redis-dir "$dir/redis"; then
        failed=$((failed + 1))
    fi
done
if [ "$planted" -eq 1 ]; then
    if [ "$failed" -eq 0 ]; then
        echo "mirror-crash-test: planted fault NOT caught: Redis without an AOF lost nothing the checks saw"
        exit 1
    fi
    echo "mirror-crash-test: planted fault caught (the checks failed as they must)"
    exit 0
fi
[ "$failed" -eq 0 ] && echo "mirror-crash-test: all kill modes passed"
[ "$failed" -eq 0 ]
