# Sourced by the dr-drill tests (dr_drill_test.sh, dr_drill_postgres_test.sh): the "production"
# daemon the drill must leave alone, and the check/summary they both print. The caller sets `tmp`
# (a scratch directory it removes), `prod_pid=` (killed by its trap) and cds to the checkout.

failures=0
# check CONDITION TEXT: evaluates CONDITION, prints PASS or FAIL with TEXT, counts failures.
check() {
    if eval "$1"; then
        echo "PASS: $2"
    else
        echo "FAIL: $2"
        failures=$((failures + 1))
    fi
}

# start_production [SED_EXPR...]: $tmp/prod.ini is config/standard.ini on free loopback ports and
# $tmp/prod, edited further by each SED_EXPR; the built daemon serves it (prod_pid) and has taken
# 2000 orders. Exits the test on failure.
start_production() {
    local port=$((20000 + RANDOM % 20000))
    local edits=(-e "s|^listen = .*|listen = 127.0.0.1:$port|"
        -e "s|^admin_listen = .*|admin_listen = 127.0.0.1:$((port + 1))|"
        -e "s|^data_dir = .*|data_dir = $tmp/prod|")
    local expr
    for expr in "$@"; do
        edits+=(-e "$expr")
    done
    sed "${edits[@]}" config/standard.ini >"$tmp/prod.ini"
    build/bin/exchanged --config "$tmp/prod.ini" >"$tmp/prod.log" 2>&1 &
    prod_pid=$!
    for _ in $(seq 600); do
        grep -q "ready:" "$tmp/prod.log" && break
        sleep 0.05
    done
    grep -q "ready:" "$tmp/prod.log" || {
        echo "FAIL: the production daemon did not start"
        cat "$tmp/prod.log"
        exit 1
    }
    build/bin/exchangectl load --connect "127.0.0.1:$port" --orders 2000 --rate 10000 \
        --config "$tmp/prod.ini" >/dev/null || {
        echo "FAIL: production load"
        exit 1
    }
}

# The newest drill report's JSON in $tmp/reports (empty when there is none).
drill_json() {
    ls "$tmp"/reports/dr-drill-*.json 2>/dev/null | head -n 1
}

# scripts/dr-drill.sh ARGS... on the production profile, into an emptied $tmp/reports: sets `out`
# (its output, printed too), `rc` and `json` (its report, drill_json).
run_drill() {
    rm -rf "$tmp/reports"
    out=$(scripts/dr-drill.sh --config "$tmp/prod.ini" --report-dir "$tmp/reports" "$@" 2>&1)
    rc=$?
    echo "$out"
    json=$(drill_json)
}

# Stops production with SIGTERM, checks it exits 0, prints the count and exits with the verdict.
stop_production_and_finish() {
    kill -TERM "$prod_pid"
    wait "$prod_pid"
    local prod_rc=$?
    prod_pid=
    check "[ $prod_rc -eq 0 ]" "production stops cleanly (exit $prod_rc)"
    echo "$failures failed"
    [ "$failures" -eq 0 ]
    exit
}
