"""Knowledge mastery: each candidate's standing per syllabus node, and fitted
knowledge-tracing parameters.

Revision ID: c7a2d9e4f613
Revises: b4e81c07d2a5
Create Date: 2026-12-07 07:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7a2d9e4f613'
down_revision = 'b4e81c07d2a5'
branch_labels = None
depends_on = None

SUBJECT = sa.Enum('COMP_JR', 'PRAC_JR', 'COMP_MID', 'LAW_MID', 'PRAC_MID', 'PRAC_SR',
                  name='subject', native_enum=False, create_constraint=True)


def upgrade():
    op.create_table(
        'knowledge_mastery',
        sa.Column('candidate_id', sa.Integer(), nullable=False),
        sa.Column('syllabus_version', sa.String(length=10), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('subject', SUBJECT, nullable=False),
        sa.Column('chapter_code', sa.String(length=40), nullable=False),
        sa.Column('p_known', sa.Float(), nullable=False),
        sa.Column('answered', sa.Integer(), nullable=False),
        sa.Column('right', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['candidate_id'], ['users.id'],
                                name=op.f('fk_knowledge_mastery_candidate_id_users')),
        sa.PrimaryKeyConstraint('candidate_id', 'syllabus_version', 'code',
                                name=op.f('pk_knowledge_mastery')),
    )
    op.create_table(
        'mastery_models',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('parameters', sa.JSON(), nullable=False),
        sa.Column('quality', sa.JSON(), nullable=False),
        sa.Column('sequences', sa.Integer(), nullable=False),
        sa.Column('answers', sa.Integer(), nullable=False),
        sa.Column('fitted_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mastery_models')),
    )


def downgrade():
    op.drop_table('mastery_models')
    op.drop_table('knowledge_mastery')
