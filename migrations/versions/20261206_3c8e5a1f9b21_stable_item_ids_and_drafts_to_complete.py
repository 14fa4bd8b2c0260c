"""Stable external ids for every item; imported drafts that need completing.

Items written in the editor had no external id, so exporting and importing them again
added copies: every item without one gets a random "item-<16 hex>" id (random, so an
id exported from another portal never names an item here). items.defaulted_fields
lists the fields an import filled from the file's defaults ("subject,difficulty,..."):
such a draft needs completing before it is submitted for review. A partial index finds
those drafts in a large bank.

Revision ID: 3c8e5a1f9b21
Revises: 841229e3cf89
Create Date: 2026-12-06 21:20:58

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c8e5a1f9b21'
down_revision = '841229e3cf89'
branch_labels = None
depends_on = None

_NEEDS_COMPLETING = sa.text("defaulted_fields <> ''")
items = sa.table("items", sa.column("id", sa.Integer), sa.column("external_id", sa.String))


def upgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('defaulted_fields', sa.String(length=100),
                                      server_default='', nullable=False))
        batch_op.create_index('ix_items_needs_completing', ['id'], unique=False,
                              sqlite_where=_NEEDS_COMPLETING,
                              postgresql_where=_NEEDS_COMPLETING)
    connection = op.get_bind()
    missing = connection.scalars(sa.select(items.c.id).where(items.c.external_id.is_(None))).all()
    for start in range(0, len(missing), 5000):
        connection.execute(
            items.update().where(items.c.id == sa.bindparam("item_id"))
            .values(external_id=sa.bindparam("new_id")),
            [{"item_id": item_id, "new_id": f"item-{secrets.token_hex(8)}"}
             for item_id in missing[start:start + 5000]])


def downgrade():
    # The ids given stay: they are valid external ids, and files exported since carry them.
    op.drop_index('ix_items_needs_completing', table_name='items')
    if op.get_bind().dialect.name == "sqlite":
        # SQLite drops the column in place: batch mode would copy items to a new table,
        # which the foreign keys of every version and attempt refuse once there are rows.
        op.execute("ALTER TABLE items DROP COLUMN defaulted_fields")
    else:
        op.drop_column('items', 'defaulted_fields')
