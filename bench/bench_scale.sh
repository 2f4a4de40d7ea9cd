#!/usr/bin/env bash
# Issue #20's table: lstore's ls, cold query, warm query, validate and delete
# of one ref doc on a synthetic 0.12.35 store of N x D (bench/gen_store.py),
# with seconds, peak RSS, the issue's goal, and the ratio to a baseline:
#   - the LlamaIndex 0.12.35 figures the issue measured at 100,000 x 384 on 2
#     cores (LlamaIndex cannot be installed here: they are printed, not run);
#   - a live `python3 json.load` of every file (the least any Python loader
#     pays before it builds one object);
#   - the parse floor: bench/simdjson_floor.cpp, one bare simdjson On-Demand
#     pass over the same files, built with -march=native.
#
#   bench/bench_scale.sh [BUILD_DIR] [N] [D]        (defaults: build 100000 384)
#
# Environment: REPS=3 (best wall time kept, largest peak RSS kept), SEED=1234,
# REGEN=1, PYTHON_BASE=0 (skip the json.load baseline: 20 s and 3.4 GB at 100k),
# LAYOUT=documents|nodes (gen_store.py --layout; nodes is the smaller store),
# JOBS=1 (gen_store.py --jobs), ROWS="ls get query-cold ..." (the rows to run,
# default all), MEM_CAP_GB=N (a command whose resident set passes N GB is
# killed and its row fails, instead of the machine calling the OOM killer).
#   The 10M figures: LAYOUT=nodes JOBS=2 REPS=1 PYTHON_BASE=0 MEM_CAP_GB=8 \
#     ROWS="ls get query-cold validate convert" bench/bench_scale.sh build 10000000 32
# The store is shared with bench_ls.sh / bench_query.sh:
# ${TMPDIR:-/tmp}/lstore-bench-N-D/persist. Needs /usr/bin/time, g++,
# libsimdjson-dev.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD_DIR=${1:-build}
N=${2:-100000}
D=${3:-384}
REPS=${REPS:-3}
SEED=${SEED:-1234}
DOCS=$(( (N + 9) / 10 ))
LAYOUT=${LAYOUT:-documents}
ROWS=" ${ROWS:-ls ls-loaded get get-loaded query-cold query-loaded query-warm validate validate-loaded delete convert floor} "
CACHE=${TMPDIR:-/tmp}/lstore-bench-$N-$D
STORE=$CACHE/persist
OUT=$CACHE/out-scale
LSTORE=$(cd "$BUILD_DIR" && pwd)/lstore
die() { echo "bench_scale: $*" >&2; exit 2; }
[ -x /usr/bin/time ] || die "/usr/bin/time not found (Debian: apt-get install -y time)"
[ -x "$LSTORE" ] || die "no $LSTORE: build lstore first"

# ---------------------------------------------------------------- the store (as bench_ls.sh makes it)
GEN_ARGS=(--nodes "$N" --dim "$D" --seed "$SEED" --docs "$DOCS" --layout "$LAYOUT")
MARK="gen_store.py ${GEN_ARGS[*]}"
if [ "${REGEN:-0}" = 1 ] || [ ! -f "$CACHE/gen.ok" ] || [ "$(cat "$CACHE/gen.ok")" != "$MARK" ]; then
    echo "generating $STORE ($MARK) ..."
    rm -rf "$STORE" "$CACHE/gen.ok"
    mkdir -p "$CACHE"
    python3 "$HERE/gen_store.py" "$STORE" "${GEN_ARGS[@]}" --jobs "${JOBS:-1}" --quiet
    printf '%s' "$MARK" > "$CACHE/gen.ok"
