#!/usr/bin/env bash
# A three-node replicated cluster on loopback (docs/replication.md): node 1 leads and acknowledges
# an order once two of the three nodes hold it durably; nodes 2 and 3 follow. Profiles:
# config/cluster/node{1,2,3}.ini.
#
#   scripts/run-cluster.sh [start] [--data-dir DIR] [--config-dir DIR] [--no-build]
#                          [--leader-flag FLAG]...
#       starts the three daemons in the background (logs and pids in DIR, default
#       ./data/cluster), waits until each is ready, and prints the leader's client address;
#   scripts/run-cluster.sh stop [--data-dir DIR]
#       stops them (SIGTERM, then SIGKILL after 10 s);
#   scripts/run-cluster.sh restart NODE... [--data-dir DIR] [--config-dir DIR] [--leader-flag FLAG]...
#       starts the given nodes again (after a kill -9: scripts/cluster-crash-test.sh) in their
#       profiles' roles, on their own data directories, and waits until each is ready; nodes
#       still running are refused. The previous log is appended to nodeN.log.old.
#
# --config-dir reads node{1,2,3}.ini from another directory (tests: other ports). --leader-flag
# passes one more flag to the leader's exchanged (tests: --test-fault NAME).
set -euo pipefail
cd "$(dirname "$0")/.."

action=start
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
    action=$1
    shift
fi
dir=./data/cluster configs=config/cluster build=1 leader_flags=() nodes=()
bin=${EXCHANGED_BIN_DIR:-./build/bin}
while [ $# -gt 0 ]; do
    case "$1" in
        1 | 2 | 3) [ "$action" = restart ] || { echo "run-cluster.sh: a node number is for restart" >&2; exit 2; }
            nodes+=("$1"); shift ;;
        --data-dir) dir=${2:?--data-dir needs a directory}; shift 2 ;;
        --config-dir) configs=${2:?--config-dir needs a directory}; shift 2 ;;
        --no-build) build=0; shift ;;
        --leader-flag) leader_flags+=("${2:?--leader-flag needs a flag}"); shift 2 ;;
        *) echo "run-cluster.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done

# alive PID: the process runs (a zombie does not: the nodes outlive this script, and whoever
# adopts them may reap them late).
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null || return 0
    # A zombie main thread whose other threads are still exiting holds the sockets yet.
    [ "$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" -gt 1 ]
}

stop_node() {
    local pidfile=$dir/node$1.pid pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do
            alive "$pid" || break
            sleep 0.1
        done
        alive "$pid" && kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$pidfile"
}

# start_node NODE: one daemon in the background, its pid in DIR/nodeN.pid.
start_node() {
    local flags=()
    [ "$1" = 1 ] && flags=("${leader_flags[@]}")
    # Emptied here, not by the background job's redirection: wait_ready must not find the ready
    # line of the node's previous run (a restart raced it and returned before the node started).
    : >"$dir/node$1.log"
    "$bin/exchanged" --config "$configs/node$1.ini" --data-dir "$dir/node$1" \
        "${flags[@]}" >"$dir/node$1.log" 2>&1 &
    echo $! >"$dir/node$1.pid"
}

# wait_ready NODE...: until each logs its ready line; otherwise prints why, stops all, fails.
wait_ready() {
    local node ready
    for node in "$@"; do
        ready=
        for _ in $(seq 300); do
            if grep -q 'ready:' "$dir/node$node.log" 2>/dev/null; then
                ready=1
                break
            fi
            if ! alive "$(cat "$dir/node$node.pid")"; then
                break
            fi
            sleep 0.1
        done
        if [ -z "$ready" ]; then
            echo "run-cluster.sh: node $node did not become ready; its log ($dir/node$node.log):" >&2
            tail -n 20 "$dir/node$node.log" >&2
            for n in 1 2 3; do stop_node "$n"; done
            exit 1
        fi
    done
}

running() { [ -f "$dir/node$1.pid" ] && alive "$(cat "$dir/node$1.pid")"; }

case "$action" in
    stop)
        for node in 1 2 3; do stop_node "$node"; done
        echo "cluster stopped"
        exit 0 ;;
    restart)
        [ ${#nodes[@]} -gt 0 ] || { echo "run-cluster.sh: restart needs node numbers (1, 2, 3)" >&2; exit 2; }
        for node in "${nodes[@]}"; do
            if running "$node"; then
                echo "run-cluster.sh: node $node is still running (pid $(cat "$dir/node$node.pid"))" >&2
                exit 1
            fi
        done
        # Followers first, as at start.
        for node in $(printf '%s\n' "${nodes[@]}" | sort -r); do
            cat "$dir/node$node.log" >>"$dir/node$node.log.old" 2>/dev/null
            start_node "$node"
        done
        wait_ready "${nodes[@]}"
        echo "restarted node(s) ${nodes[*]}"
        exit 0 ;;
    start) ;;
    *) echo "run-cluster.sh: unknown action '$action' (start, stop or restart)" >&2; exit 2 ;;
esac

if [ "$build" = 1 ]; then
    ./scripts/build.sh release exchanged exchangectl >&2
fi
mkdir -p "$dir"
for node in 1 2 3; do
    if running "$node"; then
        echo "run-cluster.sh: node $node is already running (pid $(cat "$dir/node$node.pid")); stop it first" >&2
        exit 1
    fi
done
# Followers first, so that the leader's first dial finds them.
for node in 3 2 1; do start_node "$node"; done
wait_ready 1 2 3
leader=$(grep -o 'ready:.* listen=[^ ]*' "$dir/node1.log" | sed 's/.* listen=//')
echo "cluster ready: leader (node 1) serves clients at $leader; followers 2 and 3 refuse logins"
echo "logs and pids in $dir; stop with: scripts/run-cluster.sh stop --data-dir $dir"
echo "leader=$leader"
