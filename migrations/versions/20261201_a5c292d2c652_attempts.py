"""Practice and mock attempts: attempts, attempt items, responses, the wrong-answer
book, bookmarks, bank revisions; item versions gain the columns paper assembly reads.

The new item_versions columns are added with plain ALTER TABLE (no batch copy): a
"move and copy" of item_versions on SQLite would drop the search index triggers.
Existing versions are filled in from their stored content.

Revision ID: a5c292d2c652
Revises: 5b1f0c2a9d4e
Create Date: 2026-12-01 17:43:07.321252
"""
import json
from datetime import date
from alembic import op
import sqlalchemy as sa

revision = 'a5c292d2c652'
down_revision = '5b1f0c2a9d4e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bank_revisions',
    sa.Column('subject', sa.Enum('COMP_JR', 'PRAC_JR', 'COMP_MID', 'LAW_MID', 'PRAC_MID', 'PRAC_SR', name='subject', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('subject', name=op.f('pk_bank_revisions'))
    )
    op.create_table('attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.Enum('CHAPTER', 'DAILY', 'RANDOM', 'MOCK', 'REDO', 'BOOKMARKS', name='attempt_mode', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('subject', sa.Enum('COMP_JR', 'PRAC_JR', 'COMP_MID', 'LAW_MID', 'PRAC_MID', 'PRAC_SR', name='subject', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('spec_version', sa.String(length=10), nullable=False),
    sa.Column('spec_variant', sa.String(length=10), nullable=True),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('chapters', sa.JSON(), nullable=False),
    sa.Column('law_cutoff', sa.Date(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.Enum('IN_PROGRESS', 'SUBMITTED', name='attempt_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('ended_by', sa.Enum('CANDIDATE', 'DEADLINE', name='ended_by', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('device_token', sa.String(length=32), nullable=False),
    sa.Column('score_halves', sa.Integer(), nullable=True),
    sa.Column('full_halves', sa.Integer(), nullable=False),
    sa.Column('pass_halves', sa.Integer(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.Column('self_score_halves', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_attempts_candidate_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempts'))
    )
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_index('ix_attempts_candidate_id_started_at', ['candidate_id', 'started_at'], unique=False)
        batch_op.create_index('ix_attempts_status_deadline_at', ['status', 'deadline_at'], unique=False)
        batch_op.create_index('uq_attempts_open_mock', ['candidate_id', 'subject'], unique=True, sqlite_where=sa.text("status = 'IN_PROGRESS' AND mode = 'MOCK'"), postgresql_where=sa.text("status = 'IN_PROGRESS' AND mode = 'MOCK'"))

    op.create_table('bookmarks',
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.Enum('COMP_JR', 'PRAC_JR', 'COMP_MID', 'LAW_MID', 'PRAC_MID', 'PRAC_SR', name='subject', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_bookmarks_candidate_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_bookmarks_item_id_items')),
    sa.PrimaryKeyConstraint('candidate_id', 'item_id', name=op.f('pk_bookmarks'))
    )
    op.create_table('wrong_answers',
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.Enum('COMP_JR', 'PRAC_JR', 'COMP_MID', 'LAW_MID', 'PRAC_MID', 'PRAC_SR', name='subject', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('in_book', sa.Boolean(), nullable=False),
    sa.Column('streak', sa.Integer(), nullable=False),
    sa.Column('times_wrong', sa.Integer(), nullable=False),
    sa.Column('last_wrong_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_wrong_answers_candidate_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_wrong_answers_item_id_items')),
    sa.PrimaryKeyConstraint('candidate_id', 'item_id', name=op.f('pk_wrong_answers'))
    )
    with op.batch_alter_table('wrong_answers', schema=None) as batch_op:
        batch_op.create_index('ix_wrong_answers_candidate_id_in_book', ['candidate_id', 'in_book'], unique=False)

    op.create_table('attempt_items',
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('section', sa.String(length=20), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('item_version_id', sa.Integer(), nullable=False),
    sa.Column('chapter_code', sa.String(length=40), nullable=False),
    sa.Column('option_order', sa.String(length=5), nullable=False),
    sa.Column('points_halves', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], name=op.f('fk_attempt_items_attempt_id_attempts')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_attempt_items_item_id_items')),
    sa.ForeignKeyConstraint(['item_version_id'], ['item_versions.id'], name=op.f('fk_attempt_items_item_version_id_item_versions')),
    sa.PrimaryKeyConstraint('attempt_id', 'position', name=op.f('pk_attempt_items'))
    )
    with op.batch_alter_table('attempt_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempt_items_item_id'), ['item_id'], unique=False)

    op.create_table('responses',
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('selected', sa.String(length=5), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('is_flagged', sa.Boolean(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('is_locked', sa.Boolean(), nullable=False),
    sa.Column('score_halves', sa.Integer(), nullable=True),
    sa.Column('self_score_halves', sa.Integer(), nullable=True),
    sa.CheckConstraint('seq >= 0', name=op.f('ck_responses_seq_not_negative')),
    sa.ForeignKeyConstraint(['attempt_id', 'position'], ['attempt_items.attempt_id', 'attempt_items.position'], name=op.f('fk_responses_attempt_id_attempt_items')),
    sa.PrimaryKeyConstraint('attempt_id', 'position', name=op.f('pk_responses'))
    )
    op.add_column('item_versions', sa.Column('fixed_order', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('item_versions', sa.Column('points_halves', sa.Integer(), nullable=True))
    op.add_column('item_versions', sa.Column('law_valid_from', sa.Date(), nullable=True))
    op.add_column('item_versions', sa.Column('law_valid_to', sa.Date(), nullable=True))
    _fill_version_columns()


def _fill_version_columns():
    versions = sa.table('item_versions', sa.column('id', sa.Integer), sa.column('content', sa.JSON),
                        sa.column('fixed_order', sa.Boolean), sa.column('points_halves', sa.Integer),
                        sa.column('law_valid_from', sa.Date), sa.column('law_valid_to', sa.Date))
    bind = op.get_bind()
    rows = bind.execute(sa.select(versions.c.id, versions.c.content)).all()
    for version_id, content in rows:
        if isinstance(content, str):
            content = json.loads(content)
        law = content.get('law') or {}
        points = content.get('points')
        bind.execute(versions.update().where(versions.c.id == version_id).values(
            fixed_order=bool(content.get('fixed_order')),
            points_halves=None if points is None else int(round(float(points) * 2)),
            law_valid_from=_day(law.get('valid_from')),
            law_valid_to=_day(law.get('valid_to'))))


def _day(text):
    return date.fromisoformat(text) if text else None


def downgrade():
    # SQLite 3.35+ drops a column in place, which keeps the search triggers.
    for column in ('law_valid_to', 'law_valid_from', 'points_halves', 'fixed_order'):
        op.drop_column('item_versions', column)

    op.drop_table('responses')
    with op.batch_alter_table('attempt_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempt_items_item_id'))

    op.drop_table('attempt_items')
    with op.batch_alter_table('wrong_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_wrong_answers_candidate_id_in_book')

    op.drop_table('wrong_answers')
    op.drop_table('bookmarks')
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index('uq_attempts_open_mock', sqlite_where=sa.text("status = 'IN_PROGRESS' AND mode = 'MOCK'"), postgresql_where=sa.text("status = 'IN_PROGRESS' AND mode = 'MOCK'"))
        batch_op.drop_index('ix_attempts_status_deadline_at')
        batch_op.drop_index('ix_attempts_candidate_id_started_at')

    op.drop_table('attempts')
    op.drop_table('bank_revisions')
