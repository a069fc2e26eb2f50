#!/usr/bin/env bash
# Installs the Debian packages exchanged needs, and only those that are missing.
# Idempotent: silent when everything is present; runs `apt-get update` only when it must install.
set -euo pipefail

packages=(
    g++ cmake ninja-build pkg-config
    libboost-dev libspdlog-dev libinih-dev libconcurrentqueue-dev liburing-dev
    catch2 libsqlite3-dev libpq-dev
    # OpenSSL's headers, for TLS to etcd (Boost.Asio's SSL layer). libpq-dev depends on it already
    # and libpq links it into the daemon; named here because src/ha includes it directly.
    libssl-dev
    # The sqlite3 shell: the store salvage in docs/recovery.md and scripts/corruption-test.sh.
    sqlite3
    # initdb and the server, for the store tests' throw-away cluster (scripts/pg-test-cluster.sh).
    postgresql
    clang libclang-rt-14-dev
    # The compiler cache: scripts/build.sh uses it when present, so rebuilds of the four trees are quick.
    ccache
    # systemd-analyze, for the test that verifies systemd/exchanged.service (it skips without).
    systemd
    # promtool and a throw-away server, for the tests of ops/prometheus/exchanged.rules.yml (they
    # skip without), and curl, with which that test asks the server for its alerts.
    prometheus curl
    # etcd and etcdctl for the failover tests' throw-away members (scripts/etcd-test-cluster.sh), and
    # the JSON parser for etcd's v3 JSON gateway (src/ha; Debian has no C++ etcd client).
    etcd-server etcd-client nlohmann-json3-dev
    # The openssl command: the throw-away CA and certificates of the TLS etcd test
    # (scripts/etcd-test-cluster.sh start --tls; the test skips without it).
    openssl
    # The Redis mirror of mode double_write: its client library, and the server for its tests'
    # throw-away instance (scripts/redis-test-server.sh; the tests skip without it).
    libhiredis-dev redis-server
    # The partitions of the cluster tests in network namespaces (scripts/netns-cluster.sh): DROP
    # rules inside the namespaces the test creates.
    iptables
)

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-deps: apt-get not found; install these packages by hand: ${missing[*]}" >&2
    exit 1
fi
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo_cmd=(sudo)
    else
        echo "setup-deps: need root (or sudo) to install: ${missing[*]}" >&2
        exit 1
    fi
fi
echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-deps: done"
