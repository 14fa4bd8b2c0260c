"""Mock contests (模考大赛): the contest, its paper, entries, standings and item rates.

Revision ID: b6d1f3a8e295
Revises: f2a8c4e61d37
Create Date: 2026-12-07 08:41:54.252207

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b6d1f3a8e295'
down_revision = 'f2a8c4e61d37'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('contests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('subject', sa.Enum('COMP_JR', 'PRAC_JR', 'COMP_MID', 'LAW_MID', 'PRAC_MID', 'PRAC_SR', name='subject', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('source_form_id', sa.Integer(), nullable=True),
    sa.Column('spec_variant', sa.String(length=20), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ranked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ranked_sitters', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_contests_created_by_users')),
    sa.ForeignKeyConstraint(['source_form_id'], ['exam_forms.id'], name=op.f('fk_contests_source_form_id_exam_forms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contests'))
    )
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contests_closes_at'), ['closes_at'], unique=False)

    op.create_table('contest_entries',
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('province', sa.String(length=6), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('score_halves', sa.Integer(), nullable=True),
    sa.Column('right_mask', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], name=op.f('fk_contest_entries_attempt_id_attempts')),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_contest_entries_candidate_id_users')),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], name=op.f('fk_contest_entries_contest_id_contests')),
    sa.PrimaryKeyConstraint('contest_id', 'candidate_id', name=op.f('pk_contest_entries')),
    sa.UniqueConstraint('attempt_id', name=op.f('uq_contest_entries_attempt_id'))
    )
    op.create_table('contest_item_rates',
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('right', sa.Integer(), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], name=op.f('fk_contest_item_rates_contest_id_contests')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_contest_item_rates_item_id_items')),
    sa.PrimaryKeyConstraint('contest_id', 'item_id', name=op.f('pk_contest_item_rates'))
    )
    op.create_table('contest_items',
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('section', sa.String(length=20), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('item_version_id', sa.Integer(), nullable=False),
    sa.Column('item_type', sa.Enum('SINGLE', 'MULTI', 'CASE_ANALYSIS', 'PLAN_DESIGN', 'ESSAY', name='item_type', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('chapter_code', sa.String(length=40), nullable=False),
    sa.Column('points_halves', sa.Integer(), nullable=False),
    sa.Column('option_count', sa.Integer(), nullable=False),
    sa.Column('fixed_order', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], name=op.f('fk_contest_items_contest_id_contests')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_contest_items_item_id_items')),
    sa.ForeignKeyConstraint(['item_version_id'], ['item_versions.id'], name=op.f('fk_contest_items_item_version_id_item_versions')),
    sa.PrimaryKeyConstraint('contest_id', 'position', name=op.f('pk_contest_items'))
    )
    op.create_table('contest_standings',
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('score_halves', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('below', sa.Integer(), nullable=False),
    sa.Column('province_rank', sa.Integer(), nullable=True),
    sa.Column('province_below', sa.Integer(), nullable=True),
    sa.Column('province_sitters', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_contest_standings_candidate_id_users')),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], name=op.f('fk_contest_standings_contest_id_contests')),
    sa.PrimaryKeyConstraint('contest_id', 'candidate_id', name=op.f('pk_contest_standings'))
    )
    with op.batch_alter_table('contest_standings', schema=None) as batch_op:
        batch_op.create_index('ix_contest_standings_contest_id_rank', ['contest_id', 'rank'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('contest_standings', schema=None) as batch_op:
        batch_op.drop_index('ix_contest_standings_contest_id_rank')
    op.drop_table('contest_standings')
    op.drop_table('contest_items')
    op.drop_table('contest_item_rates')
    op.drop_table('contest_entries')
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contests_closes_at'))

    op.drop_table('contests')
