#!/usr/bin/env bash
# scripts/dr-drill.sh end to end, short: a "production" daemon (the built one on a scratch data
# directory) serves while the drill backs it up, runs its copy, kills it, loses its store, restores
# and verifies. The drill must pass with no acknowledged order lost, and leave production alone
# (still serving, nothing new in its data directory). With --failure data-dir (no WAL survives) it
# passes and records the acknowledged orders lost. Two planted faults must fail it: a byte flipped
# in the backup it restores (at recover, the damaged file named), and the WAL deleted with the
# store (at verify: the RPO check sees acknowledged orders lost). The loads run longer than the
# backup takes, so the kill is under load (reported as such).
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

# 10 s of load (the kill ends it): on a busy machine the backup before the kill outlasted 3 s,
# so the load is still running when the check below asks.
run_drill --orders 150000 --rate 15000
check '[ "$rc" -eq 0 ]' "the drill passes (exit $rc)"
check '[ -n "$json" ] && [ -f "${json%.json}.md" ]' "a Markdown and a JSON report are written"
check 'grep -q "\"verdict\": \"PASS\"" "$json"' "the JSON report says PASS"
check 'grep -q "\"acknowledged_orders_lost\": 0," "$json"' "no acknowledged order lost (the WAL survived)"
check 'grep -Eq "\"rto_ms\": [0-9]+," "$json"' "the recovery time is recorded"
check 'grep -q "\"killed_under_load\": true," "$json" && grep -q "kill -9 under load" "${json%.json}.md"' \
    "the kill happened under load, and the report says so"
check 'kill -0 "$prod_pid"' "production still runs"
# The online backup's staging directory is the one thing it may add, and it must be left empty.
check '[ "$(ls -A "$tmp/prod" | grep -vx backup-staging)" = "$before" ] &&
       [ -z "$(ls -A "$tmp/prod/backup-staging")" ]' \
    "nothing new in production's data directory (backup-staging left empty)"

run_drill --orders 45000 --rate 15000 --failure data-dir
check '[ "$rc" -eq 0 ]' "the drill losing the whole data directory passes (exit $rc)"
check '[ -n "$json" ] && grep -q "\"verdict\": \"PASS\"" "$json"' "its JSON report says PASS"
check 'grep -Eq "\"acknowledged_orders_lost\": [0-9]+," "$json"' \
    "the acknowledged orders lost (RPO) are measured: $(grep -Eo '"acknowledged_orders_lost": [^,]*' "$json")"
check 'grep -q "whole data directory deleted" "$json"' "the report says the data directory was lost"

run_drill --orders 45000 --rate 15000 --plant-fault lose-wal
check '[ "$rc" -eq 1 ]' "the drill whose surviving WAL is deleted fails (exit $rc)"
check '[ -n "$json" ] && grep -q "\"verdict\": \"FAIL\"" "$json"' "its JSON report says FAIL"
check 'grep -q "dr-drill: FAIL (verify: [1-9][0-9]* acknowledged order(s) lost" <<<"$out"' \
    "it fails at verify, with acknowledged orders lost"

run_drill --orders 20000 --rate 15000 --plant-fault corrupt-backup
check '[ "$rc" -eq 1 ]' "the drill with a corrupted backup fails (exit $rc)"
check '[ -n "$json" ] && grep -q "\"verdict\": \"FAIL\"" "$json"' "its JSON report says FAIL"
check 'grep -q "store.sqlite: damaged" "$json" "${json%.json}.md"' "the report names the damaged file"

stop_production_and_finish
