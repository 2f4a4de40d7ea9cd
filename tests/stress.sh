#!/usr/bin/env bash
# The flakiness gate of the timing-sensitive tests (not run in CI): every
# test that races a process against a signal, a server stop, a lock or a
# timer, RUNS times in a row while every core is kept busy. Any failure is a
# test that depends on timing, and so a CI run that can go red for nothing.
#   bash tests/stress.sh [RUNS] [BUILD_DIR]      (defaults: 20, build)
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
build=${2:-build}
lstore=$build/lstore
shim=$build/tests/liblstore_fault_inject.so
# Busy loops on every core, stopped however this script ends.
loops=()
for _ in $(seq "$(nproc)"); do (while :; do :; done) & loops+=($!); done
trap 'kill "${loops[@]}" 2>/dev/null' EXIT
# The tests that race (the rest of each suite is deterministic, and runs in CI).
suites=(
  "python3 tests/test_cli_edit.py $lstore -k sigkill -k concurrent -k held_lock -k wait"  # SIGKILL trials, writers, --wait
  "python3 tests/test_safety.py $lstore $shim"      # fault injection, reader during a swap, kills between renames
  "python3 tests/test_postgres.py $lstore -k held_lock -k stopped"      # server stopped mid-write, advisory locks
  "python3 tests/test_redis.py $lstore -k held_lock -k killed"          # server killed mid-write, lock keys
  "python3 tests/test_cli.py $lstore -k progress"   # progress on a pty
)
failed=0
for suite in "${suites[@]}"; do
  ok=0
  for i in $(seq "$runs"); do
    if $suite > /tmp/lstore-stress.log 2>&1; then ok=$((ok + 1)); else
      failed=1
      echo "FAILED run $i of: $suite"
      grep -E '^(FAIL|ERROR):|Error' /tmp/lstore-stress.log | head -5
    fi
  done
  echo "$ok/$runs passed under load: $suite"
done
exit $failed
