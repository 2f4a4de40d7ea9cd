#!/usr/bin/env bash
# Benchmark `lstore query` (cold, and warm with --cache) against what
# LlamaIndex does (json.load of the vector file, then numpy cosine top-k in
# its get_top_k_embeddings loop) and against a bare simdjson parse of the
# vector file (the floor: every number visited with simdjson on-demand).
#
#   bench/bench_query.sh [BUILD_DIR] [N] [D]        (defaults: build 100000 384)
#
# Environment: REPS=3 (runs per tool; best wall time is kept), WARM_REPS=10
# (runs of the warm query), REGEN=1 (rebuild
# the cached store), SEED=1234, DOCS (default ceil(N/10)), TOPK=10, PYTHON
# (an interpreter with numpy; default: python3, else /usr/bin/python3).
# The store is shared with bench_ls.sh: ${TMPDIR:-/tmp}/lstore-bench-N-D/persist.
# Needs /usr/bin/time, g++ and libsimdjson-dev (for the floor), numpy (for the
# Python baseline; Debian: apt-get install -y python3-numpy).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD_DIR=${1:-build}
N=${2:-100000}
D=${3:-384}
REPS=${REPS:-3}
SEED=${SEED:-1234}
TOPK=${TOPK:-10}
LAYOUT=documents
DOCS=${DOCS:-$(( (N + 9) / 10 ))}
CACHE=${TMPDIR:-/tmp}/lstore-bench-$N-$D
STORE=$CACHE/persist
OUT=$CACHE/out-query
LSTORE=$BUILD_DIR/lstore
VEC=$STORE/default__vector_store.json
WARM_DIR=$CACHE/lstore-query-cache   # LSTORE_CACHE_DIR for the warm runs

die() { echo "bench_query: $*" >&2; exit 2; }

[ -x /usr/bin/time ] || die "/usr/bin/time not found (Debian: apt-get install -y time)"
[ -x "$LSTORE" ] || die "no executable $LSTORE (build lstore first, or pass its build dir as 1st argument)"
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    if ! python3 -c 'import numpy' 2>/dev/null && /usr/bin/python3 -c 'import numpy' 2>/dev/null; then PYTHON=/usr/bin/python3; fi
fi

# ---------------------------------------------------------------- the store (as bench_ls.sh makes it)
GEN_ARGS=(--nodes "$N" --dim "$D" --seed "$SEED" --docs "$DOCS" --layout "$LAYOUT")
MARK="gen_store.py ${GEN_ARGS[*]}"
if [ "${REGEN:-0}" = 1 ] || [ ! -f "$CACHE/gen.ok" ] || [ "$(cat "$CACHE/gen.ok")" != "$MARK" ]; then
    echo "generating $STORE ($MARK) ..."
    rm -rf "$STORE" "$CACHE/gen.ok"
    mkdir -p "$CACHE"
    python3 "$HERE/gen_store.py" "$STORE" "${GEN_ARGS[@]}" --quiet
    printf '%s' "$MARK" > "$CACHE/gen.ok"
else
    echo "reusing $STORE ($MARK)"
