#!/usr/bin/env bash
# Seeded fault schedules over the three-node cluster in network namespaces (scripts/netns-cluster.sh,
# docs/replication.md "Testing in network namespaces"). Each cycle starts a fresh cluster, runs
# `exchangectl load` (alice and bob, ack journal) in the leader's namespace, and meanwhile plays a
# schedule of 2 to 4 faults drawn from the cycle's seed, one after the other. SLOT (1 or 2) is the
# first or second follower of the current leader, in node order; each fault lasts 0.5 to 2.5 s:
#
#   kill_follower     kill -9 of the follower, restarted after the pause
#   isolate_follower  the follower cut off (iptables DROP), healed
#   pause_follower    SIGSTOP of the follower, SIGCONT after the pause
#   isolate_leader    the leader cut off from both, healed (copies of the followers' WALs are
#                     taken just before the heal)
#   kill_leader       kill -9 of the leader; `exchangectl cluster promote SLOT` in its namespace
#                     (a fetch first if the other follower's log is longer); a load with its own
#                     journal on the new leader; the old leader restarted as a follower of the new
#                     epoch (profile rewritten as an operator would: role, epoch, leader_client)
#   partition_leader_promote
#                     the leader cut off; SLOT promoted on the majority side and loaded; healed;
#                     the old leader (still running, holding what its clients sent) killed and
#                     restarted as a follower: divergence repair cuts its tail
#   resync_follower   kill -9 of the follower; a burst of orders (15000, a load of its own at 6000/s)
#                     until the leader marks it out of date and releases the segments it needs
#                     (at least the pause, at most 20 s); restarted, it must re-sync by snapshot:
#                     the leader's log says it was out of date and sent a snapshot, the
#                     follower's that it installed one ("a follower did not re-sync by snapshot"
#                     otherwise), and it catches up like the others
#
# A cycle whose schedule holds resync_follower runs with 1 MiB WAL segments and [replication]
# follower_retention_bytes = 0 on every node (8 MiB segments, the default retention otherwise,
# so that no other fault's cycle ever releases a segment): a follower killed for a moment may then
# need a snapshot too, and the nodes release the segments their stores passed, so in such a cycle
# the logs no longer reach back to LSN 1 and the checks below compare what is comparable (each
# says so in its output).
#
# The current leader and its epoch are kept in $work/leader and $work/epoch; every later fault and
# the final checks take them from there. A retired leader's WAL is copied once it is dead (for
# partition_leader_promote after the heal, so the copy holds everything it ever acknowledged).
# An old leader's store must never be ahead of the cut (a leader acknowledging after the quorum
# stores only what a majority holds): a follower whose standby finds the cut below its applied
# LSN fails the cycle.
#
# Then it heals everything, waits for every load and for both followers' durable LSN to reach
# the leader's, stops the nodes (kill -9) and checks (scripts/cluster-checks.sh):
#   - nothing acknowledged is lost: the final leader's WAL, copied and recovered into a store of
#     its own (exchanged --recover), holds every order, fill and cancel of all journals (store
#     verify); the followers' logs equal it (below). A WAL whose first segments were released is
#     recovered over the node's store, copied with it;
#   - for each cut of the leader, one of the followers' copies taken before the heal holds every
#     order acknowledged before it;
#   - the followers' logs hold the leader's records byte for byte over the LSNs both hold
#     (exchangectl wal compare);
#   - state hashes equal at equal LSNs: the three logs replayed (exchangectl wal state) only up to
#     the lowest last LSN among them give the same state hash per shard; a log that does not
#     reach back to LSN 1 (released, or installed from a snapshot) is replayed from its store's
#     books (--from-store);
#   - no LSN acknowledged under two epochs: for every order accepted in the journal of a leader's
#     term, its NewOrder record (epoch, LSN, bytes) in that leader's copy must be the record at
#     that LSN in the final leader's log (exchangectl wal orders), same epoch and bytes (orders
#     below the first LSN a released log holds are counted as not comparable).
# A failing cycle prints its seed and schedule; `--cycles 1 --seed THAT` plays the same schedule
# again (the timing of the processes differs from run to run).
#
# usage: scripts/cluster-test.sh [--cycles N] [--seed S] [--keep] [--planted-fault [NAME]]
#                                [--schedule 'FAULT SLOT SECONDS; ...'] [--no-build]
#   --keep copies a failing cycle's files (logs, data, journals) to a directory it names.
#   --schedule plays these faults in every cycle instead of the seed's.
#   --planted-fault NAME (scripts/test.sh checks each makes its checker fail):
#     quorum_leader_only (the default) on node 1: its own durable LSN counts as a quorum; cut off
#       while a follower is promoted, its acks are at LSNs the new log holds other records at
#       ("an LSN was acknowledged under two epochs"), and with isolate_leader the followers'
#       copies lack them;
#     skip_divergence_truncate on a rejoining old leader: it keeps its departed tail ("state
#       hashes differ at an equal LSN"; catch-up is given 5 s instead of 30);
#     skip_snapshot_install on the follower resync_follower restarts: it checks the snapshot but
#       never swaps it in ("a follower did not re-sync by snapshot"; the wait for the install is
#       8 s instead of 20, catch-up 5 s).
# Exit: 0 all passed, 1 a cycle failed, 2 usage, 77 skipped (not root, no network namespaces).
#
# scripts/cluster-test.sh --nemesis [...]: the randomised nemesis with automatic failover through
# etcd instead (scripts/cluster-nemesis.sh, its options and checks in its header).
set -uo pipefail
cd "$(dirname "$0")/.."
for arg in "$@"; do
    [ "$arg" = --nemesis ] && exec scripts/cluster-nemesis.sh "$@"
