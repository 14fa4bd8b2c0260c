"""Attempts record when they were marked: exam papers are marked after the hand-in.

Revision ID: d4e2a9c7b815
Revises: c9b5d7e31f42
Create Date: 2026-12-07 19:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4e2a9c7b815'
down_revision = 'c9b5d7e31f42'
branch_labels = None
depends_on = None

_UNMARKED = "status = 'SUBMITTED' AND marked_at IS NULL"


def upgrade():
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('marked_at', sa.DateTime(timezone=True), nullable=True))
    # Every paper handed in so far was marked at its hand-in.
    op.execute("UPDATE attempts SET marked_at = submitted_at WHERE status = 'SUBMITTED'")
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_index('ix_attempts_unmarked', ['id'], unique=False,
                              sqlite_where=sa.text(_UNMARKED),
                              postgresql_where=sa.text(_UNMARKED))


def downgrade():
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_attempts_unmarked', sqlite_where=sa.text(_UNMARKED),
                            postgresql_where=sa.text(_UNMARKED))
        batch_op.drop_column('marked_at')
