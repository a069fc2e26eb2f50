# shellcheck shell=bash
# Sourced by scripts/cluster-nemesis.sh: the checks of acknowledged orders against the epochs of
# their records, over a log set where leaders changed on their own (etcd), so no script knows which
# term acknowledged what. The caller sets `bin`. Each acknowledged order is found by its
# (account id, client order id) in `exchangectl wal orders` of a log: the LSN and the epoch of its
# NewOrder record. Client order ids are never reused across the journals, so each order has one
# record.

# `wal orders` of DATA_DIR (or of DATA_DIR/wal) into OUT; prints why on failure.
wal_orders_into() {  # DATA_DIR OUT
    "$bin/exchangectl" wal orders "$1" >"$2" 2>"$2.err" && return 0
    echo "  wal orders $1 failed: $(tail -n 1 "$2.err")"
    return 1
}

# The awk preamble both checks share: field() and the journal's acknowledged orders as keys
# "account_id:client_order_id" (the profile maps names to ids), each with the time its reply
# arrived.
nemesis_awk_lib='
function field(name,   i) {
    for (i = 1; i <= NF; i++) if (index($i, name "=") == 1) return substr($i, length(name) + 2)
    return ""
}
# When the reply reached the client: the kernel arrival stamp (rx_us), else the read (at_us).
function arrival(   t) {
    t = field("rx_us")
    return t != "" ? t : field("at_us")
}
function read_profile_and_journal() {
    if (FILENAME == ARGV[1]) {
        if ($0 ~ /^\[/) section = $0
        else if (section == "[accounts]" && $2 == "=" && $3 ~ /^id=/) id[$1] = substr($3, 4)
        return 1
    }
    if (FILENAME == ARGV[2]) {
        if ($1 == "accepted") { key = id[field("account")] ":" field("client_order_id"); if (!(key in acked)) nacked++; acked[key] = arrival() }
        return 1
    }
    return 0
}'

# No LSN acknowledged under two epochs: every acknowledged order whose NewOrder record is in one of
# the COPY directories (WALs of killed nodes taken before their restart, and each node's log as
# it ended) must be at the same LSN
# with the same epoch and bytes in the final log; an acknowledged order missing from the final
# log fails too (the loss check says which orders).
acks_keep_their_lsn() {  # CONFIG FINAL_DIR JOURNAL [COPY...]
    local config=$1 final=$2 journal=$3 copy orders=()
    shift 3
    wal_orders_into "$final" "$final.orders" || return 1
    for copy in "$@"; do
        [ -d "$copy" ] || continue
        wal_orders_into "$copy" "$copy.orders" || return 1
        orders+=("$copy.orders")
    done
    awk "$nemesis_awk_lib"'
        read_profile_and_journal() { next }
        FILENAME == ARGV[3] {  # the final log
            lsn = field("lsn"); final_epoch[lsn] = field("epoch"); final_bytes[lsn] = field("payload")
            if (field("command") == "0") final_at[field("account") ":" field("client_order_id")] = lsn
            next
        }
        field("command") == "0" {  # a copy
            key = field("account") ":" field("client_order_id")
            if (!(key in acked)) next
            copies++
            n = field("lsn")
            if (!(n in final_epoch) || final_epoch[n] != field("epoch") || final_bytes[n] != field("payload")) {
                bad++
                if (bad <= 3) print "    LSN " n " acknowledged under epoch " field("epoch") " (order " key ", in " FILENAME ") holds " ((n in final_epoch) ? "epoch " final_epoch[n] "'"'"'s record" (final_bytes[n] == field("payload") ? "" : " (other bytes)") : "no command record") " in the final log"
            }
        }
        END {
            for (key in acked) if (!(key in final_at)) { missing++; if (missing <= 3) print "    order " key " (account:client_order_id) acknowledged, not in the final log" }
            printf "    %d acknowledged orders, %d records of them in %d logs checked: %d under two epochs, %d missing from the final log\n", nacked, copies, ARGC - 4, bad, missing
            exit (bad + missing) > 0
        }' "$config" "$journal" "$final.orders" "${orders[@]}"
}

# No two leaders acknowledging in overlapping terms. Each acknowledged order's term is the epoch of
# its NewOrder record (in the final log, else in a copy of a killed node's log), its time the
# time its reply reached the client (the journal's rx_us: the kernel's arrival stamp, which a
# client descheduled on a loaded machine cannot delay; at_us, the read, for a journal without it).
# For epochs E1 < E2 that both acknowledged, no ack of E1 may arrive more than MARGIN_MS after the
# first ack of E2. Prints each term's first and last ack.
terms_do_not_overlap() {  # CONFIG FINAL_DIR JOURNAL MARGIN_MS [COPY...]
    local config=$1 final=$2 journal=$3 margin_ms=$4 copy orders=()
    shift 4
    [ -f "$final.orders" ] || wal_orders_into "$final" "$final.orders" || return 1
    for copy in "$@"; do
        [ -d "$copy" ] || continue
        [ -f "$copy.orders" ] || wal_orders_into "$copy" "$copy.orders" || return 1
        orders+=("$copy.orders")
    done
    awk -v margin_us="$((margin_ms * 1000))" "$nemesis_awk_lib"'
        read_profile_and_journal() { next }
        field("command") == "0" {  # the final log first: its epoch wins
            key = field("account") ":" field("client_order_id")
            if ((key in acked) && !(key in term)) term[key] = field("epoch")
        }
        END {
            for (key in acked) {
                if (!(key in term)) { unknown++; continue }
                e = term[key] + 0; t = acked[key] + 0
                if (t == 0) continue  # a journal line without either stamp (an older writer)
                if (!(e in first) || t < first[e]) { first[e] = t; first_key[e] = key }
                if (!(e in last) || t > last[e]) { last[e] = t; last_key[e] = key }
                count[e]++
            }
            n = 0
            for (e in first) epochs[++n] = e + 0
            for (i = 2; i <= n; i++) { v = epochs[i]; for (j = i - 1; j >= 1 && epochs[j] > v; j--) epochs[j + 1] = epochs[j]; epochs[j + 1] = v }
            for (i = 1; i <= n; i++) {
                e = epochs[i]
                printf "    epoch %d: %d acks arrived from %.3f to %.3f\n", e, count[e], first[e] / 1e6, last[e] / 1e6
            }
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) {
                e1 = epochs[i]; e2 = epochs[j]
                if (last[e1] > first[e2] + margin_us) {
                    bad++
                    printf "    epoch %d acknowledged order %s at %.3f, %d ms after epoch %d'"'"'s first ack (order %s at %.3f; margin %d ms)\n", e1, last_key[e1], last[e1] / 1e6, (last[e1] - first[e2]) / 1000, e2, first_key[e2], first[e2] / 1e6, margin_us / 1000
                }
            }
            printf "    %d terms acknowledged, %d overlapping pairs%s\n", n, bad, unknown ? ", " unknown " acks with no record found (the loss check reports them)" : ""
            exit bad > 0
        }' "$config" "$journal" "$final.orders" "${orders[@]}"
}

# What each fault did to the clients: for each line "FAULT SLOT SECONDS START_US END_US" of FAULTS,
# the longest time without any acknowledgement (all clients together) that began between the
# fault's start and 10 s after its end (a gap that began before belongs to an earlier fault), among
# the acks that arrived (rx_us, else at_us) before CLIENTS_END_US (when the clients stopped).
# Printed, never failed on.
ack_gaps_per_fault() {  # FAULTS JOURNAL CLIENTS_END_US
    awk '/^accepted / { at = rx = ""; for (i = 2; i <= NF; i++) { if ($i ~ /^at_us=/) at = substr($i, 7); if ($i ~ /^rx_us=/) rx = substr($i, 7) }
        if (rx != "" || at != "") print (rx != "" ? rx : at) }' "$2" |
        sort -n >"$2.times"
    awk -v end="$3" 'FILENAME == ARGV[1] { if ($1 + 0 <= end + 0) t[++n] = $1 + 0; next }
        {
            from = $4 + 0; to = $5 + 10000000; longest = 0; at = 0
            for (i = 2; i <= n; i++) {
                if (t[i - 1] < from) continue
                if (t[i - 1] > to) break
                if (t[i] - t[i - 1] > longest) { longest = t[i] - t[i - 1]; at = t[i - 1] }
            }
            printf "    %s %s %s: the clients saw no ack for %d ms (from %.1f s after the fault began)\n", $1, $2, $3, longest / 1000, (at - from) / 1e6
        }' "$2.times" "$1"
}
