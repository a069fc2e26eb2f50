#!/usr/bin/env bash
# The disaster-recovery drill (docs/operations.md: Disaster-recovery drill): the seed's five steps,
# run against a copy, never against the live data.
#   1. back up: an online backup of the production daemon (`backup create`, read-only for it), and
#      `backup verify` of it; the drill's copy is that backup restored into a work directory, served
#      by a drill daemon of its own (its own ports), which then takes orders (`exchangectl load`,
#      journal on) and, mid-load, the drill's latest backup;
#   2. simulate a failure: kill -9 the drill daemon mid-load, then damage it: --failure store
#      (default) deletes the store file and keeps the WAL, --failure data-dir loses the whole
#      data directory (the WAL too);
#   3. recover: `backup restore` of the latest backup plus whatever WAL survived, `exchanged
#      --recover`, start, until ready: the recovery time (RTO) runs from the restore's start to ready;
#   4. verify integrity: `exchangectl verify` of the journal against the restarted daemon (every
#      acknowledged order and fill; those missing are the acknowledged orders lost, the RPO: zero
#      when the WAL survived), then `exchangectl reconcile` on the stopped copy;
#   5. record: a dated report, Markdown and JSON, in --report-dir.
# Exits 0 when every step passed, 1 when one failed (the report says which and why), 2 on bad
# arguments. With --failure data-dir lost acknowledgements are the expected outcome and recorded,
# not a failure; with --failure store a single lost acknowledgement fails the drill.
#   scripts/dr-drill.sh --config FILE [--data-dir D] [--work DIR] [--report-dir DIR]
#                       [--failure store|data-dir] [--orders N] [--rate R] [--keep]
#                       [--bin-dir DIR] [--plant-fault corrupt-backup|lose-wal] [--drill-dsn DSN]
# --config/--data-dir: the production daemon's profile and data directory (as `backup create` takes
# them); --work: where the copy lives (a fresh temporary directory by default, removed after unless
# --keep); --report-dir: where the reports go (default ./dr-reports); --bin-dir: where exchanged and
# exchangectl are (default build/bin of this checkout; the systemd unit passes /usr/local/bin).
# Relative paths are taken from the current directory. --plant-fault corrupt-backup flips a byte in
# the latest backup before the restore; --plant-fault lose-wal (with --failure store) deletes the WAL
# that should survive, so acknowledged orders are lost: each shows the drill failing (recover,
# verify). The kill is "under load" only if the load was still running then (checked, and reported:
# killed_under_load); a load that ended first makes it "after the load".
# A production profile with [persistence] store = postgresql needs --drill-dsn: a database for the
# copy's store that holds no store (never production's), whose search_path puts the production
# store's schema first; the production backup is verified in it too. Losing the store then drops
# its tables (psql), and they are dropped again at the end unless --keep. Its password, if any,
# belongs in ~/.pgpass or PGPASSFILE, not in the DSN (psql gets the DSN on its command line).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=$root/build/bin

config= prod_data= work= report_dir=dr-reports failure=store orders=60000 rate=20000 keep=0
fault= drill_dsn=
usage() {
    echo "usage: scripts/dr-drill.sh --config FILE [--data-dir D] [--work DIR] [--report-dir DIR]" \
        "[--failure store|data-dir] [--orders N] [--rate R] [--keep] [--bin-dir DIR]" \
        "[--plant-fault corrupt-backup|lose-wal] [--drill-dsn DSN]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
        --config) config=${2:-}; shift ;;
        --data-dir) prod_data=${2:-}; shift ;;
        --work) work=${2:-}; shift ;;
        --report-dir) report_dir=${2:-}; shift ;;
        --failure) failure=${2:-}; shift ;;
        --orders) orders=${2:-}; shift ;;
        --rate) rate=${2:-}; shift ;;
        --plant-fault) fault=${2:-}; shift ;;
        --bin-dir) bin_dir=${2:-}; shift ;;
        --drill-dsn) drill_dsn=${2:-}; shift ;;
        --keep) keep=1 ;;
        -h | --help) sed -n 2,40p "$0"; exit 0 ;;
        *) usage ;;
    esac
    shift || usage
