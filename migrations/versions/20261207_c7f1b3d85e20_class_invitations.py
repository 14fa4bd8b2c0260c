"""Class invitations by e-mail address, as the trainer's list gives them.

Revision ID: c7f1b3d85e20
Revises: c6e3a8b15d72
Create Date: 2026-12-07 12:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7f1b3d85e20'
down_revision = 'c6e3a8b15d72'
branch_labels = None
depends_on = None


def upgrade():
    # Invitations made before this table (INVITED enrolments) stay where they are: the
    # portal keeps reading them (no data step).
    op.create_table('class_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('declined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['class_id'], ['training_classes.id'], name=op.f('fk_class_invitations_class_id_training_classes')),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_class_invitations_invited_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_class_invitations')),
    sa.UniqueConstraint('class_id', 'email', name=op.f('uq_class_invitations_class_id_email'))
    )
    with op.batch_alter_table('class_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_class_invitations_email'), ['email'], unique=False)


def downgrade():
    with op.batch_alter_table('class_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_class_invitations_email'))

    op.drop_table('class_invitations')
