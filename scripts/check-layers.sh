#!/usr/bin/env bash
# Fails when a quoted #include in src/ runs up the layer graph: a file in folder F may include
# headers from F itself and from the folders the table below lists for F, nothing else. Keeping the
# graph acyclic is what lets a layer be built, tested and reasoned about without the ones above it.
#   scripts/check-layers.sh [--src DIR]     (DIR defaults to src/; --src is for the self-test)
# Prints one line per violation and a summary; exit 0 clean, 1 on violations, 2 on usage errors
# (including a folder in src/ that the table does not place: a new folder must be given a layer).
set -euo pipefail

# --- The layer table. It must match docs/architecture.md ("Folders and layers"). -----------------
# "folder: folders it may include" (besides itself).
LAYERS=(
    "common:"
    "book: common"
    "wal: common"
    "config: book common"
    "store: book common"
    "engine: config book wal store common"
    "repl: engine config book wal store common"
    "mirror: engine config book wal store common"
    "ha: common"
    "net: book common"
    "ops: common"
    "service: repl mirror engine net config book wal store common"
    "tools: service repl mirror engine net ops config book wal store common"
    "app: tools service repl mirror ha engine net ops config book wal store common"
)
# src/tools subfolders: "subfolder: other tools subfolders it may include". Each may also include
# everything tools may; a file directly in src/tools may include any tools subfolder.
TOOLS_LAYERS=(
    "cli:"
    "workloads: cli"
    "client: cli"
    "wal: cli"
    "bench: cli workloads"
    "store: cli client"
    "crash: cli client store"
    "cluster: cli store"
)
# --------------------------------------------------------------------------------------------------

usage() { echo "usage: scripts/check-layers.sh [--src DIR]" >&2; exit 2; }

root=""
while (($#)); do
    case "$1" in
        --src) (($# >= 2)) || usage; root=${2%/}; shift 2 ;;
        -h|--help) echo "usage: scripts/check-layers.sh [--src DIR]"; exit 0 ;;
        *) echo "check-layers: unknown argument: $1" >&2; usage ;;
    esac
done
# Without --src, run from the repository root so the output reads src/net/... as in the docs.
if [[ -z $root ]]; then cd "$(dirname "$0")/.."; root=src; fi
[[ -d $root ]] || { echo "check-layers: no such directory: $root" >&2; exit 2; }

# ALLOW[unit] = what a unit may include besides itself; a unit is a folder or tools/<subfolder>.
declare -A ALLOW
for row in "${LAYERS[@]}"; do
    read -ra deps <<< "${row#*:}"
    ALLOW[${row%%:*}]="${deps[*]}"
done
for row in "${TOOLS_LAYERS[@]}"; do
    read -ra deps <<< "${row#*:}"
    ALLOW[tools/${row%%:*}]="${deps[*]/#/tools/} ${ALLOW[tools]}"
    ALLOW[tools/${row%%:*}]=${ALLOW[tools/${row%%:*}]# }
done

# Every folder must be in the table, or its files (and includes of it) would go unchecked.
unknown=0
for dir in "$root"/*/ "$root"/tools/*/; do
    [[ -d $dir ]] || continue
    unit=${dir#"$root"/}; unit=${unit%/}
    if [[ -z ${ALLOW[$unit]+set} ]]; then
        echo "check-layers: folder $root/$unit is not in the layer table; add it to" \
             "scripts/check-layers.sh and docs/architecture.md" >&2
        unknown=1
    fi
done
for file in "$root"/*.hpp "$root"/*.cpp; do
    [[ -f $file ]] || continue
    echo "check-layers: $file is not in a layer folder" >&2
    unknown=1
done
((unknown == 0)) || exit 2

# unit_of VAR PATH (relative to root): sets VAR to the folder, or tools/<subfolder> inside
# src/tools. Sets a variable rather than echoing: a subshell per include makes the run slow.
unit_of() {
    local top=${2%%/*} rest=${2#*/}
    if [[ $top == tools && $rest == */* ]]; then top=tools/${rest%%/*}; fi
    printf -v "$1" '%s' "$top"
}

# allowed SRC_UNIT TARGET_UNIT: own folder (a folder contains its subfolders) or listed.
allowed() {
    local s=$1 t=$2 list=" ${ALLOW[$1]} "
    [[ $t == "$s" || ${t%%/*} == "$s" || $list == *" $t "* || $list == *" ${t%%/*} "* ]]
}

violations=0
report() { echo "$*"; violations=$((violations + 1)); }

include_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)"'
while IFS= read -r hit; do
    file=${hit%%:*}; rest=${hit#*:}; line=${rest%%:*}; text=${rest#*:}
    [[ $text =~ $include_re ]] || continue
    inc=${BASH_REMATCH[1]}
    rel=${file#"$root"/}
    unit_of src_unit "$rel"
    # "../" hides which layer a header belongs to; includes are written from the src/ root.
    if [[ $inc =~ (^|/)\.\.(/|$) ]]; then
        report "$file:$line: $src_unit may not include $inc (no climbing relative includes)"
        continue
    fi
    [[ $inc == */* ]] || continue                    # same-folder header: always fine
    # The compiler tries the includer's own folder first, so resolve there first as well.
    target=$inc
    [[ -f ${file%/*}/$inc ]] && target=${rel%/*}/$inc
    unit_of tgt_unit "$target"
    # A quoted header outside every layer (a third-party one) is not ours to order.
    [[ -n ${ALLOW[${tgt_unit%%/*}]+set} ]] || continue
    if ! allowed "$src_unit" "$tgt_unit"; then
        report "$file:$line: $src_unit may not include $inc" \
               "($src_unit may include: ${ALLOW[$src_unit]:-nothing else})"
    fi
done < <(grep -rnE --include='*.hpp' --include='*.cpp' "$include_re" "$root" |
         sort -t: -k1,1 -k2,2n || true)

files=$(find "$root" -type f \( -name '*.hpp' -o -name '*.cpp' \) | wc -l)
if ((violations)); then
    echo "check-layers: $violations layering violation(s) in $files files under $root"
    exit 1
fi
echo "check-layers: OK, $files files under $root follow the layer table"
