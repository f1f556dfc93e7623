#!/usr/bin/env bash
# The whole test suite: TypeScript tests (node's test runner through tsx, one file at a time
# because the machine is small and shared) and the model's Python tests (pytest run from
# models/, where pytest.ini puts the package on the path). README's test command and .ci/run
# both call this. Tests that need Kafka or PostgreSQL skip loudly when those are not running,
# and fail instead when CI=true (test/support/services.ts).
#
#   scripts/test.sh                 everything
#   scripts/test.sh test/infra/...  only these TS test files (no Python)
#
# TEST_TIMEOUT_S [1500]: each half (TS, Python) is killed after this many seconds, so a hung
# test fails the run instead of hanging CI.
set -euo pipefail
cd "$(dirname "$0")/.."
limit="${TEST_TIMEOUT_S:-1500}"

if [ $# -gt 0 ]; then
  ts_tests=("$@")
else
  mapfile -t ts_tests < <(find test -name '*.test.ts' | sort)
fi

ts=ok
t0=$SECONDS
timeout --kill-after=30 "$limit" node --import tsx --test --test-concurrency=1 "${ts_tests[@]}" || ts="FAILED (exit $?)"
ts_s=$((SECONDS - t0))

py=skipped
py_s=0
if [ $# -eq 0 ]; then
  if [ -x .venv/bin/python ]; then
    py=ok
    t0=$SECONDS
    (cd models && timeout --kill-after=30 "$limit" ../.venv/bin/python -m pytest -q) || py="FAILED (exit $?)"
    py_s=$((SECONDS - t0))
  else
    echo "!! .venv missing: run scripts/setup-python.sh (the model tests did not run)" >&2
    py="NOT RUN (.venv missing)"
    [ "${CI:-}" = "true" ] && py="FAILED (.venv missing in CI)"
  fi
fi

echo "test.sh: TypeScript (${#ts_tests[@]} files): $ts in ${ts_s} s; Python: $py in ${py_s} s"
[ "$ts" = ok ] && case "$py" in ok|skipped|"NOT RUN"*) true ;; *) false ;; esac
