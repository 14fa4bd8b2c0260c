"""Invitations of new trainers by an institution's admin (a single-use link).

Revision ID: c9b5d7e31f42
Revises: c8a4e6f27b31
Create Date: 2026-12-07 12:55:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'c9b5d7e31f42'
down_revision = 'c8a4e6f27b31'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('trainer_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('locale', sa.String(length=8), nullable=True),
    sa.Column('invited_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_trainer_invitations_institution_id_institutions')),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_trainer_invitations_invited_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_trainer_invitations_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trainer_invitations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_trainer_invitations_token_hash'))
    )
    with op.batch_alter_table('trainer_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trainer_invitations_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_trainer_invitations_institution_id'), ['institution_id'], unique=False)


def downgrade():
    with op.batch_alter_table('trainer_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trainer_invitations_institution_id'))
        batch_op.drop_index(batch_op.f('ix_trainer_invitations_email'))

    op.drop_table('trainer_invitations')
