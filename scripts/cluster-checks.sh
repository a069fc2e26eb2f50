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
    start_load_on 1 "$@"
}

# The same against node NODE (the leader after a promotion), in its namespace.
start_load_on() {  # NODE JOURNAL ORDERS CONFIG [flags...]
    local node=$1 journal=$2 orders=$3 config=$4
    shift 4
    nsenter --net="/run/netns/exn-$prefix-$node" -- "$bin/exchangectl" load \
        --connect "$(client_address "$node")" --orders "$orders" --connections 2 \
        --journal "$journal" --config "$config" "$@" >>"$journal.out" 2>&1 &
}

leader_address() { client_address 1; }

client_address() {  # NODE
    grep -m 1 '^listen' "$state/config/node$1.ini" | sed 's/^listen = //'
}

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

# Waits up to SECONDS until every running follower's durable LSN equals the leader's (node
# LEADER, 1 unless given; and the leader's is above 0); prints the LSNs either way.
wait_caught_up() {  # SECONDS [LEADER]
    local leader=${2:-1} node lsn lsns ok
    for _ in $(seq $(($1 * 10))); do
        lsn=$(durable "$leader") ok=1 lsns=
        [ -n "$lsn" ] && [ "$lsn" != 0 ] || ok=0
        for node in 1 2 3; do
            [ "$node" = "$leader" ] && continue
            lsns+="${lsns:+, }node $node $(durable "$node")"
            [ "$(durable "$node")" = "$lsn" ] || ok=0
        done
        if [ "$ok" = 1 ]; then
            echo "  caught up: durable LSN $lsn on all three nodes (leader node $leader)"
            return 0
        fi
        sleep 0.1
    done
    echo "  not caught up after $1 s: durable LSN leader (node $leader) ${lsn:-?}, $lsns"
    return 1
}

# The first LSN a log holds (empty when it holds none): above 1 once segments were released (the
# store passed them) or the log was installed from a snapshot.
first_lsn() {  # WAL_OR_DATA_DIR
    "$bin/exchangectl" wal verify "$1" 2>/dev/null | sed -n 's/^lsn range: \([0-9]*\)\.\..*/\1/p'
}

# The SQLite store files of data directory DIR (the profiles keep store_path = exchanged.sqlite).
store_files() { ls -d "$1"/exchanged.sqlite* 2>/dev/null; }

# A copy of node NODE's data directory for verify_copy: its WAL and its store files. The store is
# only used when the WAL no longer reaches back to LSN 1.
copy_data_dir() {  # SRC_DATA_DIR DEST
    mkdir -p "$2" && cp -a "$1/wal" "$2/wal" || return 1
    local file
    for file in $(store_files "$1"); do cp -a "$file" "$2/" || return 1; done
}

# A copy of follower NODE's WAL (and store) taken while it is paused (it writes nothing while
# copied; the store files are then as a crash would leave them, which SQLite recovers).
copy_follower_wal() {  # NODE DEST
    nc pause "$1" || return 1
    copy_data_dir "$state/node$1" "$2"
    local copied=$?
    nc resume "$1"
    return $copied
}

# Recovers a copy of a node's data directory into a store of its own (exchanged --recover) and
# checks the journal against it with `exchangectl store verify`; true when every acknowledged
# order, fill and cancel in the journal is there. A WAL from LSN 1 is recovered alone (a store
# copied with it is set aside): everything acknowledged must be in the log itself. A WAL whose
# first segments were released (the resync_follower profile) is recovered over the node's store
# copied with it, which holds the records below; the output says which.
verify_copy() {  # NODE DATA_DIR JOURNAL
    local config=$state/config/node$1.ini first from file
    first=$(first_lsn "$2/wal")
    if [ "${first:-1}" = 1 ]; then
        for file in $(store_files "$2"); do rm -f "$file"; done
        from="its WAL from LSN 1"
    else
        [ -n "$(store_files "$2")" ] || {
            echo "  $2: its WAL starts at LSN $first and no store was copied with it"
            return 1
        }
        from="its store and its WAL from LSN $first (the segments below released)"
    fi
    if ! "$bin/exchanged" --config "$config" --data-dir "$2" --recover >"$2.recover" 2>&1; then
        echo "  recovering $2 ($from) failed: $(tail -n 1 "$2.recover")"
        return 1
    fi
    if "$bin/exchangectl" store verify --journal "$3" --config "$config" --data-dir "$2" \
        >"$2.verify" 2>&1; then
        echo "  $2 ($from) holds every acknowledged order: $(tail -n 2 "$2.verify" | head -n 1)"
        return 0
    fi
    echo "  $2 ($from) lacks acknowledged orders: $(grep -m 1 -i 'fail\|missing' "$2.verify")"
    return 1
}

