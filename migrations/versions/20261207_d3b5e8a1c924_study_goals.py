"""Study goals: the exam date a candidate plans for without a registration.

Revision ID: d3b5e8a1c924
Revises: c7a2d9e4f613
Create Date: 2026-12-07 07:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd3b5e8a1c924'
down_revision = 'c7a2d9e4f613'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'study_goals',
        sa.Column('candidate_id', sa.Integer(), nullable=False),
        sa.Column('exam_day', sa.Date(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['candidate_id'], ['users.id'],
                                name=op.f('fk_study_goals_candidate_id_users')),
        sa.PrimaryKeyConstraint('candidate_id', name=op.f('pk_study_goals')),
    )


def downgrade():
    op.drop_table('study_goals')
