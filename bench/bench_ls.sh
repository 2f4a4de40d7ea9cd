#!/usr/bin/env bash
# Benchmark `lstore ls --json` against python json.load, jq and plain cat on a
# synthetic LlamaIndex 0.12.35 persist dir made by bench/gen_store.py.
#
#   bench/bench_ls.sh [BUILD_DIR] [N] [D]        (defaults: build 100000 384)
#
# Environment: REPS=3 (runs per tool; best wall time is kept), REGEN=1 (rebuild
# the cached store), SEED=1234, DOCS (default ceil(N/10)), LAYOUT=documents.
# The store is cached in ${TMPDIR:-/tmp}/lstore-bench-N-D/persist and reused.
# Needs python3, /usr/bin/time (Debian package `time`), optionally jq.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD_DIR=${1:-build}
N=${2:-100000}
D=${3:-384}
REPS=${REPS:-3}
SEED=${SEED:-1234}
LAYOUT=${LAYOUT:-documents}
DOCS=${DOCS:-$(( (N + 9) / 10 ))}
CACHE=${TMPDIR:-/tmp}/lstore-bench-$N-$D
STORE=$CACHE/persist
OUT=$CACHE/out            # stdout/stderr of the last run of each tool
LSTORE=$BUILD_DIR/lstore

die() { echo "bench_ls: $*" >&2; exit 2; }

[ -x /usr/bin/time ] || die "/usr/bin/time not found (Debian: apt-get install -y time)"
command -v python3 >/dev/null || die "python3 not found"

# ---------------------------------------------------------------- the store
GEN_ARGS=(--nodes "$N" --dim "$D" --seed "$SEED" --docs "$DOCS" --layout "$LAYOUT")
MARK="gen_store.py ${GEN_ARGS[*]}"
if [ "${REGEN:-0}" = 1 ] || [ ! -f "$CACHE/gen.ok" ] || [ "$(cat "$CACHE/gen.ok")" != "$MARK" ]; then
    echo "generating $STORE ($MARK) ..."
    rm -rf "$STORE" "$CACHE/gen.ok"
    mkdir -p "$CACHE"
    t0=$EPOCHREALTIME
    python3 "$HERE/gen_store.py" "$STORE" "${GEN_ARGS[@]}" --quiet
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "generated in %.1f s\n", b - a }'
    printf '%s' "$MARK" > "$CACHE/gen.ok"
else
    echo "reusing $STORE ($MARK)"
fi
mkdir -p "$OUT"

FILES=()
for f in docstore.json index_store.json default__vector_store.json image__vector_store.json graph_store.json; do
    [ -f "$STORE/$f" ] && FILES+=("$STORE/$f")
done
TOTAL_BYTES=$(cat "${FILES[@]}" | wc -c)   # also warms the page cache

