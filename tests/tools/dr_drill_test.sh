#!/usr/bin/env bash
# scripts/dr-drill.sh end to end, short: a "production" daemon (the built one on a scratch data
# directory) serves while the drill backs it up, runs its copy, kills it, loses its store, restores
# and verifies. The drill must pass with no acknowledged order lost, and leave production alone
# (still serving, nothing new in its data directory). Then the same drill with a planted fault (a
# byte flipped in the backup it restores) must fail, naming the damaged file in its report.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
prod_pid=
trap '[ -n "$prod_pid" ] && kill -9 "$prod_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
cd "$root" || exit 1

port=$((20000 + RANDOM % 20000))
sed -e "s|^listen = .*|listen = 127.0.0.1:$port|" \
    -e "s|^admin_listen = .*|admin_listen = 127.0.0.1:$((port + 1))|" \
    -e "s|^data_dir = .*|data_dir = $tmp/prod|" config/standard.ini >"$tmp/prod.ini"
build/bin/exchanged --config "$tmp/prod.ini" >"$tmp/prod.log" 2>&1 &
prod_pid=$!
for _ in $(seq 600); do
    grep -q "ready:" "$tmp/prod.log" && break
    sleep 0.05
done
grep -q "ready:" "$tmp/prod.log" || { echo "FAIL: the production daemon did not start"; cat "$tmp/prod.log"; exit 1; }
build/bin/exchangectl load --connect "127.0.0.1:$port" --orders 2000 --rate 10000 \
    --config "$tmp/prod.ini" >/dev/null || { echo "FAIL: production load"; exit 1; }
before=$(ls -A "$tmp/prod")

failures=0
check() {
    if eval "$1"; then
        echo "PASS: $2"
    else
        echo "FAIL: $2"
        failures=$((failures + 1))
    fi
}

out=$(scripts/dr-drill.sh --config "$tmp/prod.ini" --report-dir "$tmp/reports" --orders 30000 \
    --rate 15000 2>&1)
rc=$?
echo "$out"
json=$(ls "$tmp"/reports/dr-drill-*.json 2>/dev/null | head -n 1)
check '[ "$rc" -eq 0 ]' "the drill passes (exit $rc)"
check '[ -n "$json" ] && [ -f "${json%.json}.md" ]' "a Markdown and a JSON report are written"
check 'grep -q "\"verdict\": \"PASS\"" "$json"' "the JSON report says PASS"
check 'grep -q "\"acknowledged_orders_lost\": 0," "$json"' "no acknowledged order lost (the WAL survived)"
check 'grep -Eq "\"rto_ms\": [0-9]+," "$json"' "the recovery time is recorded"
check 'kill -0 "$prod_pid"' "production still runs"
# The online backup's staging directory is the one thing it may add, and it must be left empty.
check '[ "$(ls -A "$tmp/prod" | grep -vx backup-staging)" = "$before" ] &&
       [ -z "$(ls -A "$tmp/prod/backup-staging")" ]' \
    "nothing new in production's data directory (backup-staging left empty)"

rm -rf "$tmp/reports"
out=$(scripts/dr-drill.sh --config "$tmp/prod.ini" --report-dir "$tmp/reports" --orders 20000 \
    --rate 15000 --plant-fault corrupt-backup 2>&1)
rc=$?
echo "$out"
json=$(ls "$tmp"/reports/dr-drill-*.json 2>/dev/null | head -n 1)
check '[ "$rc" -eq 1 ]' "the drill with a corrupted backup fails (exit $rc)"
check '[ -n "$json" ] && grep -q "\"verdict\": \"FAIL\"" "$json"' "its JSON report says FAIL"
check 'grep -q "store.sqlite: damaged" "$json" "${json%.json}.md"' "the report names the damaged file"

kill -TERM "$prod_pid"
wait "$prod_pid"
prod_rc=$?
prod_pid=
check '[ "$prod_rc" -eq 0 ]' "production stops cleanly (exit $prod_rc)"
echo "$failures failed"
[ "$failures" -eq 0 ]
