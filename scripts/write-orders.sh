#!/usr/bin/env bash
# Sends N orders to a running daemon with `exchangectl load` (docs/tools.md): two connections, so
# that the accounts trade with each other, and the acknowledgement journal on, for
# verify-data.sh and reconcile.sh afterwards. Prints load's JSON line, then
#   write-orders: PASS (N sent, A acknowledged, R rejected, T trades)
# (A orders accepted, R rejected, T distinct trades in this run's journal lines) or
#   write-orders: FAIL (why)
# and exits 0 only on PASS (2 for bad arguments, 1 for any other FAIL).
#   scripts/write-orders.sh N [--config FILE] [--connect HOST:PORT] [--journal FILE] [--rate R]
# --config defaults to config/standard.ini (from the repository root, like run.sh), --connect to
# the profile's [server] listen, --journal to ./write-orders.journal (appended to); relative paths
# are taken from the current directory.
set -euo pipefail
fail() {
    echo "write-orders: FAIL ($1)"
    exit "${2:-1}"
}
orders=${1:-}
[[ $orders =~ ^[1-9][0-9]*$ ]] || fail "the first argument is the number of orders, not '$orders'" 2
shift
config=config/standard.ini connect='' journal=$PWD/write-orders.journal rate=()
while [ $# -gt 0 ]; do
    case $1 in
        --config) config=$(realpath -m -- "${2:?--config needs a file}") ;;
        --connect) connect=${2:?--connect needs HOST:PORT} ;;
        --journal) journal=$(realpath -m -- "${2:?--journal needs a file}") ;;
        --rate) rate=(--rate "${2:?--rate needs orders per second}") ;;
        *) fail "unknown argument '$1' (--config, --connect, --journal, --rate)" 2 ;;
    esac
    shift 2
done
cd "$(dirname "$0")/.."
if [ ! -x build/bin/exchangectl ]; then
    { ./scripts/setup-deps.sh && ./scripts/build.sh release exchangectl; } >&2
fi
[ -f "$config" ] || fail "no profile at $config"
if [ -z "$connect" ]; then
    # [server] listen = HOST:PORT, without an inline comment.
    connect=$(awk '/^\[/ { in_server = ($0 ~ /^\[server\]/) }
        in_server && $1 == "listen" && $2 == "=" { print $3 }' "$config" | tail -n 1)
    [ -n "$connect" ] || fail "no [server] listen in $config: pass --connect HOST:PORT"
fi

journal_lines_before=0
[ -f "$journal" ] && journal_lines_before=$(wc -l <"$journal")
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
code=0
json=$(build/bin/exchangectl load --connect "$connect" --orders "$orders" --connections 2 \
    "${rate[@]}" --journal "$journal" --json --config "$config" 2>"$errors") || code=$?
[ -n "$json" ] && echo "$json"
# exchangectl's exit codes (docs/tools.md): what went wrong, in its own last words.
why=$(grep -v '^load: ' "$errors" | tail -n 1 || true)
case $code in
    0) ;;
    1) fail "daemon unreachable or refused at $connect: ${why:-exit 1}" ;;
    2) fail "bad arguments for exchangectl load: $why" ;;
    3) fail "the daemon went away during the run: $why" ;;
    4) fail "timed out waiting for the daemon: $why" ;;
    *) fail "exchangectl load exited $code: $why" ;;
esac

number() { grep -o "\"$1\":[0-9]*" <<<"$json" | head -n 1 | cut -d: -f2; }
sent=$(number sent) accepted=$(number accepted) rejected=$(number rejected)
if [ -z "$sent" ] || [ -z "$accepted" ] || [ -z "$rejected" ]; then
    fail "no JSON report from exchangectl load"
fi
# Distinct (instrument, trade id) pairs among this run's fill lines: maker and taker fills of one
# trade count once.
trades=$(tail -n "+$((journal_lines_before + 1))" "$journal" | awk '$1 == "fill" {
        for (i = 2; i <= NF; i++) {
            if ($i ~ /^instrument=/) instrument = $i
            if ($i ~ /^trade_id=/) trade = $i
        }
        print instrument, trade
    }' | sort -u | wc -l)
summary="$sent sent, $accepted acknowledged, $rejected rejected, $trades trades"
[ "$sent" -eq "$orders" ] || fail "$summary: only $sent of $orders orders were sent"
[ "$accepted" -eq $((orders - rejected)) ] ||
    fail "$summary: fewer acknowledgements than orders minus rejects ($((orders - rejected)))"
[ "$accepted" -gt 0 ] || fail "$summary: the daemon rejected every order"
echo "write-orders: PASS ($summary)"
