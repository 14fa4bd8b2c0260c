"""Audit trail: PostgreSQL refuses TRUNCATE of audit_events.

Row triggers (d72ce27ad733) refuse UPDATE and DELETE, but TRUNCATE fires no row
trigger: it emptied the log, and `audit verify` then found a perfectly intact chain of
zero events. A statement-level BEFORE TRUNCATE trigger refuses it, also when the log is
reached through `TRUNCATE users CASCADE`. The table's owner can still disable the
trigger; what that owner then cuts off is shown by the signed checkpoints kept outside
the database (`flask audit checkpoint`, `flask audit verify --checkpoints`).

SQLite has no TRUNCATE: an unqualified DELETE is its way to empty a table, and the
"truncate optimisation" that would skip row triggers does not apply to a table with a
DELETE trigger, which audit_events has. Nothing changes there.

Revision ID: c15a0d1e7a01
Revises: bbe1156d5c5a
Create Date: 2026-12-06 12:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c15a0d1e7a01'
down_revision = 'bbe1156d5c5a'
branch_labels = None
depends_on = None

# The function d72ce27ad733 made raises "audit_events is append-only"; it serves a
# statement-level trigger as well as a row one.
_GUARD = "audit_events_no_truncate"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE TRIGGER {_GUARD} BEFORE TRUNCATE ON audit_events "
               "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP TRIGGER IF EXISTS {_GUARD} ON audit_events")
