"""Login throttles: counted password attempts per account, address, device and session.

Password-reset links need no new column: they die with any password change through
users.password_changed_at, which every account already has.

Revision ID: c15c0f3a9c03
Revises: c15b0e2f8b02
Create Date: 2026-12-06 12:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c15c0f3a9c03'
down_revision = 'c15b0e2f8b02'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_throttles',
    sa.Column('scope', sa.Enum('account', 'address', 'device', 'session', name='scope',
                               native_enum=False, create_constraint=True, length=7),
              nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('scope', 'key_hash', name=op.f('pk_login_throttles'))
    )
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_throttles_last_failed_at'),
                              ['last_failed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_throttles_last_failed_at'))
    op.drop_table('login_throttles')
