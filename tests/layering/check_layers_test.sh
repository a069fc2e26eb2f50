#!/usr/bin/env bash
# Self-test of scripts/check-layers.sh: builds small fake src/ trees in a temp dir and checks the
# exit code and output for a clean tree and for each kind of violation the script must catch, so a
# broken checker cannot silently pass the real tree. Prints PASS/FAIL per case; non-zero on failure.
set -euo pipefail

check=$(cd "$(dirname "$0")/../.." && pwd)/scripts/check-layers.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# new_tree NAME: a clean tree touching every rule (own folder, listed folders, tools subfolders).
new_tree() {
    local t=$tmp/$1
    mkdir -p "$t"/{common,book,engine,app,tools/cli,tools/client,tools/crash}
    echo '#pragma once' > "$t/common/types.hpp"
    printf '#include "common/types.hpp"\n#include <vector>\n' > "$t/book/y.hpp"
    printf '#include "book/y.hpp"\n#include "local.hpp"\n' > "$t/engine/y.hpp"
    echo '#include "common/types.hpp"' > "$t/tools/cli/args.hpp"
    echo '#include "tools/cli/args.hpp"' > "$t/tools/client/conn.hpp"
    printf '#include "tools/client/conn.hpp"\n#include "engine/y.hpp"\n' > "$t/tools/crash/run.cpp"
    echo '#include "tools/crash/run.hpp"' > "$t/tools/main.cpp"
    echo '#include "tools/cli/args.hpp"' > "$t/app/main.cpp"
    echo "$t"
}

# expect NAME WANT_EXIT GREP_PATTERN ARGS...: run the checker, compare exit code and output.
expect() {
    local name=$1 want=$2 pattern=$3 out rc=0
    shift 3
    out=$("$check" "$@" 2>&1) || rc=$?
    if [[ $rc -eq $want ]] && { [[ -z $pattern ]] || grep -qE "$pattern" <<< "$out"; }; then
        echo "PASS: $name"
    else
        echo "FAIL: $name (exit $rc, wanted $want${pattern:+, output matching '$pattern'})"
        sed 's/^/    /' <<< "$out"
        failures=$((failures + 1))
    fi
}

t=$(new_tree clean)
expect "clean tree passes" 0 'OK' --src "$t"

t=$(new_tree upward)
printf '#pragma once\n\n#include "engine/y.hpp"\n' > "$t/book/x.hpp"
expect "book including engine fails, naming file and line" 1 \
    "^$t/book/x.hpp:3: book may not include engine/y.hpp \(book may include: common\)$" --src "$t"

t=$(new_tree tools_sub)
echo '#include "tools/crash/run.hpp"' > "$t/tools/cli/bad.hpp"
expect "tools/cli including tools/crash fails" 1 \
    "^$t/tools/cli/bad.hpp:1: tools/cli may not include tools/crash/run.hpp" --src "$t"

t=$(new_tree unknown)
mkdir "$t/gui"
expect "unknown folder fails with exit 2, naming it" 2 'gui is not in the layer table' --src "$t"

t=$(new_tree climb)
echo '#include "../common/types.hpp"' > "$t/book/z.hpp"
expect "climbing ../ include fails" 1 "^$t/book/z.hpp:1: .*\.\./common/types.hpp" --src "$t"

expect "missing --src dir is a usage error" 2 'no such directory' --src "$tmp/nope"
expect "unknown flag is a usage error" 2 'unknown argument' --bogus

if ((failures)); then echo "check_layers_test: $failures FAILED"; exit 1; fi
echo "check_layers_test: all passed"
