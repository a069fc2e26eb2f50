#!/usr/bin/env bash
# Runs `systemd-analyze verify` on shipped units that run exchangectl (a .service and its .timer)
# and fails on anything it says about them.
#   verify_systemd_units.sh [--plant-fault] BUILT_EXCHANGECTL UNIT_FILE...
# --plant-fault misspells a key in each copy (OnCalendar, Type), to show the check fails then.
# The units name /usr/local/bin/exchangectl and /usr/local/share/exchanged/scripts/, which a build
# machine need not have installed: the check runs on copies in a scratch directory whose ExecStart
# lines name the built binary and this checkout's scripts instead.
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

scripts=$(cd "$(dirname "$0")/../../scripts" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
copies=()
for unit in "$@"; do
    copy="$scratch/$(basename "$unit")"
    sed -e "s|^ExecStart=/usr/local/bin/exchangectl |ExecStart=$binary |" \
        -e "s|^ExecStart=/usr/local/share/exchanged/scripts/|ExecStart=$scripts/|" "$unit" >"$copy"
    if [[ $unit == *.service ]] && ! grep -Eq "^ExecStart=($binary|$scripts/)" "$copy"; then
        echo "FAIL: no ExecStart line naming /usr/local/bin/exchangectl or" \
            "/usr/local/share/exchanged/scripts/ to rewrite in $unit" >&2
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
