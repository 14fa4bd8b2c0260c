"""Trainer marking of practice answers written in a class's mock papers.

Revision ID: c5d2f7a04b68
Revises: c4b6e1f83a59
Create Date: 2026-12-07 11:40:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'c5d2f7a04b68'
down_revision = 'c4b6e1f83a59'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('practice_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('marker_id', sa.Integer(), nullable=False),
    sa.Column('awarded', sa.JSON(), nullable=False),
    sa.Column('feedback', sa.JSON(), nullable=False),
    sa.Column('total_halves', sa.Integer(), nullable=False),
    sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revised_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('total_halves >= 0', name=op.f('ck_practice_marks_total_not_negative')),
    sa.ForeignKeyConstraint(['assignment_id'], ['class_assignments.id'], name=op.f('fk_practice_marks_assignment_id_class_assignments')),
    sa.ForeignKeyConstraint(['attempt_id', 'position'], ['responses.attempt_id', 'responses.position'], name=op.f('fk_practice_marks_attempt_id_responses')),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_practice_marks_candidate_id_users')),
    sa.ForeignKeyConstraint(['class_id'], ['training_classes.id'], name=op.f('fk_practice_marks_class_id_training_classes')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_practice_marks_item_id_items')),
    sa.ForeignKeyConstraint(['marker_id'], ['users.id'], name=op.f('fk_practice_marks_marker_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practice_marks')),
    sa.UniqueConstraint('attempt_id', 'position', name=op.f('uq_practice_marks_attempt_id_position'))
    )
    with op.batch_alter_table('practice_marks', schema=None) as batch_op:
        batch_op.create_index('ix_practice_marks_class_id_marked_at', ['class_id', 'marked_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_practice_marks_candidate_id'), ['candidate_id'], unique=False)


def downgrade():
    with op.batch_alter_table('practice_marks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practice_marks_candidate_id'))
        batch_op.drop_index('ix_practice_marks_class_id_marked_at')

    op.drop_table('practice_marks')
