#!/usr/bin/env bash
# Reconciles the primary store with a replay of the WAL and, given one, an acknowledgement
# journal: `exchangectl reconcile` (docs/tools.md). Run it once the daemon has stopped.
#   scripts/reconcile.sh [--config FILE] [--data-dir DIR] [--journal FILE]
# Paths and defaults as in verify-data.sh, which runs it. The last line is `reconcile: PASS` or
# `reconcile: FAIL ...`; exit 0 only on PASS.
exec "$(dirname "$0")/verify-data.sh" --check reconcile "$@"
