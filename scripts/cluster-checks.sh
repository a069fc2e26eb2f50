# shellcheck shell=bash
# Sourced, not run: what tests/repl/netns_partition_test.sh and scripts/cluster-test.sh share over a
# cluster from scripts/netns-cluster.sh. The caller sets `bin` (exchanged and exchangectl), `prefix`
# and `state` (the cluster's --prefix and --dir) before calling any of these.

# scripts/netns-cluster.sh ACTION with this cluster's prefix and state directory.
nc() {
    local action=$1
    shift
    scripts/netns-cluster.sh "$action" --prefix "$prefix" --dir "$state" "$@"
}

now_us() { date +%s%6N; }

metric() { nc metric "$1" "$2"; }  # NODE NAME

durable() { metric "$1" exchanged_wal_durable_lsn; }

# Waits up to SECONDS until node NODE's metric NAME is at least VALUE.
wait_metric_at_least() {  # NODE NAME VALUE SECONDS
    local value
    for _ in $(seq $(($4 * 10))); do
        value=$(metric "$1" "$2")
        [ -n "$value" ] && [ "${value%.*}" -ge "$3" ] && return 0
        sleep 0.1
    done
    return 1
}

# `exchangectl load` in the leader's namespace, in the background ($! is exchangectl itself).
# Extra flags follow the journal (e.g. --rate R --timeout S).
start_load() {  # JOURNAL ORDERS CONFIG [flags...]
    local journal=$1 orders=$2 config=$3
    shift 3
    nsenter --net="/run/netns/exn-$prefix-1" -- "$bin/exchangectl" load \
        --connect "$(leader_address)" --orders "$orders" --connections 2 --journal "$journal" \
        --config "$config" "$@" >>"$journal.out" 2>&1 &
}

leader_address() { grep -m 1 '^listen' "$state/config/node1.ini" | sed 's/^listen = //'; }

# Accepted orders whose reply the client read in [FROM_US, TO_US] (the journal's at_us).
accepted_between() {  # JOURNAL FROM_US TO_US
    awk -v from="$2" -v to="$3" '/^accepted / {
        for (i = 2; i <= NF; i++) if ($i ~ /^at_us=/) { t = substr($i, 7) + 0; if (t >= from && t <= to) n++ }
    } END { print n + 0 }' "$1"
}

# The journal's complete lines read by the client at or before TO_US.
journal_until() {  # JOURNAL TO_US
    awk -v to="$2" '{
        for (i = 2; i <= NF; i++) if ($i ~ /^at_us=/ && substr($i, 7) + 0 <= to) { print; next }
    }' "$1"
}

# Waits up to SECONDS until every running follower's durable LSN equals the leader's (and the
# leader's is above 0); prints the LSNs either way.
wait_caught_up() {  # SECONDS
    local leader two three
    for _ in $(seq $(($1 * 10))); do
        leader=$(durable 1) two=$(durable 2) three=$(durable 3)
        if [ -n "$leader" ] && [ "$leader" != 0 ] && [ "$two" = "$leader" ] && [ "$three" = "$leader" ]; then
            echo "  caught up: durable LSN $leader on all three nodes"
            return 0
        fi
        sleep 0.1
    done
    echo "  not caught up after $1 s: durable LSN leader ${leader:-?}, node 2 ${two:-?}, node 3 ${three:-?}"
    return 1
}

# A copy of follower NODE's WAL taken while it is paused (it writes nothing while copied).
copy_follower_wal() {  # NODE DEST
    mkdir -p "$2" || return 1
    nc pause "$1" || return 1
    cp -a "$state/node$1/wal" "$2/wal"
    local copied=$?
    nc resume "$1"
    return $copied
}

# Recovers a copy of a node's data directory into a store of its own (exchanged --recover) and
# checks the journal against it with `exchangectl store verify`; true when every acknowledged
# order, fill and cancel in the journal is there.
verify_copy() {  # NODE DATA_DIR JOURNAL
    local config=$state/config/node$1.ini
    if ! "$bin/exchanged" --config "$config" --data-dir "$2" --recover >"$2.recover" 2>&1; then
        echo "  recovering $2 failed: $(tail -n 1 "$2.recover")"
        return 1
    fi
    if "$bin/exchangectl" store verify --journal "$3" --config "$config" --data-dir "$2" \
        >"$2.verify" 2>&1; then
        echo "  $2 holds every acknowledged order: $(tail -n 2 "$2.verify" | head -n 1)"
        return 0
    fi
    echo "  $2 lacks acknowledged orders: $(grep -m 1 -i 'fail\|missing' "$2.verify")"
    return 1
}

# Each follower's WAL against the leader's, record by record over their common LSNs.
compare_logs() {  # LEADER_DATA_DIR FOLLOWER_DATA_DIR...
    local leader=$1 dir status=0
    shift
    for dir in "$@"; do
        if "$bin/exchangectl" wal compare "$leader" "$dir" >"$dir.compare" 2>&1; then
            echo "  $(basename "$dir"): $(tail -n 1 "$dir.compare")"
        else
            echo "  $(basename "$dir")'s log differs from the leader's: $(tail -n 1 "$dir.compare")"
            status=1
        fi
    done
    return $status
}
