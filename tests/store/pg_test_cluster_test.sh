#!/usr/bin/env bash
# scripts/pg-test-cluster.sh starts its server with the allocator settings docs/store.md recommends
# (MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_), on start and on resume, and a value the caller already
# set wins. Read from the running postmaster's environment, so a script that stopped passing them
# fails here.
set -euo pipefail
script="$(cd "$(dirname "$0")/../.." && pwd)/scripts/pg-test-cluster.sh"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "test skipped: no PostgreSQL server binaries (scripts/setup-deps.sh installs them)"
    exit 0
fi
work=$(mktemp -d /tmp/pg-script-test.XXXXXX)
chmod 755 "$work"  # as root, the server runs as postgres and must reach its directory
cleanup() {
    "$script" stop "$work/pg" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# The value of NAME in the running server's environment, or "unset".
server_env() {
    local pid
    pid=$(head -n 1 "$work/pg/data/postmaster.pid")
    tr '\0' '\n' <"/proc/$pid/environ" | sed -n "s/^$1=//p" | grep . || echo unset
}

env -u MALLOC_TRIM_THRESHOLD_ -u MALLOC_TOP_PAD_ "$script" start "$work/pg" >/dev/null
[ "$(server_env MALLOC_TRIM_THRESHOLD_)" = 268435456 ] ||
    fail "after start MALLOC_TRIM_THRESHOLD_ is $(server_env MALLOC_TRIM_THRESHOLD_), not 268435456"
[ "$(server_env MALLOC_TOP_PAD_)" = 16777216 ] ||
    fail "after start MALLOC_TOP_PAD_ is $(server_env MALLOC_TOP_PAD_), not 16777216"

"$script" pause "$work/pg"
MALLOC_TOP_PAD_=1048576 env -u MALLOC_TRIM_THRESHOLD_ "$script" resume "$work/pg"
[ "$(server_env MALLOC_TOP_PAD_)" = 1048576 ] ||
    fail "the caller's MALLOC_TOP_PAD_=1048576 did not win: the server has $(server_env MALLOC_TOP_PAD_)"
[ "$(server_env MALLOC_TRIM_THRESHOLD_)" = 268435456 ] ||
    fail "after resume MALLOC_TRIM_THRESHOLD_ is $(server_env MALLOC_TRIM_THRESHOLD_), not 268435456"
echo "pg-test-cluster.sh passes the allocator settings to its server"
