#!/usr/bin/env bash
# The seed's scenario 1 made real: start the daemon, drive it with `exchangectl load` (journal on),
# SIGKILL it at a random moment while orders are in flight, recover, check, restart, continue;
# N cycles on one data directory. After each cycle:
#   - `exchanged --recover` reports ok;
#   - `exchangectl store lost`: the cycle's journal against the recovered store. A profile with no
#     loss window (standard, regulatory) must have lost nothing; one that acknowledges at match
#     (hft, async) may lose only a tail of each session's acknowledgements, never a critical order
#     it acknowledged after the store, and no more than its window allows: at most
#     max_unflushed_ms (+ a tolerance) of acknowledged flow, measured from the journal's receive
#     times, and at most rate x that many orders plus one burst of the load's window. The lost lines are counted and left out of the
#     journal the later checks use, since the restart reuses their ids;
#   - `exchangectl store verify`: every kept acknowledged order and fill of every cycle so far is
#     in the store, with the same fields, and no trade id is journaled twice;
#   - `exchangectl reconcile`: the store equals a replay of the WAL row by row, the replay's state
#     hash equals the live one at every checkpoint (the profile runs with checkpoint_interval =
#     1000, so each cycle has many when checksums are on), no book is crossed, each order's executed quantity equals its
#     trades, and the accounts' positions (quantities and cash) agree between store, replay and
#     journal;
#   - after the restart, `exchangectl verify`: the live daemon knows every kept acknowledgement.
# A cycle also fails when `exchangectl load` fails for any reason other than the kill (exit 0 or 3,
# connection lost, are expected), and when nothing was acknowledged before the kill.
# The load mixes new orders with cancels and replaces of its own resting orders and mass cancels
# (--mix, as `exchangectl load --mix`; --mix new=1 sends new orders only), so every kind of reply
# is journaled and each is checked by store verify and verify after the kill.
# With a double_write profile (the Redis mirror), --kill redis kills -9 the profile's Redis (a
# scripts/redis-test-server.sh server in --redis-dir DIR) under load, requires the daemon's admin
# port to show it (exchanged_mirror_unavailable 1, /health 503), restarts Redis on its AOF while
# the daemon waits for it, then kills the daemon; --kill both kills Redis and the daemon together
# and restarts Redis. --kill redis-silent stops Redis answering writes (CLIENT PAUSE WRITE: its
# connections stay open, its replies never come, so acks are held at that moment) and leaves it so;
# the profile runs with redis_hold_limit_ms = 2000, and the daemon must exit 1 by itself within
# 10 s, logging that Redis did not answer, before Redis answers again for the checks. --kill daemon
# (the default) kills the daemon only.
# Prints one line per cycle, the acknowledged orders lost (count, and ms of acknowledged flow), and
# `N passed, M failed`; exits non-zero on any failure.
#   scripts/crash-test.sh [--profile hft|standard|regulatory | --config FILE] [--cycles N]
#                         [--seed S] [--orders N] [--rate R] [--mix SPEC] [--stated-ms MS]
#                         [--tolerance-ms MS] [--kill daemon|redis|both|redis-silent --redis-dir DIR]
# --stated-ms checks the loss against a window other than the profile's max_unflushed_ms (a test
# claims a smaller one to see the check fail); --tolerance-ms is store lost's (default 5).
# The seed fixes the kill moments and the order flow's seed; the seed of a run is printed first.
# A replicated profile (regulatory) runs scripts/cluster-crash-test.sh --profile FILE instead: the
# profile as the three nodes of a loopback cluster, kill -9 of the leader, a follower, all three.
set -uo pipefail

profile=standard config= cycles=3 seed=$((RANDOM * 32768 + RANDOM)) orders=200000 rate=50000
stated_ms= tolerance_ms= kill_target=daemon redis_dir=
mix=new=80,cancel=10,replace=8,mass_cancel=1
usage() {
    echo "usage: scripts/crash-test.sh [--profile hft|standard|regulatory | --config FILE]" \
        "[--cycles N] [--seed S] [--orders N] [--rate R] [--mix SPEC] [--stated-ms MS]" \
        "[--tolerance-ms MS] [--kill daemon|redis|both|redis-silent --redis-dir DIR]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
        --profile) profile=${2:-} ;;
        --config) config=${2:-} ;;
        --cycles) cycles=${2:-} ;;
        --seed) seed=${2:-} ;;
        --orders) orders=${2:-} ;;
        --rate) rate=${2:-} ;;
        --stated-ms) stated_ms=${2:-} ;;
        --tolerance-ms) tolerance_ms=${2:-} ;;
        --mix) mix=${2:-} ;;
        --kill) kill_target=${2:-} ;;
        --redis-dir) redis_dir=${2:-} ;;
        *) usage ;;
    esac
    shift 2 || usage
