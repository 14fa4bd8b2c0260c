"""The secure pool, item exposure and exam forms.

items.pool puts every item in the open pool (practice, as before) or the secure pool
(exam content); users.is_exam_author marks the trainers trusted with it.
item_exposures counts each item's uses in the database. assembly_plans, exam_forms and
exam_form_items hold the plan a subject's form is built from, the form and its items;
attempts.form_id names the form a sitting was built from.

A locked form cannot change: triggers on both databases refuse any insert, update or
delete of a locked form's items, and any change of a locked form other than its
release to the past papers.

Revision ID: 164bad1c7395
Revises: aa87589304a8
Create Date: 2026-12-06 20:18:42.642772

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '164bad1c7395'
down_revision = 'aa87589304a8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('assembly_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.Enum('COMP_JR', 'PRAC_JR', 'COMP_MID', 'LAW_MID', 'PRAC_MID', 'PRAC_SR', name='subject', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('cells', sa.JSON(), nullable=False),
    sa.Column('facility_min', sa.Double(), nullable=False),
    sa.Column('facility_max', sa.Double(), nullable=False),
    sa.Column('rest_sessions', sa.Integer(), nullable=False),
    sa.Column('enemies', sa.JSON(), nullable=False),
    sa.Column('form_count', sa.Integer(), nullable=False),
    sa.Column('max_overlap', sa.Integer(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('facility_min >= 0 AND facility_min <= facility_max AND facility_max <= 1', name=op.f('ck_assembly_plans_facility_range')),
    sa.CheckConstraint('form_count BETWEEN 1 AND 4', name=op.f('ck_assembly_plans_form_count_range')),
    sa.CheckConstraint('max_overlap >= 0', name=op.f('ck_assembly_plans_overlap_not_negative')),
    sa.CheckConstraint('rest_sessions >= 0', name=op.f('ck_assembly_plans_rest_not_negative')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_assembly_plans_session_id_exam_sessions')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_assembly_plans_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assembly_plans')),
    sa.UniqueConstraint('session_id', 'subject', name=op.f('uq_assembly_plans_session_id_subject'))
    )
    with op.batch_alter_table('assembly_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assembly_plans_session_id'), ['session_id'], unique=False)

    op.create_table('exam_forms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.Enum('COMP_JR', 'PRAC_JR', 'COMP_MID', 'LAW_MID', 'PRAC_MID', 'PRAC_SR', name='subject', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('label', sa.String(length=2), nullable=False),
    sa.Column('status', sa.Enum('DRAFT', 'LOCKED', name='form_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('spec_version', sa.String(length=10), nullable=False),
    sa.Column('spec_variant', sa.String(length=10), nullable=True),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('built_by_id', sa.Integer(), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_by_id', sa.Integer(), nullable=True),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['built_by_id'], ['users.id'], name=op.f('fk_exam_forms_built_by_id_users')),
    sa.ForeignKeyConstraint(['locked_by_id'], ['users.id'], name=op.f('fk_exam_forms_locked_by_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_exam_forms_session_id_exam_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exam_forms')),
    sa.UniqueConstraint('session_id', 'subject', 'label', name=op.f('uq_exam_forms_session_id_subject_label'))
    )
    with op.batch_alter_table('exam_forms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exam_forms_session_id'), ['session_id'], unique=False)

    op.create_table('item_exposures',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('uses', sa.Integer(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_exposures_item_id_items')),
    sa.PrimaryKeyConstraint('item_id', name=op.f('pk_item_exposures'))
    )
    op.create_table('exam_form_items',
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('section', sa.String(length=20), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('item_version_id', sa.Integer(), nullable=False),
    sa.Column('chapter_code', sa.String(length=40), nullable=False),
    sa.Column('points_halves', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['form_id'], ['exam_forms.id'], name=op.f('fk_exam_form_items_form_id_exam_forms')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_exam_form_items_item_id_items')),
    sa.ForeignKeyConstraint(['item_version_id'], ['item_versions.id'], name=op.f('fk_exam_form_items_item_version_id_item_versions')),
    sa.PrimaryKeyConstraint('form_id', 'position', name=op.f('pk_exam_form_items')),
    sa.UniqueConstraint('form_id', 'item_id', name=op.f('uq_exam_form_items_form_id_item_id'))
    )
    with op.batch_alter_table('exam_form_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exam_form_items_item_id'), ['item_id'], unique=False)

    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_attempts_form_id'), ['form_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_attempts_form_id_exam_forms'), 'exam_forms', ['form_id'], ['id'])

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pool', sa.Enum('OPEN', 'SECURE', name='item_pool', native_enum=False, create_constraint=True), server_default='OPEN', nullable=False))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_exam_author', sa.Boolean(), server_default=sa.false(), nullable=False))

    _create_lock_triggers()


def _create_lock_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTIONS)
        op.execute("CREATE TRIGGER exam_form_items_locked BEFORE INSERT OR UPDATE OR DELETE "
                   "ON exam_form_items FOR EACH ROW EXECUTE FUNCTION exam_form_items_locked()")
        op.execute("CREATE TRIGGER exam_forms_locked BEFORE UPDATE OR DELETE ON exam_forms "
                   "FOR EACH ROW EXECUTE FUNCTION exam_forms_locked()")
        return
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


# The columns of a locked form that never change again (released_at may be set once).
FROZEN = ("status", "session_id", "subject", "label", "spec_version", "spec_variant", "seed",
          "content_hash", "built_by_id", "built_at", "locked_by_id", "locked_at")

PG_FUNCTIONS = """
CREATE FUNCTION exam_form_items_locked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (TG_OP <> 'INSERT' AND EXISTS (SELECT 1 FROM exam_forms
        WHERE id = OLD.form_id AND status = 'LOCKED'))
     OR (TG_OP <> 'DELETE' AND EXISTS (SELECT 1 FROM exam_forms
        WHERE id = NEW.form_id AND status = 'LOCKED')) THEN
    RAISE EXCEPTION 'exam form is locked' USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