done

cycles=1 seed=$(((RANDOM << 15) | RANDOM)) keep=0 build=1 leader_flags=() rejoin_flags=()
promote_flags=() fixed_schedule= planted= catch_up_seconds=30 resync_flags=() resync_seconds=20
while [ $# -gt 0 ]; do
    case "$1" in
        --cycles) cycles=${2:?--cycles needs a number}; shift 2 ;;
        --seed) seed=${2:?--seed needs a number}; shift 2 ;;
        --keep) keep=1; shift ;;
        --planted-fault)
            planted=quorum_leader_only
            shift
            if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then planted=$1; shift; fi ;;
        --schedule) fixed_schedule=${2:?--schedule needs faults}; shift 2 ;;
        --no-build) build=0; shift ;;
        *) echo "cluster-test.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
case "$planted" in
    '') ;;
    # A planted fault leaves a node that never catches up: its checks need no 30 s wait for it.
    quorum_leader_only)
        leader_flags=(--leader-flag --test-fault --leader-flag quorum_leader_only)
        catch_up_seconds=5 ;;
    skip_divergence_truncate)
        rejoin_flags=(--flag --test-fault --flag skip_divergence_truncate)
        catch_up_seconds=5 ;;
    skip_snapshot_install)
        resync_flags=(--flag --test-fault --flag skip_snapshot_install)
        catch_up_seconds=5 resync_seconds=8 ;;
    *) echo "cluster-test.sh: unknown planted fault '$planted'" >&2; exit 2 ;;
esac
for value in "$cycles" "$seed"; do
    [[ "$value" =~ ^[0-9]+$ ]] || { echo "cluster-test.sh: '$value' is not a whole number" >&2; exit 2; }
done
if [ "$(id -u)" -ne 0 ]; then
    echo "cluster-test.sh: SKIP: needs root (network namespaces, veth pairs, iptables)"
    exit 77
fi
for tool in ip nsenter iptables curl; do
    if ! command -v "$tool" >/dev/null; then
        echo "cluster-test.sh: SKIP: '$tool' not found (scripts/setup-deps.sh installs it)"
        exit 77
    fi
done

bin=$(realpath "${EXCHANGED_BIN_DIR:-build/bin}")
export EXCHANGED_BIN_DIR=$bin
if [ "$build" = 1 ]; then
    ./scripts/build.sh release exchanged exchangectl >/dev/null || exit 1
