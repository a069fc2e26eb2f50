#!/usr/bin/env bash
# Retention and snapshot re-sync with real processes (docs/replication.md "Retention and snapshot
# re-sync"): the config/cluster profiles on other ports, with 1 MiB WAL segments, a 1 MiB ship
# buffer and [replication] follower_retention_bytes = 0 on the leader.
#
#   1. follower 3 killed while 20000 orders go by: the leader's store passes its segments, so the
#      leader marks it out of date (warn line, metric) and releases them. The leader's first
#      snapshot has a damaged chunk (--test-fault damage_snapshot_chunk): the follower refuses it
#      (CRC32C against the manifest) and the re-sync starts over. Restarted, follower 3 receives
#      the snapshot, installs it and catches up; with follower 2 killed the leader and follower 3
#      still acknowledge orders (the quorum works again); its WAL above the snapshot's store_lsn
#      holds the leader's records (`exchangectl wal dump`: LSN, type, length, payload prefix).
#   2. mutation: follower 3 with --test-fault skip_snapshot_install (it checks the snapshot but
#      never swaps it in): the catch-up check of 1 must fail.
#
# With `postgres` every node's store is a database of its own on the throw-away server of
# EXCHANGED_TEST_POSTGRES_DSN (exit 77 without it): the snapshot carries the leader's pg_dump and
# follower 3 restores it into its database (its log names the restore), and the mutation of 2 is
# --test-fault skip_pg_snapshot_restore (the snapshot's WAL swapped in, its store not restored).
#
# usage: resync_test.sh BIN_DIR [sqlite|postgres]
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build/bin}
store=${2:-sqlite}
case "$store" in
    sqlite) skip_fault=skip_snapshot_install ;;
    postgres)
        skip_fault=skip_pg_snapshot_restore
        if [ -z "${EXCHANGED_TEST_POSTGRES_DSN:-}" ]; then
            echo "test skipped: EXCHANGED_TEST_POSTGRES_DSN is not set (scripts/test.sh starts a throw-away server with scripts/pg-test-cluster.sh and sets it)"
            exit 77
        fi ;;
    *) echo "resync_test.sh: unknown store '$store' (sqlite or postgres)" >&2; exit 2 ;;
esac
# shellcheck source=tests/repl/cluster_test_lib.sh
. tests/repl/cluster_test_lib.sh
# Ports 96x0..96x2, 1 MiB segments, and no WAL kept for followers beyond what the store needs.
cluster_test_init resync-test 96 131072 's/^wal_segment_bytes = .*/wal_segment_bytes = 1048576/' \
    's/^max_lag_bytes = .*/max_lag_bytes = 1048576/' \
    's/^\[replication\]$/[replication]\nfollower_retention_bytes = 0/'
leader=127.0.0.1:9610
admin=127.0.0.1:9611

# One database per node (a snapshot's pg_dump restores into the same schema name on every node).
pg_sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$EXCHANGED_TEST_POSTGRES_DSN" -c "$1"; }
pg_db() { echo "exchanged_resync_$$_n$1"; }
fresh_databases() {
    local node
    for node in 1 2 3; do
        pg_sql "DROP DATABASE IF EXISTS $(pg_db "$node") WITH (FORCE)" >/dev/null &&
            pg_sql "CREATE DATABASE $(pg_db "$node")" >/dev/null || return 1
    done
}
if [ "$store" = postgres ]; then
    drop_databases() {
        local node
        for node in 1 2 3; do
            pg_sql "DROP DATABASE IF EXISTS $(pg_db "$node") WITH (FORCE)" >/dev/null 2>&1
        done
    }
    trap 'cluster_test_cleanup; drop_databases' EXIT
    for node in 1 2 3; do
        sed -i -e 's|^store = sqlite|store = postgresql|' \
            -e "s|^store_path = .*|store_dsn = $EXCHANGED_TEST_POSTGRES_DSN dbname=$(pg_db "$node")|" \
            "$work/config/node$node.ini"
    done
fi

start_node() {  # NAME NODE [flags...]
    local run=$work/run-$1 node=$2
    shift 2
    "$bin/exchanged" --config "$work/config/node$node.ini" --data-dir "$run/node$node" "$@" \
        >>"$run/node$node.log" 2>&1 &
    echo $! >"$run/node$node.pid"
}

