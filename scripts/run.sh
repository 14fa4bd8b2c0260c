#!/usr/bin/env bash
# Set up and run the portal on http://127.0.0.1:5000 with an embedded SQLite
# database (instance/portal.db), migrated and seeded with the demo accounts.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/system-packages.sh
bash scripts/setup.sh
export FLASK_APP=exam_portal
.venv/bin/flask --app exam_portal db upgrade
.venv/bin/flask --app exam_portal demo seed
echo "Portal: http://127.0.0.1:${PORT:-5000}  (Ctrl+C to stop)"
exec .venv/bin/flask --app exam_portal run --host 127.0.0.1 --port "${PORT:-5000}"
