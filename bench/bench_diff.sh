#!/usr/bin/env bash
# lstore diff of the bench store (bench_ls.sh's, N x D) against a copy with
# one ref doc deleted, narrowed (the default) and read whole
# (LSTORE_NO_STREAM=1): CPU seconds (user + sys) and peak RSS of each, and
# whether the two printed the same bytes. The copy is made once under
# $TMPDIR/lstore-bench-N-D/diff-copy (delete it and diff-copy.ok when done: it is the store's size).
# Usage: bench/bench_diff.sh [BUILD_DIR] [N] [D]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
COPY=${DIFF_COPY:-$CACHE/diff-copy}
[ -d "$STORE" ] || { echo "no $STORE: run bench_ls.sh $BUILD_DIR $N $D first" >&2; exit 2; }
if [ ! -f "$COPY.ok" ]; then
  rm -rf "$COPY" "$COPY.ok"
  cp -r "$STORE" "$COPY"
  REF=$("$LSTORE" ls "$STORE" docs --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
  "$LSTORE" delete "$COPY" --ref-doc "$REF" -q > /dev/null
  touch "$COPY.ok"
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for mode in narrowed whole; do
  env=(); [ $mode = whole ] && env=(LSTORE_NO_STREAM=1)
  env "${env[@]}" /usr/bin/time -o "$OUT/$mode.time" -f '%U %S %M' "$LSTORE" diff "$STORE" "$COPY" --json > "$OUT/$mode.json" || true
  read -r u s k < <(tail -1 "$OUT/$mode.time")
  printf '  diff %-9s %7.2f CPU s %9.1f MiB\n' "$mode" "$(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}')" "$(awk -v k="$k" 'BEGIN{print k/1024}')"
done
cmp -s "$OUT/narrowed.json" "$OUT/whole.json" && echo "  same output" || { echo "  OUTPUTS DIFFER" >&2; exit 1; }
