#!/usr/bin/env bash
# Regenerate the user guides' screenshots, docs/screenshots/<Flask endpoint>[-<view>].png:
# every page the accessibility test walks (tests/e2e/test_accessibility.py, data from
# tests/e2e/tour.py), in Chinese, 1366 px wide, the whole page, as a 256-colour PNG; the
# stops marked in_english also in English (<endpoint>[-<view>]-en.png: the admin walk).
# Usage: bash scripts/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/system-packages.sh --test
bash scripts/setup.sh --test

rm -f docs/screenshots/*.png
DOCS_SCREENSHOTS=1 .venv/bin/python -m pytest tests/e2e/test_accessibility.py -n0 -p no:randomly \
  -q -k "no_serious_accessibility_violation and (zh-CN or (admin and en))"
ls docs/screenshots
