"""Classes, enrolments and assignments of training institutions.

Revision ID: c3a9d5e27f46
Revises: c2f4b8d61a23
Create Date: 2026-12-07 11:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3a9d5e27f46'
down_revision = 'c2f4b8d61a23'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('training_classes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('level', sa.Enum('ASSISTANT', 'INTERMEDIATE', 'SENIOR', name='level', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('exam_session_id', sa.Integer(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('join_code', sa.String(length=8), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('starts_on <= ends_on', name=op.f('ck_training_classes_class_dates')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_training_classes_created_by_id_users')),
    sa.ForeignKeyConstraint(['exam_session_id'], ['exam_sessions.id'], name=op.f('fk_training_classes_exam_session_id_exam_sessions')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_training_classes_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_classes')),
    sa.UniqueConstraint('join_code', name=op.f('uq_training_classes_join_code'))
    )
    with op.batch_alter_table('training_classes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_classes_institution_id'), ['institution_id'], unique=False)

    op.create_table('class_enrolments',
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('invited', 'enrolled', 'left', name='enrolment_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('invited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('consented_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_class_enrolments_candidate_id_users')),
    sa.ForeignKeyConstraint(['class_id'], ['training_classes.id'], name=op.f('fk_class_enrolments_class_id_training_classes')),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_class_enrolments_invited_by_id_users')),
    sa.PrimaryKeyConstraint('class_id', 'candidate_id', name=op.f('pk_class_enrolments'))
    )
    with op.batch_alter_table('class_enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_class_enrolments_candidate_id'), ['candidate_id'], unique=False)

    op.create_table('class_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('practice', 'mock', 'past_paper', name='assignment_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('subject', sa.Enum('COMP_JR', 'PRAC_JR', 'COMP_MID', 'LAW_MID', 'PRAC_MID', 'PRAC_SR', name='subject', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('chapters', sa.JSON(), nullable=False),
    sa.Column('item_count', sa.Integer(), nullable=True),
    sa.Column('form_id', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['class_id'], ['training_classes.id'], name=op.f('fk_class_assignments_class_id_training_classes')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_class_assignments_created_by_id_users')),
    sa.ForeignKeyConstraint(['form_id'], ['exam_forms.id'], name=op.f('fk_class_assignments_form_id_exam_forms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_class_assignments'))
    )
    with op.batch_alter_table('class_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_class_assignments_class_id'), ['class_id'], unique=False)

    op.create_table('assignment_attempts',
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['class_assignments.id'], name=op.f('fk_assignment_attempts_assignment_id_class_assignments')),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], name=op.f('fk_assignment_attempts_attempt_id_attempts')),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_assignment_attempts_candidate_id_users')),
    sa.PrimaryKeyConstraint('assignment_id', 'candidate_id', name=op.f('pk_assignment_attempts')),
    sa.UniqueConstraint('attempt_id', name=op.f('uq_assignment_attempts_attempt_id'))
    )
    with op.batch_alter_table('assignment_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_attempts_candidate_id'), ['candidate_id'], unique=False)


def downgrade():
    with op.batch_alter_table('assignment_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_attempts_candidate_id'))

    op.drop_table('assignment_attempts')
    with op.batch_alter_table('class_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_class_assignments_class_id'))

    op.drop_table('class_assignments')
    with op.batch_alter_table('class_enrolments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_class_enrolments_candidate_id'))

    op.drop_table('class_enrolments')
    with op.batch_alter_table('training_classes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_classes_institution_id'))

    op.drop_table('training_classes')
