#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the store tests and benchmarks, from Debian's postgresql
# package. It listens only on a unix socket inside DIR (no TCP), so it cannot clash with another
# server, and everything it writes stays in DIR.
#   scripts/pg-test-cluster.sh start DIR   initdb in DIR, start the server, print its DSN
#   scripts/pg-test-cluster.sh dsn DIR     print the DSN again
#   scripts/pg-test-cluster.sh stop DIR    stop the server (fast) and remove DIR
#   scripts/pg-test-cluster.sh pause DIR   stop the server (fast) and keep DIR: a store outage
#   scripts/pg-test-cluster.sh resume DIR  start a paused server again, on the same socket
# As root (here and in CI) initdb and the server run as the postgres user, because initdb refuses
# to run as root.
set -euo pipefail

usage() {
    echo "usage: $0 start DIR | dsn DIR | stop DIR | pause DIR | resume DIR" >&2
    exit 2
}

[ $# -eq 2 ] || usage
command=$1
dir=$2
[ -n "$dir" ] || usage

find_bindir() {
    local initdb
    initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$initdb" ]; then
        echo "pg-test-cluster: no PostgreSQL server binaries in /usr/lib/postgresql/*/bin;" \
            "install the postgresql package (scripts/setup-deps.sh does)" >&2
        exit 1
    fi
    dirname "$initdb"
}

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# glibc's allocator settings for the server, as docs/store.md recommends for production. A COPY
# allocates its multi-insert buffer's tuple slots afresh at every statement; with glibc's defaults
# the freed memory goes back to the kernel (trim) and is faulted in again by the next COPY, a
# quarter of a batch's server CPU. Keeping up to 256 MiB freed and asking for 16 MiB more at a
# time keeps it in the process. Already set in the caller's environment, the caller's values win.
server_env() {
    MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-268435456} \
        MALLOC_TOP_PAD_=${MALLOC_TOP_PAD_:-16777216} "$@"
}

# A port nobody listens on over TCP and whose socket name is not taken in the usual socket
# directories, so a client given only the port cannot reach another server by mistake.
pick_port() {
    local port
    for port in $(seq 15432 15531); do
        if [ -e "/var/run/postgresql/.s.PGSQL.$port" ] || [ -e "/tmp/.s.PGSQL.$port" ]; then
            continue
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            continue
        fi
        echo "$port"
        return 0
    done
    echo "pg-test-cluster: no free port in 15432..15531" >&2
    return 1
}

start() {
    local bindir superuser port sock
    bindir=$(find_bindir)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -e "$dir/data" ]; then
        echo "pg-test-cluster: $dir/data already exists; stop that cluster first" >&2
        exit 1
    fi
    sock="$dir/sock"
    # A unix socket path is limited to 107 bytes, the socket file name included.
    if [ ${#sock} -gt 90 ]; then
        echo "pg-test-cluster: '$dir' is too long for a unix socket path; use a shorter DIR" >&2
        exit 1
    fi
    mkdir -p "$sock"
    if [ "$(id -u)" -eq 0 ]; then
        if ! id postgres >/dev/null 2>&1; then
            echo "pg-test-cluster: running as root needs the postgres user;" \
                "install the postgresql package" >&2
            exit 1
        fi
        superuser=postgres
        chown -R postgres: "$dir"
    else
        superuser=$(id -un)
    fi
    port=$(pick_port)
    if ! as_owner "$bindir/initdb" --pgdata="$dir/data" --username="$superuser" --auth=trust \
        --encoding=UTF8 --locale=C --no-instructions >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        echo "pg-test-cluster: initdb failed (log above)" >&2
        exit 1
    fi
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$sock'
port = $port
EOF
    if ! server_env as_owner "$bindir/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" \
        --wait --timeout=60 start >/dev/null; then
        tail -n 20 "$dir/server.log" >&2 || true
        echo "pg-test-cluster: the server did not start (log above: $dir/server.log)" >&2
        exit 1
    fi
    echo "host=$sock port=$port dbname=postgres user=$superuser" >"$dir/dsn"
    cat "$dir/dsn"
}

dsn() {
    if [ ! -f "$dir/dsn" ]; then
        echo "pg-test-cluster: no cluster started in $dir" >&2
        exit 1
    fi
    cat "$dir/dsn"
}

stop() {
    # Only a directory this script set up is removed.
    if [ ! -f "$dir/data/PG_VERSION" ] && [ ! -f "$dir/dsn" ]; then
        echo "pg-test-cluster: $dir holds no cluster started by this script; nothing removed" >&2
        exit 1
    fi
    if [ -f "$dir/data/postmaster.pid" ]; then
        local bindir
        bindir=$(find_bindir)
        as_owner "$bindir/pg_ctl" --pgdata="$dir/data" --mode=fast --wait stop >/dev/null || {
            echo "pg-test-cluster: pg_ctl stop failed; removing $dir anyway" >&2
        }
    fi
    rm -rf "$dir"
}

pause() {
    dsn >/dev/null
    as_owner "$(find_bindir)/pg_ctl" --pgdata="$dir/data" --mode=fast --wait stop >/dev/null
}

resume() {
    dsn >/dev/null
    if ! server_env as_owner "$(find_bindir)/pg_ctl" --pgdata="$dir/data" \
        --log="$dir/server.log" --wait --timeout=60 start >/dev/null; then
        tail -n 20 "$dir/server.log" >&2 || true
        echo "pg-test-cluster: the server did not start again (log above)" >&2
        exit 1
    fi
}

case "$command" in
    start) start ;;
    dsn) dsn ;;
    stop) stop ;;
    pause) pause ;;
    resume) resume ;;
    *) usage ;;
esac
