#!/usr/bin/env bash
# The daemon against a throw-away etcd speaking TLS on its client port, with client certificates
# required (scripts/etcd-test-cluster.sh start --tls: a throw-away CA, a member certificate naming
# 127.0.0.1 only). One node (factor 1, its own promise is the majority) on ports 9670..9672.
#
#   1. --check-config with the CA, a client certificate and its key: "etcd access  ok".
#   2. Another CA: --check-config fails (exit 1), "certificate verify failed", and so does a start.
#   3. No client certificate: --check-config fails; etcd's alert is named.
#   4. https://localhost:PORT (the certificate names 127.0.0.1 only): fails, the name is checked;
#      and a key file that is not the certificate's key is refused, naming the file.
#   5. The planted fault etcd_tls_no_verify (the client trusts any certificate): the check of 2
#      must fail, and this part passes only when it does.
#   6. The right files: the node wins the leader key over TLS, takes an order, and stops within
#      5 s of SIGTERM.
#
# usage: etcd_tls_daemon_test.sh BIN_DIR. Exit 77 (skipped) without etcd or openssl.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
bin=${1:-build/bin}
for tool in etcd etcdctl openssl; do
    if ! command -v "$tool" >/dev/null; then
        echo "etcd TLS daemon test: SKIPPED ($tool is not installed: scripts/setup-deps.sh)"
        exit 77
    fi
done
work=$(mktemp -d /tmp/exchanged-etcdtls.XXXXXX)
etcd_dir=$work/etcd
pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    scripts/etcd-test-cluster.sh stop "$etcd_dir" >/dev/null 2>&1
    [ -n "${ETCD_TLS_TEST_KEEP:-}" ] && { echo "kept $work"; return; }
    rm -rf "$work"
}
trap cleanup EXIT
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
ok() {
    echo "$(date +%s.%N | cut -c1-14) ok: $*"
}

if ! endpoints=$(scripts/etcd-test-cluster.sh start "$etcd_dir" --members 1 --tls); then
    echo "etcd TLS daemon test: FAILED (etcd did not start)"
    exit 1
fi
tls=$etcd_dir/tls

