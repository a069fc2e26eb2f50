#!/usr/bin/env bash
# The checks of scripts/crash-test.sh must be able to fail, each on a planted fault:
# - the loss window: the hft profile with its window switched off (max_unflushed_ms = 0) and a
#   store that commits once a minute, so that a kill -9 takes everything acknowledged since the
#   start of the cycle, checked against the 10 ms the hft profile states. The cycle must fail on
#   both bounds: the count (rate x window) and the loss in milliseconds of acknowledged flow;
# - a load that fails: a daemon that takes one session while the load logs in two, so that the
#   load exits 1 and nothing is acknowledged; once this passed as a cycle that lost nothing.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root" || exit 1

sed -e 's/^batch_timeout_ms = .*/batch_timeout_ms = 60000/' \
    -e 's/^batch_size = .*/batch_size = 1000000/' \
    -e 's/^max_unflushed_ms = .*/max_unflushed_ms = 0/' config/hft.ini >"$tmp/planted.ini"
for want in 'batch_timeout_ms = 60000' 'batch_size = 1000000' 'max_unflushed_ms = 0'; do
    if ! grep -qx "$want" "$tmp/planted.ini"; then
        echo "FAIL: could not plant '$want' into config/hft.ini"
        exit 1
    fi
done

out=$(scripts/crash-test.sh --config "$tmp/planted.ini" --cycles 1 --orders 80000 --rate 40000 \
    --stated-ms 10 --seed 1 2>&1)
rc=$?
echo "$out"
failures=0
expect() {
    if grep -q -- "$1" <<<"$out"; then
        echo "PASS: $2"
    else
        echo "FAIL: $2 (no '$1' in the output)"
        failures=$((failures + 1))
    fi
}
if [ "$rc" -eq 0 ]; then
    echo "FAIL: crash-test passed a cycle that lost far more than the stated 10 ms"
    failures=$((failures + 1))
fi
expect 'cycle 1: FAIL' "the cycle fails"
expect 'acknowledgements) lost, the profile allows' "the count check catches the loss"
expect 'ms of acknowledged flow lost, the window allows 15 ms' "the time check catches the loss"
expect 'worst cycle [0-9.]* ms of acked flow' "the summary states the worst cycle in time"

sed -e 's/^max_sessions = .*/max_sessions = 1/' config/hft.ini >"$tmp/one-session.ini"
if ! grep -qx 'max_sessions = 1' "$tmp/one-session.ini"; then
    echo "FAIL: could not plant 'max_sessions = 1' into config/hft.ini"
    exit 1
fi
out=$(scripts/crash-test.sh --config "$tmp/one-session.ini" --cycles 1 --orders 20000 \
    --rate 20000 --seed 1 2>&1)
rc=$?
echo "$out"
if [ "$rc" -eq 0 ]; then
    echo "FAIL: crash-test passed a cycle whose load could not log in"
    failures=$((failures + 1))
fi
expect 'cycle 1: FAIL (exchangectl load exited 1' "a failed load fails the cycle"
[ "$failures" -eq 0 ]
