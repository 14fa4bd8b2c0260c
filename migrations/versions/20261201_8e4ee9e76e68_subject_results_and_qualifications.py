"""Subject results (a registration's score per subject and the line it was marked
against) and the qualifications they add up to.

Revision ID: 8e4ee9e76e68
Revises: d2bbe561aa84
Create Date: 2026-12-01 21:40:06.349950

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8e4ee9e76e68'
down_revision = 'd2bbe561aa84'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('qualifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('ASSISTANT', 'INTERMEDIATE', 'SENIOR', name='level', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=2), nullable=True),
    sa.Column('status', sa.Enum('ACHIEVED', 'PENDING_VERIFICATION', 'AWAITING_REVIEW', 'REVIEW_FAILED', name='qualification_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('proof_valid_until', sa.Integer(), nullable=True),
    sa.Column('review_recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('review_recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_qualifications_candidate_id_users')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_qualifications_registration_id_registrations')),
    sa.ForeignKeyConstraint(['review_recorded_by_id'], ['users.id'], name=op.f('fk_qualifications_review_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_qualifications_session_id_exam_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qualifications')),
    sa.UniqueConstraint('candidate_id', 'level', name=op.f('uq_qualifications_candidate_id_level'))
    )
    with op.batch_alter_table('qualifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qualifications_session_id'), ['session_id'], unique=False)

    op.create_table('subject_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('subject', sa.Enum('COMP_JR', 'PRAC_JR', 'COMP_MID', 'LAW_MID', 'PRAC_MID', 'PRAC_SR', name='subject', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('score_halves', sa.Integer(), nullable=False),
    sa.Column('full_halves', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('ONLINE', 'PAPER', name='result_source', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=True),
    sa.Column('line_halves', sa.Integer(), nullable=True),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.Column('passed_region', sa.String(length=2), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('score_halves >= 0', name=op.f('ck_subject_results_score_not_negative')),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], name=op.f('fk_subject_results_attempt_id_attempts')),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_subject_results_candidate_id_users')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_subject_results_registration_id_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subject_results')),
    sa.UniqueConstraint('registration_id', 'subject', name=op.f('uq_subject_results_registration_id_subject'))
    )
    with op.batch_alter_table('subject_results', schema=None) as batch_op:
        batch_op.create_index('ix_subject_results_candidate_id_year', ['candidate_id', 'year'], unique=False)



def downgrade():
    with op.batch_alter_table('subject_results', schema=None) as batch_op:
        batch_op.drop_index('ix_subject_results_candidate_id_year')

    op.drop_table('subject_results')
    with op.batch_alter_table('qualifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qualifications_session_id'))

    op.drop_table('qualifications')
