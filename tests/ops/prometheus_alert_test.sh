#!/usr/bin/env bash
# A throw-away Prometheus scrapes a running daemon with the shipped rules loaded; the store is made
# unavailable and ExchangedStoreDown must fire, then resolve once the store is back. On the way,
# `promtool check metrics` must accept a real scrape.
#   prometheus_alert_test.sh RULES_FILE BUILT_EXCHANGED BUILT_EXCHANGECTL
# The outage is real: the daemon runs the standard profile (acks after the WAL, so the store is
# not a durability point and its failures are retried) on a throw-away PostgreSQL cluster of its
# own (scripts/pg-test-cluster.sh), which is stopped while `exchangectl load` keeps orders coming
# and started again. (A SQLite store cannot be taken away from a running daemon: it holds the file
# exclusively, and a write error under it stops the daemon where the store is a durability point.)
# The rules are loaded from a copy whose `for:` durations are 1 s (the shipped 1 minute would make
# the test slow); everything else is as shipped. Prometheus runs from its own temporary directory
# on a free loopback port and is stopped at the end (never the system service). Exit 77 (ctest:
# skipped) without prometheus, promtool, curl or the PostgreSQL server binaries.
set -euo pipefail

rules=$1
exchanged=$2
exchangectl=$3

pg_cluster="$(cd "$(dirname "$0")/../.." && pwd)/scripts/pg-test-cluster.sh"

for tool in prometheus promtool curl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "test skipped: $tool not found (scripts/setup-deps.sh installs it)"
        exit 77
    fi
done
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "test skipped: no PostgreSQL server binaries (scripts/setup-deps.sh installs them)"
    exit 77
fi

