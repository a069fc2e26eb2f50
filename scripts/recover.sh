#!/usr/bin/env bash
# Recovers a stopped daemon's data with `exchanged --recover` (docs/recovery.md): loads the
# store, replays the WAL records above it and writes their events to the store. Prints the daemon's
# report, then `recover: PASS`, or `recover: FAIL (exit N: reason)`; exit 0 only on PASS (2 for
# bad arguments, 1 for any other FAIL).
#   scripts/recover.sh [--config FILE] [--data-dir DIR] [--salvage]
# Runs from the repository root like run.sh, so the default profile (config/standard.ini) finds
# run.sh's data; relative paths given here are taken from the current directory. Never run it
# while a daemon uses the same data directory.
set -euo pipefail
config=config/standard.ini data_dir='' flags=()
while [ $# -gt 0 ]; do
    case $1 in
        --config) config=$(realpath -m -- "${2:?--config needs a file}") && shift ;;
        --data-dir) data_dir=$(realpath -m -- "${2:?--data-dir needs a directory}") && shift ;;
        --salvage) flags+=(--salvage) ;;
        *)
            echo "recover: FAIL (unknown argument '$1': --config FILE, --data-dir DIR, --salvage)"
            exit 2
            ;;
    esac
    shift
done
[ -z "$data_dir" ] || flags+=(--data-dir "$data_dir")
cd "$(dirname "$0")/.."
if [ ! -x build/bin/exchanged ]; then
    { ./scripts/setup-deps.sh && ./scripts/build.sh release exchanged; } >&2
fi
code=0
report=$(build/bin/exchanged --config "$config" "${flags[@]}" --recover 2>&1) || code=$?
printf '%s\n' "$report"
if [ "$code" -eq 0 ]; then
    echo "recover: PASS"
    exit 0
fi
# The daemon's own verdict line says why (FAILED (corrupt) ..., a configuration error, ...),
# without the log line's time stamp and level.
reason=$(printf '%s\n' "$report" | grep -E 'FAILED|error' | tail -n 1 |
    sed -E 's/^[0-9]{4}-[0-9T:.+-]+ +[a-z]+ +//')
echo "recover: FAIL (exit $code: ${reason:-see the report above})"
exit 1
