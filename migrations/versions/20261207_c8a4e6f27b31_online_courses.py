"""Online continuing-education courses built from a class's assignments.

Revision ID: c8a4e6f27b31
Revises: c7f1b3d85e20
Create Date: 2026-12-07 12:50:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'c8a4e6f27b31'
down_revision = 'c7f1b3d85e20'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
