"""Item notes and error reports: a candidate's private note per item (笔记), and reports
of an error in an item (纠错) with the version seen, until a trainer resolves them.

Revision ID: f2a8c4e61d37
Revises: a9e3d5c7b142
Create Date: 2026-12-07 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f2a8c4e61d37'
down_revision = 'a9e3d5c7b142'
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'OPEN'")


def upgrade():
    op.create_table(
        'item_notes',
        sa.Column('candidate_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('length(text) BETWEEN 1 AND 2000',
                           name=op.f('ck_item_notes_text_length')),
        sa.ForeignKeyConstraint(['candidate_id'], ['users.id'],
                                name=op.f('fk_item_notes_candidate_id_users')),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'],
                                name=op.f('fk_item_notes_item_id_items')),
        sa.PrimaryKeyConstraint('candidate_id', 'item_id', name=op.f('pk_item_notes')),
    )
    op.create_table(
        'error_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('candidate_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('item_version_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('KEY', 'WORDING', 'EXPLANATION', 'OUTDATED_LAW', 'OTHER',
                                  name='report_kind', native_enum=False,
                                  create_constraint=True), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('status', sa.Enum('OPEN', 'ACCEPTED', 'REJECTED', name='report_status',
                                    native_enum=False, create_constraint=True),
                  nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('resolved_by_id', sa.Integer(), nullable=True),
        sa.Column('reply', sa.Text(), nullable=True),
        sa.Column('reply_seen_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'OPEN' AND resolved_at IS NULL AND reply IS NULL) OR "
            "(status <> 'OPEN' AND resolved_at IS NOT NULL AND resolved_by_id IS NOT NULL "
            "AND length(reply) BETWEEN 1 AND 1000)",
            name=op.f('ck_error_reports_resolution')),
        sa.CheckConstraint('length(text) BETWEEN 1 AND 1000',
                           name=op.f('ck_error_reports_text_length')),
        sa.ForeignKeyConstraint(['candidate_id'], ['users.id'],
                                name=op.f('fk_error_reports_candidate_id_users')),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'],
                                name=op.f('fk_error_reports_item_id_items')),
        sa.ForeignKeyConstraint(['item_version_id'], ['item_versions.id'],
                                name=op.f('fk_error_reports_item_version_id_item_versions')),
        sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'],
                                name=op.f('fk_error_reports_resolved_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_error_reports')),
    )
    with op.batch_alter_table('error_reports') as batch:
        batch.create_index('ix_error_reports_candidate_id_created_at',
                           ['candidate_id', 'created_at'])
        batch.create_index(batch.f('ix_error_reports_item_id'), ['item_id'])
        batch.create_index('ix_error_reports_status_created_at', ['status', 'created_at'])
        batch.create_index('uq_error_reports_open', ['candidate_id', 'item_id'], unique=True,
                           sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade():
    with op.batch_alter_table('error_reports') as batch:
        batch.drop_index('uq_error_reports_open', sqlite_where=OPEN, postgresql_where=OPEN)
        batch.drop_index('ix_error_reports_status_created_at')
        batch.drop_index(batch.f('ix_error_reports_item_id'))
        batch.drop_index('ix_error_reports_candidate_id_created_at')
    op.drop_table('error_reports')
    op.drop_table('item_notes')
