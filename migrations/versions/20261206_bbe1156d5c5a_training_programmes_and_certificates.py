"""Training programmes (mock papers passed per subject at a minimum score) and training
certificates: a certificate may name a programme instead of a qualification, with the
programme's name as at issue; its level becomes optional; one valid certificate per
programme and candidate.

Revision ID: bbe1156d5c5a
Revises: e9f2c112e25a
Create Date: 2026-12-06 02:42:35.916453

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'bbe1156d5c5a'
down_revision = 'e9f2c112e25a'
branch_labels = None
depends_on = None

VALID = sa.text("status = 'VALID'")
KIND_SOURCE = (
    "(kind = 'QUALIFICATION' AND qualification_id IS NOT NULL AND level IS NOT NULL"
    " AND programme_id IS NULL) OR (kind = 'TRAINING' AND programme_id IS NOT NULL"
    " AND programme_name IS NOT NULL AND qualification_id IS NULL)")


def upgrade():
    op.create_table('training_programmes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=False),
    sa.Column('level', sa.Enum('ASSISTANT', 'INTERMEDIATE', 'SENIOR', name='level', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_training_programmes_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_programmes')),
    sa.UniqueConstraint('name', name=op.f('uq_training_programmes_name'))
    )
    op.create_table('training_requirements',
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.Enum('COMP_JR', 'PRAC_JR', 'COMP_MID', 'LAW_MID', 'PRAC_MID', 'PRAC_SR', name='subject', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('papers', sa.Integer(), nullable=False),
    sa.Column('min_percent', sa.Integer(), nullable=False),
    sa.CheckConstraint('min_percent BETWEEN 0 AND 100', name=op.f('ck_training_requirements_min_percent_range')),
    sa.CheckConstraint('papers BETWEEN 1 AND 50', name=op.f('ck_training_requirements_papers_range')),
    sa.ForeignKeyConstraint(['programme_id'], ['training_programmes.id'], name=op.f('fk_training_requirements_programme_id_training_programmes')),
    sa.PrimaryKeyConstraint('programme_id', 'subject', name=op.f('pk_training_requirements'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('programme_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('programme_name', sa.String(length=100), nullable=True))
        batch_op.alter_column('level', existing_type=sa.VARCHAR(length=12), nullable=True)
        batch_op.create_index('uq_certificates_valid_programme_candidate', ['programme_id', 'candidate_id'], unique=True, sqlite_where=VALID, postgresql_where=VALID)
        batch_op.create_foreign_key(batch_op.f('fk_certificates_programme_id_training_programmes'), 'training_programmes', ['programme_id'], ['id'])
        batch_op.create_check_constraint(op.f('ck_certificates_kind_source'), KIND_SOURCE)


def downgrade():
    # Issued training certificates are signed records people rely on: refuse rather
    # than delete them with the schema.
    issued = op.get_bind().scalar(sa.text(
        "SELECT count(*) FROM certificates WHERE kind = 'TRAINING'"))
    if issued:
        raise RuntimeError(f"{issued} training certificates exist; the schema before "
                           "bbe1156d5c5a cannot hold them. Export them first and remove "
                           "them deliberately if the downgrade must go ahead.")
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_certificates_kind_source'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_certificates_programme_id_training_programmes'), type_='foreignkey')
        batch_op.drop_index('uq_certificates_valid_programme_candidate', sqlite_where=VALID, postgresql_where=VALID)
        batch_op.alter_column('level', existing_type=sa.VARCHAR(length=12), nullable=False)
        batch_op.drop_column('programme_name')
        batch_op.drop_column('programme_id')

    op.drop_table('training_requirements')
    op.drop_table('training_programmes')
