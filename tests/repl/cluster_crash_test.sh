#!/usr/bin/env bash
# The replicated scheme's kill -9 cycle (scripts/cluster-crash-test.sh, ports 9740-9762), as
# ctest runs it:
#   cycles   three cycles (kill -9 of the leader, a follower, all three; each restarted in its
#            role) must pass, and say so in the summary line;
#   planted  the leader with --test-fault quorum_leader_only and both followers stopped for 0.5 s
#            before the kill of the leader: the leader acknowledges orders only it holds, and the
#            quorum check must fail the cycle, naming the majority it did not find.
# usage: cluster_crash_test.sh BIN_DIR cycles|planted
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
EXCHANGED_BIN_DIR=$(realpath "${1:?usage: cluster_crash_test.sh BIN_DIR cycles|planted}") || exit 2
export EXCHANGED_BIN_DIR
out=$(mktemp /tmp/exchanged-cluster-crash-test.XXXXXX)
trap 'rm -f "$out"' EXIT
case ${2:-} in
    cycles)
        scripts/cluster-crash-test.sh --no-build --cycles 3 --seed 1 --orders 40000 --rate 20000 \
            >"$out" 2>&1
        code=$?
        cat "$out"
        if [ "$code" -ne 0 ] || ! grep -q '^4 passed, 0 failed$' "$out"; then
            echo "FAIL: the cycles did not all pass (exit $code)"
            exit 1
        fi
        grep -q '^acknowledged orders lost: 0 of [1-9][0-9]* over 3 kill -9 cycles' "$out" || {
            echo "FAIL: no summary of acknowledged orders"
            exit 1
        } ;;
    planted)
        scripts/cluster-crash-test.sh --no-build --cycles 1 --seed 1 --orders 40000 --rate 20000 \
            --kill leader --planted-fault >"$out" 2>&1
        code=$?
        cat "$out"
        if [ "$code" -ne 1 ]; then
            echo "FAIL: the planted fault was not caught (exit $code, expected 1)"
            exit 1
        fi
        grep -q '^cycle 1: FAIL .*only 1 of 3 nodes hold all of them.*on no majority' "$out" || {
            echo "FAIL: cycle 1 did not fail on the quorum check"
            exit 1
        } ;;
    *) echo "usage: cluster_crash_test.sh BIN_DIR cycles|planted" >&2; exit 2 ;;
esac
echo "PASS"
