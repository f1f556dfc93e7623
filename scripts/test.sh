#!/usr/bin/env bash
# The whole test suite: TypeScript tests (node's test runner through tsx) and the model's
# Python tests (pytest in .venv). README's test command and .ci/run both call this.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t ts_tests < <(find test -name '*.test.ts' | sort)
status=0
node --import tsx --test --test-concurrency=1 "${ts_tests[@]}" || status=$?
if [ -x .venv/bin/python ]; then
  .venv/bin/python -m pytest -q models/tests || status=$?
else
  echo "!! .venv missing: run scripts/setup-python.sh (the model tests did not run)" >&2
  [ "${CI:-}" = "true" ] && status=1
fi
exit $status