# ---------------------------------------------------------------- measuring
# measure NAME CMD...   run CMD $REPS times under /usr/bin/time; keep the best
# wall time (bash $EPOCHREALTIME, microseconds) and the largest peak RSS
# (%M, KiB).  stdout/stderr of the last run go to $OUT/NAME.{out,err}.
NAMES=()
declare -A SECS RSS_KB STATUS
measure() {
    local name=$1; shift
    local safe=${name//[^A-Za-z0-9_.-]/_}
    local tf="$OUT/$safe.time" best="" maxrss=0 i t0 t1 el rc
    for ((i = 0; i < REPS; i++)); do
        t0=$EPOCHREALTIME
        rc=0
        /usr/bin/time -f '%e %M' -o "$tf" -- "$@" >"$OUT/$safe.out" 2>"$OUT/$safe.err" || rc=$?
        t1=$EPOCHREALTIME
        if [ "$rc" != 0 ]; then
            echo "  $name: exit status $rc (see $OUT/$safe.err):" >&2
            tail -n 5 "$OUT/$safe.err" >&2 || true
            NAMES+=("$name"); STATUS[$name]="exit $rc"; SECS[$name]=""; RSS_KB[$name]=""
            return 0
        fi
        el=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
        if [ -z "$best" ] || awk -v x="$el" -v y="$best" 'BEGIN { exit !(x < y) }'; then best=$el; fi
        local rss; rss=$(awk '{ print $2 }' "$tf")
        [ "$rss" -gt "$maxrss" ] && maxrss=$rss
    done
    NAMES+=("$name"); STATUS[$name]=ok; SECS[$name]=$best; RSS_KB[$name]=$maxrss
    printf '  %-12s %8.3f s  %8.1f MiB\n' "$name" "$best" "$(awk -v k="$maxrss" 'BEGIN { print k / 1024 }')"
}

skip() {  # skip NAME REASON
    NAMES+=("$1"); STATUS[$1]="skipped"; SECS[$1]=""; RSS_KB[$1]=""
    echo "  $1: skipped: $2"
}

echo "store: $STORE, ${#FILES[@]} files, $TOTAL_BYTES bytes; best of $REPS runs each (hot page cache)"

# ---- lstore (add further lstore commands here; ratios are taken vs BASE)
BASE="lstore ls"
if [ -x "$LSTORE" ]; then
    measure "lstore ls" "$LSTORE" ls "$STORE" --json
    # measure "lstore nodes" "$LSTORE" nodes "$STORE" --json
else
    skip "lstore ls" "no executable $LSTORE (build lstore first, or pass its build dir as 1st argument)"
fi

# ---- reference tools
measure "python" python3 -c 'import json,sys; [json.load(open(f,"rb")) for f in sys.argv[1:]]' "${FILES[@]}"

JQ_FILTER='
  if has("docstore/data") or has("docstore/metadata") then
    {file: input_filename,
     data: ((.["docstore/data"] // {}) | length),
     ref_doc_info: ((.["docstore/ref_doc_info"] // {}) | length),
     metadata: ((.["docstore/metadata"] // {}) | length)}
  elif has("embedding_dict") then
    {file: input_filename,
     embedding_dict: (.embedding_dict | length),
     dim: ([.embedding_dict[]][0] // [] | length)}
  else {file: input_filename} end'
if command -v jq >/dev/null; then
    measure "jq" jq -c "$JQ_FILTER" "${FILES[@]}"
else
    skip "jq" "jq not installed (apt-get install -y jq)"
fi

measure "cat" sh -c 'exec cat -- "$@" >/dev/null' cat "${FILES[@]}"

# ---------------------------------------------------------------- report
echo
echo "N=$N D=$D docs=$DOCS layout=$LAYOUT  files: $TOTAL_BYTES bytes ($(awk -v b="$TOTAL_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }') MiB)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')"
printf '%-14s %10s %14s %12s %12s\n' tool seconds "peak RSS MiB" "time/lstore" "RSS/lstore"
printf '%-14s %10s %14s %12s %12s\n' -------------- ---------- -------------- ------------ ------------
base_s=${SECS[$BASE]:-}
base_k=${RSS_KB[$BASE]:-}
for name in "${NAMES[@]}"; do
    if [ "${STATUS[$name]}" != ok ]; then
        printf '%-14s %10s %14s %12s %12s\n' "$name" "${STATUS[$name]}" - - -
        continue
    fi
    awk -v n="$name" -v s="${SECS[$name]}" -v k="${RSS_KB[$name]}" -v bs="$base_s" -v bk="$base_k" 'BEGIN {
        tr = (bs != "" && bs > 0) ? sprintf("%.2fx", s / bs) : "-"
        rr = (bk != "" && bk > 0) ? sprintf("%.2fx", k / bk) : "-"
        printf "%-14s %10.3f %14.1f %12s %12s\n", n, s, k / 1024, tr, rr }'
done
if [ -n "$base_s" ]; then
    awk -v b="$TOTAL_BYTES" -v s="$base_s" 'BEGIN {
        if (s > 0) printf "lstore ls throughput: %.1f MiB/s\n", b / 1048576 / s
        else print "lstore ls throughput: n/a (too fast to time)" }'
fi
if [ "${STATUS[jq]:-}" = ok ]; then
    echo "jq counts (for cross-checking lstore's output in $OUT):"
    sed 's/^/  /' "$OUT/jq.out"
fi