done
[ -n "$config" ] && [ -r "$config" ] || { echo "dr-drill: --config FILE (readable) is required" >&2; usage; }
[[ $orders =~ ^[0-9]+$ && $rate =~ ^[0-9]+$ ]] || usage
case $failure in store | data-dir) ;; *) echo "dr-drill: --failure store or data-dir" >&2; usage ;; esac
case $fault in '' | corrupt-backup | lose-wal) ;; *) echo "dr-drill: --plant-fault corrupt-backup or lose-wal" >&2; usage ;; esac
if [ "$fault" = lose-wal ] && [ "$failure" != store ]; then
    echo "dr-drill: --plant-fault lose-wal is for --failure store (data-dir loses the WAL anyway)" >&2
    usage
fi
config=$(realpath "$config")
# [persistence] store of the production profile: sqlite unless it says postgresql.
store_kind=$(awk '/^[[:space:]]*\[.*\][[:space:]]*$/ { section = $0; gsub(/[[:space:]\[\]]/, "", section); next }
    section == "persistence" && /^[[:space:]]*store[[:space:]]*=/ { sub(/^[^=]*=[[:space:]]*/, ""); sub(/[[:space:]]*$/, ""); kind = $0 }
    END { print (kind == "" ? "sqlite" : kind) }' "$config")
if [ "$store_kind" = postgresql ]; then
    [ -n "$drill_dsn" ] || { echo "dr-drill: the production store is PostgreSQL: --drill-dsn DSN (a database for the drill's copy, holding no store) is required" >&2; usage; }
    command -v psql >/dev/null || { echo "dr-drill: psql is needed to lose the drill's PostgreSQL store (install postgresql-client)" >&2; exit 2; }
elif [ -n "$drill_dsn" ]; then
    echo "dr-drill: --drill-dsn is for a production store = postgresql; $config has store = $store_kind" >&2
    usage
fi
[ -n "$prod_data" ] && prod_data=$(realpath -m "$prod_data")
if [ ! -x "$bin_dir/exchanged" ] || [ ! -x "$bin_dir/exchangectl" ]; then
    echo "dr-drill: $bin_dir/exchanged and exchangectl are needed (scripts/build.sh release exchanged exchangectl, or --bin-dir)" >&2
    exit 2
fi
ctl=$(realpath "$bin_dir/exchangectl")
daemon_bin=$(realpath "$bin_dir/exchanged")
mkdir -p "$report_dir" || exit 2
report_dir=$(realpath "$report_dir")
if [ -z "$work" ]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/exchanged-dr-drill.XXXXXX") || exit 2
else
    mkdir -p "$work" || exit 2
    work=$(realpath "$work")
    if [ -n "$(ls -A "$work")" ]; then
        echo "dr-drill: the work directory $work is not empty" >&2
        exit 2
    fi
fi
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
logs=$work/logs
mkdir -p "$logs"

# Drops every table of the drill database's store schema (the first on its search_path).
drop_drill_store() {
    psql -X -q -v ON_ERROR_STOP=1 -d "$drill_dsn" -c "DO \$\$ DECLARE t text; BEGIN
        FOR t IN SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()
        LOOP EXECUTE 'DROP TABLE IF EXISTS ' || t || ' CASCADE'; END LOOP; END \$\$"
}

daemon_pid=
drill_store_used=0
cleanup() {
    [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null
    [ -n "${load_pid:-}" ] && kill "$load_pid" 2>/dev/null
    if [ "$keep" -eq 0 ]; then
        rm -rf "$work"
        [ "$drill_store_used" -eq 1 ] && drop_drill_store >/dev/null 2>&1
    fi
}
trap cleanup EXIT

# Steps: name, PASS/FAIL, detail; the first failure ends the drill.
step_names=() step_results=() step_details=()
record() {
    step_names+=("$1") step_results+=("$2") step_details+=("$3")
    printf 'dr-drill: %-10s %s  %s\n' "$1" "$2" "$3"
}
json_text() {
    local s=${1//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/ }
    s=${s//$'\t'/ }
    printf '"%s"' "$s"
}
rto_ms=null lost=null acked=0 backup_used= prod_backup= under_load=null kill_when=
write_report() {
    local verdict=$1 md=$report_dir/dr-drill-$stamp.md json=$report_dir/dr-drill-$stamp.json i
    {
        echo "# Disaster-recovery drill $started"
        echo
        echo "- verdict: **$verdict**"
        echo "- production profile: \`$config\`${prod_data:+, data directory \`$prod_data\`}"
        echo "- production backup: \`${prod_backup:-none}\`"
        echo "- failure simulated: kill -9${kill_when:+ $kill_when}, then $([ "$failure" = store ] && echo "the store $([ "$store_kind" = postgresql ] && echo "tables dropped" || echo "file lost") $([ "$fault" = lose-wal ] && echo "(and, planted, the WAL)" || echo "(WAL kept)")" || echo "the whole data directory lost")"
        echo "- restored from: \`${backup_used:-none}\`"
        echo "- RTO (restore start to ready): $([ "$rto_ms" = null ] && echo "not reached" || echo "$rto_ms ms")"
        echo "- acknowledged orders: $acked; lost (RPO): $([ "$lost" = null ] && echo "not measured" || echo "$lost")"
        [ -n "$fault" ] && echo "- planted fault: $fault"
        echo
        echo "| step | result | detail |"
        echo "| --- | --- | --- |"
        for i in "${!step_names[@]}"; do
            echo "| ${step_names[$i]} | ${step_results[$i]} | ${step_details[$i]//|/\\|} |"
        done
    } >"$md"
    {
        printf '{"started": %s, "verdict": %s, "config": %s, "failure": %s, ' \
            "$(json_text "$started")" "$(json_text "$verdict")" "$(json_text "$config")" \
            "$(json_text "$failure")"
        printf '"production_backup": %s, "restored_from": %s, "rto_ms": %s, ' \
            "$(json_text "$prod_backup")" "$(json_text "$backup_used")" "$rto_ms"
        printf '"acknowledged_orders": %s, "acknowledged_orders_lost": %s, "killed_under_load": %s, ' \
            "$acked" "$lost" "$under_load"
        printf '"planted_fault": %s, ' "$(json_text "$fault")"
        printf '"steps": ['
        for i in "${!step_names[@]}"; do
            [ "$i" -gt 0 ] && printf ', '
            printf '{"name": %s, "result": %s, "detail": %s}' "$(json_text "${step_names[$i]}")" \
                "$(json_text "${step_results[$i]}")" "$(json_text "${step_details[$i]}")"
        done
        printf ']}\n'
    } >"$json"
    echo "dr-drill: report $md and $json"
}
fail() {
    record "$1" FAIL "$2"
    write_report FAIL
    echo "dr-drill: FAIL ($1: $2)"
    exit 1
}
last_line() { tail -n 1 "$1" 2>/dev/null | tr -d '\r'; }
now_ms() { date +%s%3N; }

# The drill's copy gets its own ports and data directory: the profile from the backup with
# [server] listen, admin_listen and data_dir replaced, and the paths that could point outside the
# data directory ([persistence] wal_path and store_path, [logging] file) put back inside it, so
# that nothing the copy does can reach the production files.
listen_port=$((20000 + RANDOM % 20000))
admin_port=$((listen_port + 1))
copy_data=$work/data
drill_profile() {
    awk -v listen="127.0.0.1:$listen_port" -v admin="127.0.0.1:$admin_port" -v data="$copy_data" \
        -v dsn="$drill_dsn" '
        function server() { print "listen = " listen; print "admin_listen = " admin;
                            print "data_dir = " data; had_server = 1 }
        function persistence() { print "wal_path = wal";
                                 if (dsn == "") print "store_path = exchanged.sqlite";
                                 else print "store_dsn = " dsn
                                 had_persistence = 1 }
        /^[[:space:]]*\[.*\][[:space:]]*$/ {
            section = $0; gsub(/[[:space:]\[\]]/, "", section); print
            if (section == "server") server()
            if (section == "persistence") persistence()
            next
        }
        section == "server" && /^[[:space:]]*(listen|admin_listen|data_dir)[[:space:]]*=/ { next }
        section == "persistence" && /^[[:space:]]*(wal_path|store_path|store_dsn)[[:space:]]*=/ { next }
        section == "logging" && /^[[:space:]]*file[[:space:]]*=/ { next }
        { print }
        END {
            if (!had_server) { print "[server]"; server() }
            if (!had_persistence) { print "[persistence]"; persistence() }
        }
    ' "$1" >"$2"
}

start_drill_daemon() {
    "$daemon_bin" --config "$drill_ini" >"$1" 2>&1 &
    daemon_pid=$!
    for _ in $(seq 1200); do
        grep -q "ready:" "$1" && return 0
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.05
    done
    return 1
}

# --- 1. back up ---------------------------------------------------------------------------------
prod_flags=(--config "$config")
[ -n "$prod_data" ] && prod_flags+=(--data-dir "$prod_data")
if ! "$ctl" backup create --to "$work/production-backups" "${prod_flags[@]}" >"$logs/prod-backup.log" 2>&1; then
    fail backup "production backup: $(last_line "$logs/prod-backup.log")"
fi
prod_backup=$(ls -d "$work"/production-backups/2* | tail -n 1)
# A PostgreSQL backup is verified in the drill's database (emptied again after), so that the
# production server needs no scratch database.
verify_flags=()
[ "$store_kind" = postgresql ] && verify_flags=(--scratch-dsn "$drill_dsn")
if ! "$ctl" backup verify "$prod_backup" "${verify_flags[@]}" >"$logs/prod-verify.log" 2>&1; then
    fail backup "production backup: $(last_line "$logs/prod-verify.log")"
fi
drill_ini=$work/drill.ini
drill_profile "$prod_backup/profile.ini" "$drill_ini"
[ "$store_kind" = postgresql ] && drill_store_used=1
if ! "$ctl" backup restore "$prod_backup" --data-dir "$copy_data" --config "$drill_ini" \
    >"$logs/copy.log" 2>&1; then
    fail backup "copy: $(last_line "$logs/copy.log")"
fi
start_drill_daemon "$logs/daemon-1.log" || fail backup "the drill daemon did not start: $(last_line "$logs/daemon-1.log")"
journal=$work/acks.journal
"$ctl" load --connect "127.0.0.1:$listen_port" --orders "$orders" --connections 2 --rate "$rate" \
    --journal "$journal" --config "$drill_ini" >"$logs/load.log" 2>&1 &
load_pid=$!
for _ in $(seq 600); do
    [ -s "$journal" ] && break
    sleep 0.05
done
[ -s "$journal" ] || fail backup "no order was acknowledged by the drill daemon: $(last_line "$logs/load.log")"
if ! "$ctl" backup create --to "$work/backups" --config "$drill_ini" >"$logs/backup.log" 2>&1; then
    fail backup "$(last_line "$logs/backup.log")"
fi
backup_used=$(ls -d "$work"/backups/2* | tail -n 1)
# Say what happened: a short load (--orders / --rate) may be over before the backup is.
if kill -0 "$load_pid" 2>/dev/null; then
    backup_when="under load"
else
    backup_when="after the load finished"
fi
record backup PASS "production backup $(basename "$prod_backup") verified and restored as the copy; latest backup of the copy $backup_when: $(last_line "$logs/backup.log")"

# --- 2. simulate a failure ----------------------------------------------------------------------
sleep 0.5  # more acknowledged orders after the backup: the surviving WAL must bring them back
if kill -0 "$load_pid" 2>/dev/null; then
    under_load=true kill_when="under load"
else
    under_load=false kill_when="after the load finished"
fi
kill -9 "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
daemon_pid=
wait "$load_pid" 2>/dev/null
load_pid=
acked=$(grep -c '^accepted ' "$journal")
store_file=$copy_data/exchanged.sqlite  # as drill_profile set it
if [ "$store_kind" = postgresql ]; then
    drop_drill_store >"$logs/drop-store.log" 2>&1 ||
        fail failure "could not drop the drill's store: $(last_line "$logs/drop-store.log")"
    lost_store="the store's tables dropped in the drill database"
else
    rm -f "$store_file" "$store_file-wal" "$store_file-shm"
    lost_store="the store file deleted ($(basename "$store_file"))"
fi
if [ "$failure" = store ] && [ "$fault" = lose-wal ]; then
    rm -rf "$copy_data/wal"  # drill_profile put the WAL there
    what="kill -9 $kill_when, then $lost_store; planted fault lose-wal: the WAL deleted too"
elif [ "$failure" = store ]; then
    what="kill -9 $kill_when, then $lost_store; the WAL survives"
else
    rm -rf "$copy_data"
    what="kill -9 $kill_when, then $lost_store and the whole data directory deleted"
fi
record failure PASS "$what; $acked orders acknowledged before the kill"

# --- 3. recover ---------------------------------------------------------------------------------
if [ "$fault" = corrupt-backup ]; then
    backup_store=$backup_used/store.sqlite
    [ "$store_kind" = postgresql ] && backup_store=$backup_used/store.pgdump
    printf '\x5a' | dd of="$backup_store" bs=1 seek=5000 conv=notrunc status=none
fi
t0=$(now_ms)
if ! "$ctl" backup restore "$backup_used" --data-dir "$copy_data" --config "$drill_ini" --force \
    >"$logs/restore.log" 2>&1; then
    fail recover "restore: $(last_line "$logs/restore.log")"
fi
if ! "$daemon_bin" --config "$drill_ini" --recover >"$logs/recover.log" 2>&1; then
    fail recover "exchanged --recover: $(last_line "$logs/recover.log")"
fi
start_drill_daemon "$logs/daemon-2.log" || fail recover "the restored daemon did not start: $(last_line "$logs/daemon-2.log")"
rto_ms=$(($(now_ms) - t0))
survived=$([ "$failure" = store ] && echo "plus the WAL that survived" || echo "(no WAL survived)")
record recover PASS "restored $(basename "$backup_used") $survived, recovered and ready in $rto_ms ms ($(grep '^store: ' "$logs/recover.log" | tail -n 1))"

# --- 4. verify integrity ------------------------------------------------------------------------
"$ctl" verify --connect "127.0.0.1:$listen_port" --journal "$journal" --config "$drill_ini" \
    >"$logs/verify.log" 2>&1
verify_line=$(last_line "$logs/verify.log")
if [[ $verify_line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    lost=${BASH_REMATCH[2]}
else
    fail verify "exchangectl verify did not finish: $verify_line"
fi
kill -TERM "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
daemon_pid=
if [ "$failure" = store ] && [ "$lost" -ne 0 ]; then
    fail verify "$lost acknowledged order(s) lost although the WAL survived (verify: $verify_line)"
fi
if ! "$ctl" reconcile --config "$drill_ini" >"$logs/reconcile.log" 2>&1; then
    fail verify "reconcile: $(last_line "$logs/reconcile.log")"
fi
record verify PASS "verify against the journal: $verify_line; reconcile: $(last_line "$logs/reconcile.log")"

# --- 5. record ----------------------------------------------------------------------------------
record report PASS "RTO $rto_ms ms, $lost of $acked acknowledged orders lost"
write_report PASS
echo "dr-drill: PASS (RTO $rto_ms ms, acknowledged orders lost: $lost of $acked)"
