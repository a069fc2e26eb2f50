#!/usr/bin/env bash
# Throw-away etcd members for the high-availability tests, from Debian's etcd-server package. Each
# member has its own data directory inside DIR and listens on loopback ports nobody else uses, so
# it cannot clash with another etcd, and everything it writes stays in DIR.
#   scripts/etcd-test-cluster.sh start DIR [--members 1|3] [--tls]
#                                     start, wait until healthy, print the client endpoints
#                                     (comma-separated). --tls: https:// client ports with a
#                                     throw-away CA (openssl) and client certificates required
#                                     (etcd's --client-cert-auth); in DIR/tls: ca.pem, client.pem,
#                                     client-key.pem, and other-ca.pem (a CA the members do not use)
#   scripts/etcd-test-cluster.sh endpoints DIR               print the endpoints again
#   scripts/etcd-test-cluster.sh stop DIR                    stop every member and remove DIR
#   scripts/etcd-test-cluster.sh auth DIR USER PASSWORD PREFIX
#                                     turn etcd's authentication on: a root user (its password in
#                                     DIR/root-password) and USER with read-write on keys under
#                                     PREFIX only (role USER-role), as docs/failover.md sets them up
#   scripts/etcd-test-cluster.sh revoke-tokens DIR           auth disable + enable as root: every
#                                                          token issued so far is unknown to etcd
# Each member's pid is in DIR/mN/pid and its log in DIR/mN/etcd.log: tests pause members with
# SIGSTOP (two of three paused leave the third without a leader, the partition-free way to test the
# hasleader header; a member that never had a leader serves no client request at all).
set -euo pipefail

usage() {
    echo "usage: $0 start DIR [--members 1|3] | endpoints DIR | stop DIR" \
        "| auth DIR USER PASSWORD PREFIX | revoke-tokens DIR" >&2
    exit 2
}

