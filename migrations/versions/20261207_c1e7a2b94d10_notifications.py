"""Notifications: the in-app centre, per-user preferences per kind, sent events.

Revision ID: c1e7a2b94d10
Revises: b6d1f3a8e295
Create Date: 2026-12-07 11:40:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'c1e7a2b94d10'
down_revision = 'b6d1f3a8e295'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