fi
work=$(mktemp -d /tmp/exchanged-cluster-test.XXXXXX)
prefix=c$$
state=$work/cluster
# shellcheck source=cluster-checks.sh
. scripts/cluster-checks.sh
cleanup() {
    nc down >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
# A signal (ctest's timeout, Ctrl-C) exits through the EXIT trap too: no namespace is left behind.
trap 'exit 130' INT TERM

# The current leader (a node number) and its epoch, in files: a promotion changes them, and every
# later fault and the final checks take them from there.
leader() { cat "$work/leader"; }
epoch() { cat "$work/epoch"; }
followers() { for node in 1 2 3; do [ "$node" = "$(leader)" ] || echo "$node"; done; }
follower_at() { followers | sed -n "${1}p"; }  # SLOT (1 or 2): the first or second follower
configs() { echo "$state/config/node1.ini,$state/config/node2.ini,$state/config/node3.ini"; }
# Not grep -q: it stops reading at the first match, and under pipefail the writer's SIGPIPE then
# makes the whole pipeline false (a down node read as up).
is_down() { nc status | grep "^node $1: .*: down" >/dev/null; }

# Loads, one per leader term: "PID JOURNAL NODE EPOCH" in $work/loads. A load whose leader was
# killed or deposed ends with "connection lost" (exit 3); the final leader's must end cleanly.
load_for() {  # NODE ORDERS [RATE]
    local journal
    journal=$work/acks-$(($(wc -l <"$work/loads") + 1)).journal
    # Client order ids of each load in a range of their own: the journals are checked together.
    start_load_on "$1" "$journal" "$2" "$state/config/node$1.ini" --connections 2 \
        --rate "${3:-1000}" --timeout 30 --id-base "$((($(wc -l <"$work/loads") + 1) * 10000000))"
    echo "$! $journal $1 $(epoch)" >>"$work/loads"
}
# Orders for the rest of the cycle's load time (at 1000/s), at least 500.
orders_left() {
    local left=$(($(cat "$work/load_end_ms") - $(date +%s%3N)))
    [ "$left" -gt 500 ] && echo "$left" || echo 500
}

# `exchangectl cluster promote NODE` in that node's namespace (it reaches the nodes that are
# up and not cut off from it); on success NODE leads the epoch it names.
# A candidate whose log is shorter than another's of a newer term (say a node just re-synced from
# empty) is refused, naming the node to promote instead: that one is promoted, as an operator
# would.
promote() {  # NODE
    if ! nsenter --net="/run/netns/exn-$prefix-$1" -- "$bin/exchangectl" cluster promote "$1" \
        --config "$(configs)" --timeout 2 "${promote_flags[@]}" >"$work/promote.out" 2>&1; then
        local instead
        instead=$(grep -o 'promote node [0-9] instead' "$work/promote.out" | grep -o '[0-9]')
        if [ -n "$instead" ] && [ "$instead" != "$1" ]; then
            echo "    node $1 refused: $(grep -o 'holds a shorter log ([^)]*)' "$work/promote.out"); promoting node $instead instead"
            promote "$instead"
            return
        fi
        echo "  cluster promote $1 failed: $(tail -n 1 "$work/promote.out")" >&2
        return 1
    fi
    local epoch
    epoch=$(grep -o 'leads epoch [0-9]*' "$work/promote.out" | grep -o '[0-9]*$')
    [ -n "$epoch" ] || { echo "  cluster promote $1 named no epoch" >&2; return 1; }
    echo "$1" >"$work/leader"
    echo "$epoch" >"$work/epoch"
    echo "    promoted node $1: $(grep -c . "$work/promote.out") lines, leads epoch $epoch$(
        grep -o ', node [0-9] fetched.*' "$work/promote.out")"
    # Every other node's profile as an operator sets it: a follower of this epoch, naming the
    # new leader. A node restarted later (the old leader above all) rejoins as a follower.
    local node ini
    for node in $(followers); do
        ini=$state/config/node$node.ini
        sed -i -e 's/^role = .*/role = follower/' -e "s/^epoch = .*/epoch = $epoch/" \
            -e '/^ack_after = quorum/d' -e '/^leader_client = /d' "$ini" &&
            sed -i "/^role = follower/a leader_client = $(client_address "$1")" "$ini" || return 1
    done
}

