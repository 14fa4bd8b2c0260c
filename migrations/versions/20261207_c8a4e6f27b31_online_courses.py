"""Online continuing-education courses built from a class's assignments.

Revision ID: c8a4e6f27b31
Revises: c7f1b3d85e20
Create Date: 2026-12-07 12:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c8a4e6f27b31'
down_revision = 'c7f1b3d85e20'
branch_labels = None
depends_on = None


OLD_SOURCES = "'IMPORT', 'MANUAL'"
NEW_SOURCES = "'IMPORT', 'MANUAL', 'ONLINE'"


def upgrade():
    with op.batch_alter_table('ce_courses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('class_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_ce_courses_class_id_training_classes'),
                                    'training_classes', ['class_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_ce_courses_class_id'), ['class_id'], unique=False)
    with op.batch_alter_table('ce_completions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_ce_completions_ce_completion_source'),
                                 type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_ce_completions_ce_completion_source'),
                                         f"source IN ({NEW_SOURCES})")


def downgrade():
    op.execute("DELETE FROM ce_completions WHERE source = 'ONLINE'")
    with op.batch_alter_table('ce_completions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_ce_completions_ce_completion_source'),
                                 type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_ce_completions_ce_completion_source'),
                                         f"source IN ({OLD_SOURCES})")
    with op.batch_alter_table('ce_courses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ce_courses_class_id'))
        batch_op.drop_constraint(batch_op.f('fk_ce_courses_class_id_training_classes'),
                                 type_='foreignkey')
        batch_op.drop_column('class_id')