done
for number in "$cycles" "$seed" "$orders" "$rate" ${stated_ms:+"$stated_ms"} \
    ${tolerance_ms:+"$tolerance_ms"}; do
    [[ $number =~ ^[0-9]+$ ]] || usage
done
case $kill_target in
    daemon) ;;
    redis | both | redis-silent)
        [ -f "$redis_dir/address" ] || {
            echo "crash-test: --kill $kill_target needs --redis-dir DIR of a running" \
                "scripts/redis-test-server.sh server" >&2
            exit 2
        }
        redis_dir=$(realpath "$redis_dir")
        redis_address=$(cat "$redis_dir/address") ;;
    *) echo "crash-test: --kill takes daemon, redis, both or redis-silent" >&2; usage ;;
esac
# What store lost checks each cycle's loss against (the profile's window unless --stated-ms).
# The load runs 2 connections with its default window of 1024 unacknowledged orders each: behind
# its schedule on a loaded machine it catches up with up to 2048 orders at once.
lost_flags=(--rate "$rate" --burst 2048)
[ -n "$stated_ms" ] && lost_flags+=(--stated-ms "$stated_ms")
[ -n "$tolerance_ms" ] && lost_flags+=(--tolerance-ms "$tolerance_ms")
if [ -z "$config" ]; then
    case $profile in
        hft | standard | regulatory) config=config/$profile.ini ;;
        *) echo "crash-test: unknown profile '$profile'" >&2; exit 2 ;;
    esac
elif [ ! -r "$config" ]; then
    echo "crash-test: cannot read the profile '$config'" >&2
    exit 2
else
    config=$(realpath "$config")
fi

cd "$(dirname "$0")/.."
if [ ! -x build/bin/exchanged ] || [ ! -x build/bin/exchangectl ]; then
    { ./scripts/setup-deps.sh && ./scripts/build.sh release exchanged exchangectl; } >&2 || exit 1
