#!/usr/bin/env bash
# Times the recovery of a WAL tail (docs/recovery.md "Recovery time"): `exchangectl bench recover`
# prepares a fresh data directory whose store holds the first --store-records commands and whose
# WAL runs --tail records past it. Then either `exchanged --recover` replays the tail into the
# store (the default), or, with --start, the daemon starts on it: it rebuilds the books from the
# store and the tail, reports ready, and its flush worker writes the tail into the store in the
# background; the script waits for that, then stops the daemon. Prints the machine's load, the
# daemon's report or start-up log (the `replayed` line or the `recovered ...` line has the rate, the
# `phases` line where the time went) and a last line
#   bench-recover: PASS (N records in S s, R records/s; wall W s for the whole process)
#   bench-recover: PASS (start: N records in S s, R records/s; ready after W s, store caught up
#                        after C s)
# Exit 0 on PASS, 1 when recovery failed, 2 for bad arguments.
#   scripts/bench-recover.sh [--tail N] [--store-records N] [--config FILE] [--dir DIR] [--keep]
#                            [--start] [--cold]
# --tail defaults to 1m, --store-records to 100k, --config to config/standard.ini; --dir (default
# a new temporary directory) must not exist yet; --keep leaves it behind.
set -euo pipefail
fail() {
    echo "bench-recover: FAIL ($1)"
    exit "${2:-1}"
}
tail_records=1m store_records=100k config=config/standard.ini dir='' keep=false start=false cold=false
while [ $# -gt 0 ]; do
    case $1 in
        --tail) tail_records=${2:?--tail needs a count} && shift ;;
        --store-records) store_records=${2:?--store-records needs a count} && shift ;;
        --config) config=$(realpath -m -- "${2:?--config needs a file}") && shift ;;
        --dir) dir=$(realpath -m -- "${2:?--dir needs a directory}") && shift ;;
        --keep) keep=true ;;
        --start) start=true ;;
        --cold) cold=true ;;
        *) fail "unknown argument '$1' (--tail, --store-records, --config, --dir, --keep, --start, --cold)" 2 ;;
    esac
    shift
done
cd "$(dirname "$0")/.."
[ -x build/bin/exchanged ] && [ -x build/bin/exchangectl ] ||
    ./scripts/build.sh release exchanged exchangectl >&2
if [ -z "$dir" ]; then
    dir=$(mktemp -d /tmp/bench-recover.XXXXXX)
    rmdir "$dir"
fi
[ -e "$dir" ] && fail "--dir $dir already exists" 2
$keep || trap 'rm -rf "$dir"' EXIT
build/bin/exchangectl bench recover --config "$config" --data-dir "$dir" --tail "$tail_records" \
    --store-records "$store_records" || fail "preparing the data directory failed"
# After a real crash the tail may be read cold from disk. --cold drops the whole machine's page
# cache first (root only; it slows everything else running there), otherwise the read is warm.
sync
if $cold; then
    [ -w /proc/sys/vm/drop_caches ] || fail "--cold needs root (to write /proc/sys/vm/drop_caches)" 2
    echo 3 >/proc/sys/vm/drop_caches
    echo "bench-recover: page cache dropped (cold read)"
else
    echo "bench-recover: page cache kept (warm read; --cold drops it)"
fi
echo "bench-recover: load before: $(uptime)"
if $start; then
    port=$((20000 + RANDOM % 20000))
    log="$dir/bench-recover-start.log"
    began=$(date +%s.%N)
    build/bin/exchanged --config "$config" --data-dir "$dir" --listen "127.0.0.1:$port" \
        --admin-listen "127.0.0.1:$((port + 1))" >"$log" 2>&1 &
    pid=$!
    ready='' caught=''
    for _ in $(seq 1 6000); do
        kill -0 "$pid" 2>/dev/null || break
        if [ -z "$ready" ] && grep -q 'exchanged: ready:' "$log"; then
            ready=$(date +%s.%N)
        fi
        if [ -n "$ready" ] && grep -qE 'store caught up from the WAL|recovered .* plus 0 WAL' "$log"; then
            caught=$(date +%s.%N)
            break
        fi
        sleep 0.05
    done
    kill -TERM "$pid" 2>/dev/null || true
    code=0
    wait "$pid" || code=$?
    cut -c1-400 "$log"
    echo "bench-recover: load after: $(uptime)"
    [ -n "$ready" ] && [ -n "$caught" ] && [ "$code" -eq 0 ] ||
        fail "the daemon did not start, catch the store up and stop cleanly (exit $code)"
    line=$(grep -E 'recovered from the store at LSN' "$log" | head -n 1)
    records=$(sed -E 's/.* plus ([0-9]+) WAL records.*/\1/' <<<"$line")
    seconds=$(sed -E 's/.*\) in ([0-9.]+) s, .*/\1/' <<<"$line")
    rate=$(sed -E 's/.* s, ([0-9]+) records\/s.*/\1/' <<<"$line")
    after() { awk -v a="$began" -v b="$1" 'BEGIN { printf "%.2f", b - a }'; }
    echo "bench-recover: PASS (start: $records records in $seconds s, $rate records/s; ready after" \
        "$(after "$ready") s, store caught up after $(after "$caught") s)"
    exit 0
fi
start=$(date +%s.%N)
code=0
report=$(build/bin/exchanged --config "$config" --data-dir "$dir" --recover 2>&1) || code=$?
end=$(date +%s.%N)
printf '%s\n' "$report"
echo "bench-recover: load after: $(uptime)"
[ "$code" -eq 0 ] || fail "exchanged --recover exited $code"
replayed=$(printf '%s\n' "$report" | grep -E '^  replayed ' | head -n 1)
records=$(sed -E 's/^ *replayed +([0-9]+) records.*/\1/' <<<"$replayed")
seconds=$(sed -E 's/.* in ([0-9.]+) s, .*/\1/' <<<"$replayed")
rate=$(sed -E 's/.* s, ([0-9]+) records\/s.*/\1/' <<<"$replayed")
wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
echo "bench-recover: PASS ($records records in $seconds s, $rate records/s; wall $wall s for the whole process)"
