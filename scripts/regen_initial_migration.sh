#!/usr/bin/env bash
# Development only, before the first release: rebuild the initial migration from the current models.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f fubble/db/migrations/versions/0001_initial_schema.py /tmp/fubble-regen.db
.venv/bin/python - <<'PY'
from alembic import command
from fubble.db.migrate import alembic_config
command.revision(alembic_config("sqlite:////tmp/fubble-regen.db"), message="initial schema", autogenerate=True, rev_id="0001")
PY
.venv/bin/ruff format -q fubble/db/migrations/versions/0001_initial_schema.py || true
