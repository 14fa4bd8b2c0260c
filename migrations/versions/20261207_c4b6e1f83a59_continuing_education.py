"""Continuing education: courses, completions, registrations (登记) and renewals.

Revision ID: c4b6e1f83a59
Revises: c3a9d5e27f46
Create Date: 2026-12-07 11:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4b6e1f83a59'
down_revision = 'c3a9d5e27f46'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ce_courses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('half_hours', sa.Integer(), nullable=False),
    sa.Column('category', sa.Enum('ETHICS', 'THEORY', 'PRACTICE', 'POLICY', 'SUPERVISION', 'OTHER', name='ce_category', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('delivery', sa.Enum('ONLINE', 'IN_PERSON', name='ce_delivery', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_ce_courses_dates_in_order')),
    sa.CheckConstraint('half_hours > 0', name=op.f('ck_ce_courses_hours_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_ce_courses_created_by_id_users')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_ce_courses_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ce_courses'))
    )

    with op.batch_alter_table('ce_courses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ce_courses_institution_id'), ['institution_id'], unique=False)

    op.create_table('ce_completions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=False),
    sa.Column('source', sa.Enum('IMPORT', 'MANUAL', name='ce_completion_source', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['ce_courses.id'], name=op.f('fk_ce_completions_course_id_ce_courses')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_ce_completions_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ce_completions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ce_completions')),
    sa.UniqueConstraint('course_id', 'user_id', name=op.f('uq_ce_completions_course_id_user_id'))
    )

    with op.batch_alter_table('ce_completions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ce_completions_user_id'), ['user_id'], unique=False)

    op.create_table('ce_registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('ASSISTANT', 'INTERMEDIATE', 'SENIOR', name='level', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('basis', sa.Enum('ISSUED', 'DECLARED', name='ce_registration_basis', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('qualification_id', sa.Integer(), nullable=True),
    sa.Column('passed_on', sa.Date(), nullable=False),
    sa.Column('registered_on', sa.Date(), nullable=False),
    sa.Column('certificate_number', sa.String(length=64), nullable=True),
    sa.Column('status', sa.Enum('PENDING', 'ACTIVE', 'REJECTED', name='ce_registration_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('document_key', sa.String(length=128), nullable=True),
    sa.Column('document_type', sa.String(length=40), nullable=True),
    sa.Column('document_name', sa.String(length=120), nullable=True),
    sa.Column('document_sha256', sa.String(length=64), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(basis = 'ISSUED' AND qualification_id IS NOT NULL) OR (basis = 'DECLARED' AND document_key IS NOT NULL)", name=op.f('ck_ce_registrations_basis_source')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_ce_registrations_decided_by_id_users')),
    sa.ForeignKeyConstraint(['qualification_id'], ['qualifications.id'], name=op.f('fk_ce_registrations_qualification_id_qualifications')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ce_registrations_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ce_registrations')),
    sa.UniqueConstraint('document_key', name=op.f('uq_ce_registrations_document_key')),
    sa.UniqueConstraint('user_id', 'level', name=op.f('uq_ce_registrations_user_id_level'))
    )

    op.create_table('ce_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.CheckConstraint('ends_on > starts_on', name=op.f('ck_ce_periods_dates_in_order')),
    sa.ForeignKeyConstraint(['registration_id'], ['ce_registrations.id'], name=op.f('fk_ce_periods_registration_id_ce_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ce_periods')),
    sa.UniqueConstraint('registration_id', 'number', name=op.f('uq_ce_periods_registration_id_number'))
    )

    op.create_table('ce_renewals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('half_hours_credited', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'APPROVED', 'REJECTED', name='ce_renewal_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('is_automatic', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('new_period_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_ce_renewals_decided_by_id_users')),
    sa.ForeignKeyConstraint(['new_period_id'], ['ce_periods.id'], name=op.f('fk_ce_renewals_new_period_id_ce_periods')),
    sa.ForeignKeyConstraint(['period_id'], ['ce_periods.id'], name=op.f('fk_ce_renewals_period_id_ce_periods')),
    sa.ForeignKeyConstraint(['registration_id'], ['ce_registrations.id'], name=op.f('fk_ce_renewals_registration_id_ce_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ce_renewals'))
    )

    with op.batch_alter_table('ce_renewals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ce_renewals_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index('uq_ce_renewals_live_period', ['period_id'], unique=True, sqlite_where=sa.text("status IN ('PENDING', 'APPROVED')"), postgresql_where=sa.text("status IN ('PENDING', 'APPROVED')"))

    op.create_table('ce_transcripts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=24), nullable=False),
    sa.Column('verification_code', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('signature', sa.String(length=100), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['period_id'], ['ce_periods.id'], name=op.f('fk_ce_transcripts_period_id_ce_periods')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ce_transcripts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ce_transcripts')),
    sa.UniqueConstraint('number', name=op.f('uq_ce_transcripts_number')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_ce_transcripts_verification_code'))
    )

    with op.batch_alter_table('ce_transcripts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ce_transcripts_period_id'), ['period_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ce_transcripts_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('ce_transcripts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ce_transcripts_user_id'))
        batch_op.drop_index(batch_op.f('ix_ce_transcripts_period_id'))

    op.drop_table('ce_transcripts')

    with op.batch_alter_table('ce_renewals', schema=None) as batch_op:
        batch_op.drop_index('uq_ce_renewals_live_period', sqlite_where=sa.text("status IN ('PENDING', 'APPROVED')"), postgresql_where=sa.text("status IN ('PENDING', 'APPROVED')"))
        batch_op.drop_index(batch_op.f('ix_ce_renewals_registration_id'))

    op.drop_table('ce_renewals')

    op.drop_table('ce_periods')

    op.drop_table('ce_registrations')

    with op.batch_alter_table('ce_completions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ce_completions_user_id'))

    op.drop_table('ce_completions')

    with op.batch_alter_table('ce_courses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ce_courses_institution_id'))

    op.drop_table('ce_courses')
    # ### end Alembic commands ###
