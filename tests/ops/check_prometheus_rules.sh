#!/usr/bin/env bash
# The shipped alerting rules as Prometheus's own tool sees them:
#   check_prometheus_rules.sh RULES_FILE RULES_TEST_FILE
# `promtool check rules` (syntax, PromQL, templates), then `promtool test rules` (every alert with
# synthetic series, firing and not), then the same unit tests against copies of the rules with a
# planted fault each, which must fail: a test that cannot fail proves nothing.
# Exit 77 (ctest: skipped) without promtool (Debian package prometheus).
set -euo pipefail

rules=$1
tests=$2

if ! command -v promtool >/dev/null 2>&1; then
    echo "test skipped: promtool not found (Debian package prometheus; scripts/setup-deps.sh)"
    exit 77
fi

promtool check rules "$rules"
promtool test rules "$tests"

# Every alert links to a section of docs/operations.md that exists (GitHub's anchor of a heading:
# lower case, spaces as dashes).
docs="$(dirname "$rules")/../../docs/operations.md"
[ -f "$docs" ] || { echo "FAIL: no $docs next to $rules" >&2; exit 1; }
alerts=$(grep -c '^\s*- alert:' "$rules")
links=$(grep -oE 'runbook_url: "docs/operations.md#[a-z0-9-]+"' "$rules" | sed -E 's/.*#([a-z0-9-]+)"/\1/')
[ "$(wc -l <<<"$links")" -eq "$alerts" ] || {
    echo "FAIL: $alerts alerts but $(wc -l <<<"$links") runbook_url links to docs/operations.md" >&2
    exit 1
}
anchors=$(grep -E '^#+ ' "$docs" | sed -E 's/^#+ //' | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9-\n')
for link in $links; do
    grep -qx "$link" <<<"$anchors" || {
        echo "FAIL: runbook_url docs/operations.md#$link: no such section in $docs" >&2
        exit 1
    }
done
echo "ok: every alert's runbook_url names a section of docs/operations.md"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp "$tests" "$scratch/$(basename "$tests")"
planted() {  # planted DESCRIPTION SED_EXPRESSION
    sed -E "$2" "$rules" >"$scratch/$(basename "$rules")"
    if cmp -s "$rules" "$scratch/$(basename "$rules")"; then
        echo "FAIL: the planted fault '$1' changed nothing in $rules" >&2
        exit 1
    fi
    if (cd "$scratch" && promtool test rules "$(basename "$tests")") >"$scratch/out" 2>&1; then
        echo "FAIL: promtool test rules passed with a planted fault: $1" >&2
        exit 1
    fi
    echo "ok: the unit tests catch: $1"
}
planted "WAL threshold raised to 2 GB" 's/exchanged_wal_segment_bytes > 1e9/exchanged_wal_segment_bytes > 2e9/'
planted "persistence lag at or above 1 s" 's/exchanged_store_flush_lag_seconds > 1$/exchanged_store_flush_lag_seconds >= 1/'
planted "flush-errors alert without its for:" '/alert: ExchangedFlushErrors/,/severity/{/for:/d}'
planted "catching-up alert after 5 minutes" '/alert: ExchangedStoreCatchingUpLong/,/severity/{s/for: 10m/for: 5m/}'
planted "WAL-failed alert waits a minute" '/expr: exchanged_wal_failed == 1/a\        for: 1m'
planted "down alert on every job's targets" 's/up\{job="exchanged"\} == 0/up == 0/'
planted "uncommitted threshold at or above 10,000" 's/uncommitted_records > 10000/uncommitted_records >= 10000/'
planted "store-down alert without its for:" '/alert: ExchangedStoreDown/,/severity/{/for:/d}'
planted "refusal rate ignores the gateway" 's/\+ sum by \(instance\) \(rate\(exchanged_requests_refused_total\[5m\]\)\)//'
planted "fsync p99 threshold at 100 ms" 's/> 0.01$/> 0.1/'
planted "follower lag threshold at or above 100,000" 's/lag_records > 100000/lag_records >= 100000/'
planted "a disconnected follower counted as lagging" 's/exchanged_replication_follower_connected == 1$/exchanged_replication_follower_connected >= 0/'
planted "follower-disconnected alert without its for:" '/alert: ExchangedFollowerDisconnected/,/severity/{/for:/d}'
planted "quorum majority off by one" 's/floor\(exchanged_replication_factor \/ 2\) \+ 1/floor(exchanged_replication_factor \/ 2) + 2/'
planted "quorum-lost alert ignores a stalled frontier" 's/delta\(exchanged_replication_quorum_lsn\[2m\]\) == 0/delta(exchanged_replication_quorum_lsn[2m]) < 0/'
echo "ok: promtool check rules and test rules on $rules"
