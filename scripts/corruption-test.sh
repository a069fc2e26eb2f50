#!/usr/bin/env bash
# The seed's scenario C made real: disk corruption of a stopped daemon's data directory, with real
# processes (docs/recovery.md, "Corruption"). Builds one data directory with a real daemon
# (`exchangectl load` with a journal; 1 MiB WAL segments so there are several, a store that lags
# so that some closed segments lie wholly below store_lsn, one across it and some above it), then
# per trial, each on its own copy:
#   WAL: flips a seeded byte of a seeded record in a closed segment (odd trials a record the store
#     holds, even ones a record above store_lsn), and checks that
#     - `exchangectl wal verify` exits 1 naming the segment, the damaged record's offset and LSN;
#     - `exchanged --recover` and a normal start exit 1 naming the segment, an offset range that
#       holds the flipped byte and the LSNs lost (or that the store holds them already);
#     - `exchanged --recover --salvage` reports exactly that record as skipped, a start with
#       --salvage serves, and `exchangectl verify` accepts the journal: all of it when the store
#       held the damaged record, else every session's acknowledgements up to the damage;
#   store: flips a seeded byte in the SQLite file (in turn: a table's or an index's b-tree page
#     header or cell pointers, or a header field SQLite relies on), and checks that
#     - `exchanged --recover`, a normal start and `exchangectl store check` exit 1 naming the file
#       and the damaged table, index or header;
#     - the documented salvage works: index damage `store check --repair` (or, when REINDEX cannot
#       read the page, the dump), table damage the dump (which loses exactly the rows of the
#       damaged page, and `store check` must count them), and for every kind the rebuild from the
#       WAL, after which a started daemon passes `exchangectl verify` with the whole journal.
# Prints one line per trial and `N passed, M failed`; exits non-zero on any failure and keeps the
# output of each failed trial in /tmp/corruption-test-<seed>-<trial>/.
#   scripts/corruption-test.sh [--trials N] [--seed S] [--orders N]
# The seed fixes the order flow, the segments, offsets, pages and bytes; it is printed first.
set -uo pipefail

trials=3 seed=$((RANDOM * 32768 + RANDOM)) orders=20000
usage() {
    echo "usage: scripts/corruption-test.sh [--trials N] [--seed S] [--orders N]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
        --trials) trials=${2:-} ;;
        --seed) seed=${2:-} ;;
        --orders) orders=${2:-} ;;
        *) usage ;;
    esac
    shift 2 || usage
done
for number in "$trials" "$seed" "$orders"; do
    [[ $number =~ ^[0-9]+$ ]] || usage
done

cd "$(dirname "$0")/.." || exit 1
# EXCHANGED_BIN_DIR runs the binaries of another build tree instead of build/bin.
bin=${EXCHANGED_BIN_DIR:-build/bin}
if [ ! -x "$bin/exchanged" ] || [ ! -x "$bin/exchangectl" ] || ! command -v sqlite3 >/dev/null; then
    { ./scripts/setup-deps.sh && ./scripts/build.sh release exchanged exchangectl; } >&2 || exit 1
