#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for
# SECONDS (default 600), seeded from the corpus ($LSTORE_CORPUS, else
# shared/corpus beside the checkout), testdata/, backups made from them, and the
# crashers kept in testdata/fuzz/. A crasher is written to
# build-fuzz/findings/<target>/; copy it to testdata/fuzz/<target>/ so the unit
# tests replay it forever.
#   bash fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(json_reader store_file filter_expression backup_jsonl backup_sqlite)
corpus=${LSTORE_CORPUS:-$(cd .. && pwd)/shared/corpus}
if [ -d "$corpus" ]; then echo "seeds from $corpus"; else echo "no corpus at $corpus (set LSTORE_CORPUS): testdata/ only"; corpus=; fi
CXX=clang++ cmake -S . -B build-fuzz -DLSTORE_FUZZ=ON -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" >/dev/null
cmake --build build-fuzz -j2 --target $(printf 'fuzz_%s ' "${targets[@]}") lstore
# Clang's ASan frames are large: deep-nesting inputs need more than 8 MB of stack.
ulimit -s unlimited 2>/dev/null || ulimit -s 262144 2>/dev/null || true
status=0
for t in "${targets[@]}"; do
  seeds=build-fuzz/seeds/$t
  mkdir -p "$seeds" build-fuzz/findings/$t
  case $t in
    filter_expression) cp fuzz/seeds/filter/* "$seeds"/ ;;
    backup_jsonl|backup_sqlite)
       # Backups of the small stores, made by lstore itself.
       n=0
       for d in testdata/sample testdata/ts-basic testdata/legacy-0.6 $(ls -d "$corpus"/llamaindex-0.12/*/persist 2>/dev/null | head -20); do
         n=$((n + 1))
         if [ $t = backup_jsonl ]; then build-fuzz/lstore convert -q "$d" "jsonl:$seeds/$n.jsonl" --force >/dev/null || true
         else build-fuzz/lstore convert -q "$d" "sqlite:$seeds/$n.db" --force >/dev/null || true; fi
       done ;;
    *) mapfile -t files < <(find testdata ${corpus:+"$corpus"} -name '*.json' -size -200k 2>/dev/null | sort)
       for f in "${files[@]:0:400}"; do cp "$f" "$seeds/$(echo "$f" | tr '/' '_')"; done ;;
  esac
  [ -d testdata/fuzz/$t ] && cp testdata/fuzz/$t/* "$seeds"/ 2>/dev/null || true
  echo "== $t: ${seconds}s"
  build-fuzz/fuzz/fuzz_$t "$seeds" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
    -artifact_prefix=build-fuzz/findings/$t/ -print_final_stats=1 > build-fuzz/$t.log 2>&1 || status=1
  grep -E 'ERROR|SUMMARY|stat::number_of_executed_units|stat::new_units_added|Done' build-fuzz/$t.log || true
done
exit $status
