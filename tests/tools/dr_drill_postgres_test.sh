#!/usr/bin/env bash
# scripts/dr-drill.sh on a PostgreSQL store, short: a "production" daemon whose store is a schema
# of the test server serves while the drill backs it up (pg_dump), runs its copy with its store in a
# database of its own (--drill-dsn), kills it, drops its store, restores and verifies. The drill
# must pass with no acknowledged order lost, leave production's store alone and the drill's
# database empty. Then a planted fault (a byte flipped in the dump it restores) must fail the
# drill, naming store.pgdump in its report.
# Needs EXCHANGED_TEST_POSTGRES_DSN (scripts/test.sh starts a throw-away server); without it the
# test says why and exits 77, which ctest reports as skipped.
set -uo pipefail

if [ -z "${EXCHANGED_TEST_POSTGRES_DSN:-}" ]; then
    echo "test skipped: EXCHANGED_TEST_POSTGRES_DSN is not set (scripts/test.sh starts a throw-away server with scripts/pg-test-cluster.sh and sets it)"
    exit 77
fi
base=$EXCHANGED_TEST_POSTGRES_DSN
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
schema=exchanged_drill_$$
drill_db=exchanged_drill_copy_$$
prod_pid=
sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
cleanup() {
    [ -n "$prod_pid" ] && kill -9 "$prod_pid" 2>/dev/null
    sql "$base" "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1
    sql "$base" "DROP DATABASE IF EXISTS $drill_db WITH (FORCE)" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
cd "$root" || exit 1
# shellcheck source=tests/tools/dr_drill_test_lib.sh
. tests/tools/dr_drill_test_lib.sh

sql "$base" "CREATE SCHEMA $schema" || { echo "FAIL: create the production schema"; exit 1; }
sql "$base" "CREATE DATABASE $drill_db" || { echo "FAIL: create the drill database"; exit 1; }
prod_dsn="$base options=-csearch_path=$schema"
drill_dsn="$base dbname=$drill_db options=-csearch_path=$schema"

start_production \
    "s|^store = sqlite|store = postgresql|" "s|^store_path = .*|store_dsn = $prod_dsn|"
prod_orders() { psql -X -At -d "$prod_dsn" -c "SELECT count(*) FROM orders"; }
drill_tables() { psql -X -At -d "$drill_dsn" -c "SELECT count(*) FROM pg_tables WHERE schemaname = '$schema'"; }

out=$(scripts/dr-drill.sh --config "$tmp/prod.ini" --report-dir "$tmp/reports" 2>&1)
rc=$?
check '[ "$rc" -eq 2 ] && grep -q "drill-dsn DSN" <<<"$out"' "without --drill-dsn the drill refuses to start (exit $rc)"

run_drill --drill-dsn "$drill_dsn" --orders 20000 --rate 10000
check '[ "$rc" -eq 0 ]' "the drill passes (exit $rc)"
check '[ -n "$json" ] && grep -q "\"verdict\": \"PASS\"" "$json"' "the JSON report says PASS"
check 'grep -q "\"acknowledged_orders_lost\": 0," "$json"' "no acknowledged order lost (the WAL survived)"
check 'grep -q "tables dropped in the drill database" "$json"' "the drill lost its PostgreSQL store"
check 'kill -0 "$prod_pid"' "production still runs"
check '[ "$(prod_orders)" -gt 0 ]' "production's store is still there"
check '[ "$(drill_tables)" -eq 0 ]' "the drill's database is left without a store"

run_drill --drill-dsn "$drill_dsn" --orders 10000 --rate 10000 --plant-fault corrupt-backup
check '[ "$rc" -eq 1 ]' "the drill with a corrupted dump fails (exit $rc)"
check 'grep -q "store.pgdump: damaged" "$json" "${json%.json}.md"' "the report names the damaged dump"
check '[ "$(drill_tables)" -eq 0 ]' "the failed drill leaves its database without a store too"

stop_production_and_finish
