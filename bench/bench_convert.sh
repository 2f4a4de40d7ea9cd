#!/usr/bin/env bash
# Times convert from the synthetic store (bench_ls.sh's, N=100,000, D=384 by
# default) to every backend and back, with throughput in MB/s of the store's
# JSON, CPU seconds (user + sys) and peak RSS; the issue's targets are dir ->
# sqlite at 200 MB/s or more, and a peak under 200 MB at any size. A plain
# copy from a directory streams its large files (issue #20): each such row is
# timed streamed and loaded (LSTORE_NO_STREAM=1, the model read whole).
# Starts its own redis-server and PostgreSQL (as the tests do) when found;
# TARGETS="sqlite jsonl dir" picks the targets (default: every one found).
# Each target is removed before the next, so the disk holds one copy at a time.
# Usage: bench/bench_convert.sh [BUILD_DIR] [N] [D]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ensure_store
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lstore-bench-convert-XXXXXX")
BYTES=$(store_bytes)
warm_store

cleanup() {
  [ -n "${REDIS_PID:-}" ] && kill "$REDIS_PID" 2>/dev/null || true
  [ -n "${PGDATA_DIR:-}" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

TARGETS=${TARGETS:-sqlite jsonl jsonl.zst dir redis postgresql}
want() { [[ " $TARGETS " == *" $1 "* ]]; }
targets=()
want sqlite && targets+=("sqlite:$WORK/store.db")
want jsonl && targets+=("jsonl:$WORK/store.jsonl")
want jsonl.zst && targets+=("jsonl:$WORK/store.jsonl.zst")
want dir && targets+=("$WORK/copy")
if want redis && command -v redis-server >/dev/null; then
  RPORT=$(free_port)
  redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >/dev/null &
  REDIS_PID=$!
  sleep 0.5
  targets+=("redis://127.0.0.1:$RPORT/0")
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1)
if want postgresql && [ -n "$PGBIN" ] && id postgres >/dev/null 2>&1; then
  PGDATA_DIR=$WORK/pg
  mkdir -p "$PGDATA_DIR" && chown postgres "$WORK" "$PGDATA_DIR"
  PPORT=$(free_port)
  runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA_DIR" -A trust -U postgres >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -w -o "-c listen_addresses=127.0.0.1 -p $PPORT -k $WORK -c fsync=off" start >/dev/null
  targets+=("postgresql://postgres@127.0.0.1:$PPORT/postgres")
fi

measure() {  # prints wall seconds, CPU seconds (user + sys) and peak RSS in MiB of one command
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; return 1; }
  read -r secs user sys kb < "$WORK/time"
  echo "$secs $(echo "$user + $sys" | bc -l) $((kb / 1024))"
}
row() {  # label, then the command
  local label=$1; shift
  read -r s cpu rss < <(measure "$@")
  printf '%-34s %8s %8.2f %8.0f %8s\n' "$label" "$s" "$cpu" "$(echo "$BYTES / 1000000 / $s" | bc -l)" "$rss"
}
remove() { case $1 in sqlite:*|jsonl:*) rm -f "${1#*:}" ;; *://*) ;; *) rm -rf "$1" ;; esac; }

printf '%-34s %8s %8s %8s %8s\n' "convert ($((BYTES / 1000000)) MB of JSON)" seconds "CPU s" "MB/s" "RSS MiB"
for t in "${targets[@]}"; do
  case $t in sqlite:*|jsonl:*) name=${t%%:*} ;; *://*) name=${t%%:*} ;; *) name=dir ;; esac
  [[ $t == *.zst ]] && name="jsonl.zst"
  case $t in *://*) ;; *)
    remove "$t"
    row "dir -> $name (loaded)" env LSTORE_NO_STREAM=1 "$LSTORE" convert "$STORE" "$t" --force ;;
  esac
  remove "$t"
  row "dir -> $name" "$LSTORE" convert "$STORE" "$t" --force
  rm -rf "$WORK/back"
  if [ "$name" != dir ]; then
    row "$name -> dir" "$LSTORE" convert "$t" "$WORK/back"
    cmp -s "$STORE/default__vector_store.json" "$WORK/back/default__vector_store.json" || echo "  (!) not byte-identical"
  else
    for f in "$STORE"/*; do cmp -s "$f" "$t/$(basename "$f")" || echo "  (!) $(basename "$f") not byte-identical"; done
  fi
  rm -rf "$WORK/back"
  remove "$t"
done
