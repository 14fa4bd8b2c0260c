"""Registration evidence and the standard ID photo.

evidence_documents holds the documents a candidate attaches to a registration (degree,
proof of employment for one employment period, a certificate held, or other), each
with the key of its file in the evidence store, its content type as sniffed, size,
SHA-256 and the name it was sent under (for display only). A document names its
period or certificate only for its own kind, and keeps its file if the candidate later
deletes that row from the profile (SET NULL). The profile gains the key of the one
current ID photo and when it was uploaded.

Revision ID: aa87589304a8
Revises: e21a0f5e7c01
Create Date: 2026-12-06 17:50:51

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'aa87589304a8'
down_revision = 'e21a0f5e7c01'
branch_labels = None
depends_on = None

EVIDENCE_KIND = sa.Enum('DEGREE', 'EMPLOYMENT', 'CERTIFICATE', 'OTHER', name='evidence_kind',
                        native_enum=False, create_constraint=True, length=11)


def upgrade():
    op.create_table(
        'evidence_documents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=False),
        sa.Column('kind', EVIDENCE_KIND, nullable=False),
        sa.Column('employment_period_id', sa.Integer(), nullable=True),
        sa.Column('held_certificate_id', sa.Integer(), nullable=True),
        sa.Column('storage_key', sa.String(length=128), nullable=False),
        sa.Column('content_type', sa.String(length=40), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=False),
        sa.Column('original_filename', sa.String(length=120), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("employment_period_id IS NULL OR kind = 'EMPLOYMENT'",
                           name=op.f('ck_evidence_documents_period_only_for_employment')),
        sa.CheckConstraint("held_certificate_id IS NULL OR kind = 'CERTIFICATE'",
                           name=op.f('ck_evidence_documents_certificate_only_for_certificate')),
        sa.CheckConstraint('size_bytes > 0', name=op.f('ck_evidence_documents_size_positive')),
        sa.ForeignKeyConstraint(
            ['employment_period_id'], ['employment_periods.id'], ondelete='SET NULL',
            name=op.f('fk_evidence_documents_employment_period_id_employment_periods')),
        sa.ForeignKeyConstraint(
            ['held_certificate_id'], ['held_certificates.id'], ondelete='SET NULL',
            name=op.f('fk_evidence_documents_held_certificate_id_held_certificates')),
        sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'],
                                name=op.f('fk_evidence_documents_registration_id_registrations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_documents')),
        sa.UniqueConstraint('storage_key', name=op.f('uq_evidence_documents_storage_key')),
    )
    with op.batch_alter_table('evidence_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_documents_employment_period_id'),
                              ['employment_period_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_documents_held_certificate_id'),
                              ['held_certificate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_documents_registration_id'),
                              ['registration_id'], unique=False)

    with op.batch_alter_table('candidate_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photo_key', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('photo_uploaded_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_candidate_profiles_photo_key'),
                                          ['photo_key'])


def downgrade():
    # The files in the evidence store are left where they are: a downgrade forgets
    # which rows they belonged to, so remove them from the store by hand if wanted.
    with op.batch_alter_table('candidate_profiles', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_candidate_profiles_photo_key'), type_='unique')
        batch_op.drop_column('photo_uploaded_at')
        batch_op.drop_column('photo_key')

    with op.batch_alter_table('evidence_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_documents_registration_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_documents_held_certificate_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_documents_employment_period_id'))

    op.drop_table('evidence_documents')
