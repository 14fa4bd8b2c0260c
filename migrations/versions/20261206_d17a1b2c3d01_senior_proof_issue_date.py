"""高级 pass proofs are valid three years from their issue date, not for exam years.

The year column gives way to the issue date: the day the session's results were
published (Beijing time). Proofs already published take that date from their session.

Revision ID: d17a1b2c3d01
Revises: c15c0f3a9c03
Create Date: 2026-12-06 18:00:00

"""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = 'd17a1b2c3d01'
down_revision = 'c15c0f3a9c03'
branch_labels = None
depends_on = None

BEIJING = ZoneInfo("Asia/Shanghai")


def upgrade():
    with op.batch_alter_table('qualifications') as batch_op:
        batch_op.add_column(sa.Column('proof_issued_on', sa.Date(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT q.id, s.results_published_at FROM qualifications q "
        "JOIN exam_sessions s ON s.id = q.session_id "
        "WHERE q.level = 'SENIOR' AND s.results_published_at IS NOT NULL")).all()
    for qualification_id, published_at in rows:
        if isinstance(published_at, str):  # SQLite hands back text
            published_at = datetime.fromisoformat(published_at)
        if published_at.tzinfo is None:
            published_at = published_at.replace(tzinfo=UTC)
        bind.execute(sa.text("UPDATE qualifications SET proof_issued_on = :day WHERE id = :id"),
                     {"day": published_at.astimezone(BEIJING).date(), "id": qualification_id})
    with op.batch_alter_table('qualifications') as batch_op:
        batch_op.drop_column('proof_valid_until')


def downgrade():
    with op.batch_alter_table('qualifications') as batch_op:
        batch_op.add_column(sa.Column('proof_valid_until', sa.Integer(), nullable=True))
    op.execute("UPDATE qualifications SET proof_valid_until = year + 2 WHERE level = 'SENIOR'")
    with op.batch_alter_table('qualifications') as batch_op:
        batch_op.drop_column('proof_issued_on')