fi
dir=$(mktemp -d /tmp/exchanged-crash.XXXXXX)
daemon=
cleanup() {
    [ -n "$daemon" ] && kill -9 "$daemon" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
data=$dir/data journal=$dir/acks.journal
: >"$journal"
RANDOM=$seed
if ! window=$(build/bin/exchanged --config "$config" --check-config 2>&1); then
    echo "crash-test: the profile does not load: $window" >&2
    exit 2
fi
# A replicated profile (config/regulatory.ini) runs as the three nodes of a loopback cluster, with
# the cluster's kill -9 cycle (leader, follower, all three in turn).
if ! grep -q '^  replication  off' <<<"$window"; then
    if [ "$kill_target" != daemon ] || [ -n "$stated_ms$tolerance_ms" ]; then
        echo "crash-test: a replicated profile runs scripts/cluster-crash-test.sh, which takes" \
            "no --kill, --stated-ms or --tolerance-ms" >&2
        exit 2
    fi
    rm -rf "$dir"
    trap - EXIT
    exec scripts/cluster-crash-test.sh --profile "$config" --cycles "$cycles" --seed "$seed" \
        --orders "$orders" --rate "$rate" --mix "$mix" --no-build
fi
window=$(sed -n 's/^  loss window  //p' <<<"$window")
echo "crash-test: config=$config cycles=$cycles seed=$seed orders=$orders rate=$rate mix=$mix"
echo "crash-test: loss window: $window${stated_ms:+ (checked against a stated $stated_ms ms)}"
# The profile as given, with a checkpoint (the live state hash, in the WAL) every 1000 commands.
awk '/^checkpoint_interval *=/ { next } { print } /^\[safety\]/ { print "checkpoint_interval = 1000" }' \
    "$config" >"$dir/profile.ini"
# --kill redis-silent: a short bound on the acks held for the silent Redis.
if [ "$kill_target" = redis-silent ]; then
    awk '/^redis_hold_limit_ms *=/ { next } { print }
        /^\[persistence\]/ { print "redis_hold_limit_ms = 2000" }' "$dir/profile.ini" >"$dir/held.ini" &&
        mv "$dir/held.ini" "$dir/profile.ini"
fi
config=$dir/profile.ini
# shellcheck source=crash-cycle-lib.sh
. scripts/crash-cycle-lib.sh

# start_daemon LOG: starts exchanged on a fresh port, waits for its ready line. --kill redis also
# opens the admin port (the next one) to watch Redis's absence on it.
start_daemon() {
    port=$((20000 + RANDOM % 20000))
    local admin=127.0.0.1:0
    [ "$kill_target" = redis ] && admin=127.0.0.1:$((port + 1))
    build/bin/exchanged --config "$config" --data-dir "$data" --listen "127.0.0.1:$port" \
        --admin-listen "$admin" >"$1" 2>&1 &
    daemon=$!
    for _ in $(seq 600); do
        grep -q "ready:" "$1" && return 0
        kill -0 "$daemon" 2>/dev/null || break
        sleep 0.1
    done
    return 1
}

# redis_down_shown LOG: with Redis killed, the daemon's admin port (from its ready line) reports
# it: exchanged_mirror_unavailable 1 on /metrics and 503 on /health, within about 5 s. Sets
# redis_down_why when it does not.
redis_down_shown() {
    local admin gauge='' health='' started=$SECONDS
    admin=$(sed -n 's/.*ready:.* admin=\([^ ]*\).*/\1/p' "$1" | tail -n 1)
    for _ in $(seq 30); do
        gauge=$(curl -s --max-time 1 "http://$admin/metrics" |
            awk '$1 == "exchanged_mirror_unavailable" { print $2 }')
        health=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$admin/health")
        [ "$gauge" = 1 ] && [ "$health" = 503 ] && return 0
        [ $((SECONDS - started)) -ge 5 ] && break
        sleep 0.1
    done
    redis_down_why="with Redis down the admin port $admin showed exchanged_mirror_unavailable"
    redis_down_why+=" '${gauge}' and /health '${health}' (wanted 1 and 503)"
}

# Kills what --kill names. Redis is always restarted on its AOF before recovery reads it.
kill_targets() {
    case $kill_target in
        daemon) kill -9 "$daemon" ;;
        redis)
            # The daemon holds the acks that wait for Redis and refuses new orders meanwhile (and
            # says so on its admin port); it resends once Redis is back, then dies too so that
            # recovery reads Redis.
            scripts/redis-test-server.sh kill "$redis_dir"
            local down_at=$SECONDS
            redis_down_shown "$1"
            [ $((SECONDS - down_at)) -lt 1 ] && sleep 0.5
            scripts/redis-test-server.sh restart "$redis_dir" >/dev/null
            sleep 0.5
            kill -9 "$daemon" ;;
        redis-silent)
            # Acks wait for the silent Redis until redis_hold_limit_ms; then the daemon must fail
            # by itself, dropping them, and exit 1. Redis answers again only for the checks.
            local redis_cli=(redis-cli -h "${redis_address%:*}" -p "${redis_address##*:}")
            "${redis_cli[@]}" CLIENT PAUSE 600000 WRITE >/dev/null
            local code=
            for _ in $(seq 100); do
                kill -0 "$daemon" 2>/dev/null || break
                sleep 0.1
            done
            if kill -0 "$daemon" 2>/dev/null; then
                kill -9 "$daemon"
                redis_down_why="with Redis silent the daemon did not exit within 10 s"
            else
                wait "$daemon"
                code=$?
                if [ "$code" -ne 1 ]; then
                    redis_down_why="with Redis silent the daemon exited $code, not 1"
                elif ! grep -q "mirror failed: Redis .* has not answered for" "$1"; then
                    redis_down_why="with Redis silent the daemon exited without the hold-limit line"
                fi
            fi
            [ -n "$redis_down_why" ] && cp "$1" "/tmp/crash-test-$seed-daemon-silent.log" 2>/dev/null
            "${redis_cli[@]}" CLIENT UNPAUSE >/dev/null ;;
        both)
            # The daemon first: Redis then holds the only copy of what the store lacked.
            kill -9 "$daemon"
            scripts/redis-test-server.sh kill "$redis_dir"
            scripts/redis-test-server.sh restart "$redis_dir" >/dev/null ;;
    esac
}