# Each follower's WAL against the leader's, record by record over their common LSNs. Logs with no
# LSN in common (a follower that never installed the snapshot it needed) compared nothing: that
# fails too, since a caught-up follower always holds the leader's last records.
compare_logs() {  # LEADER_DATA_DIR FOLLOWER_DATA_DIR...
    local leader=$1 dir status=0
    shift
    for dir in "$@"; do
        if "$bin/exchangectl" wal compare "$leader" "$dir" >"$dir.compare" 2>&1 &&
            ! grep -q 'no LSN in common' "$dir.compare"; then
            echo "  $(basename "$dir"): $(tail -n 1 "$dir.compare")"
        else
            echo "  $(basename "$dir")'s log differs from the leader's: $(tail -n 1 "$dir.compare")"
            status=1
        fi
    done
    return $status
}

# State hashes equal at equal LSNs: every log given is replayed (`exchangectl wal state`, the
# recovery code) only up to the lowest last LSN among them, and each shard's state hash (and next
# seq) there must be the same in all. Logs of equal length are so compared at their ends; a longer
# log is compared at the shorter's end. A log from LSN 1 is replayed from LSN 1; one whose first
# segments were released, or that was installed from a snapshot (it starts above the snapshot's
# store_lsn), is replayed from its own store's books (--from-store), which must not be past the
# LSN compared at: the output names each log's starting point. Exit 1 when hashes differ (or a
# replay fails), 2 when some log has no state at that LSN (nothing comparable).
state_hashes_equal() {  # CONFIG DATA_DIR...
    local config=$1 dir last first lowest= reference= status=0 from starts=
    shift
    for dir in "$@"; do
        last=$("$bin/exchangectl" wal verify "$dir" | sed -n 's/^lsn range: [0-9]*\.\.//p')
        [ -n "$last" ] || { echo "  $dir: no records to replay"; return 1; }
        [ -z "$lowest" ] || [ "$last" -lt "$lowest" ] && lowest=$last
    done
    for dir in "$@"; do
        first=$(first_lsn "$dir")
        from=()
        [ "$first" = 1 ] || from=(--from-store)
        if ! "$bin/exchangectl" wal state "$dir" --config "$config" --to "$lowest" "${from[@]}" \
            >"$dir.state" 2>&1; then
            echo "  $dir (its log from LSN $first): no state at LSN $lowest: $(tail -n 1 "$dir.state")"
            if grep -q 'past --to' "$dir.state"; then status=2; else status=1; fi
            continue
        fi
        if [ "$first" = 1 ]; then
            starts+="${starts:+, }$(basename "$dir") from LSN 1"
        else
            starts+="${starts:+, }$(basename "$dir") from its store at LSN $(($(grep -o 'from LSN [0-9]*' \
                "$dir.state" | head -n 1 | grep -o '[0-9]*$') - 1))"
        fi
        if [ -z "$reference" ]; then
            reference=$dir
        elif ! cmp -s <(grep '^shard ' "$reference.state") <(grep '^shard ' "$dir.state"); then
            echo "  $(basename "$dir") at LSN $lowest: $(grep '^shard ' "$dir.state" | paste -sd ' ')," \
                "$(basename "$reference"): $(grep '^shard ' "$reference.state" | paste -sd ' ')"
            [ "$status" = 2 ] || status=1
        fi
    done
    [ "$status" = 0 ] && echo "  state hashes equal at LSN $lowest on $# logs ($starts):" \
        "$(grep '^shard ' "$reference.state" | paste -sd ' ')"
    return $status
}

