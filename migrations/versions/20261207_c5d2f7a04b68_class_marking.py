"""Trainer marking of practice answers written in a class's mock papers.

Revision ID: c5d2f7a04b68
Revises: c4b6e1f83a59
Create Date: 2026-12-07 11:40:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'c5d2f7a04b68'
down_revision = 'c4b6e1f83a59'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
