#!/usr/bin/env bash
# Checks the primary store against an acknowledgement journal: `exchangectl store verify`
# (docs/tools.md). Run it once the daemon has stopped, or after scripts/recover.sh.
#   scripts/verify-data.sh --journal FILE [--config FILE] [--data-dir DIR]
# Runs from the repository root like run.sh, so the default profile (config/standard.ini) finds
# run.sh's data; relative paths given here are taken from the current directory. The last line is
# `verify-data: PASS` or `verify-data: FAIL ...`; exit 0 only on PASS.
# reconcile.sh runs `exchangectl reconcile` the same way through this script (--check reconcile).
set -euo pipefail
check=(store verify)
if [ "${1:-}" = --check ]; then
    check=("$2")
    shift 2
fi
args=() previous=
for arg in "$@"; do
    case $previous in --config | --journal | --data-dir) arg=$(realpath -m -- "$arg") ;; esac
    args+=("$arg") previous=$arg
done
cd "$(dirname "$0")/.."
if [ ! -x build/bin/exchangectl ]; then
    { ./scripts/setup-deps.sh && ./scripts/build.sh release exchangectl; } >&2
fi
[[ " ${args[*]} " == *" --config "* ]] || args+=(--config config/standard.ini)
exec build/bin/exchangectl "${check[@]}" "${args[@]}"
