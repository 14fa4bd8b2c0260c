"""Full-text search over item versions: FTS5 trigram on SQLite, pg_trgm on PostgreSQL.

Trainers search Chinese text anywhere in a stem, option or explanation ("%资源链接%").
A B-tree cannot serve that; a trigram index can, on both databases.

SQLite keeps the index in an external-content FTS5 table fed by triggers. A later
batch ("move and copy") migration of item_versions drops those triggers: such a
migration must create them again (see _SQLITE_TRIGGERS).

Revision ID: 5b1f0c2a9d4e
Revises: 0e263b9f9bf2
Create Date: 2026-11-23 04:30:00
"""
from alembic import op

revision = '5b1f0c2a9d4e'
down_revision = '0e263b9f9bf2'
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER item_search_after_insert AFTER INSERT ON item_versions BEGIN
         INSERT INTO item_search(rowid, search_text) VALUES (new.id, new.search_text);
       END""",
    """CREATE TRIGGER item_search_after_delete AFTER DELETE ON item_versions BEGIN
         INSERT INTO item_search(item_search, rowid, search_text)
         VALUES ('delete', old.id, old.search_text);
       END""",
    """CREATE TRIGGER item_search_after_update AFTER UPDATE OF search_text ON item_versions
       BEGIN
         INSERT INTO item_search(item_search, rowid, search_text)
         VALUES ('delete', old.id, old.search_text);
         INSERT INTO item_search(rowid, search_text) VALUES (new.id, new.search_text);
       END""",
]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_item_versions_search_trgm ON item_versions "
                   "USING gin (search_text gin_trgm_ops)")
        return
    op.execute("CREATE VIRTUAL TABLE item_search USING fts5(search_text, "
               "content='item_versions', content_rowid='id', tokenize='trigram')")
    for statement in _SQLITE_TRIGGERS:
        op.execute(statement)
    op.execute("INSERT INTO item_search(item_search) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_item_versions_search_trgm")
        return
    for name in ("after_update", "after_delete", "after_insert"):
        op.execute(f"DROP TRIGGER IF EXISTS item_search_{name}")
    op.execute("DROP TABLE IF EXISTS item_search")
