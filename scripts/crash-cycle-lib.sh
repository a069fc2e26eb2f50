# shellcheck shell=bash
# shellcheck disable=SC2034 # `why` is the caller's
# Sourced, not run: what the kill -9 cycles share, scripts/crash-test.sh (one daemon) and
# scripts/cluster-crash-test.sh (a three-node cluster): the load a cycle kills under, the moment it
# kills, how the load's end is judged, the checks' bookkeeping, and the summary lines that
# scripts/bench-modes.sh reads. The caller runs from the checkout's root (binaries in $bin, default
# build/bin), has seeded RANDOM with its seed and set `dir` (its scratch directory), `seed`,
# `orders`, `rate` and `mix`.

# check NAME COMMAND...: runs a check, keeps its output in $dir/NAME.out, and says what failed
# (sets `why` to its last line, and keeps a copy in /tmp/crash-test-SEED-NAME.out).
check() {
    local name=$1
    shift
    if "$@" >"$dir/$name.out" 2>&1; then
        return 0
    fi
    why="$name failed: $(tail -n 1 "$dir/$name.out")"
    cp "$dir/$name.out" "/tmp/crash-test-$seed-$name.out" 2>/dev/null
    return 1
}

# start_cycle_load ADDRESS CONFIG CYCLE: `exchangectl load` of the cycle (2 connections, the mix,
# seed + CYCLE) in the background, journal $dir/run-CYCLE.journal, output load-CYCLE.{json,err};
# $load is its pid.
start_cycle_load() {
    "${bin:-build/bin}/exchangectl" load --connect "$1" --orders "$orders" --connections 2 \
        --rate "$rate" --journal "$dir/run-$3.journal" --config "$2" --seed "$((seed + $3))" \
        --mix "$mix" --json >"$dir/load-$3.json" 2>"$dir/load-$3.err" &
    load=$!
}

# wait_kill_moment CYCLE: returns between 0.2 and 1.5 s (drawn from RANDOM) after the cycle's
# first acknowledgement. Counting from the load's start instead, a loaded machine could kill the
# daemon before the sessions had logged in (seen at load average 9), a cycle that tests nothing
# and fails as a load error.
wait_kill_moment() {
    for _ in $(seq 300); do
        grep -qs '^accepted ' "$dir/run-$1.journal" && break
        kill -0 "$load" 2>/dev/null || break
        sleep 0.05
    done
    sleep "$(awk -v r="$RANDOM" 'BEGIN {printf "%.3f", 0.2 + (r % 1300) / 1000}')"
}

# judge_load STATUS CYCLE: sets `why` when the load of the cycle ended otherwise than a kill ends
# it (3: the connection was lost; 0: it finished first), or when it had nothing acknowledged.
judge_load() {
    local acked
    acked=$(grep -c '^accepted ' "$dir/run-$2.journal" 2>/dev/null)
    if [ "$1" -ne 0 ] && [ "$1" -ne 3 ]; then
        why="exchangectl load exited $1: $(tail -n 1 "$dir/load-$2.err")"
        cp "$dir/load-$2.err" "/tmp/crash-test-$seed-load-$2.err" 2>/dev/null
    elif [ "${acked:-0}" -eq 0 ]; then
        why="nothing was acknowledged before the kill: $(tail -n 1 "$dir/load-$2.err")"
    fi
}

# journal_until JOURNAL TO_US: the journal as it stood at TO_US (microseconds): each account's
# lines up to its first one the client read later (at_us). A line without at_us (replace_sent,
# written as the request left) stays while its account's later lines do.
journal_until() {
    awk -v to="$2" '{
        account = ""; at = ""
        for (i = 2; i <= NF; i++) {
            if ($i ~ /^account=/) account = substr($i, 9)
            else if ($i ~ /^at_us=/) at = substr($i, 7)
        }
        if (account in past) next
        if (at != "" && at + 0 > to) { past[account] = 1; next }
        print
    }' "$1"
}

# alive PID: the process runs; a zombie does not (daemons started by a script that exited are
# adopted by whoever is PID 1, which may reap them late).
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null || return 0
    # A zombie main thread whose other threads are still exiting holds the sockets yet.
    [ "$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" -gt 1 ]
}

# print_totals LOST ACKED CYCLES WORST_MS PASSED FAILED: the last two lines of a run.
print_totals() {
    echo "acknowledged orders lost: $1 of $2 over $3 kill -9 cycles;" \
        "worst cycle $4 ms of acked flow"
    echo "$5 passed, $6 failed"
}
