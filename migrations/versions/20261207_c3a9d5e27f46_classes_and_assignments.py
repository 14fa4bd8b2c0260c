"""Classes, enrolments and assignments of training institutions.

Revision ID: c3a9d5e27f46
Revises: c2f4b8d61a23
Create Date: 2026-12-07 11:40:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'c3a9d5e27f46'
down_revision = 'c2f4b8d61a23'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
