"""Diagnostic only, never a result: the portal with one database setting changed, to
size a cost that a profile points at. The portal's own code is untouched; these
listeners are added after the portal's own ones (exam_portal/extensions.py).

WHAT_IF (comma-separated):
  sync-normal     SQLite PRAGMA synchronous=NORMAL (the baseline's; the portal's default
                  since SQLITE_SYNCHRONOUS, so a no-op there)
  sync-full       SQLite PRAGMA synchronous=FULL (the portal's SQLITE_SYNCHRONOUS=FULL)
  deferred-begin  SQLite plain BEGIN for every transaction, instead of the portal's
                  BEGIN IMMEDIATE (for all, or at later commits for those that may write);
                  a save can then fail with "database is locked" (read→write upgrade)
"""

import os
import sqlite3
import sys

import sqlalchemy as sa

from exam_portal import create_app, extensions

WHAT_IF = set(filter(None, os.environ.get("WHAT_IF", "").split(",")))

if "sync-normal" in WHAT_IF:
    @sa.event.listens_for(sa.engine.Engine, "connect")
    def _synchronous_normal(dbapi_connection, _record):
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

if "sync-full" in WHAT_IF:
    os.environ["SQLITE_SYNCHRONOUS"] = "FULL"  # the portal's own setting

if "deferred-begin" in WHAT_IF:
    # The portal's begin hook (named _begin_immediate, later _begin).
    portal_begin = getattr(extensions, "_begin_immediate", None) or extensions._begin
    sa.event.remove(sa.engine.Engine, "begin", portal_begin)

    @sa.event.listens_for(sa.engine.Engine, "begin")
    def _begin_deferred(conn):
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")

app = create_app()
print(f"whatif_app: WHAT_IF={sorted(WHAT_IF)}, exam_portal from {extensions.__file__}",
      file=sys.stderr, flush=True)
