"""Audit trail: PostgreSQL refuses TRUNCATE of audit_events (placeholder for the audit hardening; filled in by that work).

Revision ID: c15a0d1e7a01
Revises: bbe1156d5c5a
Create Date: 2026-12-06 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c15a0d1e7a01'
down_revision = 'bbe1156d5c5a'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
