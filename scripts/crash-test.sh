#!/usr/bin/env bash
# The seed's scenario 1 made real: start the daemon, drive it with `exchangectl load` (journal on),
# SIGKILL it at a random moment while orders are in flight, recover, check, restart, continue;
# N cycles on one data directory and one journal. After each cycle:
#   - `exchanged --recover` reports ok;
#   - `exchangectl store verify`: every acknowledged order and fill of every cycle so far is in the
#     store, with the same fields, and no trade id is journaled twice;
#   - `exchangectl reconcile`: the store equals a replay of the WAL row by row (the replayed state
#     is the one the daemon had), no book is crossed, each order's executed quantity equals its
#     trades, and the accounts' positions (quantities and cash) agree between store, replay and
#     journal;
#   - after the restart, `exchangectl verify`: the live daemon knows every acknowledgement.
# Prints one line per cycle and `N passed, M failed`; exits non-zero on any failure.
#   scripts/crash-test.sh [--profile standard|regulatory] [--cycles N] [--seed S]
#                         [--orders N] [--rate R]
# The seed fixes the kill moments and the order flow's seed; the seed of a run is printed first.
set -uo pipefail

profile=standard cycles=3 seed=$((RANDOM * 32768 + RANDOM)) orders=200000 rate=50000
usage() {
    echo "usage: scripts/crash-test.sh [--profile standard|regulatory] [--cycles N] [--seed S]" \
        "[--orders N] [--rate R]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
        --profile) profile=${2:-} ;;
        --cycles) cycles=${2:-} ;;
        --seed) seed=${2:-} ;;
        --orders) orders=${2:-} ;;
        --rate) rate=${2:-} ;;
        *) usage ;;
    esac
    shift 2 || usage
done
for number in "$cycles" "$seed" "$orders" "$rate"; do
    [[ $number =~ ^[0-9]+$ ]] || usage
done
case $profile in
    standard | regulatory) ;;
    hft)
        echo "crash-test: hft keeps no WAL, so acknowledged orders inside its loss window may be" \
            "lost; checking them against that window is not built yet (issue 6)" >&2
        exit 2
        ;;
    *) echo "crash-test: unknown profile '$profile'" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
if [ ! -x build/bin/exchanged ] || [ ! -x build/bin/exchangectl ]; then
    { ./scripts/setup-deps.sh && ./scripts/build.sh release exchanged exchangectl; } >&2 || exit 1
fi
config=config/$profile.ini
dir=$(mktemp -d /tmp/exchanged-crash.XXXXXX)
daemon=
cleanup() {
    [ -n "$daemon" ] && kill -9 "$daemon" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
data=$dir/data journal=$dir/acks.journal
RANDOM=$seed
echo "crash-test: profile=$profile cycles=$cycles seed=$seed orders=$orders rate=$rate"

# start_daemon LOG: starts exchanged on a fresh port, waits for its ready line.
start_daemon() {
    port=$((20000 + RANDOM % 20000))
    build/bin/exchanged --config "$config" --data-dir "$data" --listen "127.0.0.1:$port" \
        --admin-listen 127.0.0.1:0 >"$1" 2>&1 &
    daemon=$!
    for _ in $(seq 600); do
        grep -q "ready:" "$1" && return 0
        kill -0 "$daemon" 2>/dev/null || break
        sleep 0.1
    done
    return 1
}

# check NAME COMMAND...: runs a check, keeps its output, and says what failed.
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

passed=0 failed=0
for cycle in $(seq "$cycles"); do
    why=
    if ! start_daemon "$dir/daemon-$cycle.log"; then
        why="the daemon did not start: $(tail -n 1 "$dir/daemon-$cycle.log")"
    elif [ "$cycle" -gt 1 ] && ! check "verify-live-$cycle" build/bin/exchangectl verify \
        --connect "127.0.0.1:$port" --journal "$journal" --config "$config"; then
        :
    else
        build/bin/exchangectl load --connect "127.0.0.1:$port" --orders "$orders" \
            --connections 2 --rate "$rate" --journal "$journal" --config "$config" \
            --seed "$((seed + cycle))" --json >"$dir/load-$cycle.json" 2>"$dir/load-$cycle.err" &
        load=$!
        # Kill between 0.2 and 1.5 s into the load: acknowledgements are flowing by then.
        sleep "$(awk -v r="$RANDOM" 'BEGIN {printf "%.3f", 0.2 + (r % 1300) / 1000}')"
        kill -9 "$daemon"
        wait "$daemon" 2>/dev/null
        daemon=
        wait "$load" 2>/dev/null
        if ! check "recover-$cycle" build/bin/exchanged --config "$config" --data-dir "$data" \
            --recover; then
            :
        elif ! check "store-verify-$cycle" build/bin/exchangectl store verify --journal "$journal" \
            --config "$config" --data-dir "$data"; then
            :
        elif ! check "reconcile-$cycle" build/bin/exchangectl reconcile --journal "$journal" \
            --config "$config" --data-dir "$data"; then
            :
        fi
    fi
    [ -n "$daemon" ] && { kill -9 "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; daemon=; }
    acked=$(grep -c '^accepted ' "$journal" 2>/dev/null || echo 0)
    if [ -z "$why" ]; then
        passed=$((passed + 1))
        echo "cycle $cycle: PASS ($acked orders acknowledged so far, all present)"
    else
        failed=$((failed + 1))
        echo "cycle $cycle: FAIL ($why; output kept in /tmp/crash-test-$seed-*)"
    fi
done

# After the last kill: the restarted daemon knows everything, and stops cleanly.
why=
if ! start_daemon "$dir/daemon-final.log"; then
    why="the daemon did not start after the last cycle"
elif check verify-final build/bin/exchangectl verify --connect "127.0.0.1:$port" \
    --journal "$journal" --config "$config"; then
    kill -TERM "$daemon"
    wait "$daemon" || why="the final stop did not exit 0"
    daemon=
fi
if [ -z "$why" ]; then
    passed=$((passed + 1))
    echo "final restart: PASS"
else
    failed=$((failed + 1))
    echo "final restart: FAIL ($why)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
