#!/usr/bin/env bash
# Runs `systemd-analyze verify` on shipped units that run exchangectl (a .service and its .timer)
# and fails on anything it says about them.
#   verify_systemd_units.sh [--plant-fault] BUILT_EXCHANGECTL UNIT_FILE...
# --plant-fault misspells a key in each copy (OnCalendar, Type), to show the check fails then.
# The units name /usr/local/bin/exchangectl, which a build machine need not have installed: the
# check runs on copies in a scratch directory whose ExecStart lines name the built binary instead.
# Everything else is verified as shipped. Exit 77 (ctest: skipped) without systemd-analyze.
set -euo pipefail

plant=0
if [ "${1:-}" = --plant-fault ]; then
    plant=1
    shift
fi
binary=$1
shift

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "test skipped: systemd-analyze not found (Debian package systemd)"
    exit 77
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
copies=()
for unit in "$@"; do
    copy="$scratch/$(basename "$unit")"
    sed "s|/usr/local/bin/exchangectl |$binary |" "$unit" >"$copy"
    if [[ $unit == *.service ]] && ! grep -q "^ExecStart=$binary " "$copy"; then
        echo "FAIL: no 'ExecStart=/usr/local/bin/exchangectl ...' line to rewrite in $unit" >&2
        exit 1
    fi
    if [ "$plant" -eq 1 ]; then
        sed -i -e 's/^OnCalendar=/OnCalender=/' -e 's/^Type=/Typ=/' "$copy"
    fi
    copies+=("$copy")
done

set +e
output=$(cd "$scratch" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "${copies[@]}" 2>&1)
status=$?
set -e
if [ -n "$output" ] || [ "$status" -ne 0 ]; then
    echo "FAIL: systemd-analyze verify $* (exit $status):" >&2
    echo "$output" >&2
    exit 1
fi
echo "ok: systemd-analyze verify $*: no warnings"
