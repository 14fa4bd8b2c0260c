"""Exam sessions (sittings) with their pass lines, and candidates' registrations (报名)
with their admission numbers.

Revision ID: d2bbe561aa84
Revises: a5c292d2c652
Create Date: 2026-12-01 21:16:58.131422

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd2bbe561aa84'
down_revision = 'a5c292d2c652'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('exam_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('levels', sa.JSON(), nullable=False),
    sa.Column('registration_opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('registration_closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('exam_opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('exam_closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('mode', sa.Enum('ONLINE', 'PAPER', name='session_mode', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('syllabus_version', sa.String(length=10), nullable=False),
    sa.Column('law_cutoff', sa.Date(), nullable=False),
    sa.Column('experience_cutoff', sa.Date(), nullable=False),
    sa.Column('verification_mode', sa.Enum('before_exam', 'after_exam', name='verification_mode', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('admission_serial', sa.Integer(), nullable=False),
    sa.Column('results_published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('exam_opens_at < exam_closes_at', name=op.f('ck_exam_sessions_exam_window')),
    sa.CheckConstraint('registration_opens_at < registration_closes_at', name=op.f('ck_exam_sessions_registration_window')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_exam_sessions_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exam_sessions'))
    )
    op.create_table('pass_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.Enum('COMP_JR', 'PRAC_JR', 'COMP_MID', 'LAW_MID', 'PRAC_MID', 'PRAC_SR', name='subject', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('region', sa.String(length=2), nullable=False),
    sa.Column('line_halves', sa.Integer(), nullable=False),
    sa.CheckConstraint('line_halves >= 0', name=op.f('ck_pass_lines_line_not_negative')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_pass_lines_session_id_exam_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pass_lines')),
    sa.UniqueConstraint('session_id', 'subject', 'region', name=op.f('uq_pass_lines_session_id_subject_region'))
    )
    with op.batch_alter_table('pass_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pass_lines_session_id'), ['session_id'], unique=False)

    op.create_table('registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('ASSISTANT', 'INTERMEDIATE', 'SENIOR', name='level', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('region', sa.String(length=2), nullable=False),
    sa.Column('route_code', sa.String(length=40), nullable=False),
    sa.Column('declared_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('DECLARED', 'VERIFIED', 'REJECTED', name='registration_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.String(length=500), nullable=True),
    sa.Column('admission_number', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_registrations_candidate_id_users')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_registrations_reviewed_by_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_registrations_session_id_exam_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registrations')),
    sa.UniqueConstraint('admission_number', name=op.f('uq_registrations_admission_number')),
    sa.UniqueConstraint('session_id', 'candidate_id', 'level', name=op.f('uq_registrations_session_id_candidate_id_level'))
    )
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registrations_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index('ix_registrations_session_id_status', ['session_id', 'status'], unique=False)



def downgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index('ix_registrations_session_id_status')
        batch_op.drop_index(batch_op.f('ix_registrations_candidate_id'))

    op.drop_table('registrations')
    with op.batch_alter_table('pass_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pass_lines_session_id'))

    op.drop_table('pass_lines')
    op.drop_table('exam_sessions')