fi
dir=$(mktemp -d /tmp/exchanged-corrupt.XXXXXX)
daemon=
cleanup() {
    [ -n "$daemon" ] && kill -9 "$daemon" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
RANDOM=$seed
echo "corruption-test: trials=$trials seed=$seed orders=$orders"

# The test profiles: the standard one with 1 MiB segments (several per run), smaller books (a
# faster start), no admin port; `lagging` writes the store only when stopped, so a kill -9 leaves
# every segment of its run above store_lsn.
sed -e 's/^wal_segment_bytes = .*/wal_segment_bytes = 1048576/' \
    -e 's/^admin_listen = .*/admin_listen = 127.0.0.1:0/' \
    -e 's/^max_orders = .*/max_orders = 262144/' \
    -e 's/^client_order_id_window = .*/client_order_id_window = 262144/' \
    config/standard.ini >"$dir/corrupt.ini"
sed -e 's/^store_batch_size = .*/store_batch_size = 1000000/' \
    -e 's/^store_batch_timeout_ms = .*/store_batch_timeout_ms = 60000/' \
    "$dir/corrupt.ini" >"$dir/lagging.ini"
config=$dir/corrupt.ini

# rand: a 30-bit number from the seeded generator.
rand() { echo $(((RANDOM << 15) | RANDOM)); }

# flip_byte FILE OFFSET: XORs the byte at OFFSET with a seeded non-zero value.
flip_byte() {
    local old mask new
    old=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    mask=$((1 + RANDOM % 255))
    new=$((old ^ mask))
    printf "$(printf '\\%03o' "$new")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
    flipped="byte $2 of $(basename "$1"): $old -> $new"
}

# start_daemon DATA LOG [FLAGS...]: starts exchanged on a fresh port, waits for its ready line.
start_daemon() {
    local data=$1 log=$2
    shift 2
    port=$((20000 + RANDOM % 20000))
    "$bin/exchanged" --config "$config" --data-dir "$data" --listen "127.0.0.1:$port" "$@" \
        >"$log" 2>&1 &
    daemon=$!
    for _ in $(seq 600); do
        grep -q "ready:" "$log" && return 0
        kill -0 "$daemon" 2>/dev/null || break
        sleep 0.1
    done
    return 1
}

stop_daemon() {
    local status=0
    kill -TERM "$daemon" 2>/dev/null
    wait "$daemon" || status=$?
    daemon=
    return $status
}

# run_load DATA ORDERS SEED STOP: a daemon on the lagging profile, ORDERS orders with the journal
# on, then SIGTERM (term) or SIGKILL (kill). Sets why on failure.
run_load() {
    local data=$1 count=$2 load_seed=$3 stop=$4 log=$dir/load-$3.log status=0
    config=$dir/lagging.ini
    if ! start_daemon "$data" "$log"; then
        why="the daemon did not start: $(tail -n 1 "$log")"
        status=1
    elif ! "$bin/exchangectl" load --connect "127.0.0.1:$port" --orders "$count" \
        --connections 2 --journal "$dir/acks.journal" --config "$config" --seed "$load_seed" \
        >"$dir/load-$load_seed.out" 2>&1; then
        why="load failed: $(tail -n 1 "$dir/load-$load_seed.out")"
        status=1
    elif [ "$stop" = kill ]; then
        kill -9 "$daemon"
        wait "$daemon" 2>/dev/null
        daemon=
    elif ! stop_daemon; then
        why="the stop did not exit 0"
        status=1
    fi
    config=$dir/corrupt.ini
    return $status
}

# The data directory every trial copies: run 1 stops cleanly (the store then holds all of it, but
# the segments its flush released at the stop are still there), run 2 is killed (its records are
# only in the WAL). Run 2's start released run 1's segments; they are put back, as a crash between
# the store's commit and the background release leaves them, so that the WAL starts at LSN 1 (the
# store can then be rebuilt from it) and holds segments wholly below store_lsn.
base=$dir/base
if ! run_load "$base" "$orders" "$((seed % 100000 + 1))" term; then
    echo "corruption-test: building the data directory failed: $why"
    echo "0 passed, 1 failed"
    exit 1
fi
cp -a "$base/wal" "$dir/wal-run1"
if ! run_load "$base" "$orders" "$((seed % 100000 + 2))" kill; then
    echo "corruption-test: building the data directory failed: $why"
    echo "0 passed, 1 failed"
    exit 1
fi
for segment in "$dir"/wal-run1/wal-*.log; do
    [ -e "$base/wal/$(basename "$segment")" ] || cp "$segment" "$base/wal/"
done
store_lsn=$(sqlite3 "$base/exchanged.sqlite" 'SELECT store_lsn FROM meta')
base_orders=$(sqlite3 "$base/exchanged.sqlite" 'SELECT count(*) FROM orders')
base_trades=$(sqlite3 "$base/exchanged.sqlite" 'SELECT count(*) FROM trades')
# One line per record: LSN, segment, offset, bytes (header included).
"$bin/exchangectl" wal dump "$base/wal" |
    sed -n 's/^lsn=\([0-9]*\) type=[0-9]* bytes=\([0-9]*\) segment=\([^ ]*\) offset=\([0-9]*\) .*/\1 \3 \4 \2/p' |
    awk '{print $1, $2, $3, $4 + 18}' >"$dir/records"
mapfile -t segments < <(awk '{print $2}' "$dir/records" | uniq)
last_lsn=$(tail -n 1 "$dir/records" | cut -d' ' -f1)
if [ "$(head -n 1 "$dir/records" | cut -d' ' -f1)" != 1 ] || [ "${#segments[@]}" -lt 3 ]; then
    echo "corruption-test: the data directory is not as planned (WAL from LSN $(head -n 1 "$dir/records" | cut -d' ' -f1), ${#segments[@]} segments)"
    echo "0 passed, 1 failed"
    exit 1
fi
echo "data: ${#segments[@]} segments, LSN 1..$last_lsn, store_lsn $store_lsn," \
    "$base_orders orders, $base_trades trades, journal $(grep -c '' "$dir/acks.journal") lines"

# check NAME WANT_STATUS COMMAND...: runs it with its output in $trial_dir/NAME.out; fails (with
# why) unless it exits WANT_STATUS.
check() {
    local name=$1 want=$2 status=0
    shift 2
    timeout 300 "$@" >"$trial_dir/$name.out" 2>&1 || status=$?
    if [ "$status" != "$want" ]; then
        why="$name exited $status, not $want: $(tail -n 1 "$trial_dir/$name.out")"
        return 1
    fi
}

# says NAME TEXT: the output of NAME contains TEXT.
says() {
    grep -qF -- "$2" "$trial_dir/$1.out" && return 0
    why="$1 does not say '$2'"
    return 1
}

# verify_live DATA JOURNAL [FLAGS...]: a started daemon knows every acknowledgement of JOURNAL;
# then it stops cleanly.
verify_live() {
    local data=$1 journal=$2
    shift 2
    if ! start_daemon "$data" "$trial_dir/serve.log" "$@"; then
        why="the daemon did not start: $(tail -n 1 "$trial_dir/serve.log")"
        return 1
    fi
    check verify-live 0 "$bin/exchangectl" verify --connect "127.0.0.1:$port" --journal "$journal" \
        --config "$config" || { stop_daemon; return 1; }
    stop_daemon || { why="the daemon's stop did not exit 0"; return 1; }
}

# cut_journal K T: each session's acknowledgements up to its first one from a command after the
# damage, known by an order id above K or a trade id above T (ids rise with the LSN).
cut_journal() {
    awk -v k="$1" -v t="$2" '{
        delete f
        for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        if (cut[f["account"]]) next
        if ((($1 == "accepted" || $1 == "cancelled") && f["order_id"] + 0 > k) ||
            ($1 == "fill" && f["trade_id"] + 0 > t)) { cut[f["account"]] = 1; next }
        print
    }' "$dir/acks.journal"
}

