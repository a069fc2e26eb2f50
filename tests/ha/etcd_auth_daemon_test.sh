#!/usr/bin/env bash
# The daemon against a throw-away etcd with authentication on (scripts/etcd-test-cluster.sh auth):
# a root user and the user `exch` with read-write under /exchanged/ only. One node (factor 1, its
# own promise is the majority) on ports 9660..9662, lease 5 s (a renewal that must authenticate
# again waits for etcd's bcrypt, slow on a loaded test machine).
#
#   1. --check-config reads the key as the user: "etcd access  ok".
#   2. A wrong password: --check-config and the start both fail, naming the user.
#   3. A password file others may read: refused at load, naming the file and its mode.
#   4. The right password: the node wins the leader key; every token is revoked (auth disable +
#      enable); the node obtains a new token (exchanged_failover_etcd_authentications_total goes
#      up), still holds the lease a lease's length later and lost no term.
#   5. The same with the planted fault etcd_token_not_renewed (the client keeps the rejected
#      token): the check of 4 must fail, and this part passes only when it does.
#   In 4 and 5 the node must exit within 5 s of SIGTERM; in 5 it has just stepped down from its
#   lapsed term and follows an etcd that refuses its token.
#
# usage: etcd_auth_daemon_test.sh BIN_DIR. Exit 77 (skipped) without etcd.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
bin=${1:-build/bin}
if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
    echo "etcd auth daemon test: SKIPPED (etcd and etcdctl are not installed: scripts/setup-deps.sh)"
    exit 77
fi
# shellcheck source=tests/ha/etcd_daemon_test_lib.sh
source tests/ha/etcd_daemon_test_lib.sh
etcd_daemon_test_init etcdauth ETCD_AUTH_TEST_KEEP
admin_address=127.0.0.1:9661

if ! endpoints=$(scripts/etcd-test-cluster.sh start "$etcd_dir" --members 1); then
    echo "etcd auth daemon test: FAILED (etcd did not start)"
    exit 1
fi
scripts/etcd-test-cluster.sh auth "$etcd_dir" exch right-pw /exchanged/ || exit 1

printf 'right-pw\n' >"$work/right-password"
printf 'wrong-pw\n' >"$work/wrong-password"
chmod 600 "$work/right-password" "$work/wrong-password"
cp "$work/right-password" "$work/open-password"
chmod 644 "$work/open-password"

# A cluster of one on ports 9660..9662, with etcd as user exch.
write_config() {  # NAME PASSWORD_FILE
    write_single_node_config "$work/$1.ini" 966 "$endpoints" \
        "etcd_user = exch\netcd_password_file = $2"
}
write_config right "$work/right-password"
write_config wrong "$work/wrong-password"
write_config open "$work/open-password"

# 1
if out=$("$bin/exchanged" --config "$work/right.ini" --check-config 2>&1) &&
    grep -q "etcd access  ok: key /exchanged/leader read as etcd user exch" <<<"$out"; then
    echo "$(date +%s.%N | cut -c1-14) ok: --check-config reads the key as etcd user exch"
else
    fail "--check-config with the right password: $out"
fi

# 2
out=$("$bin/exchanged" --config "$work/wrong.ini" --check-config 2>&1)
code=$?
if [ "$code" -eq 1 ] && grep -q "refused user 'exch'.*invalid user ID or password" <<<"$out"; then
    echo "$(date +%s.%N | cut -c1-14) ok: --check-config with a wrong password fails naming the user"
else
    fail "--check-config with a wrong password (exit $code): $out"
fi
start_daemon wrong wrong
if ! wait_exit 20; then
    fail "the daemon with a wrong password still runs after 20 s"
    stop_daemon
else
    code=$exit_code
    if [ "$code" -ne 0 ] && grep -q "refused user 'exch'.*invalid user ID or password" "$work/wrong.log"; then
        echo "$(date +%s.%N | cut -c1-14) ok: the start with a wrong password stops (exit $code): $(grep -o "etcd refused reading.*" "$work/wrong.log" | head -c 160)..."
    else
        fail "the start with a wrong password (exit $code): $(tail -n 3 "$work/wrong.log")"
    fi
fi

# 3
out=$("$bin/exchanged" --config "$work/open.ini" --check-config 2>&1)
code=$?
if [ "$code" -ne 0 ] && grep -q "open-password' has mode 0644" <<<"$out"; then
    echo "$(date +%s.%N | cut -c1-14) ok: a password file others may read is refused naming its mode"
else
    fail "a password file of mode 0644 (exit $code): $out"
fi

# 4 and 5: leads, survives a revocation of every token (or, with the fault, must not).
lease_survives_revocation() {  # NAME [flags...]
    local name=$1
    shift
    start_daemon "$name" right "$@"
    if ! wait_metric exchanged_failover_lease_held 1 20; then
        echo "  never held the lease: $(tail -n 3 "$work/$name.log")"
        stop_daemon
        return 1
    fi
    local before now held lost
    before=$(metric exchanged_failover_etcd_authentications_total)
    scripts/etcd-test-cluster.sh revoke-tokens "$etcd_dir" || return 1
    local renewed=0
    for _ in $(seq 1 100); do
        now=$(metric exchanged_failover_etcd_authentications_total)
        # Empty while the admin port is down (a run stepping down restarts it): not a change.
        if [ -n "$now" ] && [ -n "$before" ] && [ "${now%.*}" -gt "${before%.*}" ]; then
            renewed=1
            break
        fi
        # The lease lapsed first: no renewal with a new token is coming.
        [ "$(metric exchanged_failover_leases_lost_total)" = 0 ] || break
        sleep 0.1
    done
    if [ "$renewed" -eq 0 ]; then
        stop_within "$name" "$work/$name.log" 5
        echo "  no new token within 10 s of the revocation, or the lease lapsed first (authentications: $before):" \
            "$(grep -m 1 "steps down\|invalid auth token" "$work/$name.log")"
        return 1
    fi
    # Longer than the 5 s lease: still held, it was renewed with the new token.
    sleep 6
    held=$(metric exchanged_failover_lease_held)
    lost=$(metric exchanged_failover_leases_lost_total)
    stop_within "$name" "$work/$name.log" 5
    if [ "$held" != 1 ] || [ "$lost" != 0 ]; then
        echo "  after the revocation: lease held '$held', leases lost '$lost'; its warnings:"
        grep warning "$work/$name.log" | tail -n 4 | cut -c 1-300
        return 1
    fi
}

if lease_survives_revocation right; then
    echo "$(date +%s.%N | cut -c1-14) ok: leads as etcd user exch, and renews its token when etcd revoked every token"
else
    fail "the lease did not survive the revocation of the tokens"
fi
# Its stop comes as it steps down or just after: a SIGTERM then must not wait for the follower's
# run to start in full first (it once took 15 s here).
if lease_survives_revocation fault --test-fault etcd_token_not_renewed; then
    fail "planted fault etcd_token_not_renewed: the revocation check passed; it cannot catch a client that does not renew its token"
else
    echo "$(date +%s.%N | cut -c1-14) ok: with the planted fault etcd_token_not_renewed the revocation check fails, as it must"
fi

if [ "$failures" -ne 0 ]; then
    echo "etcd auth daemon test: FAILED ($failures)"
    exit 1
fi
echo "etcd auth daemon test: passed"
