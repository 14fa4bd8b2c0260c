"""A partial index of the items not published, for the review counts.

Revision ID: c6e3a8b15d72
Revises: c5d2f7a04b68
Create Date: 2026-12-07 12:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c6e3a8b15d72'
down_revision = 'c5d2f7a04b68'
branch_labels = None
depends_on = None


_UNPUBLISHED = sa.text('published_version_id IS NULL')


def upgrade():
    op.create_index('ix_items_unpublished', 'items', ['id'], unique=False,
                    sqlite_where=_UNPUBLISHED, postgresql_where=_UNPUBLISHED)


def downgrade():
    op.drop_index('ix_items_unpublished', table_name='items')
