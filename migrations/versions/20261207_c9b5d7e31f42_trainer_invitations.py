"""Invitations of new trainers by an institution's admin (a single-use link).

Revision ID: c9b5d7e31f42
Revises: c8a4e6f27b31
Create Date: 2026-12-07 12:55:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'c9b5d7e31f42'
down_revision = 'c8a4e6f27b31'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