metric() {  # NAME-PATTERN: the leader's value
    curl -s "http://$admin/metrics" | awk -v m="$1" '$1 == m {print $2}'
}

# True once follower 3 acknowledged the last LSN the leader shipped and its standby applied it
# (within ~SECONDS). Acknowledged alone is not enough: a follower whose snapshot's store was not
# installed acknowledges the snapshot's WAL, then its standby finds the gap below and it stops.
caught_up() {  # SECONDS
    local shipped three applied
    for _ in $(seq $(($1 * 10))); do
        shipped=$(metric exchanged_replication_shipped_lsn)
        three=$(metric 'exchanged_replication_follower_acked_lsn{node="3"}')
        applied=$(curl -s "http://127.0.0.1:9631/metrics" |
            awk '$1 == "exchanged_replication_applied_lsn" {print $2}')
        if [ -n "$shipped" ] && [ "$shipped" != 0 ] && [ "$shipped" = "$three" ] &&
            [ "$applied" = "$shipped" ]; then
            echo "  follower 3 acknowledged and applied LSN $three of $shipped shipped"
            return 0
        fi
        sleep 0.1
    done
    echo "  follower 3 acknowledged LSN ${three:-?} and applied LSN ${applied:-?} of ${shipped:-?} shipped"
    return 1
}

# Follower 3 down while 20000 orders go by; the leader marks it out of date. Only a follower the
# leader has heard from holds records back (retention_policy.hpp: `known`), so the kill waits for
# its first connection: killed before it, no mark would ever come.
fall_behind() {  # NAME
    local run=$work/run-$1
    for _ in $(seq 100); do
        [ "$(metric 'exchanged_replication_follower_connected{node="3"}')" = 1 ] && break
        sleep 0.1
    done
    kill_node "$1" 3
    "$bin/exchangectl" load --connect "$leader" --orders 20000 --connections 2 --rate 10000 \
        --timeout 20 --journal "$run/acks.journal" --config "$work/config/node1.ini" \
        >"$run/load.out" 2>&1 || fail "the load with follower 3 down: $(tail -n 1 "$run/load.out")"
    local marked=
    for _ in $(seq 100); do
        [ "$(metric 'exchanged_replication_follower_out_of_date{node="3"}')" = 1 ] && marked=1 && break
        sleep 0.1
    done
    [ -n "$marked" ] || fail "the leader did not mark follower 3 out of date"
    grep -q 'follower 3 (acked LSN [0-9]*) is out of date' "$run/node1.log" ||
        fail "no warn line naming follower 3 out of date in the leader's log"
}

records() {  # WAL-DIR FROM: one line per record, without where it sits in the segments
    "$bin/exchangectl" wal dump --from "$2" "$1" | grep '^lsn=' | sed 's/ segment=.* payload=/ payload=/'
}

