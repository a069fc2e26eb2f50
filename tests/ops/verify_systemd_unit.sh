#!/usr/bin/env bash
# Runs `systemd-analyze verify` on the shipped unit and fails on anything it says about it.
#   verify_systemd_unit.sh UNIT_FILE BUILT_EXCHANGED
# The unit names /usr/local/bin/exchanged, which a build machine need not have installed: the
# check runs on a copy, in a scratch directory, whose ExecStart names the built binary instead.
# Everything else is verified as shipped. Exit 77 (ctest: skipped) without systemd-analyze.
set -euo pipefail

unit=$1
binary=$2

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "test skipped: systemd-analyze not found (Debian package systemd)"
    exit 77
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
copy="$scratch/$(basename "$unit")"
sed "s|/usr/local/bin/exchanged |$binary |" "$unit" >"$copy"
if ! grep -q "^ExecStart=$binary " "$copy"; then
    echo "FAIL: no 'ExecStart=/usr/local/bin/exchanged ...' line to rewrite in $unit" >&2
    exit 1
fi

# Everything systemd-analyze prints concerns the unit (or units it pulls in, which the shipped
# one must not break either), so any output at all is a failure.
set +e
output=$(cd "$scratch" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$copy" 2>&1)
status=$?
set -e
if [ -n "$output" ] || [ "$status" -ne 0 ]; then
    echo "FAIL: systemd-analyze verify $unit (exit $status):" >&2
    echo "$output" >&2
    exit 1
fi
echo "ok: systemd-analyze verify $unit: no warnings"
