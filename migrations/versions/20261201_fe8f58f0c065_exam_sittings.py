"""Exam sittings: an attempt of mode EXAM belongs to a registration, one per subject.

Revision ID: fe8f58f0c065
Revises: d59410bf92fa
Create Date: 2026-12-02 00:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'fe8f58f0c065'
down_revision = 'd59410bf92fa'
branch_labels = None
depends_on = None

OLD_MODES = "'CHAPTER', 'DAILY', 'RANDOM', 'MOCK', 'REDO', 'BOOKMARKS'"
NEW_MODES = OLD_MODES + ", 'EXAM'"


def upgrade():
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registration_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_attempts_registration_id_subject'), ['registration_id', 'subject'])
        batch_op.create_foreign_key(batch_op.f('fk_attempts_registration_id_registrations'), 'registrations', ['registration_id'], ['id'])
        batch_op.drop_constraint(batch_op.f('ck_attempts_attempt_mode'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_attempts_attempt_mode'), f"mode IN ({NEW_MODES})")


def downgrade():
    op.execute("DELETE FROM responses WHERE attempt_id IN (SELECT id FROM attempts WHERE mode = 'EXAM')")
    op.execute("DELETE FROM attempt_items WHERE attempt_id IN (SELECT id FROM attempts WHERE mode = 'EXAM')")
    op.execute("UPDATE subject_results SET attempt_id = NULL WHERE attempt_id IN (SELECT id FROM attempts WHERE mode = 'EXAM')")
    op.execute("DELETE FROM attempts WHERE mode = 'EXAM'")
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_attempts_attempt_mode'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_attempts_attempt_mode'), f"mode IN ({OLD_MODES})")
        batch_op.drop_constraint(batch_op.f('fk_attempts_registration_id_registrations'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_attempts_registration_id_subject'), type_='unique')
        batch_op.drop_column('registration_id')