echo "== 1. follower 3 past the retention re-syncs by snapshot (the first one damaged; $store stores)"
if { [ "$store" = sqlite ] || fresh_databases; } && start_cluster resync --test-fault damage_snapshot_chunk; then
    run=$work/run-resync
    fall_behind resync
    # Orders keep coming while it re-syncs: the snapshot's WAL holds records above its store.
    "$bin/exchangectl" load --connect "$leader" --orders 6000 --connections 2 --rate 3000 \
        --timeout 20 --journal "$run/during.journal" --config "$work/config/node1.ini" \
        >"$run/during.out" 2>&1 &
    during=$!
    sleep 0.3
    start_node resync 3
    wait "$during" || fail "the load during the re-sync: $(tail -n 1 "$run/during.out")"
    caught_up 20 || fail "follower 3 did not catch up after the snapshot"
    grep -q 'snapshot refused, the leader will start it over: .*CRC32C' "$run/node3.log" ||
        fail "follower 3 did not refuse the damaged snapshot chunk"
    installed=$(grep -o 'snapshot: store at LSN [0-9]* installed' "$run/node3.log" | tail -n 1)
    store_lsn=$(echo "$installed" | grep -o '[0-9]*')
    [ -n "$store_lsn" ] || fail "follower 3 logged no installed snapshot"
    wal_last=$(grep -o "the leader's copy reached LSN [0-9]*" "$run/node3.log" | tail -n 1 | grep -o '[0-9]*$')
    echo "  follower 3 installed a snapshot: store at LSN ${store_lsn:-?}, WAL to LSN ${wal_last:-?}"
    if [ "$store" = postgres ]; then
        restored=$(grep -o 'PostgreSQL store at LSN [0-9]* restored into [^(]*(pg_restore of [0-9]* bytes, [0-9]* ms)' \
            "$run/node3.log" | tail -n 1)
        [ -n "$restored" ] || fail "follower 3 logged no pg_restore of the snapshot's store"
        echo "  follower 3: ${restored:-no restore}"
    fi
    [ "$(metric 'exchanged_replication_follower_out_of_date{node="3"}')" = 0 ] ||
        fail "follower 3 is still marked out of date after its re-sync"
    # The quorum works with follower 3: follower 2 gone, orders are still acknowledged.
    kill_node resync 2
    "$bin/exchangectl" load --connect "$leader" --orders 200 --connections 2 --rate 1000 \
        --timeout 10 --journal "$run/after.journal" --config "$work/config/node1.ini" \
        >"$run/after.out" 2>&1
    accepted=$(grep -c '^accepted ' "$run/after.journal" 2>/dev/null)
    [ "${accepted:-0}" = 200 ] ||
        fail "with follower 2 down only ${accepted:-0} of 200 orders were acknowledged"
    echo "  follower 2 down: ${accepted:-0} of 200 orders acknowledged by the leader and follower 3"
    caught_up 10 || fail "follower 3 did not acknowledge the orders after follower 2 died"
    scripts/run-cluster.sh stop --data-dir "$run" >/dev/null
    # Every node releases what its own store holds (the followers are hot standbys), so each
    # WAL covers only its newest records. Follower 3 must match each other node wherever both
    # hold the records, and overlap at least one of them.
    from=$((store_lsn + 1))
    records "$run/node3/wal" "$from" >"$run/node3.records"
    overlaps=0
    for other in 1 2; do
        records "$run/node$other/wal" "$from" >"$run/node$other.records"
        first=$(head -n 1 "$run/node$other.records" | sed 's/^lsn=\([0-9]*\).*/\1/')
        last=$(tail -n 1 "$run/node$other.records" | sed 's/^lsn=\([0-9]*\).*/\1/')
        if [ -z "$first" ]; then
            echo "  node $other holds no record from LSN $from on (its store has them all)"
            continue
        fi
        overlaps=$((overlaps + 1))
        awk -v a="$first" -v b="$last" '{split($1, f, "="); if (f[2] + 0 >= a && f[2] + 0 <= b) print}' \
            "$run/node3.records" >"$run/node3-vs-$other.records"
        if cmp -s "$run/node$other.records" "$run/node3-vs-$other.records"; then
            echo "  follower 3's WAL equals node $other's over LSN $first..$last"
        else
            fail "follower 3's WAL differs from node $other's over LSN $first..$last:" \
                "$(diff "$run/node$other.records" "$run/node3-vs-$other.records" | head -n 3)"
        fi
    done
    [ "$overlaps" -gt 0 ] || fail "no other node's WAL holds records from LSN $from on to compare"
    [ "$(tail -n 1 "$run/node3.records")" = "$(tail -n 1 "$run/node1.records")" ] ||
        fail "follower 3's WAL does not end at the leader's last record"
else
    fail "the cluster did not start"
fi

echo "== 2. mutation: a follower that never installs the snapshot ($skip_fault) does not catch up"
if { [ "$store" = sqlite ] || fresh_databases; } && start_cluster mutation; then
    run=$work/run-mutation
    fall_behind mutation
    start_node mutation 3 --test-fault "$skip_fault"
    if caught_up 4; then
        fail "the re-sync check passed with $skip_fault"
    else
        echo "  caught: follower 3 never caught up with $skip_fault"
    fi
    grep -q "TEST FAULT $skip_fault" "$run/node3.log" ||
        fail "follower 3 never received a snapshot to skip"
    scripts/run-cluster.sh stop --data-dir "$run" >/dev/null
else
    fail "the cluster did not start"
fi

if [ "$failures" -eq 0 ]; then
    echo "resync test: PASS"
    exit 0
fi
echo "resync test: $failures failure(s)"
for log in "$work"/run-*/node*.log; do
    echo "--- $log (replication lines)"
    grep -i 'replication\|snapshot\|error' "$log" | tail -n 15
done
exit 1
