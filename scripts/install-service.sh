#!/usr/bin/env bash
# Installs a built exchanged as a systemd service (docs/operations.md), as root:
#   scripts/install-service.sh [--dry-run] [--build-dir DIR]
# Creates the system user `exchanged`, installs build/bin/{exchanged,exchangectl} to
# /usr/local/bin, the profiles to /etc/exchanged (an existing profile is kept: it may hold the
# operator's edits and secrets; the shipped one is put beside it as NAME.ini.dist), the docs to
# /usr/local/share/doc/exchanged, scripts/dr-drill.sh to /usr/local/share/exchanged/scripts and
# systemd/exchanged.service with the backup and drill units (exchanged-backup.service and .timer,
# exchanged-dr-drill.service and .timer) to /etc/systemd/system, then runs `systemctl
# daemon-reload`. It neither enables nor starts the service or the timers. --dry-run prints the
# commands instead of running them.
set -euo pipefail
cd "$(dirname "$0")/.."

dry_run=0
build_dir=build
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) dry_run=1 ;;
        --build-dir) build_dir=${2:?--build-dir needs a directory}; shift ;;
        *) echo "install-service: unknown argument '$1' (--dry-run, --build-dir DIR)" >&2; exit 2 ;;
    esac
    shift
done

bin_dir=/usr/local/bin
config_dir=/etc/exchanged
doc_dir=/usr/local/share/doc/exchanged
unit_dir=/etc/systemd/system

run() {
    if [ "$dry_run" -eq 1 ]; then
        echo "+ $*"
    else
        "$@"
    fi
}

for binary in exchanged exchangectl; do
    if [ ! -x "$build_dir/bin/$binary" ]; then
        echo "install-service: $build_dir/bin/$binary is missing; build first (scripts/build.sh release)" >&2
        exit 1
    fi
done
if [ "$dry_run" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
    echo "install-service: run as root (or with --dry-run to see what it would do)" >&2
    exit 1
fi

if ! getent passwd exchanged >/dev/null; then
    run useradd --system --user-group --home-dir /var/lib/exchanged --no-create-home \
        --shell /usr/sbin/nologin exchanged
fi

run install -m 0755 "$build_dir/bin/exchanged" "$build_dir/bin/exchangectl" "$bin_dir/"

# The profiles hold account secrets: readable by root and the service's group only.
run install -d -m 0750 -o root -g exchanged "$config_dir"
for profile in config/*.ini; do
    target="$config_dir/$(basename "$profile")"
    if [ -e "$target" ]; then
        run install -m 0640 -o root -g exchanged "$profile" "$target.dist"
    else
        run install -m 0640 -o root -g exchanged "$profile" "$target"
    fi
done

run install -d -m 0755 "$doc_dir"
run install -m 0644 README.md docs/operations.md docs/configuration.md "$doc_dir/"

run install -m 0644 systemd/exchanged.service "$unit_dir/exchanged.service"
# The drill's script, which its unit runs from here.
run install -d -m 0755 /usr/local/share/exchanged/scripts
run install -m 0755 scripts/dr-drill.sh /usr/local/share/exchanged/scripts/
for unit in exchanged-backup.service exchanged-backup.timer exchanged-dr-drill.service \
    exchanged-dr-drill.timer; do
    run install -m 0644 "systemd/$unit" "$unit_dir/$unit"
done
if [ "$dry_run" -eq 1 ] || [ -d /run/systemd/system ]; then
    run systemctl daemon-reload
else
    echo "install-service: systemd is not running here; skipped systemctl daemon-reload"
fi
echo "install-service: done. Start with: systemctl enable --now exchanged exchanged-backup.timer exchanged-dr-drill.timer"
