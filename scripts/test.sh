#!/usr/bin/env bash
# One command from a bare Debian 12 machine to the whole test suite: installs the packages, builds
# the Release tree, an AddressSanitizer+UBSan tree and a ThreadSanitizer tree (incrementally), then
# runs every test through ctest: all tests in Release and under ASan/UBSan, the concurrency tests
# under TSan, the protocol decoder's fuzz target (clang) for a bounded time, and a short kill -9
# crash cycle (scripts/crash-test.sh), the power-loss cycles (exchangectl crash power-loss), the
# mutation checks (power-loss with each test-only fault must fail) and the disk-corruption trials
# (scripts/corruption-test.sh), and seeded fault schedules over a replicated cluster in network
# namespaces (scripts/cluster-test.sh); `--long` runs many more. Ends with one line
# "N passed, M failed" and a non-zero exit on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

long=0
case "${1:-}" in
    "") ;;
    --long) long=1 ;;
    *) echo "usage: scripts/test.sh [--long]" >&2; exit 2 ;;
esac

# Seconds per phase, printed before the summary: CI keeps only the tail of a failed run's output,
# and the suite must stay within its time budget on a fresh 2-core machine.
phase_times=()
phase_start=$SECONDS
phase_done() {
    phase_times+=("$1 $((SECONDS - phase_start))s")
    phase_start=$SECONDS
}

./scripts/setup-deps.sh || exit 1

# The store tests also run against PostgreSQL: a throw-away server for this run, stopped on exit.
pg_dir=$(mktemp -d /tmp/exchanged-pg.XXXXXX) || exit 1
trap './scripts/pg-test-cluster.sh stop "$pg_dir" >/dev/null 2>&1 || rm -rf "$pg_dir"' EXIT
if ! EXCHANGED_TEST_POSTGRES_DSN=$(./scripts/pg-test-cluster.sh start "$pg_dir"); then
    echo "test.sh: could not start the PostgreSQL server the store tests need (see above)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
export EXCHANGED_TEST_POSTGRES_DSN
phase_done setup

passed=0
failed=0
skipped=0
status=0
failed_names=()
# The last lines each failed ctest test printed, repeated at the end of the output (CI keeps only
# its tail).
failure_tails=$(mktemp /tmp/exchanged-test-tails.XXXXXX) || exit 1

# run_suite NAME BUILD_DIR [ctest args...]
run_suite() {
    local name=$1 dir=$2
    shift 2
    local log="$dir/ctest-$name.log"
    echo "=== $name: ctest $*"
    ctest --test-dir "$dir" --output-on-failure --parallel "$(nproc)" "$@" 2>&1 | tee "$log"
    local summary
    summary=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
    if [ -z "$summary" ]; then
        echo "test.sh: $name ran no tests or ctest failed to start" >&2
        failed=$((failed + 1))
        status=1
        return
    fi
    local total fails
    total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$summary")
    fails=$(sed -E 's/.*, ([0-9]+) tests? failed.*/\1/' <<<"$summary")
    local skips
    skips=$(grep -c '\*\*\*Skipped' "$log" || true)
    passed=$((passed + total - fails - skips))
    failed=$((failed + fails))
    skipped=$((skipped + skips))
    [ "$fails" -eq 0 ] || status=1
    while IFS= read -r line; do
        failed_names+=("$name: ${line#"${line%%[![:space:]]*}"}")
    done < <(sed -n '/The following tests FAILED:/,$p' "$log" | grep -E '^\s+[0-9]+ - ')
    # A failed test's output follows its result line, up to the next test's Start or result: its
    # FAIL and error lines first (a script test prints its verdicts, then the logs), then its last
    # 15 lines.
    awk -v suite="$name" '
        /^ *Start +[0-9]+: / || /^[0-9]+\/[0-9]+ Test +#[0-9]+: / { if (n || f) flush(); in_fail = 0 }
        /^[0-9]+\/[0-9]+ Test +#[0-9]+: .*(\*\*\*Failed|\*\*\*Timeout|Exception|Not Run)/ {
            in_fail = 1; header = $0; n = 0; f = 0; next }
        /^[0-9]+% tests passed/ || /^The following tests FAILED:/ { if (n || f) flush(); in_fail = 0 }
        in_fail && /FAIL|FAILED|failed|[Ee]rror/ && f < 10 { verdicts[f++] = substr($0, 1, 300) }
        in_fail && !/^[0-9]+% tests passed/ && !/^The following tests FAILED:/ {
            lines[n++ % 15] = substr($0, 1, 300) }
        function flush(   i, start) {
            print "--- " suite ": " header
            for (i = 0; i < f; i++) print "  ! " verdicts[i]
            start = n > 15 ? n - 15 : 0
            for (i = start; i < n; i++) print "    " lines[i % 15]
            n = 0; f = 0
        }
        END { if (n || f) flush() }' "$log" >>"$failure_tails"
    phase_done "ctest-$name"
}