# The WAL of a leader that has stopped leading (it is dead), kept for the epoch check with the
# loads of its term: $work/retired lists "NODE EPOCH COPY".
retire() {  # NODE EPOCH
    local copy=$work/leader-$1-e$2
    mkdir -p "$copy" && cp -a "$state/node$1/wal" "$copy/wal" || return 1
    echo "$1 $2 $copy" >>"$work/retired"
}

# The old leader back as a follower of the new epoch (its profile rewritten by promote): its
# log may end with records no majority held, which divergence repair cuts. Its store holds only
# what a majority held (a leader acknowledging after the quorum stores nothing beyond it), so the
# cut never goes below what its standby applied; if it did, the follower would stop ("below the
# applied LSN", docs/replication.md "A cut under the standby") and the cycle fails.
rejoin() {  # NODE
    local node=$1 lines
    lines=$(wc -l <"$state/node$node.log")
    nc start "$node" "${rejoin_flags[@]}" >/dev/null || {
        echo "  node $node did not restart as a follower: $(tail -n 2 "$state/node$node.log")" >&2
        return 1
    }
    # The cut comes with the new leader's first connection, within a second of the start.
    for _ in $(seq 20); do
        if tail -n +"$((lines + 1))" "$state/node$node.log" | grep 'below the applied LSN' >/dev/null; then
            echo "  FAIL: node $node's store was ahead of the divergence cut ($(tail -n +"$((lines + 1))" \
                "$state/node$node.log" | grep -o 'cutting LSN [0-9.]*' | tail -n 1))" >&2
            return 1
        fi
        is_down "$node" && break
        sleep 0.1
    done
    is_down "$node" || return 0
    echo "  node $node stopped after its restart as a follower: $(tail -n 1 "$state/node$node.log")" >&2
    return 1
}

# Faults the schedules draw from, one function each: SLOT (the first or second follower of the
# current leader, in node order) and SECONDS come from the seed.
faults=(kill_follower isolate_follower pause_follower isolate_leader kill_leader
    partition_leader_promote resync_follower)
fault_kill_follower() {
    local node
    node=$(follower_at "$1")
    nc kill "$node" && sleep "$2" && nc start "$node" >/dev/null
}
fault_isolate_follower() {
    nc isolate "$(follower_at "$1")" && sleep "$2" && nc heal
}
fault_pause_follower() {
    local node
    node=$(follower_at "$1")
    nc pause "$node" && sleep "$2" && nc resume "$node"
}
# While the leader is cut off, the followers' WALs are all that a majority holds: copies taken just
# before the heal must hold every order acknowledged before it (checked at the end of the cycle,
# when the journals are complete).
fault_isolate_leader() {
    local copies node
    copies=$work/cut$(find "$work" -maxdepth 1 -name 'cut*' | wc -l)
    nc isolate "$(leader)" && sleep "$2" || return 1
    for node in $(followers); do
        copy_follower_wal "$node" "$copies/copy$node" || return 1
        echo "$node" >>"$copies/nodes"
    done
    now_us >"$copies/healed"
    nc heal
}
# kill -9 of the leader; the follower in SLOT promoted (fetching from the other if that one's
# log is longer); load on it for SECONDS; the old leader restarted as a follower.
fault_kill_leader() {
    local old old_epoch candidate
    old=$(leader) old_epoch=$(epoch) candidate=$(follower_at "$1")
    nc kill "$old" && retire "$old" "$old_epoch" && promote "$candidate" || return 1
    load_for "$(leader)" "$(orders_left)"
    sleep "$2"
    rejoin "$old"
}
# The leader cut off from both followers; the follower in SLOT promoted on the majority side
# and loaded for SECONDS while the old leader still runs (it holds what its clients send: no
# majority); healed, the old leader learns of the new epoch from the follower that serves the new
# leader (it turns the old one's redials away naming its epoch), is deposed, and steps down to
# follow in the same process; then it is killed (its WAL kept for the epoch check: it must have
# acknowledged nothing of its cut-off tail) and restarted as a follower, and divergence repair
# cuts that tail (if its in-process follower run had not already).
fault_partition_leader_promote() {
    local old old_epoch candidate lines deadline
    old=$(leader) old_epoch=$(epoch) candidate=$(follower_at "$1")
    nc isolate "$old" && sleep 1 && promote "$candidate" || { nc heal; return 1; }
    load_for "$(leader)" "$(orders_left)"
    sleep "$2"
    lines=$(wc -l <"$state/node$old.log")
    nc heal
    # A deadline, not a count of polls: the old leader redials with a backoff of up to 1 s.
    deadline=$((SECONDS + 10))
    while [ "$SECONDS" -lt "$deadline" ]; do
        tail -n +"$((lines + 1))" "$state/node$old.log" |
            grep "stepped down from epoch $old_epoch" >/dev/null && break
        sleep 0.1
    done
    if ! tail -n +"$((lines + 1))" "$state/node$old.log" |
        grep "stepped down from epoch $old_epoch" >/dev/null; then
        echo "  FAIL: node $old did not step down within 10 s of the heal (it would stay held, refusing its clients, until restarted): $(tail -n +"$((lines + 1))" "$state/node$old.log" | grep -E 'deposed|serves another' | tail -n 1)"
        nc kill "$old" >/dev/null 2>&1
        retire "$old" "$old_epoch"
        rejoin "$old"
        return 1
    fi
    echo "    node $old stepped down at the heal and follows epoch $(epoch)"
    if ! is_down "$old"; then
        nc kill "$old" || return 1
    fi
    retire "$old" "$old_epoch" && rejoin "$old"
}