fi
mkdir -p "$OUT"
VEC_BYTES=$(wc -c < "$VEC")
cat "$STORE"/*.json > /dev/null   # hot page cache for every tool

# A fixed query vector (a random unit vector from SEED).
QUERY=$OUT/query.json
python3 - "$QUERY" "$D" "$SEED" <<'EOF'
import json, math, random, sys
path, d, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed + 7)
v = [r.gauss(0, 1) for _ in range(d)]
n = math.sqrt(sum(x * x for x in v))
json.dump([x / n for x in v], open(path, "w"))
EOF

# ---------------------------------------------------------------- the simdjson floor
FLOOR_SRC=$OUT/simdjson_floor.cpp
FLOOR_BIN=$OUT/simdjson_floor
cat > "$FLOOR_SRC.new" <<'EOF'
// The floor for a cold query: visit every number of embedding_dict with
// simdjson on-demand, nothing else. The file is mapped when the page padding
// after its end is enough for simdjson, else loaded into a padded string.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <simdjson.h>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int fd = open(argv[1], O_RDONLY);
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) return 3;
  const std::size_t size = static_cast<std::size_t>(st.st_size), page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  simdjson::padded_string owned;
  simdjson::padded_string_view view;
  if (size % page != 0 && page - size % page >= simdjson::SIMDJSON_PADDING) {
    void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (p == MAP_FAILED) return 3;
    view = simdjson::padded_string_view(static_cast<const char*>(p), size, size + (page - size % page));
  } else {
    owned = simdjson::padded_string::load(argv[1]);
    view = owned;
  }
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc = parser.iterate(view);
  double sum = 0;
  std::size_t numbers = 0, vectors = 0;
  for (auto field : doc.get_object()) {
    std::string_view key = field.unescaped_key();
    if (key != "embedding_dict") continue;
    for (auto entry : field.value().get_object()) {
      for (double x : entry.value().get_array()) {
        sum += x;
        ++numbers;
      }
      ++vectors;
    }
  }
  std::printf("%zu vectors, %zu numbers, sum %.6f\n", vectors, numbers, sum);
  return 0;
}
EOF
if ! cmp -s "$FLOOR_SRC.new" "$FLOOR_SRC" || [ ! -x "$FLOOR_BIN" ]; then
    mv "$FLOOR_SRC.new" "$FLOOR_SRC"
    g++ -O2 -std=c++17 -o "$FLOOR_BIN" "$FLOOR_SRC" -lsimdjson || die "cannot build the simdjson floor (apt-get install -y libsimdjson-dev)"
else
    rm -f "$FLOOR_SRC.new"
fi

# ---------------------------------------------------------------- the Python baseline
PY_BASE=$OUT/llamaindex_baseline.py
cat > "$PY_BASE" <<'EOF'
# What LlamaIndex does for SimpleVectorStore.query: json.load the file
# (SimpleVectorStore.from_persist_path), then get_top_k_embeddings: numpy
# arrays, cosine per row, a heapq of (similarity, id), sorted by similarity.
import heapq, json, sys
import numpy as np
vec_path, query_path, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(vec_path, "rb") as f:
    data = json.load(f)
query = json.load(open(query_path))
ids, embeddings = [], []
for node_id, embedding in data["embedding_dict"].items():
    ids.append(node_id)
    embeddings.append(embedding)
q = np.array(query)
heap = []
for i, e in enumerate(np.array(embeddings)):
    s = np.dot(q, e) / (np.linalg.norm(q) * np.linalg.norm(e))
    heapq.heappush(heap, (s, ids[i]))
    if k and len(heap) > k:
        heapq.heappop(heap)
top = sorted(heap, key=lambda x: x[0], reverse=True)
print(json.dumps({"results": [{"id": i, "score": float(s)} for s, i in top]}))
EOF

# ---------------------------------------------------------------- measuring
# measure NAME CMD...  (as bench_ls.sh): best wall time of $REPS runs, the
# user + system CPU seconds of that run (what to compare on a shared machine),
# largest peak RSS (%M); stdout/stderr of the last run in $OUT/NAME.{out,err}.
NAMES=()
declare -A SECS CPU RSS_KB STATUS
measure() {
    local name=$1; shift
    local safe=${name//[^A-Za-z0-9_.-]/_}
    local tf="$OUT/$safe.time" best="" cpu="" maxrss=0 i t0 t1 el rc
    for ((i = 0; i < ${MREPS:-$REPS}; i++)); do
        [ -n "${BEFORE:-}" ] && eval "$BEFORE"
        t0=$EPOCHREALTIME
        rc=0
        /usr/bin/time -f '%e %M %U %S' -o "$tf" -- "$@" >"$OUT/$safe.out" 2>"$OUT/$safe.err" || rc=$?
        t1=$EPOCHREALTIME
        if [ "$rc" != 0 ]; then
            echo "  $name: exit status $rc (see $OUT/$safe.err):" >&2
            tail -n 5 "$OUT/$safe.err" >&2 || true
            NAMES+=("$name"); STATUS[$name]="exit $rc"; SECS[$name]=""; CPU[$name]=""; RSS_KB[$name]=""
            return 0
        fi
        el=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
        if [ -z "$best" ] || awk -v x="$el" -v y="$best" 'BEGIN { exit !(x < y) }'; then
            best=$el
            cpu=$(awk '{ printf "%.3f", $3 + $4 }' "$tf")
        fi
        local rss; rss=$(awk '{ print $2 }' "$tf")
        [ "$rss" -gt "$maxrss" ] && maxrss=$rss
    done
    NAMES+=("$name"); STATUS[$name]=ok; SECS[$name]=$best; CPU[$name]=$cpu; RSS_KB[$name]=$maxrss
    printf '  %-20s %8.3f s  (CPU %6.3f s)  %8.1f MiB\n' "$name" "$best" "$cpu" "$(awk -v k="$maxrss" 'BEGIN { print k / 1024 }')"
}

echo "store: $STORE; vector file $VEC_BYTES bytes; top-k $TOPK; best of $REPS runs each (hot page cache)"
QARGS=(query "$STORE" --vector-file "$QUERY" --top-k "$TOPK" --json)

rm -rf "$WARM_DIR"
LSTORE_CACHE_DIR=$WARM_DIR measure "lstore cold" "$LSTORE" "${QARGS[@]}"
[ -d "$WARM_DIR" ] && die "a cold query wrote a cache"
BEFORE="rm -rf '$WARM_DIR'" LSTORE_CACHE_DIR=$WARM_DIR measure "lstore cache write" "$LSTORE" "${QARGS[@]}" --cache
LSTORE_CACHE_DIR=$WARM_DIR "$LSTORE" "${QARGS[@]}" --cache > /dev/null   # make sure it is there
# The warm query takes milliseconds: best of WARM_REPS (10) runs.
MREPS=${WARM_REPS:-10} LSTORE_CACHE_DIR=$WARM_DIR measure "lstore warm" "$LSTORE" "${QARGS[@]}" --cache
MREPS=${WARM_REPS:-10} LSTORE_CACHE_DIR=$WARM_DIR measure "lstore warm +text" "$LSTORE" "${QARGS[@]}" --cache --with-text
if "$PYTHON" -c 'import numpy' 2>/dev/null; then
    MREPS=1 measure "python (LlamaIndex)" "$PYTHON" "$PY_BASE" "$VEC" "$QUERY" "$TOPK"
else
    NAMES+=("python (LlamaIndex)"); STATUS["python (LlamaIndex)"]="no numpy"
    echo "  python (LlamaIndex): skipped: no numpy for $PYTHON (apt-get install -y python3-numpy)"
fi
measure "simdjson floor" "$FLOOR_BIN" "$VEC"

# ---------------------------------------------------------------- same answers?
same() { "$PYTHON" - "$@" <<'EOF'
import json, sys
a, b = (json.load(open(p))["results"] for p in sys.argv[1:3])
ok = [x["id"] for x in a] == [y["id"] for y in b] and all(abs(x["score"] - y["score"]) < 1e-9 for x, y in zip(a, b))
print("same" if ok else "DIFFERENT")
EOF
}
echo
echo "results: cold vs warm: $(same "$OUT/lstore_cold.out" "$OUT/lstore_warm.out")"
# The warm query screens in float32 and re-scores in float64: its output must
# be the cold query's byte for byte (ids, order, every digit of the scores).
if cmp -s "$OUT/lstore_cold.out" "$OUT/lstore_warm.out"; then echo "results: cold vs warm bytes: identical"
else echo "results: cold vs warm bytes: DIFFERENT"; fi
if [ "${STATUS["python (LlamaIndex)"]}" = ok ]; then
    py_name="python (LlamaIndex)"
    echo "results: lstore vs LlamaIndex's way: $(same "$OUT/lstore_cold.out" "$OUT/${py_name//[^A-Za-z0-9_.-]/_}.out")"
fi

# ---------------------------------------------------------------- report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b > 0) printf "%.2fx", a / b; else printf "-" }'; }
echo
echo "N=$N D=$D  vector file: $(awk -v b="$VEC_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }') MiB"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')"
printf '%-22s %10s %10s %14s %12s %12s\n' tool seconds "CPU s" "peak RSS MiB" "time/floor" "time/cold"
printf '%-22s %10s %10s %14s %12s %12s\n' ---------------------- ---------- ---------- -------------- ------------ ------------
for name in "${NAMES[@]}"; do
    if [ "${STATUS[$name]}" != ok ]; then
        printf '%-22s %10s %10s %14s %12s %12s\n' "$name" "${STATUS[$name]}" - - - -
        continue
    fi
    printf '%-22s %10.3f %10.3f %14.1f %12s %12s\n' "$name" "${SECS[$name]}" "${CPU[$name]}" \
        "$(awk -v k="${RSS_KB[$name]}" 'BEGIN { print k / 1024 }')" \
        "$(ratio "${SECS[$name]}" "${SECS["simdjson floor"]:-}")" "$(ratio "${SECS[$name]}" "${SECS["lstore cold"]:-}")"
done
echo "(time/floor: seconds / the simdjson floor's, below 1.5x is the target for the cold query; time/cold: seconds / lstore cold's)"