# Hits and misses of the compiler cache (empty without ccache): a build phase that takes minutes
# on CI says here whether its cache was cold.
ccache_counts() {
    command -v ccache >/dev/null 2>&1 || return 0
    ccache --print-stats 2>/dev/null | awk '
        $1 == "direct_cache_hit" || $1 == "preprocessed_cache_hit" { hits += $2 }
        $1 == "cache_miss" { misses = $2 }
        $1 == "cache_size_kibibyte" { kib = $2 }
        END { print hits + 0, misses + 0, kib + 0 }'
}

build_or_fail() {
    local before after
    before=$(ccache_counts)
    if ! ./scripts/build.sh "$@"; then
        echo "test.sh: the $1 build failed" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
    after=$(ccache_counts)
    local note=
    if [ -n "$before" ] && [ -n "$after" ]; then
        read -r h0 m0 _ <<<"$before"
        read -r h1 m1 kib <<<"$after"
        note=" (ccache: $((h1 - h0)) hits, $((m1 - m0)) misses, cache $((kib / 1024)) MiB)"
    fi
    phase_done "build-$1"
    phase_times[-1]+=$note
}

build_or_fail release
run_suite release build

build_or_fail asan
# Sanitizers make the long randomized tests slow; they still run, with the same assertions. The
# three-node cluster scenarios (label "cluster": several daemons, a minute each, one at a time)
# run in Release only; the replication code they drive runs under the sanitizers in the
# in-process tests (test_repl_link, test_repl_standby: a leader and followers over loopback).
# Also Release only: the tests of the throw-away server scripts (etcd, PostgreSQL), the alert
# firing in a real Prometheus, and the two backups under a load of 60,000 orders (a minute of the
# ASan run together); the daemon and backup code they drive runs under the sanitizers in the
# smaller daemon and backup tests.
asan_release_only='^(etcd_test_cluster_script|pg_test_cluster_script|ops_prometheus_alert_fires|backup under load: .*|backup of a PostgreSQL store under load: .*)$'
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite asan build-asan -LE cluster -E "$asan_release_only"

# Only the targets holding tests labelled "concurrency" need a ThreadSanitizer build.
build_or_fail tsan wal_concurrency_tests test_net_gateway exchanged test_engine_daemon test_store_flush \
    test_service_runner \
    test_ops_admin test_repl_link
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 run_suite tsan build-tsan -L concurrency

# The protocol decoder under libFuzzer for a bounded time (30 s); clang builds only that target.
build_or_fail fuzz fuzz_protocol_decoder
run_suite fuzz build-fuzz -L fuzz

