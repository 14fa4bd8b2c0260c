"""Bank changes: which items each revision of a subject's bank touched.

bank_revisions.number counts the revisions of a subject (the token stays random);
bank_changes names the items whose published version each revision changed, so an app
server brings its cached drawing pools up to date by re-reading those items instead
of the whole subject.

Revision ID: 7d2f6b3a0c42
Revises: 3c8e5a1f9b21
Create Date: 2026-12-06 21:25:11

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d2f6b3a0c42'
down_revision = '3c8e5a1f9b21'
branch_labels = None
depends_on = None

SUBJECT = sa.Enum('COMP_JR', 'PRAC_JR', 'COMP_MID', 'LAW_MID', 'PRAC_MID', 'PRAC_SR',
                  name='subject', native_enum=False, create_constraint=True)


def upgrade():
    op.create_table(
        'bank_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subject', SUBJECT, nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_changes')),
    )
    with op.batch_alter_table('bank_changes', schema=None) as batch_op:
        batch_op.create_index('ix_bank_changes_subject_number', ['subject', 'number'],
                              unique=False)
    with op.batch_alter_table('bank_revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.Integer(), server_default='0',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('bank_revisions', schema=None) as batch_op:
        batch_op.drop_column('number')
    with op.batch_alter_table('bank_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_bank_changes_subject_number')
    op.drop_table('bank_changes')
