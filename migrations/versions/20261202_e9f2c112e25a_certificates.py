"""Certificates: signed records of qualifications, with number, code and revocation.

Revision ID: e9f2c112e25a
Revises: 49618469c6d1
Create Date: 2026-12-02 00:31:49.286668

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e9f2c112e25a'
down_revision = '49618469c6d1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=24), nullable=False),
    sa.Column('verification_code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.Enum('QUALIFICATION', 'TRAINING', name='certificate_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('qualification_id', sa.Integer(), nullable=True),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('ASSISTANT', 'INTERMEDIATE', 'SENIOR', name='level', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('holder_name', sa.String(length=64), nullable=False),
    sa.Column('holder_id_masked', sa.String(length=18), nullable=False),
    sa.Column('holder_gender', sa.String(length=6), nullable=True),
    sa.Column('holder_birth_date', sa.Date(), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('approved_on', sa.Date(), nullable=False),
    sa.Column('valid_region', sa.String(length=2), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('issuer', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('signature', sa.String(length=100), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('VALID', 'REVOKED', name='certificate_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=500), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_certificates_candidate_id_users')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_certificates_issued_by_id_users')),
    sa.ForeignKeyConstraint(['qualification_id'], ['qualifications.id'], name=op.f('fk_certificates_qualification_id_qualifications')),
    sa.ForeignKeyConstraint(['replaces_id'], ['certificates.id'], name=op.f('fk_certificates_replaces_id_certificates')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_certificates_revoked_by_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_certificates_session_id_exam_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('number', name=op.f('uq_certificates_number')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_certificates_verification_code'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index('uq_certificates_valid_qualification', ['qualification_id'], unique=True, sqlite_where=sa.text("status = 'VALID'"), postgresql_where=sa.text("status = 'VALID'"))



def downgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('uq_certificates_valid_qualification', sqlite_where=sa.text("status = 'VALID'"), postgresql_where=sa.text("status = 'VALID'"))
        batch_op.drop_index(batch_op.f('ix_certificates_candidate_id'))

    op.drop_table('certificates')
