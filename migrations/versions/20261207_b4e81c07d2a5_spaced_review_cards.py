"""Spaced review: FSRS cards and their review history replace the wrong-answer streaks.

Every item in a candidate's wrong-answer book becomes a card due at once (the
streak rule is gone: FSRS schedules the item from now on); items that had already
left the book are not carried over. Attempts gain the mode REVIEW (今日复习).

Revision ID: b4e81c07d2a5
Revises: 7d2f6b3a0c42
Create Date: 2026-12-07 06:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b4e81c07d2a5'
down_revision = '7d2f6b3a0c42'
branch_labels = None
depends_on = None

SUBJECT = sa.Enum('COMP_JR', 'PRAC_JR', 'COMP_MID', 'LAW_MID', 'PRAC_MID', 'PRAC_SR',
                  name='subject', native_enum=False, create_constraint=True)
OLD_MODES = "'CHAPTER', 'DAILY', 'RANDOM', 'MOCK', 'REDO', 'BOOKMARKS', 'EXAM'"
NEW_MODES = OLD_MODES + ", 'REVIEW'"


def upgrade():
    op.create_table(
        'review_cards',
        sa.Column('candidate_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('subject', SUBJECT, nullable=False),
        sa.Column('state', sa.SmallInteger(), nullable=False),
        sa.Column('step', sa.Integer(), nullable=True),
        sa.Column('stability', sa.Float(), nullable=True),
        sa.Column('difficulty', sa.Float(), nullable=True),
        sa.Column('due', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_review', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reviews', sa.Integer(), nullable=False),
        sa.Column('in_book', sa.Boolean(), nullable=False),
        sa.Column('times_wrong', sa.Integer(), nullable=False),
        sa.Column('last_wrong_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_selected', sa.String(length=5), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['candidate_id'], ['users.id'],
                                name=op.f('fk_review_cards_candidate_id_users')),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'],
                                name=op.f('fk_review_cards_item_id_items')),
        sa.PrimaryKeyConstraint('candidate_id', 'item_id', name=op.f('pk_review_cards')),
    )
    with op.batch_alter_table('review_cards', schema=None) as batch_op:
        batch_op.create_index('ix_review_cards_candidate_id_due', ['candidate_id', 'due'],
                              unique=False)
    op.create_table(
        'review_logs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('candidate_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('rating', sa.SmallInteger(), nullable=False),
        sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempt_id', sa.Integer(), nullable=True),
        sa.Column('position', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'],
                                name=op.f('fk_review_logs_attempt_id_attempts')),
        sa.ForeignKeyConstraint(['candidate_id'], ['users.id'],
                                name=op.f('fk_review_logs_candidate_id_users')),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'],
                                name=op.f('fk_review_logs_item_id_items')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_review_logs')),
    )
    with op.batch_alter_table('review_logs', schema=None) as batch_op:
        batch_op.create_index('ix_review_logs_attempt_id_position', ['attempt_id', 'position'],
                              unique=False)
        batch_op.create_index('ix_review_logs_candidate_id_item_id', ['candidate_id', 'item_id'],
                              unique=False)
    # State 1 is FSRS's learning state, at its first step: due at once.
    op.execute(
        "INSERT INTO review_cards (candidate_id, item_id, subject, state, step, due, reviews,"
        " in_book, times_wrong, last_wrong_at, created_at)"
        " SELECT candidate_id, item_id, subject, 1, 0, updated_at, 0, true, times_wrong,"
        " last_wrong_at, updated_at FROM wrong_answers WHERE in_book")
    with op.batch_alter_table('wrong_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_wrong_answers_candidate_id_in_book')
    op.drop_table('wrong_answers')
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_attempts_attempt_mode'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_attempts_attempt_mode'),
                                         f"mode IN ({NEW_MODES})")


def downgrade():
    for table in ('responses', 'attempt_items'):
        op.execute(f"DELETE FROM {table} WHERE attempt_id IN"  # noqa: S608 - fixed names
                   " (SELECT id FROM attempts WHERE mode = 'REVIEW')")
    op.execute("DELETE FROM review_logs")
    op.execute("DELETE FROM attempts WHERE mode = 'REVIEW'")
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_attempts_attempt_mode'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_attempts_attempt_mode'),
                                         f"mode IN ({OLD_MODES})")
    op.create_table(
        'wrong_answers',
        sa.Column('candidate_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('subject', SUBJECT, nullable=False),
        sa.Column('in_book', sa.Boolean(), nullable=False),
        sa.Column('streak', sa.Integer(), nullable=False),
        sa.Column('times_wrong', sa.Integer(), nullable=False),
        sa.Column('last_wrong_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['candidate_id'], ['users.id'],
                                name=op.f('fk_wrong_answers_candidate_id_users')),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'],
                                name=op.f('fk_wrong_answers_item_id_items')),
        sa.PrimaryKeyConstraint('candidate_id', 'item_id', name=op.f('pk_wrong_answers')),
    )
    with op.batch_alter_table('wrong_answers', schema=None) as batch_op:
        batch_op.create_index('ix_wrong_answers_candidate_id_in_book',
                              ['candidate_id', 'in_book'], unique=False)
    op.execute(
        "INSERT INTO wrong_answers (candidate_id, item_id, subject, in_book, streak,"
        " times_wrong, last_wrong_at, updated_at)"
        " SELECT candidate_id, item_id, subject, true, 0, times_wrong, last_wrong_at,"
        " created_at FROM review_cards WHERE in_book")
    with op.batch_alter_table('review_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_review_logs_candidate_id_item_id')
        batch_op.drop_index('ix_review_logs_attempt_id_position')
    op.drop_table('review_logs')
    with op.batch_alter_table('review_cards', schema=None) as batch_op:
        batch_op.drop_index('ix_review_cards_candidate_id_due')
    op.drop_table('review_cards')
