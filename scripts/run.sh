#!/usr/bin/env bash
# Set up and run the portal on http://127.0.0.1:5000 with an embedded SQLite
# database (instance/portal.db), migrated and seeded with the demo accounts.
# Another port: PORT=8080 bash scripts/run.sh. Certificate QR codes, credential and
# mailed links then point at that port too, unless PUBLIC_BASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."

export PORT="${PORT:-5000}"
if ! [[ "$PORT" =~ ^[0-9]{1,5}$ ]] || (( 10#$PORT < 1 || 10#$PORT > 65535 )); then
  echo "PORT must be a number from 1 to 65535, not '$PORT'." >&2
  exit 2
fi
bash scripts/system-packages.sh
bash scripts/setup.sh
export FLASK_APP=exam_portal
.venv/bin/flask --app exam_portal db upgrade
.venv/bin/flask --app exam_portal demo seed
echo "Portal: http://127.0.0.1:${PORT}  (Ctrl+C to stop)"
exec .venv/bin/flask --app exam_portal run --host 127.0.0.1 --port "$PORT"
