"""Item statistics of a sitting and the key review.

form_statistics and item_statistics hold the classical item analysis of a locked form
(an item's row without a form: its open-pool figures from first mock attempts);
key_decisions the administrators' decision on each flagged item, with the rescoring it
caused; exam_sessions.void_policy how a voided item counts (credit all, or drop).

Revision ID: 841229e3cf89
Revises: 164bad1c7395
Create Date: 2026-12-06 21:17:42.819120

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '841229e3cf89'
down_revision = '164bad1c7395'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('form_statistics',
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('candidates', sa.Integer(), nullable=False),
    sa.Column('mean_points', sa.Double(), nullable=True),
    sa.Column('sd_points', sa.Double(), nullable=True),
    sa.Column('alpha', sa.Double(), nullable=True),
    sa.Column('kr20', sa.Double(), nullable=True),
    sa.Column('sem_points', sa.Double(), nullable=True),
    sa.Column('distribution', sa.JSON(), nullable=False),
    sa.Column('pass_line_halves', sa.Integer(), nullable=True),
    sa.Column('pass_rate', sa.Double(), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['form_id'], ['exam_forms.id'], name=op.f('fk_form_statistics_form_id_exam_forms')),
    sa.PrimaryKeyConstraint('form_id', name=op.f('pk_form_statistics'))
    )
    op.create_table('item_statistics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=True),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('item_version_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('candidates', sa.Integer(), nullable=False),
    sa.Column('facility', sa.Double(), nullable=True),
    sa.Column('discrimination', sa.Double(), nullable=True),
    sa.Column('upper_lower', sa.Double(), nullable=True),
    sa.Column('blank', sa.Double(), nullable=True),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['form_id'], ['exam_forms.id'], name=op.f('fk_item_statistics_form_id_exam_forms')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_statistics_item_id_items')),
    sa.ForeignKeyConstraint(['item_version_id'], ['item_versions.id'], name=op.f('fk_item_statistics_item_version_id_item_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_statistics'))
    )
    with op.batch_alter_table('item_statistics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_statistics_item_id'), ['item_id'], unique=False)
        batch_op.create_index('uq_item_statistics_form_version', ['form_id', 'item_version_id'], unique=True)
        batch_op.create_index('uq_item_statistics_open_version', ['item_version_id'], unique=True, sqlite_where=sa.text('form_id IS NULL'), postgresql_where=sa.text('form_id IS NULL'))

    op.create_table('key_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('KEEP', 'REKEY', 'ADD_KEY', 'VOID', name='key_decision_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('keys', sa.JSON(), nullable=False),
    sa.Column('policy', sa.Enum('CREDIT_ALL', 'DROP', name='void_policy', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('crossed_up', sa.Integer(), nullable=False),
    sa.Column('crossed_down', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_key_decisions_decided_by_id_users')),
    sa.ForeignKeyConstraint(['form_id'], ['exam_forms.id'], name=op.f('fk_key_decisions_form_id_exam_forms')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_key_decisions_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_decisions')),
    sa.UniqueConstraint('form_id', 'item_id', name=op.f('uq_key_decisions_form_id_item_id'))
    )
    with op.batch_alter_table('key_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_key_decisions_form_id'), ['form_id'], unique=False)

    with op.batch_alter_table('exam_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('void_policy', sa.Enum('CREDIT_ALL', 'DROP', name='void_policy', native_enum=False, create_constraint=True), server_default='CREDIT_ALL', nullable=False))



def downgrade():
    with op.batch_alter_table('exam_sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_exam_sessions_void_policy'), type_='check')
        batch_op.drop_column('void_policy')

    with op.batch_alter_table('key_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_key_decisions_form_id'))

    op.drop_table('key_decisions')
    with op.batch_alter_table('item_statistics', schema=None) as batch_op:
        batch_op.drop_index('uq_item_statistics_open_version', sqlite_where=sa.text('form_id IS NULL'), postgresql_where=sa.text('form_id IS NULL'))
        batch_op.drop_index('uq_item_statistics_form_version')
        batch_op.drop_index(batch_op.f('ix_item_statistics_item_id'))

    op.drop_table('item_statistics')
    op.drop_table('form_statistics')
