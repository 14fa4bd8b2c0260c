"""Background jobs: the same work on the same target is under way at most once.

Revision ID: 49618469c6d1
Revises: fb1b86ebf94b
Create Date: 2026-12-02 00:34:13.886611

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '49618469c6d1'
down_revision = 'fb1b86ebf94b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('uq_jobs_active_kind_target', ['kind', 'target_id'], unique=True, sqlite_where=sa.text("status IN ('QUEUED', 'RUNNING')"), postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')"))



def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('uq_jobs_active_kind_target', sqlite_where=sa.text("status IN ('QUEUED', 'RUNNING')"), postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')"))

