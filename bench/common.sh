# Sourced by the bench_*.sh scripts: their arguments [BUILD_DIR] [N] [D], the
# lstore they time, and the synthetic store they share with bench_ls.sh
# (${TMPDIR:-/tmp}/lstore-bench-N-D/persist, made by gen_store.py with the
# same arguments when missing).
#
# Sets HERE (bench/), BUILD_DIR (absolute), N, D, LSTORE, CACHE, STORE.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD_DIR=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "no build directory ${1:-build}: build first" >&2; exit 2; }
N=${2:-100000}
D=${3:-384}
LSTORE=$BUILD_DIR/lstore
CACHE=${TMPDIR:-/tmp}/lstore-bench-$N-$D
STORE=$CACHE/persist
[ -x "$LSTORE" ] || { echo "no $LSTORE: build first" >&2; exit 2; }

# Generates the store when it is missing (bench_ls.sh's defaults: seed 1234,
# a ref doc per 10 nodes).
ensure_store() {
  [ -d "$STORE" ] || python3 "$HERE/gen_store.py" "$STORE" --nodes "$N" --dim "$D" --seed 1234 --docs $(( (N + 9) / 10 )) --quiet
}

# The store's JSON bytes, and its files read once so every timing starts from
# a warm page cache.
store_bytes() { cat "$STORE"/*.json | wc -c; }
warm_store() { cat "$STORE"/*.json > /dev/null; }
