#!/usr/bin/env bash
# Create .venv with the pinned dependencies and compile the message catalogues.
# Usage: bash scripts/setup.sh [--test]   (--test adds the test tools)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
fi
LOCK=requirements.lock
[ "${1:-}" = "--test" ] && LOCK=requirements-test.lock
.venv/bin/uv pip install --quiet --python .venv/bin/python -r "$LOCK"
.venv/bin/uv pip install --quiet --python .venv/bin/python --no-deps -e .
.venv/bin/pybabel compile --use-fuzzy -d exam_portal/translations -f >/dev/null
# Bytecode for every installed and project module, written once: uv installs without it,
# and where PYTHONDONTWRITEBYTECODE is set (as on the CI machines) every process would
# compile each module it imports again, seconds for each test worker, server and
# subprocess. Already-compiled files are skipped, so a second run takes a moment.
.venv/bin/python -m compileall -q -j 0 .venv/lib exam_portal question_bank tests >/dev/null
