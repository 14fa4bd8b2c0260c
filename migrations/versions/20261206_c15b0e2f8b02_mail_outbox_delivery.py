"""Mail outbox: delivery by a job with retries (placeholder; filled in by the mail work).

Revision ID: c15b0e2f8b02
Revises: c15a0d1e7a01
Create Date: 2026-12-06 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c15b0e2f8b02'
down_revision = 'c15a0d1e7a01'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
