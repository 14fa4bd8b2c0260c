"""Class invitations by e-mail address, as the trainer's list gives them.

Revision ID: c7f1b3d85e20
Revises: c6e3a8b15d72
Create Date: 2026-12-07 12:50:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'c7f1b3d85e20'
down_revision = 'c6e3a8b15d72'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
