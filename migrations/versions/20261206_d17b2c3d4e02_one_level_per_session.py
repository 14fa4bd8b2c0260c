"""One level per candidate and exam session: a partial unique index over the
registrations that stand (a rejected one leaves the candidate free to choose again).

Revision ID: d17b2c3d4e02
Revises: d17a1b2c3d01
Create Date: 2026-12-06 18:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd17b2c3d4e02'
down_revision = 'd17a1b2c3d01'
branch_labels = None
depends_on = None


def upgrade():
    # Registrations made before the rule may hold two levels: the rule cannot choose
    # for the candidate, so the upgrade stops and names them.
    doubles = op.get_bind().execute(sa.text(
        "SELECT session_id, candidate_id FROM registrations WHERE status != 'REJECTED' "
        "GROUP BY session_id, candidate_id HAVING count(*) > 1")).all()
    if doubles:
        raise RuntimeError(
            "Candidates registered for more than one level of a session (session, "
            f"candidate): {doubles[:20]}. Reject or withdraw all but one, then upgrade.")
    op.create_index('uq_registrations_one_level', 'registrations',
                    ['session_id', 'candidate_id'], unique=True,
                    sqlite_where=sa.text("status != 'REJECTED'"),
                    postgresql_where=sa.text("status != 'REJECTED'"))


def downgrade():
    op.drop_index('uq_registrations_one_level', table_name='registrations')