CREATE FUNCTION exam_forms_locked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status = 'LOCKED' AND (TG_OP = 'DELETE' OR (%s)
      OR (OLD.released_at IS NOT NULL AND NEW.released_at IS DISTINCT FROM OLD.released_at))
  THEN
    RAISE EXCEPTION 'exam form is locked' USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
""" % " OR ".join(f"NEW.{column} IS DISTINCT FROM OLD.{column}" for column in FROZEN)

_LOCKED_FORM = "(SELECT status FROM exam_forms WHERE id = {row}.form_id) = 'LOCKED'"
_RAISE = "BEGIN SELECT RAISE(ABORT, 'exam form is locked'); END"
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER exam_form_items_locked_insert BEFORE INSERT ON exam_form_items "
    f"WHEN {_LOCKED_FORM.format(row='NEW')} {_RAISE}",
    f"CREATE TRIGGER exam_form_items_locked_update BEFORE UPDATE ON exam_form_items "
    f"WHEN {_LOCKED_FORM.format(row='OLD')} OR {_LOCKED_FORM.format(row='NEW')} {_RAISE}",
    f"CREATE TRIGGER exam_form_items_locked_delete BEFORE DELETE ON exam_form_items "
    f"WHEN {_LOCKED_FORM.format(row='OLD')} {_RAISE}",
    "CREATE TRIGGER exam_forms_locked_update BEFORE UPDATE ON exam_forms "
    "WHEN OLD.status = 'LOCKED' AND (" + " OR ".join(
        f"NEW.{column} IS NOT OLD.{column}" for column in FROZEN)
    + " OR (OLD.released_at IS NOT NULL AND NEW.released_at IS NOT OLD.released_at)) "
    + _RAISE,
    f"CREATE TRIGGER exam_forms_locked_delete BEFORE DELETE ON exam_forms "
    f"WHEN OLD.status = 'LOCKED' {_RAISE}",
)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER exam_form_items_locked ON exam_form_items")
        op.execute("DROP TRIGGER exam_forms_locked ON exam_forms")
        op.execute("DROP FUNCTION exam_form_items_locked()")
        op.execute("DROP FUNCTION exam_forms_locked()")
    else:
        for name in ("exam_form_items_locked_insert", "exam_form_items_locked_update",
                     "exam_form_items_locked_delete", "exam_forms_locked_update",
                     "exam_forms_locked_delete"):
            op.execute(f"DROP TRIGGER {name}")
    # Natively on SQLite too (3.35+): rebuilding users would have to drop a table that
    # every account-owned row refers to.
    op.drop_column('users', 'is_exam_author')

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_items_item_pool'), type_='check')
        batch_op.drop_column('pool')

    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_attempts_form_id_exam_forms'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attempts_form_id'))
        batch_op.drop_column('form_id')

    with op.batch_alter_table('exam_form_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exam_form_items_item_id'))

    op.drop_table('exam_form_items')
    op.drop_table('item_exposures')
    with op.batch_alter_table('exam_forms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exam_forms_session_id'))

    op.drop_table('exam_forms')
    with op.batch_alter_table('assembly_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assembly_plans_session_id'))

    op.drop_table('assembly_plans')
