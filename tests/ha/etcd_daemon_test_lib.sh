# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034  # bin and admin_address come from the caller, exit_code goes to it
# Sourced by the tests of one daemon against a throw-away etcd (etcd_auth_daemon_test.sh,
# etcd_tls_daemon_test.sh): a work directory removed at exit with the daemon and the etcd members,
# failures counted, a profile for a cluster of one, and the waits for the daemon's exit.
# The caller sets `bin` and `admin_address` (its node's admin port); `pid` is the daemon's while it
# runs.

# Sets work, etcd_dir and failures; the EXIT trap kills the daemon, stops etcd and removes the
# work directory (kept, and named, when the variable KEEP_VAR is set).
etcd_daemon_test_init() {  # NAME KEEP_VAR
    work=$(mktemp -d "/tmp/exchanged-$1.XXXXXX")
    etcd_dir=$work/etcd
    keep_var=$2
    pid=
    failures=0
    trap etcd_daemon_test_cleanup EXIT
}

etcd_daemon_test_cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    scripts/etcd-test-cluster.sh stop "$etcd_dir" >/dev/null 2>&1
    [ -n "${!keep_var:-}" ] && { echo "kept $work"; return; }
    rm -rf "$work"
}

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# config/cluster/node1.ini as a cluster of one on ports PREFIX0..PREFIX2 (admin PREFIX1), with
# etcd at ENDPOINTS, a 5 s lease and the [replication] lines EXTRA ("\n" between lines).
write_single_node_config() {  # OUT PREFIX ENDPOINTS EXTRA
    sed -e "s/127\.0\.0\.1:931/127.0.0.1:$2/g" \
        -e 's/^max_orders = .*/max_orders = 16384/' \
        -e 's/^client_order_id_window = .*/client_order_id_window = 16384/' \
        -e 's/^wal_segment_bytes = .*/wal_segment_bytes = 4194304/' \
        -e 's/^max_lag_bytes = .*/max_lag_bytes = 4194304/' \
        -e 's/^factor = .*/factor = 1/' -e '/^peers = /d' -e '/^clients = /d' -e '/^admins = /d' \
        -e "/^\[replication\]/a etcd_endpoints = $3\nlease_ttl_ms = 5000\nadmins = 1@127.0.0.1:${2}1\n$4" \
        config/cluster/node1.ini >"$1"
}

# Starts the daemon with profile work/CONFIG.ini and its own data directory, its log in
# work/NAME.log.
start_daemon() {  # NAME CONFIG [flags...]
    local name=$1 config=$2
    shift 2
    rm -rf "$work/data-$name"
    "$bin/exchanged" --config "$work/$config.ini" --data-dir "$work/data-$name" "$@" \
        >"$work/$name.log" 2>&1 &
    pid=$!
}

stop_daemon() {  # [SIGNAL]: TERM by default (a clean stop resigns the key)
    kill -"${1:-TERM}" "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=
}

# A series of the node's /metrics; empty only when three scrapes in a row fail (a loaded test
# machine can let one take seconds).
metric() {  # SERIES
    local value _
    for _ in 1 2 3; do
        value=$(curl -s -m 2 "http://$admin_address/metrics" | awk -v s="$1" '$1 == s {print $2}')
        [ -n "$value" ] && break
    done
    echo "$value"
}

wait_metric() {  # SERIES VALUE SECONDS
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        [ "$(metric "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# Waits up to SECONDS for the daemon to exit by itself: 0 and its code in exit_code (pid cleared),
# or 1 when it still runs.
wait_exit() {  # SECONDS
    local i
    for ((i = 0; i < $1 * 20; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null && return 1
    wait "$pid" 2>/dev/null
    exit_code=$?
    pid=
    return 0
}

# SIGTERM, and a failure unless the daemon exited within SECONDS (systemd's stop timeout, an
# operator's restart); then kill -9, so that the test never hangs.
stop_within() {  # NAME LOG SECONDS
    local began
    began=$(date +%s.%N)
    kill -TERM "$pid" 2>/dev/null
    if ! wait_exit "$3"; then
        fail "$1: still running $3 s after SIGTERM (killed); its last lines:"
        tail -n 3 "$2" | cut -c 1-300
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        pid=
        return 1
    fi
    echo "  $1 stopped $(awk -v b="$began" -v e="$(date +%s.%N)" 'BEGIN {printf "%.2f", e - b}') s after SIGTERM"
}
