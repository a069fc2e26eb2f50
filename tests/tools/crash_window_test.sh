#!/usr/bin/env bash
# The loss-window check of scripts/crash-test.sh must be able to fail. A planted fault: the hft
# profile with its window switched off (max_unflushed_ms = 0) and a store that commits once a
# minute, so that a kill -9 takes everything acknowledged since the start of the cycle, checked
# against the 10 ms the hft profile states. The cycle must fail on both bounds: the count
# (rate x window) and the loss in milliseconds of acknowledged flow.
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

out=$(scripts/crash-test.sh --config "$tmp/planted.ini" --cycles 1 --orders 40000 --rate 20000 \
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
[ "$failures" -eq 0 ]
