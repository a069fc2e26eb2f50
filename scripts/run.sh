#!/usr/bin/env bash
# One command from a bare Debian 12 machine to a running daemon: installs the packages, builds
# (incrementally) and starts exchanged on the embedded default profile. Extra arguments go to
# exchanged, e.g. ./scripts/run.sh --listen 127.0.0.1:9200 --data-dir /tmp/x
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-deps.sh
./scripts/build.sh release exchanged exchangectl
exec ./build/bin/exchanged --config config/standard.ini "$@"
