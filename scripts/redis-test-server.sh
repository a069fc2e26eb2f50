#!/usr/bin/env bash
# A throw-away Redis server for the mirror's tests and benchmarks (mode double_write), from
# Debian's redis-server package. It listens on 127.0.0.1 on a port of its own and keeps its AOF
# (appendonly yes, appendfsync always: every reply follows an fsync) and everything else in DIR.
#   scripts/redis-test-server.sh start DIR     start a server in DIR, print its address host:port
#   scripts/redis-test-server.sh address DIR   print the address again
#   scripts/redis-test-server.sh kill DIR      kill -9 the server, keep DIR (a crash)
#   scripts/redis-test-server.sh restart DIR   start a killed server again on its port and AOF
#   scripts/redis-test-server.sh stop DIR      stop the server and remove DIR
# Set REDIS_APPENDFSYNC=everysec|no before start to test the weaker settings, REDIS_APPENDONLY=no
# for a server that keeps nothing across a restart (the crash test's planted fault).
set -euo pipefail

usage() {
    echo "usage: $0 start DIR | address DIR | kill DIR | restart DIR | stop DIR" >&2
    exit 2
}

[ $# -eq 2 ] || usage
command=$1
dir=$2
[ -n "$dir" ] || usage

server_bin() {
    if ! command -v redis-server >/dev/null 2>&1; then
        echo "redis-test-server: no redis-server; install the redis-server package" \
            "(scripts/setup-deps.sh does)" >&2
        exit 1
    fi
    command -v redis-server
}

# A port stays reserved for its directory from start to stop, also while its server is killed:
# a test that kills Redis and restarts it must find its port free, not taken by another test's
# server started meanwhile. A reservation whose directory is gone is stale and ignored.
reservations="${TMPDIR:-/tmp}/redis-test-server.ports"

reserved_by_other() {  # PORT
    local owner
    owner=$(cat "$reservations/$1" 2>/dev/null) || return 1
    [ "$owner" != "$dir" ] && [ -f "$owner/redis.conf" ]
}

pick_port() {
    local port
    for port in $(seq 16379 16478); do
        if reserved_by_other "$port" || (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            continue
        fi
        echo "$port"
        return 0
    done
    echo "redis-test-server: no free port in 16379..16478" >&2
    return 1
}

# Runs the server on the config in DIR and waits until it answers PING.
launch() {
    local bin port
    bin=$(server_bin)
    port=$(cut -d: -f2 "$dir/address")
    # Not holding the start lock (fd 9) for its whole life.
    "$bin" "$dir/redis.conf" >/dev/null 9>&-
    for _ in $(seq 1 100); do
        # Ours, not another server on the port: it reports this directory.
        if redis-cli -h 127.0.0.1 -p "$port" config get dir 2>/dev/null | grep -qxF "$dir"; then
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 "$dir/server.log" >&2 || true
    echo "redis-test-server: the server did not answer (log above: $dir/server.log)" >&2
    exit 1
}

start() {
    local port
    server_bin >/dev/null
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -e "$dir/redis.conf" ]; then
        echo "redis-test-server: $dir already has a server; stop it first" >&2
        exit 1
    fi
    # Tests start servers in parallel (ctest -j): one at a time picks a port and binds it.
    exec 9>"${TMPDIR:-/tmp}/redis-test-server.lock"
    flock 9
    port=$(pick_port)
    cat >"$dir/redis.conf" <<CONF
bind 127.0.0.1
port $port
protected-mode yes
daemonize yes
pidfile $dir/redis.pid
logfile $dir/server.log
dir $dir
save ""
appendonly ${REDIS_APPENDONLY:-yes}
appendfsync ${REDIS_APPENDFSYNC:-always}
CONF
    echo "127.0.0.1:$port" >"$dir/address"
    mkdir -p "$reservations"
    echo "$dir" >"$reservations/$port"
    launch
    exec 9>&-
    cat "$dir/address"
}

address() {
    if [ ! -f "$dir/address" ]; then
        echo "redis-test-server: no server started in $dir" >&2
        exit 1
    fi
    cat "$dir/address"
}

server_pid() {
    [ -f "$dir/redis.pid" ] && cat "$dir/redis.pid" || true
}

kill_server() {
    local pid
    pid=$(server_pid)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid"
        while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    fi
    rm -f "$dir/redis.pid"
}

case "$command" in
    start) start ;;
    address) address ;;
    kill)
        address >/dev/null
        kill_server ;;
    restart)
        address >/dev/null
        kill_server
        launch ;;
    stop)
        # Only a directory this script set up is removed.
        if [ ! -f "$dir/redis.conf" ]; then
            echo "redis-test-server: no server started in $dir" >&2
            exit 1
        fi
        pid=$(server_pid)
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid"
            for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        fi
        kill_server
        port=$(cut -d: -f2 "$dir/address")
        [ "$(cat "$reservations/$port" 2>/dev/null)" = "$dir" ] && rm -f "$reservations/$port"
        rm -rf "$dir" ;;
    *) usage ;;
esac
