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