passed=0 failed=0 total_acked=0 total_lost=0 worst_ms=0
for cycle in $(seq "$cycles"); do
    why=
    if ! start_daemon "$dir/daemon-$cycle.log"; then
        why="the daemon did not start: $(tail -n 1 "$dir/daemon-$cycle.log")"
    elif [ "$cycle" -gt 1 ] && ! check "verify-live-$cycle" build/bin/exchangectl verify \
        --connect "127.0.0.1:$port" --journal "$journal" --config "$config"; then
        :
    else
        start_cycle_load "127.0.0.1:$port" "$config" "$cycle"
        wait_kill_moment "$cycle"
        redis_down_why=
        kill_targets "$dir/daemon-$cycle.log"
        wait "$daemon" 2>/dev/null
        daemon=
        wait "$load" 2>/dev/null
        load_status=$?
        judge_load "$load_status" "$cycle"
        if [ -n "$why" ]; then
            :
        elif [ -n "$redis_down_why" ]; then
            why=$redis_down_why
        elif [ "$kill_target" = redis ] && ! grep -q "mirror: Redis .* answers again" \
            "$dir/daemon-$cycle.log"; then
            # Otherwise the cycle never had acks wait for a dead Redis, and tests nothing more
            # than --kill daemon.
            why="the daemon did not log Redis going and coming back (no 'answers again' line)"
            cp "$dir/daemon-$cycle.log" "/tmp/crash-test-$seed-daemon-$cycle.log" 2>/dev/null
        fi
        if [ -n "$why" ]; then
            :
        elif ! check "recover-$cycle" build/bin/exchanged --config "$config" --data-dir "$data" \
            --recover; then
            :
        elif ! check "store-lost-$cycle" build/bin/exchangectl store lost \
            --journal "$dir/run-$cycle.journal" --kept "$dir/kept-$cycle.journal" \
            --config "$config" --data-dir "$data" "${lost_flags[@]}"; then
            :
        elif ! cat "$dir/kept-$cycle.journal" >>"$journal"; then
            why="could not append to $journal"
        elif ! check "store-verify-$cycle" build/bin/exchangectl store verify --journal "$journal" \
            --config "$config" --data-dir "$data"; then
            :
        elif ! check "reconcile-$cycle" build/bin/exchangectl reconcile --journal "$journal" \
            --config "$config" --data-dir "$data"; then
            :
        fi
    fi
    [ -n "$daemon" ] && { kill -9 "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; daemon=; }
    acked=$(grep -c '^accepted ' "$dir/run-$cycle.journal" 2>/dev/null)
    checkpoints=$(sed -n 's/.*(\([0-9]*\) checkpoints matched.*/\1/p' \
        "$dir/reconcile-$cycle.out" 2>/dev/null)
    lost=$(sed -n 's/^lost: \([0-9]*\) accepted orders.*/\1/p' "$dir/store-lost-$cycle.out" \
        2>/dev/null)
    lost_ms=$(sed -n 's/^lost in time: \([0-9.]*\) ms.*/\1/p' "$dir/store-lost-$cycle.out" \
        2>/dev/null)
    total_acked=$((total_acked + ${acked:-0})) total_lost=$((total_lost + ${lost:-0}))
    worst_ms=$(awk -v a="$worst_ms" -v b="${lost_ms:-0}" 'BEGIN { print (b > a ? b : a) }')
    if [ -z "$why" ]; then
        passed=$((passed + 1))
        echo "cycle $cycle: PASS (${acked:-0} orders acknowledged, ${lost:-0} of them" \
            "lost${lost_ms:+ over $lost_ms ms of acknowledged flow};" \
            "${checkpoints:-0} live state hashes matched by the replay)"
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
print_totals "$total_lost" "$total_acked" "$cycles" "$worst_ms" "$passed" "$failed"
[ "$failed" -eq 0 ]