[ $# -ge 2 ] || usage
command=$1
dir=$2
shift 2
[ -n "$dir" ] || usage

members=1 tls=0
if [ "$command" = auth ]; then
    [ $# -eq 3 ] || usage
    auth_user=$1
    auth_password=$2
    auth_prefix=$3
    shift 3
fi
while [ $# -gt 0 ]; do
    case "$1" in
        --members)
            [ $# -ge 2 ] || usage
            members=$2
            shift 2
            ;;
        --tls)
            tls=1
            shift
            ;;
        *)
            echo "etcd-test-cluster: unknown argument: $1" >&2
            usage
            ;;
    esac
done
if [ "$members" != 1 ] && [ "$members" != 3 ]; then
    echo "etcd-test-cluster: --members must be 1 or 3, not '$members'" >&2
    exit 2
fi

port_taken() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Ports in 23800..24799 that nobody listens on, away from etcd's own 2379/2380. Starting from a
# random offset keeps parallel test runs apart; the lock in start() makes the pick and the listen
# one step.
pick_ports() {
    local wanted=$1 offset port n=0 picked=()
    offset=$((RANDOM % 1000))
    for i in $(seq 0 999); do
        port=$((23800 + (offset + i) % 1000))
        port_taken "$port" && continue
        picked+=("$port")
        n=$((n + 1))
        [ "$n" -eq "$wanted" ] && break
    done
    if [ "$n" -ne "$wanted" ]; then
        echo "etcd-test-cluster: fewer than $wanted free ports in 23800..24799" >&2
        return 1
    fi
    echo "${picked[*]}"
}

wait_listening() {
    local port=$1 log=$2 pid=$3
    for _ in $(seq 1 200); do
        port_taken "$port" && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$log" >&2 || true
            echo "etcd-test-cluster: etcd exited at start (log above: $log)" >&2
            return 1
        fi
        sleep 0.05
    done
    echo "etcd-test-cluster: etcd did not listen on 127.0.0.1:$port within 10 s ($log)" >&2
    return 1
}

# A CA, a certificate for the members naming 127.0.0.1 (an IP address SAN only, so that a client
# dialling "localhost" must refuse it), a client certificate, and a second CA nobody uses. EC keys:
# quick to make. The members' certificate is for clients too: etcd 3.4's JSON gateway dials the
# member's own gRPC port presenting it, and --client-cert-auth checks it there.
make_certificates() {  # TLS_DIR
    local t=$1 name
    mkdir -p "$t"
    for name in ca other-ca; do
        openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
            -keyout "$t/$name-key.pem" -out "$t/$name.pem" -days 2 -subj "/CN=exchanged test $name"
    done
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -keyout "$t/server-key.pem" -out "$t/server.csr" -subj "/CN=etcd test member"
    printf 'subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth, clientAuth\n' >"$t/server.ext"
    openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca-key.pem" \
        -CAcreateserial -days 2 -extfile "$t/server.ext" -out "$t/server.pem"
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -keyout "$t/client-key.pem" -out "$t/client.csr" -subj "/CN=exchanged node"
    printf 'extendedKeyUsage = clientAuth\n' >"$t/client.ext"
    openssl x509 -req -in "$t/client.csr" -CA "$t/ca.pem" -CAkey "$t/ca-key.pem" \
        -CAcreateserial -days 2 -extfile "$t/client.ext" -out "$t/client.pem"
    chmod 600 "$t"/*-key.pem
}

start() {
    if [ "$tls" = 1 ] && ! command -v openssl >/dev/null 2>&1; then
        echo "etcd-test-cluster: --tls needs openssl (scripts/setup-deps.sh installs it)" >&2
        exit 1
    fi
    if ! command -v etcd >/dev/null 2>&1 || ! command -v etcdctl >/dev/null 2>&1; then
        echo "etcd-test-cluster: etcd or etcdctl not found; install etcd-server and etcd-client" \
            "(scripts/setup-deps.sh does)" >&2
        exit 1
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -e "$dir/endpoints" ] || [ -e "$dir/m0" ]; then
        echo "etcd-test-cluster: $dir already holds a cluster; stop it first" >&2
        exit 1
    fi
    local scheme=http tls_flags=() etcdctl_tls=()
    if [ "$tls" = 1 ]; then
        make_certificates "$dir/tls" >"$dir/tls.log" 2>&1 || {
            cat "$dir/tls.log" >&2
            echo "etcd-test-cluster: making the certificates failed" >&2
            exit 1
        }
        scheme=https
        tls_flags=(--cert-file "$dir/tls/server.pem" --key-file "$dir/tls/server-key.pem"
            --client-cert-auth --trusted-ca-file "$dir/tls/ca.pem")
        etcdctl_tls=(--cacert "$dir/tls/ca.pem" --cert "$dir/tls/client.pem"
            --key "$dir/tls/client-key.pem")
    fi
    local ports
    exec 9>/tmp/etcd-test-cluster.lock
    flock 9
    read -ra ports <<<"$(pick_ports $((members * 2)))"
    local initial="" i
    for ((i = 0; i < members; i++)); do
        initial+="${initial:+,}m$i=http://127.0.0.1:${ports[$((2 * i + 1))]}"
    done
    local endpoints="" token
    token="exchanged-test-$$-$RANDOM"
    for ((i = 0; i < members; i++)); do
        local client=${ports[$((2 * i))]} peer=${ports[$((2 * i + 1))]} mdir="$dir/m$i"
        mkdir -p "$mdir"
        etcd --name "m$i" --data-dir "$mdir/data" \
            --listen-client-urls "$scheme://127.0.0.1:$client" \
            --advertise-client-urls "$scheme://127.0.0.1:$client" "${tls_flags[@]}" \
            --listen-peer-urls "http://127.0.0.1:$peer" \
            --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
            --initial-cluster "$initial" --initial-cluster-state new \
            --initial-cluster-token "$token" \
            --logger zap --log-outputs stderr >"$mdir/etcd.log" 2>&1 </dev/null 9>&- &
        echo $! >"$mdir/pid"
        endpoints+="${endpoints:+,}$scheme://127.0.0.1:$client"
    done
    echo "$endpoints" >"$dir/endpoints"
    for ((i = 0; i < members; i++)); do
        if ! wait_listening "${ports[$((2 * i))]}" "$dir/m$i/etcd.log" "$(cat "$dir/m$i/pid")"; then
            flock -u 9
            stop_members
            exit 1
        fi
    done
    flock -u 9
    local healthy=0
    for _ in $(seq 1 100); do
        if etcdctl --endpoints "$endpoints" "${etcdctl_tls[@]}" --command-timeout=1s endpoint health \
            >"$dir/health.log" 2>&1; then
            healthy=1
            break
        fi
        sleep 0.1
    done
    if [ "$healthy" -eq 0 ]; then
        cat "$dir/health.log" >&2
        echo "etcd-test-cluster: the members were not healthy within ~20 s" \
            "(logs: $dir/m*/etcd.log)" >&2
        stop_members
        exit 1
    fi
    cat "$dir/endpoints"
}

