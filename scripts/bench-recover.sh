#!/usr/bin/env bash
# Times `exchanged --recover` of a WAL tail (docs/recovery.md "Recovery time"): `exchangectl bench
# recover` prepares a fresh data directory whose store holds the first --store-records commands
# and whose WAL runs --tail records past it, then `exchanged --recover` replays the tail into the
# store. Prints the machine's load, the daemon's report (its `replayed` line has the rate, its
# `phases` line where the time went) and a last line
#   bench-recover: PASS (N records in S s, R records/s; wall W s for the whole process)
# Exit 0 on PASS, 1 when recovery failed, 2 for bad arguments.
#   scripts/bench-recover.sh [--tail N] [--store-records N] [--config FILE] [--dir DIR] [--keep]
# --tail defaults to 1m, --store-records to 100k, --config to config/standard.ini; --dir (default
# a new temporary directory) must not exist yet; --keep leaves it behind.
set -euo pipefail
fail() {
    echo "bench-recover: FAIL ($1)"
    exit "${2:-1}"
}
tail_records=1m store_records=100k config=config/standard.ini dir='' keep=false
while [ $# -gt 0 ]; do
    case $1 in
        --tail) tail_records=${2:?--tail needs a count} && shift ;;
        --store-records) store_records=${2:?--store-records needs a count} && shift ;;
        --config) config=$(realpath -m -- "${2:?--config needs a file}") && shift ;;
        --dir) dir=$(realpath -m -- "${2:?--dir needs a directory}") && shift ;;
        --keep) keep=true ;;
        *) fail "unknown argument '$1' (--tail, --store-records, --config, --dir, --keep)" 2 ;;
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
# The tail is read cold from disk in a real recovery after a crash; dropping the page cache needs
# root, so a non-root run reads it warm (the report's read phase is then an underestimate).
sync
if [ -w /proc/sys/vm/drop_caches ]; then
    echo 3 >/proc/sys/vm/drop_caches
    echo "bench-recover: page cache dropped (cold read)"
else
    echo "bench-recover: page cache kept (not root: warm read)"
fi
echo "bench-recover: load before: $(uptime)"
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
