"""Exam fees: a session's fee per subject (fen) and payment deadline, the payments
recorded against registrations; a session's timetable per subject; each registration's
venue, room and seat.

Sessions already open get no fee (0) and no deadline, so their registrations stay
complete as they are.

Revision ID: e21a0f5e7c01
Revises: d17c3d4e5f03
Create Date: 2026-12-07 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e21a0f5e7c01'
down_revision = 'd17c3d4e5f03'
branch_labels = None
depends_on = None

SUBJECTS = ('COMP_JR', 'PRAC_JR', 'COMP_MID', 'LAW_MID', 'PRAC_MID', 'PRAC_SR')


def _subject(name='subject'):
    return sa.Enum(*SUBJECTS, name=name, native_enum=False, create_constraint=True, length=8)


def upgrade():
    with op.batch_alter_table('exam_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fee_per_subject_fen', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('payment_deadline', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.create_check_constraint(op.f('ck_exam_sessions_fee_not_negative'),
                                         'fee_per_subject_fen >= 0')

    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('source', sa.Enum('IMPORT', 'MANUAL', name='payment_source', native_enum=False,
                                create_constraint=True, length=6), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_payments_amount_positive')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'],
                            name=op.f('fk_payments_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'],
                            name=op.f('fk_payments_registration_id_registrations')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'],
                            name=op.f('fk_payments_session_id_exam_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('session_id', 'reference', name=op.f('uq_payments_session_id_reference'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_registration_id'), ['registration_id'],
                              unique=False)

    op.create_table('subject_times',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('subject', _subject(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('starts_at < ends_at', name=op.f('ck_subject_times_subject_time_order')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'],
                            name=op.f('fk_subject_times_session_id_exam_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subject_times')),
    sa.UniqueConstraint('session_id', 'subject', name=op.f('uq_subject_times_session_id_subject'))
    )

    op.create_table('seat_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('subject', _subject(), nullable=True),
    sa.Column('venue', sa.String(length=100), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('room', sa.String(length=40), nullable=False),
    sa.Column('seat', sa.String(length=20), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'],
                            name=op.f('fk_seat_assignments_registration_id_registrations')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'],
                            name=op.f('fk_seat_assignments_session_id_exam_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seat_assignments')),
    sa.UniqueConstraint('registration_id', 'subject',
                        name=op.f('uq_seat_assignments_registration_id_subject'))
    )
    with op.batch_alter_table('seat_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seat_assignments_session_id'), ['session_id'],
                              unique=False)
        # NULLs are distinct in a unique constraint: one "all subjects" row at most.
        batch_op.create_index('uq_seat_assignments_whole', ['registration_id'], unique=True,
                              sqlite_where=sa.text('subject IS NULL'),
                              postgresql_where=sa.text('subject IS NULL'))


def downgrade():
    with op.batch_alter_table('seat_assignments', schema=None) as batch_op:
        batch_op.drop_index('uq_seat_assignments_whole')
        batch_op.drop_index(batch_op.f('ix_seat_assignments_session_id'))
    op.drop_table('seat_assignments')
    op.drop_table('subject_times')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_registration_id'))
    op.drop_table('payments')
    with op.batch_alter_table('exam_sessions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_exam_sessions_fee_not_negative'), type_='check')
        batch_op.drop_column('payment_deadline')
        batch_op.drop_column('fee_per_subject_fen')
