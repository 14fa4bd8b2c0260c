"""Knowledge mastery: each node's share of the answers, so that a chapter or subject
counts every answer once however many nodes its item is linked to.

Rows kept before this count an answer at each linked node; their shares start as those
counts, and `flask attempts replay-mastery` recomputes them from the answers.

Revision ID: a9e3d5c7b142
Revises: d3b5e8a1c924
Create Date: 2026-12-07 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a9e3d5c7b142'
down_revision = 'd3b5e8a1c924'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('knowledge_mastery') as batch:
        batch.add_column(sa.Column('answer_share', sa.Float(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('right_share', sa.Float(), nullable=False,
                                   server_default='0'))
    op.execute('UPDATE knowledge_mastery SET answer_share = answered, right_share = "right"')


def downgrade():
    with op.batch_alter_table('knowledge_mastery') as batch:
        batch.drop_column('right_share')
        batch.drop_column('answer_share')
