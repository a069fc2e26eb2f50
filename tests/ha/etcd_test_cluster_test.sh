#!/usr/bin/env bash
# scripts/etcd-test-cluster.sh: starts members that answer, prints their endpoints, refuses what
# it must (bad flags, a second start in the same DIR, a stop of a DIR it did not set up) and
# leaves nothing running or on disk after stop.
set -euo pipefail
script="$(cd "$(dirname "$0")/../.." && pwd)/scripts/etcd-test-cluster.sh"
if ! command -v etcd >/dev/null 2>&1 || ! command -v etcdctl >/dev/null 2>&1; then
    echo "test skipped: etcd or etcdctl not found (scripts/setup-deps.sh installs them)"
    exit 0
fi
work=$(mktemp -d /tmp/etcd-script-test.XXXXXX)
cleanup() {
    "$script" stop "$work/c1" >/dev/null 2>&1 || true
    "$script" stop "$work/c3" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# A usage error names what was wrong and exits 2.
set +e
out=$("$script" start "$work/bad" --members 2 2>&1); rc=$?
set -e
[ "$rc" -eq 2 ] || fail "--members 2 exited $rc, not 2"
[[ $out == *"--members must be 1 or 3"* ]] || fail "--members 2 said: $out"

one=$("$script" start "$work/c1")
[[ $one =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "one member printed '$one'"
etcdctl --endpoints "$one" put /k v >/dev/null || fail "the member at $one does not take a put"
[ "$("$script" endpoints "$work/c1")" = "$one" ] || fail "endpoints does not repeat '$one'"
if "$script" start "$work/c1" >/dev/null 2>&1; then fail "a second start in the same DIR worked"; fi

three=$("$script" start "$work/c3" --members 3)
IFS=, read -ra members <<<"$three"
[ "${#members[@]}" -eq 3 ] || fail "three members printed '$three'"
etcdctl --endpoints "$three" endpoint health >/dev/null 2>&1 || fail "three members not healthy"
pids=$(cat "$work"/c1/m*/pid "$work"/c3/m*/pid)

mkdir -p "$work/other"
touch "$work/other/keep"
if "$script" stop "$work/other" >/dev/null 2>&1; then fail "stop of a foreign DIR succeeded"; fi
[ -f "$work/other/keep" ] || fail "stop removed a DIR it did not set up"

kill -STOP "$(cat "$work/c3/m1/pid")"  # a paused member must still be stopped
"$script" stop "$work/c1"
"$script" stop "$work/c3"
[ ! -e "$work/c1" ] && [ ! -e "$work/c3" ] || fail "stop left its DIR behind"
for pid in $pids; do
    if kill -0 "$pid" 2>/dev/null; then fail "etcd pid $pid still runs after stop"; fi
done
echo "etcd-test-cluster: all checks passed"