# config/cluster/node1.ini as a cluster of one on this test's ports, etcd over TLS.
write_config() {  # NAME ENDPOINTS CA [CERT KEY]
    local files="etcd_ca_file = $3"
    [ $# -ge 5 ] && files+="\netcd_cert_file = $4\netcd_key_file = $5"
    sed -e 's/127\.0\.0\.1:931/127.0.0.1:967/g' \
        -e 's/^max_orders = .*/max_orders = 16384/' \
        -e 's/^client_order_id_window = .*/client_order_id_window = 16384/' \
        -e 's/^wal_segment_bytes = .*/wal_segment_bytes = 4194304/' \
        -e 's/^max_lag_bytes = .*/max_lag_bytes = 4194304/' \
        -e 's/^factor = .*/factor = 1/' -e '/^peers = /d' -e '/^clients = /d' -e '/^admins = /d' \
        -e "/^\[replication\]/a etcd_endpoints = $2\nlease_ttl_ms = 5000\nadmins = 1@127.0.0.1:9671\n$files" \
        config/cluster/node1.ini >"$work/$1.ini"
}
client=("$tls/client.pem" "$tls/client-key.pem")
write_config right "$endpoints" "$tls/ca.pem" "${client[@]}"
write_config other-ca "$endpoints" "$tls/other-ca.pem" "${client[@]}"
write_config no-cert "$endpoints" "$tls/ca.pem"
write_config wrong-name "${endpoints//127.0.0.1/localhost}" "$tls/ca.pem" "${client[@]}"
write_config wrong-key "$endpoints" "$tls/ca.pem" "$tls/client.pem" "$tls/other-ca-key.pem"

# --check-config of CONFIG must exit CODE with a line matching PATTERN.
check_config() {  # WHAT CONFIG CODE PATTERN [flags...]
    local what=$1 config=$2 want=$3 pattern=$4 out code
    shift 4
    out=$("$bin/exchanged" --config "$work/$config.ini" --check-config "$@" 2>&1)
    code=$?
    if [ "$code" -eq "$want" ] && grep -q "$pattern" <<<"$out"; then
        ok "$what: ...$(grep -m 1 "etcd access" <<<"$out" | tail -c 100)"
        return 0
    fi
    echo "  $what: exit $code (expected $want), no line matching '$pattern':"
    grep -i "etcd access\|error" <<<"$out" | cut -c 1-300
    return 1
}

# 1
check_config "the CA and a client certificate" right 0 \
    "etcd access  ok: key /exchanged/leader read" || fail "--check-config over TLS"
# 2
check_config "another CA is refused" other-ca 1 \
    "refused the TLS handshake.*certificate verify failed" || fail "another CA"
# 3
check_config "no client certificate is refused" no-cert 1 \
    "refused the TLS handshake.*alert" || fail "no client certificate"
# 4
check_config "a host the certificate does not name is refused" wrong-name 1 \
    "https://localhost:.*certificate verify failed" || fail "the member's name is not checked"
# A key that is not the certificate's: named before any call.
check_config "a key that is not the certificate's is refused" wrong-key 1 \
    "etcd_key_file '.*other-ca-key.pem' cannot be used: key values mismatch" ||
    fail "a key not matching the certificate"
# 5
if check_config "planted etcd_tls_no_verify, another CA" other-ca 1 \
    "refused the TLS handshake.*certificate verify failed" \
    --test-fault etcd_tls_no_verify >/dev/null 2>&1; then
    fail "planted fault etcd_tls_no_verify: the check of another CA passed; it cannot catch a client that trusts any certificate"
else
    ok "with the planted fault etcd_tls_no_verify the check of another CA fails, as it must"
fi

# A start with another CA stops by itself, naming the handshake.
"$bin/exchanged" --config "$work/other-ca.ini" --data-dir "$work/data-other-ca" \
    >"$work/other-ca.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
    fail "the start with another CA still runs after 20 s"
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
else
    wait "$pid"
    code=$?
    if [ "$code" -ne 0 ] && grep -q "certificate verify failed" "$work/other-ca.log"; then
        ok "the start with another CA stops (exit $code)"
    else
        fail "the start with another CA (exit $code): $(tail -n 3 "$work/other-ca.log")"
    fi
fi
pid=

# 6
metric() {  # SERIES
    curl -s -m 2 "http://127.0.0.1:9671/metrics" | awk -v s="$1" '$1 == s {print $2}'
}
"$bin/exchanged" --config "$work/right.ini" --data-dir "$work/data-right" >"$work/right.log" 2>&1 &
pid=$!
held=
for _ in $(seq 1 200); do
    held=$(metric exchanged_failover_lease_held)
    [ "$held" = 1 ] && break
    sleep 0.1
done
if [ "$held" != 1 ]; then
    fail "the node never held the lease over TLS: $(tail -n 3 "$work/right.log")"
else
    if out=$("$bin/exchangectl" order --connect 127.0.0.1:9670 --config "$work/right.ini" \
        --account alice --instrument 1 --side buy --price 1750000 --qty 1 --timeout 5 2>&1) &&
        grep -qi "accepted" <<<"$out"; then
        ok "leads through etcd over TLS and takes an order: $(head -n 1 <<<"$out" | cut -c 1-120)"
    else
        fail "the leader over TLS did not accept an order: $out"
    fi
fi
began=$(date +%s.%N)
kill -TERM "$pid" 2>/dev/null
for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
if kill -0 "$pid" 2>/dev/null; then
    fail "still running 5 s after SIGTERM"
else
    wait "$pid" 2>/dev/null
    pid=
    ok "stopped $(awk -v b="$began" -v e="$(date +%s.%N)" 'BEGIN {printf "%.2f", e - b}') s after SIGTERM"
fi

if [ "$failures" -ne 0 ]; then
    echo "etcd TLS daemon test: FAILED ($failures)"
    exit 1
fi
echo "etcd TLS daemon test: passed"