wal_trial() {
    local data=$trial_dir/wal-data segment byte lsn offset next_offset size count
    cp -a "$base" "$data"
    # Odd trials damage a record the store holds, even ones a record above store_lsn; never in
    # the last segment, where a flip reads as a torn write.
    awk -v last="${segments[-1]}" -v s="$store_lsn" -v above=$((trial % 2 == 0)) \
        '$2 != last && (above ? $1 > s : $1 <= s)' "$dir/records" >"$trial_dir/candidates"
    count=$(grep -c '' "$trial_dir/candidates")
    read -r lsn segment offset size < <(sed -n "$(($(rand) % count + 1))p" "$trial_dir/candidates")
    byte=$((offset + RANDOM % size))
    flip_byte "$data/wal/$segment" "$byte"
    local place="LSN $lsn in $segment (above store_lsn $store_lsn)"
    [ "$lsn" -le "$store_lsn" ] && place="LSN $lsn in $segment (in the store)"
    what="WAL $flipped, record $place"
    # The data directory, as an operator would give it: the command finds its wal/.
    check wal-verify 1 "$bin/exchangectl" wal verify "$data" || return 1
    says wal-verify "corrupt segment: $segment offset $offset, after LSN $((lsn - 1)), next valid LSN $((lsn + 1))" || return 1
    check recover 1 "$bin/exchanged" --config "$config" --data-dir "$data" --recover || return 1
    says recover "damaged      $segment from offset $offset: LSN $lsn..$lsn (1 record)" || return 1
    # The offset range the report names must hold the flipped byte.
    next_offset=$(sed -n "s/.*corruption in segment $segment at offset $offset .*next valid record LSN $((lsn + 1)) in $segment at offset \([0-9]*\).*/\1/p" "$trial_dir/recover.out" | head -n 1)
    [ -z "$next_offset" ] && next_offset=$(stat -c %s "$data/wal/$segment")
    if [ "$byte" -lt "$offset" ] || [ "$byte" -ge "$next_offset" ]; then
        why="the flipped byte $byte is outside the reported range $offset..$next_offset"
        return 1
    fi
    if [ "$lsn" -le "$store_lsn" ]; then
        says recover "the store holds them, nothing is lost" || return 1
    else
        says recover "lost to --salvage" || return 1
    fi
    check start 1 "$bin/exchanged" --config "$config" --data-dir "$data" --listen 127.0.0.1:1 || return 1
    says start "recovery failed; not starting" || return 1
    says start "$segment from offset $offset: LSN $lsn..$lsn" || return 1
    check salvage 0 "$bin/exchanged" --config "$config" --data-dir "$data" --recover --salvage || return 1
    says salvage "skipped damage in $segment at offset $offset: LSN $lsn..$lsn (1 record)" || return 1
    local journal=$dir/acks.journal
    if [ "$lsn" -gt "$store_lsn" ]; then
        says salvage "commands lost from seq" || return 1
        local k t
        k=$(sqlite3 "$data/exchanged.sqlite" "SELECT coalesce(max(order_id), 0) FROM orders WHERE accepted_lsn < $lsn")
        t=$(sqlite3 "$data/exchanged.sqlite" "SELECT coalesce(max(trade_id), 0) FROM trades WHERE lsn < $lsn")
        journal=$trial_dir/journal-before-damage
        cut_journal "$k" "$t" >"$journal"
    fi
    verify_live "$data" "$journal" --salvage || return 1
    grep -qF -- "--salvage skipped damage in the WAL" "$trial_dir/serve.log" ||
        { why="the salvaged start does not log what it skipped"; return 1; }
    outcome="verify accepted $(grep -c '^accepted ' "$journal") orders"
}