fi
mkdir -p "$OUT"
rm -f "$OUT"/*.out "$OUT"/*.err "$OUT"/*.time   # a row not run this time is not reported
FILES=("$STORE"/*.json)
TOTAL_BYTES=$(cat "${FILES[@]}" | wc -c)   # also warms the page cache

# ---------------------------------------------------------------- the floor
FLOOR=$OUT/simdjson_floor
if [ ! -x "$FLOOR" ] || [ "$HERE/simdjson_floor.cpp" -nt "$FLOOR" ]; then
    g++ -O2 -march=native -std=c++17 -o "$FLOOR" "$HERE/simdjson_floor.cpp" -lsimdjson || die "cannot build the floor"
fi

QUERY=$OUT/query.json
python3 - "$QUERY" "$D" "$SEED" <<'EOF'
import json, math, random, sys
path, d, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed + 7)  # the same query vector as bench_query.sh
v = [r.gauss(0, 1) for _ in range(d)]
n = math.sqrt(sum(x * x for x in v))
json.dump([x / n for x in v], open(path, "w"))
EOF

# ---------------------------------------------------------------- measuring
# measure NAME SETUP CMD...: best wall time of REPS runs ($EPOCHREALTIME around
# /usr/bin/time, so process start-up counts), largest peak RSS (%M); SETUP is
# eval'ed before each run and not timed. Output of the last run: $OUT/NAME.out.
declare -A SECS CPU RSS_KB
safe() { local n=${1//[^A-Za-z0-9_.-]/_}; echo "$OUT/$n"; }
# watch_rss PID KB: kills PID's children once one's resident set passes KB
# (an address-space limit would not do: the store files are mapped whole).
watch_rss() {
    local p rss
    while kill -0 "$1" 2>/dev/null; do
        for p in $(pgrep -P "$1"); do
            rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
            if [ "${rss:-0}" -gt "$2" ]; then echo "over the memory cap (${MEM_CAP_GB} GB): killed" >&2; kill "$p"; fi
        done
        sleep 0.5
    done
}
measure() {
    local name=$1 setup=$2; shift 2
    local out; out=$(safe "$name")
    local best="" bestcpu="" maxrss=0 i t0 el rss cpu
    for ((i = 0; i < ${MREPS:-$REPS}; i++)); do
        eval "$setup"
        t0=$EPOCHREALTIME
        /usr/bin/time -f '%M %U %S' -o "$out.time" -- "$@" >"$out.out" 2>"$out.err" &
        local tpid=$!
        [ -z "${MEM_CAP_GB:-}" ] || watch_rss "$tpid" $(( MEM_CAP_GB * 1024 * 1024 )) &
        wait "$tpid" ||
            { echo "  $name: failed:"; tail -n 3 "$out.err"; return 0; }
        el=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
        if [ -z "$best" ] || awk -v x="$el" -v y="$best" 'BEGIN { exit !(x < y) }'; then best=$el; fi
        read -r rss cpu < <(tail -n 1 "$out.time" | awk '{ printf "%d %.2f\n", $1, $2 + $3 }')
        [ "$rss" -gt "$maxrss" ] && maxrss=$rss
        if [ -z "$bestcpu" ] || awk -v x="$cpu" -v y="$bestcpu" 'BEGIN { exit !(x < y) }'; then bestcpu=$cpu; fi
    done
    SECS[$name]=$best; CPU[$name]=$bestcpu; RSS_KB[$name]=$maxrss
    printf '  %-26s %8.3f s %8.2f s CPU %9.1f MiB\n' "$name" "$best" "$bestcpu" "$(awk -v k="$maxrss" 'BEGIN { print k / 1024 }')"
}

WORK=$OUT/work
fresh() { rm -rf "$WORK"; cp -r "$STORE" "$WORK"; sync; }
# The first document and the middle node, by the generator's own ids (a
# listing of a 10M store is not what is being timed).
gen_id() { python3 -c 'import sys, uuid; sys.path.insert(0, sys.argv[1]); import gen_store as g
n, d, seed, docs, layout, what = sys.argv[2:]
print(uuid.uuid5(g.Generator(int(n), int(d), int(seed), int(docs), layout).ns, what))' "$HERE" "$N" "$D" "$SEED" "$DOCS" "$LAYOUT" "$1"; }
REF=$(gen_id doc-0)
NODE=$(gen_id "node-$(( N / 2 ))")
QARGS=(query "$STORE" --vector-file "$QUERY" --top-k 10 --json)
export LSTORE_CACHE_DIR=$OUT/query-cache

row() { [[ $ROWS == *" $1 "* ]]; }
echo "store: $STORE ($TOTAL_BYTES bytes), best of $REPS runs, hot page cache"
row ls && measure "ls" ":" "$LSTORE" ls "$STORE" --json
# The summary and get stream a directory store; LSTORE_NO_STREAM=1 is the
# loaded model they had before (issue #20's bounded memory).
row ls-loaded && measure "ls (loaded model)" ":" env LSTORE_NO_STREAM=1 "$LSTORE" ls "$STORE" --json
row get && measure "get 1 node" ":" "$LSTORE" get "$STORE" "$NODE" --json
row get-loaded && measure "get 1 node (loaded model)" ":" env LSTORE_NO_STREAM=1 "$LSTORE" get "$STORE" "$NODE" --json
rm -rf "$LSTORE_CACHE_DIR"
row query-cold && measure "query cold (top 10)" ":" "$LSTORE" "${QARGS[@]}"
# The cold query streams the vector file too; LSTORE_NO_STREAM=1 searches the loaded model.
row query-loaded && measure "query cold (loaded model)" ":" env LSTORE_NO_STREAM=1 "$LSTORE" "${QARGS[@]}"
if row query-warm; then
    "$LSTORE" "${QARGS[@]}" --cache > /dev/null   # writes the warm cache
    measure "query warm (--cache)" ":" "$LSTORE" "${QARGS[@]}" --cache
fi
row validate && measure "validate" ":" "$LSTORE" validate "$STORE" --format json
# validate streams a directory store with compact per-node state; LSTORE_NO_STREAM=1 loads the model.
row validate-loaded && measure "validate (loaded model)" ":" env LSTORE_NO_STREAM=1 "$LSTORE" validate "$STORE" --format json
if row delete; then
    measure "delete 1 ref doc" fresh "$LSTORE" delete "$WORK" --ref-doc "$REF"
    rm -rf "$WORK"
fi
if row convert; then
    DB=$OUT/convert.db
    measure "convert to sqlite:" "rm -f '$DB'" "$LSTORE" convert "$STORE" "sqlite:$DB"
    rm -f "$DB"
fi
if row floor; then
    measure "simdjson floor (all files)" ":" "$FLOOR" "${FILES[@]}"
    measure "simdjson floor (vectors)" ":" "$FLOOR" "$STORE/default__vector_store.json"
fi
if [ "${PYTHON_BASE:-1}" = 1 ]; then
    MREPS=1 measure "python3 json.load" ":" python3 -c 'import json,sys
for f in sys.argv[1:]: json.load(open(f, "rb"))' "${FILES[@]}"
fi
if row query-cold && row query-warm; then
    cmp -s "$(safe "query cold (top 10)").out" "$(safe "query warm (--cache)").out" && SAME=same || SAME=DIFFERENT
    echo "cold and warm query output (ids and scores): $SAME"
fi
if row validate && row validate-loaded; then
    cmp -s "$(safe "validate").out" "$(safe "validate (loaded model)").out" && SAME=same || SAME=DIFFERENT
    echo "streamed and loaded validate report: $SAME"
fi
if row query-cold && row query-loaded; then
    cmp -s "$(safe "query cold (top 10)").out" "$(safe "query cold (loaded model)").out" && SAME=same || SAME=DIFFERENT
    echo "streamed and loaded cold query output: $SAME"
fi
row floor && head -n 1 "$(safe "simdjson floor (all files)").out"

# ---------------------------------------------------------------- the table
# The issue's LlamaIndex 0.12.35 figures (100,000 x 384, 2 cores): seconds and MiB.
declare -A LI_S=([ls]=20 ["query cold (top 10)"]=33.6 ["query warm (--cache)"]=2.2)
declare -A LI_WHAT=([ls]="load" ["query cold (top 10)"]="load+query" ["query warm (--cache)"]="in-memory query")
declare -A GOAL=([ls]="<= 0.2 s, < 200 MB" ["get 1 node"]="< 200 MB" ["query cold (top 10)"]="<= 0.8 s, >= 40x, < 200 MB"
    ["query warm (--cache)"]="<= 0.02 s" [validate]="< 600 MB at 400k" ["delete 1 ref doc"]="<= 1 s"
    ["convert to sqlite:"]="< 200 MB")
FLOOR_ALL=${SECS["simdjson floor (all files)"]:-}
FLOOR_VEC=${SECS["simdjson floor (vectors)"]:-}
PY=${SECS["python3 json.load"]:-}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b > 0) printf "%.1fx", a / b; else printf "-" }'; }
echo
echo "N=$N D=$D, $(awk -v b="$TOTAL_BYTES" 'BEGIN { printf "%.0f", b / 1e6 }') MB of JSON; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' command seconds "CPU s" "peak RSS MiB" goal "LlamaIndex (issue)" "LlamaIndex/lstore" "json.load/lstore"
printf '| --- | --- | --- | --- | --- | --- | --- | --- |\n'
for name in ls "ls (loaded model)" "get 1 node" "get 1 node (loaded model)" "query cold (top 10)" "query cold (loaded model)" "query warm (--cache)" validate "validate (loaded model)" "delete 1 ref doc" "convert to sqlite:"; do
    [ -n "${SECS[$name]:-}" ] || { [ -e "$(safe "$name").err" ] && printf '| %s | failed | | | | | | |\n' "$name"; continue; }
    li=""; li_txt="-"
    if [ "$N" = 100000 ] && [ "$D" = 384 ] && [ -n "${LI_S[$name]:-}" ]; then li=${LI_S[$name]}; li_txt="${LI_WHAT[$name]} $li s"; fi
    printf '| %s | %.3f | %.2f | %.1f | %s | %s | %s | %s |\n' "$name" "${SECS[$name]}" "${CPU[$name]}" \
        "$(awk -v k="${RSS_KB[$name]}" 'BEGIN { print k / 1024 }')" "${GOAL[$name]:-}" "$li_txt" \
        "$(ratio "$li" "${SECS[$name]}")" "$(ratio "$PY" "${SECS[$name]}")"
done
for name in "simdjson floor (all files)" "simdjson floor (vectors)" "python3 json.load"; do
    [ -n "${SECS[$name]:-}" ] || continue
    printf '| %s | %.3f | %.2f | %.1f | | | | |\n' "$name" "${SECS[$name]}" "${CPU[$name]}" "$(awk -v k="${RSS_KB[$name]}" 'BEGIN { print k / 1024 }')"
done
echo
echo "cold query / floor over the vector file: $(ratio "${SECS["query cold (top 10)"]:-}" "$FLOOR_VEC")"
echo "validate / floor over all files:         $(ratio "${SECS[validate]:-}" "$FLOOR_ALL")"
echo "ls / floor over all files:               $(ratio "${SECS[ls]:-}" "$FLOOR_ALL")"
echo "(seconds: best wall time of $REPS, start-up included; CPU s: user + system of the best run, both cores counted)"
echo "(LlamaIndex figures: the issue's, 100,000 x 384 only; LlamaIndex is not installable here, so they are not re-run)"
