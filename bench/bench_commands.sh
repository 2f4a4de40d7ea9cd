#!/usr/bin/env bash
# Times validate, delete, put and diff on the synthetic store that bench_ls.sh
# generates (N=100,000, D=384 by default), next to their floors and baselines:
#   - a bare simdjson parse of every file (DOM, one file after the other): the
#     floor validate is measured against (issue: validate <= 2x of it);
#   - Python's json.load + json.dump of every file: what LlamaIndex's load +
#     persist costs at the least, before it builds a single object (the
#     baseline of delete and put, which LlamaIndex does as load, change, persist).
# Usage: bench/bench_commands.sh [BUILD_DIR] [N] [D]    (env REPS, default 3)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ensure_store
REPS=${REPS:-3}
WORK=$CACHE/work
mkdir -p "$WORK"
FILES=("$STORE"/*.json)
cat "${FILES[@]}" > /dev/null  # warm the page cache

# The floor: simdjson's DOM parse of every file.
FLOOR=$CACHE/simdjson_dom_floor
if [ ! -x "$FLOOR" ]; then
  cat > "$FLOOR.cpp" <<'CPP'
// Parses every file given with simdjson's DOM parser (a full parse: every
// value validated and materialised on the tape), one after the other.
#include <simdjson.h>
#include <cstdio>
int main(int argc, char** argv) {
  simdjson::dom::parser parser;
  for (int i = 1; i < argc; ++i) {
    simdjson::dom::element doc;
    auto err = parser.load(argv[i]).get(doc);
    if (err) { std::fprintf(stderr, "%s: %s\n", argv[i], simdjson::error_message(err)); return 1; }
  }
  return 0;
}
CPP
  g++ -O2 -std=c++17 -o "$FLOOR" "$FLOOR.cpp" -lsimdjson
fi

declare -A SECS RSS
best() {  # best NAME SETUP_CMD -- CMD...: best wall time of REPS runs, SETUP not timed
  local name=$1 setup=$2; shift 3
  local b="" m=0 i out
  for ((i = 0; i < REPS; i++)); do
    eval "$setup"
    /usr/bin/time -o "$WORK/time.txt" -f '%e %M' "$@" > /dev/null 2> "$WORK/stderr.txt" || true
    out=$(tail -1 "$WORK/time.txt")
    local s=${out% *} k=${out#* }
    if [ -z "$b" ] || awk -v x="$s" -v y="$b" 'BEGIN{exit !(x<y)}'; then b=$s; fi
    [ "$k" -gt "$m" ] && m=$k
  done
  SECS[$name]=$b; RSS[$name]=$m
  printf '  %-28s %8.2f s %9.1f MiB\n' "$name" "$b" "$(awk -v k="$m" 'BEGIN{print k/1024}')"
}

REF=$("$LSTORE" ls "$STORE" docs --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
fresh() { rm -rf "$WORK/store"; cp -r "$STORE" "$WORK/store"; sync; }
NODE='{"id": "bench-node", "text": "a new node", "metadata": {"k": "v"}, "ref_doc_id": "bench-doc", "embedding": ['$(python3 -c "print(','.join(['0.01']*$D))")']}'
echo "$NODE" > "$WORK/node.json"

# A copy with 1% of the nodes changed (text and embedding), made with lstore put.
if [ ! -d "$CACHE/changed" ]; then
  echo "making the 1%-changed copy ..."
  cp -r "$STORE" "$CACHE/changed"
  python3 - "$STORE" "$WORK/changes.ndjson" <<'PY'
import json, sys
store, out = sys.argv[1], sys.argv[2]
doc = json.load(open(f"{store}/docstore.json"))
vec = json.load(open(f"{store}/default__vector_store.json"))["embedding_dict"]
with open(out, "w") as f:
    for i, (k, env) in enumerate(doc["docstore/data"].items()):
        if i % 100:
            continue
        env = dict(env); env["__data__"] = dict(env["__data__"])
        env["__data__"]["text"] += " (changed)"
        env["embedding"] = [x * 0.999 + 0.001 for x in vec[k]]
        f.write(json.dumps(env) + "\n")
PY
  "$LSTORE" put "$CACHE/changed" "$WORK/changes.ndjson" > /dev/null
fi

echo "store: $STORE ($(cat "${FILES[@]}" | wc -c) bytes), best of $REPS"
best "simdjson DOM floor"        ":" -- "$FLOOR" "${FILES[@]}"
best "lstore validate"           ":" -- "$LSTORE" validate "$STORE" --format json
best "lstore delete (1 ref doc)" fresh -- "$LSTORE" delete "$WORK/store" --ref-doc "$REF"
best "lstore put (1 node)"       fresh -- "$LSTORE" put "$WORK/store" "$WORK/node.json"
best "lstore diff (1% changed)"  ":" -- "$LSTORE" diff "$STORE" "$CACHE/changed" --stat
REPS=1 best "python load+persist"  ":" -- python3 -c 'import json,sys
for f in sys.argv[1:]:
    d = json.load(open(f, "rb")); json.dump(d, open("/dev/null", "w"))' "${FILES[@]}"
echo
awk -v v="${SECS[lstore validate]}" -v f="${SECS[simdjson DOM floor]}" -v d="${SECS[lstore delete (1 ref doc)]}" \
    -v p="${SECS[lstore put (1 node)]}" -v py="${SECS[python load+persist]}" 'BEGIN {
  printf "validate / simdjson floor:        %.2fx (target <= 2x)\n", v / f
  printf "python load+persist / delete:     %.1fx\n", py / d
  printf "python load+persist / put:        %.1fx\n", py / p }'
