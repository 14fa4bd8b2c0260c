"""SQLAlchemy statements compiled once and run on a pooled driver connection.

For the two requests a sitting is made of (save an answer, load the delivery page) the
ORM's and Core's per-execution work cost more than the SQL itself, and on SQLite it
lengthened how long the single write lock was held. These statements are still built
with SQLAlchemy (same tables, same SQL on both databases) and their values still go
through the columns' own type processors, so what is stored and read is exactly what
the ORM path stores and reads; only the per-call machinery is skipped.
"""

import logging
import weakref
from contextlib import contextmanager

import sqlalchemy as sa

from exam_portal.extensions import sqlite_begin_immediate

log = logging.getLogger(__name__)


class DriverStatement:
    """A statement compiled for one engine's dialect, with its type processors."""

    def __init__(self, engine: sa.Engine, statement):
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.order = compiled.positiontup  # None for a driver with named parameters
        self.processors, self.constants = {}, {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors[name] = processor
            if not bind.required:  # a constant of the statement (a status, a role, …)
                value = bind.effective_value
                self.constants[name] = processor(value) if processor is not None else value
        columns = statement.selected_columns if statement.is_select else []
        readers = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                   for column in columns]
        self.readers = [(index, reader) for index, reader in enumerate(readers)
                        if reader is not None]

    def parameters(self, values: dict):
        processors = self.processors
        params = dict(self.constants)
        for name, value in values.items():
            processor = processors.get(name)
            params[name] = processor(value) if processor is not None else value
        return [params[name] for name in self.order] if self.order is not None else params

    def execute(self, cursor, values: dict):
        cursor.execute(self.sql, self.parameters(values))
        return cursor

    def rows(self, cursor, values: dict) -> list:
        rows = self.execute(cursor, values).fetchall()
        if not self.readers:
            return rows
        converted = []
        for row in rows:
            row = list(row)
            for index, reader in self.readers:
                row[index] = reader(row[index])
            converted.append(row)
        return converted


_compiled: "weakref.WeakKeyDictionary[sa.Engine, dict]" = weakref.WeakKeyDictionary()


def compiled(engine: sa.Engine, name: str, build) -> DriverStatement:
    """The statement *name* for *engine*, built by ``build(dialect_name)`` on first use."""
    statements = _compiled.get(engine)
    if statements is None:
        statements = _compiled[engine] = {}
    found = statements.get(name)
    if found is None:
        found = statements[name] = DriverStatement(engine, build(engine.dialect.name))
    return found


class Transaction:
    """What a `transaction` block sees: the cursor and the choice to commit."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.commit = False


@contextmanager
def transaction(engine: sa.Engine, *, write: bool):
    """A short transaction on a pooled driver connection; it commits only when the
    block sets ``commit``. On SQLite a writing one takes the write lock up front
    (BEGIN IMMEDIATE), for the same reason as the portal's own transactions. A driver
    error invalidates the connection (the pool opens a new one) and is raised."""
    connection = engine.raw_connection()
    sqlite = engine.dialect.name == "sqlite"
    try:
        if sqlite and write:
            sqlite_begin_immediate(connection.driver_connection)
        cursor = connection.cursor()
        if sqlite and not write:
            cursor.execute("BEGIN")
        work = Transaction(cursor)
        yield work
        if sqlite:
            cursor.execute("COMMIT" if work.commit else "ROLLBACK")
        elif work.commit:
            connection.commit()
        else:
            connection.rollback()
        cursor.close()
    except Exception:
        connection.invalidate()
        raise
    finally:
        connection.close()


def changed_one_row(engine: sa.Engine, statement: DriverStatement, values: dict, *,
                    what: str) -> bool:
    """Run a writing *statement* in a transaction of its own, committed only if it
    changed exactly one row. A driver error is logged, not raised: the hot paths'
    callers then take the slow way (the Flask view), which tries again on a fresh
    connection and says what went wrong."""
    try:
        with transaction(engine, write=True) as work:
            work.commit = statement.execute(work.cursor, values).rowcount == 1
    except Exception as error:  # noqa: BLE001 - any driver error: the view decides
        log.warning("%s hot path: %r; the view answers", what, error)
        return False
    return work.commit
