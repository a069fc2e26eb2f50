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
# shellcheck source=tests/tools/dr_drill_test_lib.sh
. tests/tools/dr_drill_test_lib.sh

start_production
before=$(ls -A "$tmp/prod")

out=$(scripts/dr-drill.sh --config "$tmp/prod.ini" --report-dir "$tmp/reports" --orders 30000 \
    --rate 15000 2>&1)
rc=$?
echo "$out"
json=$(drill_json)
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
json=$(drill_json)
check '[ "$rc" -eq 1 ]' "the drill with a corrupted backup fails (exit $rc)"
check '[ -n "$json" ] && grep -q "\"verdict\": \"FAIL\"" "$json"' "its JSON report says FAIL"
check 'grep -q "store.sqlite: damaged" "$json" "${json%.json}.md"' "the report names the damaged file"

stop_production_and_finish
