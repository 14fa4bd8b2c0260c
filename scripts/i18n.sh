#!/usr/bin/env bash
# Refresh the message catalogues after changing user-facing text:
# extract every msgid (Chinese source text) and merge it into each language.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location --sort-output \
  -o exam_portal/translations/messages.pot . >/dev/null
.venv/bin/pybabel update -i exam_portal/translations/messages.pot -d exam_portal/translations \
  --no-fuzzy-matching --ignore-obsolete >/dev/null
.venv/bin/pybabel compile -d exam_portal/translations -f >/dev/null
echo "catalogues updated; translate the empty msgstr entries in exam_portal/translations/*/LC_MESSAGES/messages.po"