# The crash cycle with real processes (scripts/crash-test.sh): kill -9 under load, recover, check
# the store against the journal and a WAL replay, restart. Short here; --long runs 20 cycles per
# profile.
run_crash_test() {
    echo "=== crash-test: $*"
    if ./scripts/crash-test.sh "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failed_names+=("crash-test $*")
        status=1
    fi
    phase_done "crash-test $2"
}
# run_scenario NAME COMMAND...: one more crash-safety scenario, counted as one test.
run_scenario() {
    local name=$1
    shift
    echo "=== $name: $*"
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failed_names+=("$name")
        status=1
    fi
    phase_done "$name"
}
# Scenario B, power loss on simulated storage (seeded, reproducible), and scenario C, disk
# corruption of a stopped daemon's WAL and store, with the salvage paths.
if [ "$long" = 1 ]; then
    run_scenario power-loss build/bin/exchangectl crash power-loss --cycles 5000 \
        --seed "$(( (RANDOM << 15) | RANDOM ))"
    run_scenario corruption ./scripts/corruption-test.sh --trials 20
else
    run_scenario power-loss build/bin/exchangectl crash power-loss --cycles 300 --seed 1
    run_scenario corruption ./scripts/corruption-test.sh --trials 3 --seed 1
fi
# Mutation checks (docs/tools.md): each test-only fault removes one durability step; the
# power-loss cycles must then fail and say why, or they prove nothing about that step.
run_mutation() {
    local fault=$1 out code why
    out=$(build/bin/exchangectl crash power-loss --cycles 20 --seed 1 --per-seed 5 \
        --test-fault "$fault" 2>/dev/null)
    code=$?
    why=$(grep -m 1 '^FAIL ' <<<"$out" | sed -E 's/^FAIL [^:]*: //')
    if [ "$code" -eq 1 ] && [ -n "$why" ]; then
        echo "mutation $fault: caught (power-loss failed: $why)"
        passed=$((passed + 1))
    else
        echo "mutation $fault: NOT caught (power-loss exited $code with no failed cycle)"
        failed=$((failed + 1))
        failed_names+=("mutation $fault")
        status=1
    fi
}
echo "=== mutation checks: exchangectl crash power-loss --test-fault NAME"
for fault in skip_wal_fdatasync skip_dir_fsync early_acks; do
    run_mutation "$fault"
done
# A store batch acknowledged before its commit only matters where the store is the durability
# point (no WAL): the daemon test kills the daemon right after a critical order's ack.
mutation_test="the kill -9 check catches a critical ack sent before the store commit"
if build/bin/test_engine_daemon "$mutation_test" >/dev/null 2>&1; then
    echo "mutation store_ack_before_commit: caught (exchanged without a WAL: a critical order" \
        "acknowledged before its store commit is unknown after kill -9 and restart)"
    passed=$((passed + 1))
else
    echo "mutation store_ack_before_commit: NOT caught (build/bin/test_engine_daemon" \
        "\"$mutation_test\" failed)"
    failed=$((failed + 1))
    status=1
fi
phase_done mutations
if [ "$long" = 1 ]; then
    run_crash_test --profile standard --cycles 20 --orders 300000
    run_crash_test --profile regulatory --cycles 20 --orders 300000
    run_crash_test --profile hft --cycles 20 --orders 300000
else
    run_crash_test --profile standard --cycles 2 --seed 1 --orders 100000
    # hft acknowledges at match: what it loses must be a tail within its loss window.
    run_crash_test --profile hft --cycles 1 --seed 1 --orders 100000
