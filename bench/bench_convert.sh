#!/usr/bin/env bash
# Times convert from the synthetic store (bench_ls.sh's, N=100,000, D=384 by
# default) to every backend and back, with throughput in MB/s of the store's
# JSON and peak RSS; the issue's target is dir -> sqlite at 200 MB/s or more.
# Starts its own redis-server and PostgreSQL (as the tests do) when found.
# Usage: bench/bench_convert.sh [BUILD_DIR] [N] [D]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD_DIR=${1:-build}
N=${2:-100000}
D=${3:-384}
LSTORE=$(cd "$BUILD_DIR" && pwd)/lstore
CACHE=${TMPDIR:-/tmp}/lstore-bench-$N-$D
STORE=$CACHE/persist
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lstore-bench-convert-XXXXXX")
[ -x "$LSTORE" ] || { echo "no $LSTORE: build first" >&2; exit 2; }
[ -d "$STORE" ] || python3 "$HERE/gen_store.py" "$STORE" --nodes "$N" --dim "$D" --seed 1234 --docs $(( (N + 9) / 10 )) --quiet
BYTES=$(cat "$STORE"/*.json | wc -c)
cat "$STORE"/*.json > /dev/null  # warm the page cache

cleanup() {
  [ -n "${REDIS_PID:-}" ] && kill "$REDIS_PID" 2>/dev/null || true
  [ -n "${PGDATA_DIR:-}" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

targets=("sqlite:$WORK/store.db" "jsonl:$WORK/store.jsonl" "jsonl:$WORK/store.jsonl.zst")
if command -v redis-server >/dev/null; then
  RPORT=$(free_port)
  redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >/dev/null &
  REDIS_PID=$!
  sleep 0.5
  targets+=("redis://127.0.0.1:$RPORT/0")
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1)
if [ -n "$PGBIN" ] && id postgres >/dev/null 2>&1; then
  PGDATA_DIR=$WORK/pg
  mkdir -p "$PGDATA_DIR" && chown postgres "$WORK" "$PGDATA_DIR"
  PPORT=$(free_port)
  runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA_DIR" -A trust -U postgres >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -w -o "-c listen_addresses=127.0.0.1 -p $PPORT -k $WORK -c fsync=off" start >/dev/null
  targets+=("postgresql://postgres@127.0.0.1:$PPORT/postgres")
fi

measure() {  # prints seconds and peak RSS in MB of one command
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; return 1; }
  read -r secs kb < "$WORK/time"
  echo "$secs $((kb / 1024))"
}

printf '%-34s %10s %10s %10s\n' "convert ($((BYTES / 1000000)) MB of JSON)" seconds "MB/s" "RSS MB"
for t in "${targets[@]}"; do
  name=${t%%:*}; [[ $t == *.zst ]] && name="jsonl.zst"
  read -r s rss < <(measure "$LSTORE" convert "$STORE" "$t" --force)
  printf '%-34s %10s %10.0f %10s\n' "dir -> $name" "$s" "$(echo "$BYTES / 1000000 / $s" | bc -l)" "$rss"
  rm -rf "$WORK/back"
  read -r s rss < <(measure "$LSTORE" convert "$t" "$WORK/back")
  printf '%-34s %10s %10.0f %10s\n' "$name -> dir" "$s" "$(echo "$BYTES / 1000000 / $s" | bc -l)" "$rss"
  cmp -s "$STORE/default__vector_store.json" "$WORK/back/default__vector_store.json" || echo "  (!) not byte-identical"
done
