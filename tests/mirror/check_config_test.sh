#!/usr/bin/env bash
# `exchanged --check-config` on a double_write profile prints the `redis loss` line from what the
# profile's Redis reports (a throw-away scripts/redis-test-server.sh server): its own settings
# (appendfsync always), then after CONFIG SET appendfsync everysec, then with Redis gone.
# usage: check_config_test.sh BIN_DIR. Exit 77 (skipped) without redis-server.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
bin=${1:-build/bin}
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    echo "mirror check-config test: SKIPPED (redis-server is not installed: scripts/setup-deps.sh)"
    exit 77
fi
work=$(mktemp -d /tmp/exchanged-mirror-check.XXXXXX)
cleanup() {
    scripts/redis-test-server.sh stop "$work/redis" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
failures=0

address=$(scripts/redis-test-server.sh start "$work/redis") || exit 1
# config/standard.ini in mode double_write on this Redis (as scripts/mirror-crash-test.sh does).
awk -v addr="$address" '
    /^(mode|ack_after|enable_wal|wal_sync|wal_path|wal_compression|wal_segment_bytes|wal_max_recycled_segments|batch_size|batch_timeout_ms) *=/ { next }
    { print }
    /^\[persistence\]/ { print "mode = double_write"; print "redis_address = " addr }
' config/standard.ini >"$work/double_write.ini"

expect_line() {  # WHAT EXPECTED_EXIT LINE_START
    local out code
    out=$("$bin/exchanged" --config "$work/double_write.ini" --check-config 2>&1)
    code=$?
    local line
    line=$(grep '^  redis loss   ' <<<"$out")
    if [ "$code" -ne "$2" ] || [[ $line != "  redis loss   $3"* ]]; then
        echo "FAIL: $1: exit $code, wanted $2 and a line starting '  redis loss   $3'; got:"
        echo "$out"
        failures=$((failures + 1))
    else
        echo "ok: $1: $line"
    fi
}

expect_line "appendfsync always" 0 \
    "none for acknowledged orders while Redis's disk survives (Redis appendonly yes, appendfsync always)"
redis-cli -h "${address%:*}" -p "${address##*:}" CONFIG SET appendfsync everysec >/dev/null
expect_line "appendfsync everysec" 0 \
    "up to 1 s of acknowledged orders not yet in the store if the Redis machine loses power (Redis appendonly yes, appendfsync everysec)"
scripts/redis-test-server.sh kill "$work/redis"
# Redis down is no configuration error: the line says the window is not known, and why.
expect_line "Redis down" 0 "unknown: "
if ! grep -q "unknown: .*$address" <<<"$("$bin/exchanged" --config "$work/double_write.ini" \
    --check-config 2>&1)"; then
    echo "FAIL: Redis down: the line does not name $address"
    failures=$((failures + 1))
fi

[ "$failures" -eq 0 ] && echo "mirror check-config test: PASSED"
[ "$failures" -eq 0 ]
