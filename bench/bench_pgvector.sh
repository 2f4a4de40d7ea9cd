#!/usr/bin/env bash
# dir -> pgvector (PGVectorStore's table) on a synthetic store: convert
# throughput (MB/s of the store's JSON) and peak RSS, then query latency
# without and with an HNSW index: `lstore query` on the URI (reads the table,
# ranks in lstore) and the server's own ORDER BY embedding <=> q LIMIT 10.
# The server is PGlite's (PostgreSQL 18 + pgvector compiled to WASM, as the
# tests use: run `ctest -R pgvector` once to install it into BUILD_DIR);
# a native PostgreSQL + pgvector is faster (Debian 12 has no pgvector package).
# Needs /usr/bin/time and psql. HNSW=0 skips the HNSW index (its build on
# PGlite takes minutes at 100k rows).
# Usage: bench/bench_pgvector.sh [BUILD_DIR] [N] [D]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
SERVER=$BUILD_DIR/pgvector-deps/node_modules/@electric-sql/pglite-socket/dist/scripts/server.js
[ -f "$SERVER" ] || { echo "no PGlite in $BUILD_DIR/pgvector-deps: run ctest -R pgvector first" >&2; exit 2; }
ensure_store
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lstore-bench-pgvector-XXXXXX")
BYTES=$(store_bytes)

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$BUILD_DIR/pgvector-deps" && exec node "$SERVER" -p "$PORT" -e @electric-sql/pglite-pgvector:vector >/dev/null 2>&1) &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
DB="postgresql://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
for _ in $(seq 600); do psql -X -q -d "$DB" -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
URI="$DB&vectors=pgvector&table=bench"

/usr/bin/time -f '%e %M' -o "$WORK/time" "$LSTORE" convert "$STORE" "$URI" 2>/dev/null
read -r secs rss < "$WORK/time"
printf 'dir -> pgvector: N=%s D=%s, %s MB in %ss = %s MB/s, peak RSS %s MB\n' "$N" "$D" \
  $((BYTES / 1000000)) "$secs" "$(python3 -c "print(round($BYTES / 1e6 / $secs, 1))")" $((rss / 1024))

Q=$(python3 -c "import random; random.seed(7); print([round(random.uniform(-1, 1), 6) for _ in range($D)])")
time_query() {  # $1: label
  /usr/bin/time -f '%e %M' -o "$WORK/time" "$LSTORE" query "$URI" --vector "$Q" --top-k 10 >/dev/null
  read -r secs rss < "$WORK/time"
  local sql
  sql=$(psql -X -q -d "$DB" -c '\timing on' -c "SELECT node_id FROM public.data_bench ORDER BY embedding <=> '$Q'::vector LIMIT 10" |
        sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)
  printf 'query top-10 %s: lstore query %ss (peak RSS %s MB); server SQL %s ms\n' "$1" "$secs" $((rss / 1024)) "$sql"
}
time_query "without HNSW"
[ "${HNSW:-1}" = 1 ] || exit 0
# pgvector builds the graph in maintenance_work_mem; at the 64 MB default a
# 100k x 384 graph does not fit and the build slows to a crawl (HNSW_MEM).
/usr/bin/time -f '%e' -o "$WORK/time" psql -X -q -d "$DB" -c "SET maintenance_work_mem = '${HNSW_MEM:-1GB}'" \
  -c "CREATE INDEX data_bench_embedding_idx ON public.data_bench USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
echo "HNSW index built in $(cat "$WORK/time")s"
time_query "with HNSW"