# dump_store DATA: the dump salvage of docs/recovery.md, into DATA/exchanged.sqlite.
dump_store() {
    local data=$1
    mv "$data/exchanged.sqlite" "$data/damaged.sqlite"
    rm -f "$data/exchanged.sqlite-wal" "$data/exchanged.sqlite-shm"
    # A row whose damage makes it break a constraint is refused on the way in: lost as well.
    sqlite3 "$data/damaged.sqlite" .dump 2>"$trial_dir/dump.err" |
        sed 's/^ROLLBACK; -- due to errors$/COMMIT;/' |
        sqlite3 "$data/exchanged.sqlite" 2>>"$trial_dir/dump.err"
}

# rebuild_store DATA: the store rebuilt from a WAL that starts at LSN 1.
rebuild_store() {
    local data=$1
    mkdir -p "$data/aside"
    mv "$data"/exchanged.sqlite* "$data/aside/"
    check rebuild 0 "$bin/exchanged" --config "$config" --data-dir "$data" --recover || return 1
    check rebuilt-check 0 "$bin/exchangectl" store check --config "$config" --data-dir "$data"
}

store_trial() {
    local data=$trial_dir/store-data db kind object page type pages cells header_bytes byte
    cp -a "$base" "$data"
    db=$data/exchanged.sqlite
    # The kinds in turn, so that a short run meets each of them.
    case $((trial % 3)) in
        1) kind=table object=$( ((RANDOM % 2)) && echo orders || echo trades) ;;
        2) kind=index object=$( ((RANDOM % 2)) && echo orders_open || echo orders_finished) ;;
        0) kind=header object=header ;;
    esac
    if [ "$kind" = header ]; then
        # The fields SQLite checks: magic, payload fractions, largest root page, vacuum flag.
        local fields=(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 21 22 23 52 53 54 55 64 65 66 67)
        byte=${fields[$((RANDOM % ${#fields[@]}))]}
    else
        mapfile -t pages < <(sqlite3 "$db" "SELECT pageno || ' ' || pagetype FROM dbstat WHERE name = '$object' AND pagetype IN ('leaf', 'internal') ORDER BY pageno")
        read -r page type <<<"${pages[$((RANDOM % ${#pages[@]}))]}"
        local page_size
        page_size=$(sqlite3 "$db" 'PRAGMA page_size')
        # The b-tree page header and its cell pointers: the page's structure.
        cells=$(od -An -tu1 -j $(((page - 1) * page_size + 3)) -N2 "$db" | awk '{print $1 * 256 + $2}')
        header_bytes=$([ "$type" = internal ] && echo 12 || echo 8)
        byte=$(((page - 1) * page_size + $(rand) % (header_bytes + 2 * cells)))
    fi
    flip_byte "$db" "$byte"
    what="store $flipped ($([ "$kind" = header ] && echo "file header" || echo "$kind $object page $page"))"
    local named=$object
    [ "$kind" = header ] && named="the file header"
    check store-recover 1 "$bin/exchanged" --config "$config" --data-dir "$data" --recover || return 1
    says store-recover "$db: the store file is damaged" || return 1
    says store-recover "$named" || return 1
    check store-start 1 "$bin/exchanged" --config "$config" --data-dir "$data" --listen 127.0.0.1:1 || return 1
    says store-start "$db: the store file is damaged" || return 1
    check store-check 1 "$bin/exchangectl" store check --config "$config" --data-dir "$data" || return 1
    says store-check "$named" || return 1
    case $kind in
        index)
            if check repair 0 "$bin/exchangectl" store check --config "$config" --data-dir "$data" --repair; then
                outcome="repaired by REINDEX"
            else
                says repair "REINDEX failed" || return 1
                dump_store "$data"
                check dumped-check 0 "$bin/exchangectl" store check --config "$config" --data-dir "$data" || return 1
                outcome="REINDEX could not read the page; the dump lost nothing"
            fi
            verify_live "$data" "$dir/acks.journal" || return 1
            ;;
        table)
            check repair 1 "$bin/exchangectl" store check --config "$config" --data-dir "$data" --repair || return 1
            says repair "repair: not possible here" || return 1
            dump_store "$data"
            # What the dump kept, counted the way store check counts: a row whose damage the dump
            # carried over (its key no longer a plain id of shard 0) is not kept, but out of place.
            local kept_orders kept_trades all_rows status=0
            kept_orders=$(sqlite3 "$db" "SELECT count(*) FROM orders WHERE typeof(shard) = 'integer' AND shard = 0 AND typeof(order_id) = 'integer' AND order_id BETWEEN 1 AND $base_orders")
            kept_trades=$(sqlite3 "$db" "SELECT count(*) FROM trades WHERE typeof(shard) = 'integer' AND shard = 0 AND typeof(trade_id) = 'integer' AND trade_id BETWEEN 1 AND $base_trades")
            all_rows=$(sqlite3 "$db" 'SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM trades)')
            local lost_orders=$((base_orders - kept_orders)) lost_trades=$((base_trades - kept_trades))
            local misplaced=$((all_rows - kept_orders - kept_trades))
            "$bin/exchangectl" store check --config "$config" --data-dir "$data" \
                >"$trial_dir/dumped-check.out" 2>&1 || status=$?
            if [ $((lost_orders + lost_trades + misplaced)) = 0 ]; then
                [ "$status" = 0 ] || { why="the dump kept every row but store check fails"; return 1; }
                outcome="the dump kept every row"
            else
                [ "$status" = 1 ] || { why="the dump lost rows but store check passes"; return 1; }
                says dumped-check "rows missing: $lost_orders orders, $lost_trades trades" || return 1
                outcome="the dump lost $lost_orders orders and $lost_trades trades"
                [ "$misplaced" != 0 ] && outcome="$outcome and kept $misplaced damaged rows"
                outcome="$outcome, which store check named"
            fi
            outcome="$outcome; rebuilt from the WAL"
            rebuild_store "$data" || return 1
            verify_live "$data" "$dir/acks.journal" || return 1
            ;;
        header)
            outcome="rebuilt from the WAL"
            rebuild_store "$data" || return 1
            verify_live "$data" "$dir/acks.journal" || return 1
            ;;
    esac
}

passed=0 failed=0
for trial in $(seq "$trials"); do
    trial_dir=$dir/trial-$trial
    mkdir -p "$trial_dir"
    for part in wal_trial store_trial; do
        why='' what='' outcome='' page='' flipped=
        if $part; then
            passed=$((passed + 1))
            echo "trial $trial ${part%_trial}: PASS ($what: $outcome)"
        else
            failed=$((failed + 1))
            [ -n "$daemon" ] && { kill -9 "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; daemon=; }
            rm -rf "/tmp/corruption-test-$seed-$trial"
            cp -a "$trial_dir" "/tmp/corruption-test-$seed-$trial"
            echo "trial $trial ${part%_trial}: FAIL ($what: $why; output kept in /tmp/corruption-test-$seed-$trial)"
        fi
    done
    rm -rf "$trial_dir"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
