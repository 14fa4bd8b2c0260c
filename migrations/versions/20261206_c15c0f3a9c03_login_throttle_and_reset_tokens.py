"""Accounts: login throttling and password-reset tokens (placeholder; filled in by the accounts work).

Revision ID: c15c0f3a9c03
Revises: c15b0e2f8b02
Create Date: 2026-12-06 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c15c0f3a9c03'
down_revision = 'c15b0e2f8b02'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
