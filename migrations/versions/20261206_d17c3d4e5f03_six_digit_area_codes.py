"""Exam areas, pass lines and region limits by six-digit GB/T 2260 code: designated
areas are prefectures and counties too, not only provinces.

Two-digit province codes become the province's six-digit code ("51" → "510000").
Certificates keep what they were signed with: their valid region is part of the signed
record, so old ones keep the two-digit code, which the portal still reads.

Revision ID: d17c3d4e5f03
Revises: d17b2c3d4e02
Create Date: 2026-12-06 18:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd17c3d4e5f03'
down_revision = 'd17b2c3d4e02'
branch_labels = None
depends_on = None

# (table, column, converted)
COLUMNS = [
    ("candidate_profiles", "region", True),
    ("held_certificates", "region_limit", True),
    ("pass_lines", "region", True),
    ("registrations", "region", True),
    ("subject_results", "passed_region", True),
    ("qualifications", "region", True),
    ("certificates", "valid_region", False),
]


def upgrade():
    for table, column, converted in COLUMNS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, type_=sa.String(6), existing_type=sa.String(2))
        if converted:
            op.execute(f"UPDATE {table} SET {column} = {column} || '0000' "  # noqa: S608
                       f"WHERE length({column}) = 2")


def downgrade():
    for table, column, converted in reversed(COLUMNS):
        if converted:
            op.execute(f"UPDATE {table} SET {column} = substr({column}, 1, 2) "  # noqa: S608
                       f"WHERE length({column}) = 6")
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, type_=sa.String(2), existing_type=sa.String(6))
