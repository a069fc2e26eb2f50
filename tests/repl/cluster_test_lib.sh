# Sourced by the three-node cluster tests (cluster_test.sh, cluster_status_test.sh, promote_test.sh,
# resync_test.sh, failover_test.sh): a scratch directory, the config/cluster profiles moved to
# ports of the test's own, starting and killing nodes through scripts/run-cluster.sh, and the check
# of journals against a node's recovered log. The caller is in the
# checkout's root and has set `bin` (the directory of the built binaries).

# cluster_test_init NAME PORTS MAX_ORDERS [SED_EXPR...]: $work (removed at exit, with every
# cluster under it stopped), $failures, and $work/config/node{1,2,3}.ini: config/cluster's with
# 127.0.0.1:93xx moved to 127.0.0.1:PORTSxx (each test its own, so that they never collide with
# each other or with an operator's cluster), books of MAX_ORDERS (start-up allocates them in
# full) and each SED_EXPR applied.
cluster_test_init() {
    local name=$1 ports=$2 max_orders=$3
    shift 3
    export EXCHANGED_BIN_DIR=$bin
    work=$(mktemp -d "/tmp/exchanged-$name.XXXXXX")
    failures=0
    trap cluster_test_cleanup EXIT
    local edits=(-e "s/127\.0\.0\.1:93/127.0.0.1:$ports/g"
        -e "s/^max_orders = .*/max_orders = $max_orders/")
    local expr node
    for expr in "$@"; do
        edits+=(-e "$expr")
    done
    mkdir -p "$work/config"
    for node in 1 2 3; do
        sed "${edits[@]}" "config/cluster/node$node.ini" >"$work/config/node$node.ini"
    done
    configs=$work/config/node1.ini,$work/config/node2.ini,$work/config/node3.ini
}

cluster_test_cleanup() {
    local run
    for run in "$work"/run-*; do
        [ -d "$run" ] && scripts/run-cluster.sh stop --data-dir "$run" >/dev/null 2>&1
    done
    rm -rf "$work"
}

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# start_cluster NAME [LEADER_FLAG...]: the three nodes in $work/run-NAME; prints why and fails
# when one did not become ready.
start_cluster() {
    local run=$work/run-$1
    shift
    local flags=() flag
    for flag in "$@"; do flags+=(--leader-flag "$flag"); done
    if ! scripts/run-cluster.sh start --no-build --data-dir "$run" --config-dir "$work/config" \
        "${flags[@]}" >"$run.start" 2>&1; then
        cat "$run.start"
        return 1
    fi
}

# kill_node NAME NODE: kill -9, and wait until it is gone.
kill_node() {
    local pidfile=$work/run-$1/node$2.pid
    kill -9 "$(cat "$pidfile")" 2>/dev/null
    while kill -0 "$(cat "$pidfile")" 2>/dev/null; do sleep 0.05; done
}

# Recovers NODE's WAL (in $work/run-NAME) into its store and verifies each journal against it.
holds_journals() {  # NAME NODE JOURNAL...
    local run=$work/run-$1 node=$2 journal ok=0
    shift 2
    if ! "$bin/exchanged" --config "$work/config/node$node.ini" --data-dir "$run/node$node" \
        --recover >"$run/recover-$node.out" 2>&1; then
        echo "  node $node: recovery failed: $(tail -n 1 "$run/recover-$node.out")"
        return 1
    fi
    for journal in "$@"; do
        if "$bin/exchangectl" store verify --journal "$journal" \
            --config "$work/config/node$node.ini" --data-dir "$run/node$node" \
            >"$run/verify.out" 2>&1; then
            echo "  node $node holds $(basename "$journal"): $(tail -n 2 "$run/verify.out" | head -n 1)"
        else
            echo "  node $node lacks orders of $(basename "$journal"): $(grep -m 1 -i 'fail\|missing' "$run/verify.out")"
            ok=1
        fi
    done
    return $ok
}

# `exchangectl load` of ORDERS orders at 10000/s against the node at CLIENT_PORT, client order ids
# from ID_BASE, its replies in JOURNAL (output appended to $work/run-NAME/load.out).
load() {  # NAME JOURNAL CLIENT_PORT ORDERS ID_BASE [extra flags...]
    local run=$work/run-$1 journal=$2 port=$3 orders=$4 base=$5
    shift 5
    "$bin/exchangectl" load --connect "127.0.0.1:$port" --orders "$orders" --rate 10000 \
        --connections 2 --timeout 5 --id-base "$base" --journal "$journal" \
        --config "$work/config/node1.ini" "$@" >>"$run/load.out" 2>&1
}

# Waits up to 30 s until JOURNAL holds COUNT accepted orders.
wait_acked() {  # JOURNAL COUNT
    for _ in $(seq 300); do
        count=$(grep -c '^accepted ' "$1" 2>/dev/null)
        [ "${count:-0}" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

