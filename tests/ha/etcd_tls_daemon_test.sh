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
# shellcheck source=tests/ha/etcd_daemon_test_lib.sh
source tests/ha/etcd_daemon_test_lib.sh
etcd_daemon_test_init etcdtls ETCD_TLS_TEST_KEEP
admin_address=127.0.0.1:9671
ok() {
    echo "$(date +%s.%N | cut -c1-14) ok: $*"
}

if ! endpoints=$(scripts/etcd-test-cluster.sh start "$etcd_dir" --members 1 --tls); then
    echo "etcd TLS daemon test: FAILED (etcd did not start)"
    exit 1
fi
tls=$etcd_dir/tls

# A cluster of one on ports 9670..9672, etcd over TLS.
write_config() {  # NAME ENDPOINTS CA [CERT KEY]
    local files="etcd_ca_file = $3"
    [ $# -ge 5 ] && files+="\netcd_cert_file = $4\netcd_key_file = $5"
    write_single_node_config "$work/$1.ini" 967 "$2" "$files"
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
start_daemon other-ca other-ca
if ! wait_exit 20; then
    fail "the start with another CA still runs after 20 s"
    stop_daemon KILL
elif [ "$exit_code" -ne 0 ] && grep -q "certificate verify failed" "$work/other-ca.log"; then
    ok "the start with another CA stops (exit $exit_code)"
else
    fail "the start with another CA (exit $exit_code): $(tail -n 3 "$work/other-ca.log")"
fi

# 6
start_daemon right right
if ! wait_metric exchanged_failover_lease_held 1 20; then
    fail "the node never held the lease over TLS: $(tail -n 3 "$work/right.log")"
elif out=$("$bin/exchangectl" order --connect 127.0.0.1:9670 --config "$work/right.ini" \
    --account alice --instrument 1 --side buy --price 1750000 --qty 1 --timeout 5 2>&1) &&
    grep -q "^accepted" <<<"$out"; then
    ok "leads through etcd over TLS and takes an order: $(head -n 1 <<<"$out" | cut -c 1-120)"
else
    fail "the leader over TLS did not accept an order: $out"
fi
stop_within "the leader over TLS" "$work/right.log" 5

if [ "$failures" -ne 0 ]; then
    echo "etcd TLS daemon test: FAILED ($failures)"
    exit 1
fi
echo "etcd TLS daemon test: passed"
