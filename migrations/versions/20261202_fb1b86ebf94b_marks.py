"""Marks: two markers per subjective exam answer and an adjudicator when they differ.

Revision ID: fb1b86ebf94b
Revises: fe8f58f0c065
Create Date: 2026-12-02 00:02:02.881188

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'fb1b86ebf94b'
down_revision = 'fe8f58f0c065'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('marker_id', sa.Integer(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('awarded', sa.JSON(), nullable=True),
    sa.Column('total_halves', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('round IN (1, 2, 3)', name=op.f('ck_marks_round_known')),
    sa.ForeignKeyConstraint(['attempt_id', 'position'], ['responses.attempt_id', 'responses.position'], name=op.f('fk_marks_attempt_id_responses')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_marks_item_id_items')),
    sa.ForeignKeyConstraint(['marker_id'], ['users.id'], name=op.f('fk_marks_marker_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_marks_session_id_exam_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_marks')),
    sa.UniqueConstraint('attempt_id', 'position', 'marker_id', name=op.f('uq_marks_attempt_id_position_marker_id')),
    sa.UniqueConstraint('attempt_id', 'position', 'round', name=op.f('uq_marks_attempt_id_position_round'))
    )
    with op.batch_alter_table('marks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_marks_marker_id'), ['marker_id'], unique=False)
        batch_op.create_index('ix_marks_session_id_submitted_at', ['session_id', 'submitted_at'], unique=False)



def downgrade():
    with op.batch_alter_table('marks', schema=None) as batch_op:
        batch_op.drop_index('ix_marks_session_id_submitted_at')
        batch_op.drop_index(batch_op.f('ix_marks_marker_id'))

    op.drop_table('marks')