# No LSN acknowledged under two epochs. For each order accepted in JOURNAL (the load against the
# leader whose WAL copy is LEADER_COPY, taken once it had stopped leading: killed, or deposed
# and then killed, so the copy holds everything it ever acknowledged), its command record (the
# NewOrder of that account and client order id) is looked up in that copy: its LSN n and the
# epoch that wrote it (`exchangectl wal orders`). The final leader's log (FINAL_DIR) must hold
# the same record at n: same epoch, same bytes. A different record there (another epoch's, or a
# term start) means LSN n was acknowledged under one epoch and holds another's record now. An
# acknowledged order missing from its own leader's copy fails too. Where segments were released
# (the resync_follower profile), an order below the first LSN the final log holds, or missing from
# a copy that no longer starts at LSN 1, cannot be compared here: it is counted as such (the loss
# check recovers it from that leader's store).
no_lsn_under_two_epochs() {  # CONFIG FINAL_DIR LEADER_COPY JOURNAL
    local config=$1 final=$2 copy=$3 journal=$4 final_first copy_first
    final_first=$(first_lsn "$final") copy_first=$(first_lsn "$copy")
    "$bin/exchangectl" wal orders "$final" >"$copy.final-orders" 2>&1 || {
        echo "  wal orders $final failed: $(tail -n 1 "$copy.final-orders")"; return 1; }
    "$bin/exchangectl" wal orders "$copy" >"$copy.orders" 2>&1 || {
        echo "  wal orders $copy failed: $(tail -n 1 "$copy.orders")"; return 1; }
    awk -v final_first="${final_first:-1}" -v copy_first="${copy_first:-1}" '
        function field(name,   i) {
            for (i = 1; i <= NF; i++) if (index($i, name "=") == 1) return substr($i, length(name) + 2)
            return ""
        }
        FILENAME == ARGV[1] {  # the profile: account names to ids
            if ($0 ~ /^\[/) section = $0
            else if (section == "[accounts]" && $2 == "=" && $3 ~ /^id=/) id[$1] = substr($3, 4)
            next
        }
        FILENAME == ARGV[2] {  # the journal
            if ($1 == "accepted") acked[id[field("account")] ":" field("client_order_id")] = 1
            next
        }
        FILENAME == ARGV[3] {  # the leader copy: NewOrder records (command=0)
            key = field("account") ":" field("client_order_id")
            if (field("command") == "0" && (key in acked)) {
                at[key] = field("lsn"); epoch[key] = field("epoch"); bytes[key] = field("payload")
            }
            next
        }
        {  # the final log
            final_epoch[field("lsn")] = field("epoch"); final_bytes[field("lsn")] = field("payload")
        }
        END {
            for (key in acked) {
                if (!(key in at) && copy_first + 0 > 1) { released++; continue }
                if ((key in at) && at[key] + 0 < final_first + 0) { released++; continue }
                checked++
                if (!(key in at)) { bad++; if (bad <= 3) print "    order " key " (account:client_order_id) acknowledged, not in its leader'"'"'s log"; continue }
                n = at[key]
                if (!(n in final_epoch)) { bad++; if (bad <= 3) print "    LSN " n " acknowledged under epoch " epoch[key] " holds no command record in the final log (it ends before, or another record is there)"; continue }
                if (final_epoch[n] != epoch[key] || final_bytes[n] != bytes[key]) {
                    bad++
                    if (bad <= 3) print "    LSN " n " acknowledged under epoch " epoch[key] " holds epoch " final_epoch[n] "'"'"'s record" (final_bytes[n] == bytes[key] ? "" : " (other bytes)") " in the final log"
                }
            }
            printf "    %d acknowledged orders checked, %d under two epochs", checked, bad
            if (released) printf "; %d not comparable (below LSN %d of the final log or LSN %d of the leader'"'"'s copy: released)", released, final_first, copy_first
            printf "\n"
            exit bad > 0
        }' "$config" "$journal" "$copy.orders" "$copy.final-orders"
}