endpoints() {
    if [ ! -f "$dir/endpoints" ]; then
        echo "etcd-test-cluster: no cluster started in $dir" >&2
        exit 1
    fi
    cat "$dir/endpoints"
}

# Kills each member this script started (by its recorded pid), resuming a paused one first so it
# can die, and waits for it to go.
stop_members() {
    local pidfile pid
    for pidfile in "$dir"/m*/pid; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        if kill -0 "$pid" 2>/dev/null; then
            kill -CONT "$pid" 2>/dev/null || true
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.05
            done
            kill -KILL "$pid" 2>/dev/null || true
            # SIGKILL is delivered, not awaited: a loaded machine can take a moment to reap it.
            for _ in $(seq 1 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.05
            done
        fi
    done
}

stop() {
    # Only a directory this script set up is removed.
    if [ ! -f "$dir/endpoints" ] && [ ! -f "$dir/m0/pid" ]; then
        echo "etcd-test-cluster: $dir holds no cluster started by this script; nothing removed" >&2
        exit 1
    fi
    stop_members
    rm -rf "$dir"
}

as_root() {
    etcdctl --endpoints "$(endpoints)" --command-timeout=5s \
        --user root --password "$(cat "$dir/root-password")" "$@"
}

auth() {
    endpoints >/dev/null
    local e
    e=$(endpoints)
    echo "root-$$-$RANDOM" >"$dir/root-password"
    local root_password
    root_password=$(cat "$dir/root-password")
    {
        etcdctl --endpoints "$e" user add "root:$root_password"
        etcdctl --endpoints "$e" user grant-role root root
        etcdctl --endpoints "$e" role add "$auth_user-role"
        etcdctl --endpoints "$e" role grant-permission "$auth_user-role" --prefix=true readwrite \
            "$auth_prefix"
        etcdctl --endpoints "$e" user add "$auth_user:$auth_password"
        etcdctl --endpoints "$e" user grant-role "$auth_user" "$auth_user-role"
        etcdctl --endpoints "$e" auth enable
    } >"$dir/auth.log" 2>&1 || {
        cat "$dir/auth.log" >&2
        echo "etcd-test-cluster: turning authentication on failed" >&2
        exit 1
    }
}

revoke_tokens() {
    { as_root auth disable && as_root auth enable; } >"$dir/auth.log" 2>&1 || {
        cat "$dir/auth.log" >&2
        echo "etcd-test-cluster: auth disable/enable failed" >&2
        exit 1
    }
}

case "$command" in
    start) start ;;
    auth) auth ;;
    revoke-tokens) revoke_tokens ;;
    endpoints) endpoints ;;
    stop) stop ;;
    *) usage ;;
esac
