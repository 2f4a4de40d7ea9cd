#!/usr/bin/env bash
# FAISS: times convert dir -> FaissVectorStore dir (--vectors faiss) and back
# (--vectors simple) on a synthetic store, with throughput in MB/s of the
# source's JSON and peak RSS, then query latency (top-10) on the FAISS dir,
# cold process each time: median of 5 runs, and `ls` on the FAISS dir (counts
# from the index's header). The store is the one bench_ls.sh and
# bench_pgvector.sh use ($TMPDIR/lstore-bench-N-D, same generator arguments).
# Usage: bench/bench_faiss.sh [BUILD_DIR] [N] [D]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$LSTORE" --version | grep -q "faiss (libfaiss)" || { echo "$LSTORE was built without FAISS" >&2; exit 2; }
ensure_store
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lstore-bench-faiss-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
BYTES=$(store_bytes)
warm_store

timed() {  # prints "seconds peak_kb" of the command
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
  cat "$WORK/time"
}
mbs() { python3 -c "import sys; print(f'{$BYTES / 1e6 / max(float(sys.argv[1]), 1e-9):.0f}')" "$1"; }

echo "store: $N x $D, $((BYTES / 1000000)) MB of JSON"
read -r s kb < <(timed "$LSTORE" -q convert "$STORE" "$WORK/faiss" --vectors faiss)
echo "convert dir -> faiss:  ${s} s, $(mbs "$s") MB/s, peak RSS $((kb / 1024)) MB, index $(( $(stat -c %s "$WORK/faiss/default__vector_store.json") / 1000000 )) MB"
read -r s kb < <(timed "$LSTORE" -q convert "$WORK/faiss" "$WORK/back" --vectors simple)
echo "convert faiss -> dir:  ${s} s, peak RSS $((kb / 1024)) MB"
read -r s kb < <(timed "$LSTORE" --json ls "$WORK/faiss")
echo "ls on the faiss dir:   ${s} s, peak RSS $((kb / 1024)) MB"
Q=$(python3 -c "import random; random.seed(7); print([round(random.uniform(-1, 1), 6) for _ in range($D)])")
runs=()
for _ in 1 2 3 4 5; do
  read -r s kb < <(timed "$LSTORE" --json query "$WORK/faiss" --vector "$Q" --top-k 10)
  runs+=("$s")
done
median=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 3p)
echo "query top-10 (faiss, whole process): median ${median} s of 5, peak RSS $((kb / 1024)) MB"