fi
# Replication: the three-node cluster in network namespaces under seeded fault schedules (kill -9,
# partitions, SIGSTOP of followers, the leader cut off, kill -9 of the leader and a promotion, a
# follower promoted while the old leader is cut off, a follower re-syncing by snapshot), checked for
# lost acks, equal logs, equal state hashes and no LSN acknowledged under two epochs; skipped (not
# failed) without root.
# Each planted fault must make its checker fail (the checker's FAIL line in the output).
# --long runs 100 cycles.
run_cluster_test() {  # EXPECTED_EXIT [FAIL_LINE_EXPECTED] -- ARGS...
    local expect=$1 line= code out
    shift
    [ "$1" != -- ] && line=$1 && shift
    shift
    echo "=== cluster-test: $*"
    out=$(mktemp)
    ./scripts/cluster-test.sh --no-build "$@" 2>&1 | tee "$out"
    code=${PIPESTATUS[0]}
    if [ "$code" -eq 77 ]; then
        skipped=$((skipped + 1))
    elif [ "$code" -eq "$expect" ] && { [ -z "$line" ] || grep -q "FAIL: $line" "$out"; }; then
        passed=$((passed + 1))
    else
        echo "cluster-test: exit $code, expected $expect${line:+ with 'FAIL: $line'}"
        failed=$((failed + 1))
        failed_names+=("cluster-test $*")
        status=1
    fi
    rm -f "$out"
    phase_done "cluster-test${line:+ (planted)}"
}
if [ "$long" = 1 ]; then
    run_cluster_test 0 -- --cycles 100 --seed "$(( (RANDOM << 15) | RANDOM ))"
    # The leader cut off (no promotion) acknowledging alone: the followers' copies lack its acks.
    run_cluster_test 1 "an order acknowledged while the leader was cut off" -- --cycles 1 \
        --seed 1 --planted-fault quorum_leader_only --schedule "isolate_leader 1 1.5"
else
    # One manual cycle: a follower past the retention re-syncing by snapshot (1 MiB segments, no
    # retention for followers), then the leader cut off and a follower promoted on the majority
    # side (divergence repair on the old leader). About as long as the seeded cycle it replaced;
    # the re-sync first, so that the epoch check finds the old leader's last acks in the final
    # log (the segments below are released in a re-sync cycle).
    run_cluster_test 0 -- --cycles 1 --seed 1 \
        --schedule "resync_follower 2 0.5; partition_leader_promote 1 0.5"
fi
# The leader acknowledging on its own durable LSN, cut off while a follower is promoted: its acks
# are at LSNs the new leader's log holds other records at.
run_cluster_test 1 "an LSN was acknowledged under two epochs" -- --cycles 1 \
    --seed 1 --planted-fault quorum_leader_only --schedule "partition_leader_promote 1 0.5"
# The old leader rejoining keeps its departed tail: its state differs at an equal LSN.
run_cluster_test 1 "state hashes differ at an equal LSN" -- --cycles 1 \
    --seed 1 --planted-fault skip_divergence_truncate --schedule "partition_leader_promote 1 0.5"
# The etcd nemesis (scripts/cluster-test.sh --nemesis): automatic failover through three etcd
# members inside the namespaces, two clients following the leader, seeded schedules of kill -9,
# partitions (etcd's too), pauses past the lease and a full disk; checked as above plus no two
# leaders acknowledging in overlapping terms. A leader that ignores its lapsed lease and
# acknowledges alone (planted), cut off for longer than the failover, must fail that check.
# About 2 minutes together; --long runs 200 cycles.
if [ "$long" = 1 ]; then
    run_cluster_test 0 -- --nemesis --cycles 200 --seed "$(( (RANDOM << 15) | RANDOM ))"
else
    run_cluster_test 0 -- --nemesis --cycles 1 --seed 7
fi
run_cluster_test 1 "two leaders acknowledged in overlapping terms" -- --nemesis --cycles 1 \
    --seed 1 --planted-fault lease_ignore_expiry --schedule "isolate_leader 1 9.0"
# double_write: kill -9 of the daemon, of Redis, of both (each run starts its own Redis); then the
# planted fault (Redis without its AOF) must make the checks fail.
run_scenario mirror-crash ./scripts/mirror-crash-test.sh --cycles "$([ "$long" = 1 ] && echo 10 || echo 1)" --seed 1
run_scenario mirror-crash-planted ./scripts/mirror-crash-test.sh --planted-fault --cycles 2 --seed 1

echo
if [ -s "$failure_tails" ]; then
    echo "Last lines of each failed test:"
    cat "$failure_tails"
fi
rm -f "$failure_tails"
echo "Seconds per phase:"
printf '  %s\n' "${phase_times[@]}"
if [ "${#failed_names[@]}" -gt 0 ]; then
    echo "Failed:"
    printf '  %s\n' "${failed_names[@]}"
fi
echo "Summary over the release, asan, tsan, fuzz and crash-test runs:"
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
