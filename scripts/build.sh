#!/usr/bin/env bash
# Configures and builds one flavour of the tree, incrementally. Used by run.sh and test.sh.
#   scripts/build.sh release [targets...]   -> build/        (binaries in build/bin)
#   scripts/build.sh asan    [targets...]   -> build-asan/   (Debug, AddressSanitizer + UBSan)
#   scripts/build.sh tsan    [targets...]   -> build-tsan/   (Debug, ThreadSanitizer)
#   scripts/build.sh fuzz    [targets...]   -> build-fuzz/   (Debug, clang, libFuzzer + ASan + UBSan)
set -euo pipefail
cd "$(dirname "$0")/.."

flavour=${1:-release}
shift || true
# The sanitizer trees build with -g1: line tables and function names, all that the sanitizers'
# stack traces (file:line) need, without the local-variable info of -g that makes compiling and
# linking them slower. Configure a tree by hand for full -g.
sanitizer_debug=-DCMAKE_CXX_FLAGS_DEBUG=-g1
case "$flavour" in
    release) dir=build; flags=(-DCMAKE_BUILD_TYPE=Release) ;;
    asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DEXCHANGED_SANITIZE=ON "$sanitizer_debug") ;;
    tsan) dir=build-tsan; flags=(-DCMAKE_BUILD_TYPE=Debug -DEXCHANGED_TSAN=ON "$sanitizer_debug") ;;
    # libFuzzer ships with clang only. CMake reads CC and CXX when it first configures a tree.
    fuzz)
        dir=build-fuzz; flags=(-DCMAKE_BUILD_TYPE=Debug -DEXCHANGED_FUZZ=ON "$sanitizer_debug")
        export CC=clang CXX=clang++ ;;
    *) echo "build.sh: unknown flavour '$flavour' (release, asan, tsan or fuzz)" >&2; exit 2 ;;
esac

# ccache makes a fresh clone's second build, and every tree that shares sources, mostly hits.
# CCACHE_BASEDIR turns absolute paths under the checkout into relative ones, so two checkouts (or
# a CI clone at another path) share the cache.
launcher=()
if command -v ccache >/dev/null 2>&1; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
    export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
    export CCACHE_NOHASHDIR=1
    # The Debug trees' tests reuse a precompiled catch.hpp (tests/CMakeLists.txt). Without these two
    # sloppiness flags ccache refuses to cache any compile that uses a PCH: 128 test sources were
    # compiled afresh on every clean build, 4 min of the ASan tree's 4.5 min with every other object
    # cached (1.3 min with them cached). Nothing here uses __DATE__ or __TIME__, and the PCH's
    # defines are the tree's own, so the two things these flags stop ccache checking cannot differ.
    export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros}"
fi

generator=()
if [ ! -f "$dir/CMakeCache.txt" ] && command -v ninja >/dev/null 2>&1; then
    generator=(-G Ninja)
fi
if ! cmake -S . -B "$dir" "${generator[@]}" "${launcher[@]}" "${flags[@]}" -DEXCHANGED_TESTS=ON >"$dir.configure.log" 2>&1; then
    cat "$dir.configure.log" >&2
    echo "build.sh: configuring $dir failed (log above)" >&2
    exit 1
fi
rm -f "$dir.configure.log"
target_args=()
for target in "$@"; do
    target_args+=(--target "$target")
done
cmake --build "$dir" --parallel "$(nproc)" "${target_args[@]}"