scratch=$(mktemp -d)
# Its own directory: the server runs as the postgres user, which cannot enter $scratch (mode 700).
pg_dir=$(mktemp -d /tmp/alert-pg.XXXXXX)
pids=()
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    "$pg_cluster" stop "$pg_dir" >/dev/null 2>&1 || rm -rf "$pg_dir"
    if [ "$status" -ne 0 ]; then
        for log in daemon.log prometheus.log load.log; do
            [ -f "$scratch/$log" ] && { echo "--- $log (tail)"; tail -n 30 "$scratch/$log"; }
        done
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# A loopback port nothing listens on (bash's /dev/tcp: a refused connect means free).
free_port() {
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 9<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    fail "no free loopback port found"
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.5 s until it succeeds.
wait_for() {
    local seconds=$1 what=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || fail "after ${seconds} s: $what"
        sleep 0.5
    done
}

dsn=$("$pg_cluster" start "$pg_dir") || fail "the throw-away PostgreSQL did not start"

listen_port=$(free_port)
admin_port=$(free_port)
prom_port=$(free_port)

cat >"$scratch/profile.ini" <<INI
[server]
admin_listen = 127.0.0.1:$admin_port
heartbeat_interval_ms = 60000
[persistence]
mode = wal_batch
store_batch_timeout_ms = 5
store = postgresql
store_dsn = $dsn
[engine]
max_orders = 65536
client_order_id_window = 65536
[instruments]
AMZN = id=1 tick_size=100 lot_size=1 min_price=1000000 max_price=4000000 max_order_quantity=1000000
[accounts]
alice = id=1 secret=alice-secret
bob = id=2 secret=bob-secret
INI

"$exchanged" --config "$scratch/profile.ini" --data-dir "$scratch/data" \
    --listen "127.0.0.1:$listen_port" >"$scratch/daemon.log" 2>&1 &
pids+=($!)
daemon_ready() { grep -q "ready:" "$scratch/daemon.log"; }
wait_for 30 "the daemon is not ready (daemon.log)" daemon_ready

# The exposition as Prometheus's own linter reads it (histograms included).
curl -sf "http://127.0.0.1:$admin_port/metrics" >"$scratch/scrape.txt" ||
    fail "GET /metrics on 127.0.0.1:$admin_port failed"
for family in exchanged_wal_sync_seconds exchanged_wal_group_commit_records \
    exchanged_store_commit_seconds exchanged_ack_latency_seconds; do
    grep -q "^# TYPE $family histogram$" "$scratch/scrape.txt" || fail "no histogram $family"
done
promtool check metrics <"$scratch/scrape.txt" || fail "promtool check metrics refused the scrape"
echo "ok: promtool check metrics accepts the scrape"
# Every series the rules read is one the daemon exports (a misspelt name would never fire). This
# daemon is not replicated: tests/repl/cluster_status_test.sh checks the exchanged_replication_*
# names against a leader's scrape.
names=$(grep -v '^\s*#' "$rules" | grep -oE 'exchanged_[a-z0-9_]+' | grep -vE '^exchanged_?$' |
    grep -v '^exchanged_replication_' | sort -u)
[ -n "$names" ] || fail "no exchanged_* series found in $rules"
for name in $names; do
    grep -qE "^$name(\{| )" "$scratch/scrape.txt" ||
        fail "$rules reads $name, which the daemon does not export"
done
echo "ok: the daemon exports every series the rules read:" $names

# The shipped rules with every `for:` shortened to 1 s.
sed -E 's/^(\s+for: ).*/\11s/' "$rules" >"$scratch/exchanged.rules.yml"
grep -q "alert: ExchangedStoreDown" "$scratch/exchanged.rules.yml" || fail "no ExchangedStoreDown in $rules"
cat >"$scratch/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $scratch/exchanged.rules.yml
scrape_configs:
  - job_name: exchanged
    static_configs:
      - targets: ['127.0.0.1:$admin_port']
YML
prometheus --config.file="$scratch/prometheus.yml" --storage.tsdb.path="$scratch/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" >"$scratch/prometheus.log" 2>&1 &
pids+=($!)
api="http://127.0.0.1:$prom_port/api/v1"
scraped() { curl -sf "$api/query?query=exchanged_store_up" | grep -q '"value":\[[^]]*,"1"\]'; }
wait_for 30 "Prometheus did not scrape exchanged_store_up = 1 (prometheus.log)" scraped

alert_state() {  # the state of ExchangedStoreDown: firing, pending or none
    local body
    body=$(curl -sf "$api/alerts") || { echo "none"; return; }
    # One alert per line: {"labels":{...},"annotations":{...},"state":"...",...}
    body=$(sed 's/{"labels":/\n&/g' <<<"$body" | grep '"alertname":"ExchangedStoreDown"' || true)
    if grep -q '"state":"firing"' <<<"$body"; then
        echo firing
    elif [ -n "$body" ]; then
        echo pending
    else
        echo none
    fi
}
[ "$(alert_state)" = none ] || fail "ExchangedStoreDown before the store was touched"

# Orders keep coming (acks at the WAL, so the outage does not stop them) for the whole test.
"$exchangectl" load --connect "127.0.0.1:$listen_port" --config "$scratch/profile.ini" \
    --connections 2 --orders 6000 --rate 100 --timeout 120 >"$scratch/load.log" 2>&1 &
pids+=($!)

"$pg_cluster" pause "$pg_dir" || fail "could not stop the PostgreSQL server"
firing() { [ "$(alert_state)" = firing ]; }
wait_for 40 "ExchangedStoreDown did not fire while the store's server was down" firing
echo "ok: ExchangedStoreDown fires while the store is unavailable"

"$pg_cluster" resume "$pg_dir" || fail "could not start the PostgreSQL server again"
resolved() { [ "$(alert_state)" = none ]; }
wait_for 40 "ExchangedStoreDown did not resolve once the store was back" resolved
echo "ok: ExchangedStoreDown resolves once the store is back"
grep -q "store is back" "$scratch/daemon.log" || fail "the daemon did not log 'store is back'"