# kill -9 of the follower in SLOT, then a burst of orders until the leader has released segments
# it needs (the cycle's profile keeps nothing for followers): the leader marks it out of date.
# Restarted after SECONDS at least, it must re-sync by snapshot, which is checked in the logs: the
# leader's warn line and "sending a snapshot", the follower's "snapshot: store at LSN S installed".
# Catching up alone would not show it: a follower fed from the leader's WAL files catches up too.
fault_resync_follower() {
    local node leader leader_lines node_lines out_of_date installed killed_ms marked_ms marked_lsn
    node=$(follower_at "$1") leader=$(leader)
    leader_lines=$(wc -l <"$state/node$leader.log")
    nc kill "$node" || return 1
    killed_ms=$(date +%s%3N)
    # A 1 MiB segment holds about 12000 records: with the cycle's load, 2.5 s of these pass the
    # follower's segment (the cycle's load alone would within 12 s). The cycle's load goes on
    # while the follower restarts and installs, and is streamed to it after the snapshot.
    load_for "$leader" 15000 6000
    if ! wait_metric_at_least "$leader" "exchanged_replication_follower_out_of_date{node=\"$node\"}" 1 20; then
        echo "  FAIL: a follower did not re-sync by snapshot: node $leader never marked node $node out of date (20 s of orders)"
        nc start "$node" >/dev/null
        return 1
    fi
    marked_ms=$(date +%s%3N) marked_lsn=$(durable "$leader")
    out_of_date=$(tail -n +"$((leader_lines + 1))" "$state/node$leader.log" |
        grep -o "follower $node (acked LSN [0-9]*) is out of date" | head -n 1)
    local whole=${2%%.*} tenths
    tenths=${2#"$whole"} && tenths=${tenths#.} && tenths=${tenths:0:1}
    while [ "$(date +%s%3N)" -lt "$((killed_ms + whole * 1000 + ${tenths:-0} * 100))" ]; do
        sleep 0.1
    done
    node_lines=$(wc -l <"$state/node$node.log")
    nc start "$node" "${resync_flags[@]}" >/dev/null || return 1
    # A deadline, not a count of polls: a starved machine stretches each poll.
    local deadline=$((SECONDS + resync_seconds))
    while [ "$SECONDS" -lt "$deadline" ]; do
        installed=$(tail -n +"$((node_lines + 1))" "$state/node$node.log" |
            grep -o 'snapshot: store at LSN [0-9]* installed, WAL reopened at LSN [0-9]*' | head -n 1)
        [ -n "$installed" ] && break
        sleep 0.1
    done
    local sent
    sent=$(tail -n +"$((leader_lines + 1))" "$state/node$leader.log" |
        grep -c "follower $node ([^)]*): sending a snapshot")
    if [ -z "$out_of_date" ] || [ "$sent" = 0 ] || [ -z "$installed" ]; then
        echo "  FAIL: a follower did not re-sync by snapshot: node $node: ${out_of_date:-no out-of-date line on node $leader}; $sent snapshot(s) sent; ${installed:-none installed in ${resync_seconds} s}"
        # Stopped: the leader would make it a snapshot several times a second, starving both
        # cores. The end of the cycle restarts it as a follower.
        nc kill "$node" >/dev/null 2>&1
        return 1
    fi
    echo "    node $node re-synced by snapshot: $out_of_date on node $leader" \
        "$(((marked_ms - killed_ms) / 100 / 10)).$(((marked_ms - killed_ms) / 100 % 10)) s after the kill" \
        "(the leader at LSN $marked_lsn then), $sent sent, $installed"
}

# The cycle's schedule from its seed: lines "FAULT SLOT SECONDS".
schedule_for() {  # SEED
    if [ -n "$fixed_schedule" ]; then
        tr ';' '\n' <<<"$fixed_schedule" | sed -e 's/^ *//' -e '/^$/d'
        return
    fi
    RANDOM=$1
    local steps=$((2 + RANDOM % 3)) fault slot tenths
    for _ in $(seq "$steps"); do
        fault=${faults[RANDOM % ${#faults[@]}]}
        slot=$((1 + RANDOM % 2))
        tenths=$((5 + RANDOM % 21))  # 0.5 to 2.5 s
        echo "$fault $slot $((tenths / 10)).$((tenths % 10))"
    done
}

describe() {  # SCHEDULE
    local text=
    while read -r fault slot seconds; do
        text+="${text:+; }$fault $slot $seconds"
    done <<<"$1"
    echo "$text"
}

run_cycle() {  # CYCLE_SEED: returns 0 when every check passed; prints why not
    local cycle_seed=$1 schedule total=0 status=0 started
    schedule=$(schedule_for "$cycle_seed")
    echo "  schedule: $(describe "$schedule")"
    started=$SECONDS
    local profile=(--segment-bytes 8388608)
    if grep -q '^resync_follower ' <<<"$schedule"; then
        profile=(--segment-bytes 1048576
            --edit 's/^\[replication\]$/[replication]\nfollower_retention_bytes = 0/')
        echo "  profile: 1 MiB WAL segments, follower_retention_bytes = 0 (resync_follower)"
    fi
    if ! nc up --no-build --max-orders 131072 "${profile[@]}" "${leader_flags[@]}" \
        >"$work/up.out" 2>&1; then
        echo "  the cluster did not start: $(tail -n 3 "$work/up.out")"
        return 1
    fi
    echo 1 >"$work/leader"
    echo 1 >"$work/epoch"
    : >"$work/loads"
    : >"$work/retired"
    local fault slot seconds
    while read -r fault _ seconds; do
        total=$((total + ${seconds%.*} + 1))
        # A re-sync takes longer than its pause (the burst, the restart, the snapshot): the load
        # goes on meanwhile, so the follower also streams records after its install.
        [ "$fault" = resync_follower ] && total=$((total + 6))
    done <<<"$schedule"
    # Orders for the schedule and 2 s either side; held orders wait at most a partition plus TCP's
    # retransmission back-off, well inside the timeout. A promotion starts a load on the new
    # leader for what is left of that time.
    echo $(($(date +%s%3N) + (total + 4) * 1000)) >"$work/load_end_ms"
    load_for 1 $(((total + 4) * 1000))
    sleep 2
    while read -r fault slot seconds; do
        echo "    $fault: leader node $(leader), follower $slot is node $(follower_at "$slot"), ${seconds}s"
        if ! "fault_$fault" "$slot" "$seconds"; then
            echo "  FAIL: the fault '$fault $slot' could not be applied"
            status=1
        fi
        sleep 0.3
    done <<<"$schedule"
    nc heal
    local node pid journal load_node load_epoch final
    final=$(leader)
    for node in $(followers); do
        nc resume "$node" 2>/dev/null
        is_down "$node" && rejoin "$node"
    done
    while read -r pid journal load_node load_epoch; do
        wait "$pid"
        code=$?
        # Only the load of the final leader's term must end cleanly.
        if [ "$code" != 0 ] && { [ "$load_node $load_epoch" = "$final $(epoch)" ] ||
            [ "$code" != 3 ]; }; then
            echo "  FAIL: the load on node $load_node (epoch $load_epoch) did not finish (exit $code): $(tail -n 1 "$journal.out")"
            status=1
        fi
        echo "  load on node $load_node (epoch $load_epoch): $(grep 'sent ' "$journal.out" | tail -n 1 | sed 's/^ *//')"
    done <"$work/loads"
    if ! wait_caught_up "$catch_up_seconds" "$final"; then
        echo "  FAIL: the followers did not catch up"
        status=1
    fi
    for node in 1 2 3; do nc kill "$node" >/dev/null 2>&1 & done
    wait
    # Every journal together: client order ids differ between loads.
    local all=$work/all.journal
    cut -d ' ' -f 2 "$work/loads" | xargs cat >"$all"
    # The final leader's log holds every journal; the followers' logs are checked equal to it
    # below (wal compare, after they caught up), so they hold them too.
    copy_data_dir "$state/node$final" "$work/copy$final"
    if ! verify_copy "$final" "$work/copy$final" "$all"; then
        echo "  FAIL: the leader (node $final) lost acknowledged orders"
        status=1
    fi
    local cut held
    for cut in "$work"/cut*; do
        [ -d "$cut" ] || continue
        journal_until "$all" "$(cat "$cut/healed")" >"$cut/until-heal.journal"
        held=
        for node in $(cat "$cut/nodes"); do
            verify_copy "$node" "$cut/copy$node" "$cut/until-heal.journal" && held=1 && break
        done
        if [ -z "$held" ]; then
            echo "  FAIL: an order acknowledged while the leader was cut off ($(basename "$cut")) is on no follower"
            status=1
        fi
    done
    local others=()
    for node in $(followers); do others+=("$state/node$node"); done
    if ! compare_logs "$state/node$final" "${others[@]}"; then
        echo "  FAIL: a follower's log differs from the leader's"
        status=1
    fi
    state_hashes_equal "$state/config/node$final.ini" "$state/node1" "$state/node2" "$state/node3"
    case $? in
        0) ;;
        2)
            echo "  FAIL: no LSN at which every log's state can be compared"
            status=1 ;;
        *)
            echo "  FAIL: state hashes differ at an equal LSN"
            status=1 ;;
    esac
    # Each leader's loads against its own log (the retired leaders' copies, the final leader's
    # data directory) and the final leader's log.
    echo "$final $(epoch) $state/node$final" >>"$work/retired"
    local copy leader_node leader_epoch epochs_ok=1
    while read -r leader_node leader_epoch copy; do
        while read -r pid journal load_node load_epoch; do
            [ "$load_node" = "$leader_node" ] && [ "$load_epoch" = "$leader_epoch" ] || continue
            echo "  node $leader_node's acks in epoch $leader_epoch against node $final's log:"
            no_lsn_under_two_epochs "$state/config/node$final.ini" "$state/node$final" "$copy" \
                "$journal" || epochs_ok=0
        done <"$work/loads"
    done <"$work/retired"
    if [ "$epochs_ok" = 0 ]; then
        echo "  FAIL: an LSN was acknowledged under two epochs"
        status=1
    fi
    echo "  cycle time: $((SECONDS - started)) s"
    return $status
}

passed=0 failed=0
echo "cluster-test: $cycles cycle(s), seed $seed"
for cycle in $(seq "$cycles"); do
    cycle_seed=$((seed + cycle - 1))
    echo "== cycle $cycle (seed $cycle_seed)"
    if run_cycle "$cycle_seed"; then
        passed=$((passed + 1))
        echo "  cycle $cycle: PASS"
    else
        failed=$((failed + 1))
        echo "  cycle $cycle: FAIL (seed $cycle_seed: $(describe "$(schedule_for "$cycle_seed")"))"
        echo "  rerun: scripts/cluster-test.sh --cycles 1 --seed $cycle_seed${planted:+ --planted-fault $planted}${fixed_schedule:+ --schedule '$fixed_schedule'}"
        if [ "$keep" = 1 ]; then
            cp -a "$work" "$work-cycle$cycle"
            echo "  kept: $work-cycle$cycle"
        fi
    fi
    nc down >/dev/null 2>&1
    rm -rf "${work:?}"/*
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
