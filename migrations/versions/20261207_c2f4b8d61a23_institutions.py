"""Training institutions and their trainers (an institution admin invites the others).

Revision ID: c2f4b8d61a23
Revises: c1e7a2b94d10
Create Date: 2026-12-07 11:20:18.764311

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c2f4b8d61a23'
down_revision = 'c1e7a2b94d10'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('institutions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.Enum('training_org', 'university', 'association', name='institution_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('province', sa.String(length=6), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_institutions_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_institutions')),
    sa.UniqueConstraint('name', name=op.f('uq_institutions_name'))
    )
    op.create_table('institution_members',
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_institution_members_added_by_id_users')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_institution_members_institution_id_institutions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_institution_members_user_id_users')),
    sa.PrimaryKeyConstraint('institution_id', 'user_id', name=op.f('pk_institution_members'))
    )
    with op.batch_alter_table('institution_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_institution_members_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('institution_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institution_members_user_id'))

    op.drop_table('institution_members')
    op.drop_table('institutions')
