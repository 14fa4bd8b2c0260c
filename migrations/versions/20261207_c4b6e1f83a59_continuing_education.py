"""Continuing education: courses, completions, registrations (登记) and renewals.

Revision ID: c4b6e1f83a59
Revises: c3a9d5e27f46
Create Date: 2026-12-07 11:40:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'c4b6e1f83a59'
down_revision = 'c3a9d5e27f46'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
