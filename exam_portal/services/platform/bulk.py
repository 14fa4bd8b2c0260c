"""Millions of integer rows between the database and numpy, without a Python object
per row.

PostgreSQL streams them with COPY in its binary format: with every column an int4 that
is never NULL, each row is the same number of bytes, so numpy reads a block of rows
straight from the buffer, and writes the rows of a temporary table the same way.
Other databases (SQLite) fetch in batches, converting each batch at once, and insert
with executemany.

Rows of any columns go in the same way (insert_rows), each value made by the column's
own type as an INSERT would bind it: COPY on PostgreSQL, in its text format; on SQLite
INSERTs of many rows each.
"""

import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import sqlalchemy as sa

from exam_portal.extensions import db

BATCH = 50_000
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_TRAILER = b"\xff\xff"
_BLOCK_BYTES = 4 << 20


def int_rows(select: sa.Select, *, group_by: int | None = None) -> Iterator[np.ndarray]:
    """The rows of *select* (every column an integer, never NULL) in blocks, each an
    int64 array of shape (rows, columns), in no particular order.

    *group_by*, the index of a column with many rows per value (the paper of a paper's
    answers): PostgreSQL packs the rows of each value into one, so the stream has a
    row per paper instead of one per answer. The rows themselves are the same; the
    client's work is per streamed row (about a microsecond each in psycopg: seconds
    for the millions of answers of an exam)."""
    columns = len(select.selected_columns)
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        if group_by is None:
            yield from _copy_rows(connection, select, columns)
        else:
            yield from _packed_rows(connection, select, columns, group_by)
        return
    result = connection.execute(select.execution_options(yield_per=BATCH))
    for batch in result.partitions(BATCH):
        yield np.array(batch, dtype=np.int64).reshape(len(batch), columns)


def _int_sql(connection: sa.Connection, select: sa.Select) -> str:
    # The values bound are the caller's own integers and enum names, never user text:
    # rendered into the statement, as COPY takes no parameters.
    cast = select.with_only_columns(
        *(sa.cast(column, sa.Integer) for column in select.selected_columns))
    return str(cast.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))


def _copy_out(connection: sa.Connection, sql: str) -> Iterator[bytes]:
    """The bytes of `COPY (sql) TO STDOUT` in the binary format, as they arrive,
    after its header."""
    raw = connection.connection.driver_connection
    header = bytearray()
    with raw.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT binary)") as copy:
        for block in copy:
            if header is None:
                yield block
                continue
            header += block
            if len(header) < 19:
                continue
            if not header.startswith(_SIGNATURE):
                raise RuntimeError("not a binary COPY stream")
            length = 19 + int.from_bytes(header[15:19], "big")
            if len(header) >= length:
                yield bytes(header[length:])
                header = None
    if header is not None:
        raise RuntimeError("not a binary COPY stream")


def _copy_rows(connection: sa.Connection, select: sa.Select, columns: int
               ) -> Iterator[np.ndarray]:
    row = _row_dtype(columns)
    pending = bytearray()
    for block in _copy_out(connection, _int_sql(connection, select)):
        pending += block
        whole = len(pending) // row.itemsize * row.itemsize
        if len(pending) >= _BLOCK_BYTES and whole:
            yield _values(np.frombuffer(bytes(pending[:whole]), dtype=row), columns)
            del pending[:whole]
    # What is left: the last rows, then the two-byte trailer.
    if pending[-2:] != _TRAILER or (len(pending) - 2) % row.itemsize:
        raise RuntimeError("COPY ended inside a row")
    if len(pending) > 2:
        yield _values(np.frombuffer(bytes(pending[:-2]), dtype=row), columns)


def _packed_rows(connection: sa.Connection, select: sa.Select, columns: int,
                 group_by: int) -> Iterator[np.ndarray]:
    """int_rows with the rows of each value of column *group_by* packed by the server:
    a binary COPY row per value of (how many rows, their values as big-endian int4s one
    after another). A NULL would vanish from the packing (string_agg skips it): the
    count says so."""
    names = [f"c{index}" for index in range(columns)]
    packed = " || ".join(f"int4send({name})" for name in names)
    sql = (f"SELECT count(*)::int4, string_agg({packed}, ''::bytea) "  # noqa: S608 - own SQL
           f"FROM ({_int_sql(connection, select)}) AS rows_({', '.join(names)}) "
           f"GROUP BY {names[group_by]}")
    width = 4 * columns
    pending, parts, size = bytearray(), [], 0
    for block in _copy_out(connection, sql):
        pending += block
        offset = 0
        # A row: field count (2), the count's length and value (4 + 4), the packing's
        # length (4) and bytes.
        while len(pending) - offset >= 14 and pending[offset:offset + 2] == b"\x00\x02":
            count = int.from_bytes(pending[offset + 6:offset + 10], "big")
            length = int.from_bytes(pending[offset + 10:offset + 14], "big", signed=True)
            if length != count * width:
                raise RuntimeError("COPY row with a NULL or a value wider than int4")
            end = offset + 14 + length
            if len(pending) < end:
                break
            parts.append(bytes(pending[offset + 14:end]))
            size += length
            offset = end
        del pending[:offset]
        if size >= _BLOCK_BYTES:
            yield _unpacked(parts, columns)
            parts, size = [], 0
    if pending != _TRAILER:
        raise RuntimeError("COPY ended inside a row")
    if parts:
        yield _unpacked(parts, columns)


def _unpacked(parts: list[bytes], columns: int) -> np.ndarray:
    return np.frombuffer(b"".join(parts), dtype=">i4").reshape(-1, columns).astype(np.int64)


def _row_dtype(columns: int) -> np.dtype:
    """A row of binary COPY with *columns* int4 fields: the field count (int16), then
    per field its length (int32, always 4) and the value (int32), all big-endian."""
    return np.dtype([("count", ">i2")] + [
        part for index in range(columns)
        for part in ((f"length{index}", ">i4"), (f"value{index}", ">i4"))])


def _values(rows: np.ndarray, columns: int) -> np.ndarray:
    out = np.empty((len(rows), columns), dtype=np.int64)
    for index in range(columns):
        if (rows[f"length{index}"] != 4).any():
            raise RuntimeError("COPY row with a NULL or a value wider than int4")
        out[:, index] = rows[f"value{index}"]
    return out


@contextmanager
def int_table(**columns: np.ndarray) -> Iterator[sa.Table]:
    """A temporary table of the given integer columns (equal-length arrays), filled, for
    set-based statements (UPDATE … FROM) in the current transaction; dropped after."""
    connection = db.session.connection()
    table = sa.Table(f"bulk_{secrets.token_hex(4)}", sa.MetaData(),
                     *(sa.Column(name, sa.Integer, nullable=False) for name in columns),
                     prefixes=["TEMPORARY"])
    table.create(connection)
    try:
        arrays = [np.asarray(values, dtype=np.int64) for values in columns.values()]
        if connection.dialect.name == "postgresql":
            _copy_in(connection, table.name, arrays)
        elif len(arrays[0]):
            names = list(columns)
            connection.execute(table.insert(), [
                dict(zip(names, row, strict=True))
                for row in np.column_stack(arrays).tolist()])
        yield table
    finally:
        table.drop(connection)


def _copy_in(connection: sa.Connection, name: str, arrays: list[np.ndarray]) -> None:
    row = _row_dtype(len(arrays))
    rows = np.empty(len(arrays[0]), dtype=row)
    rows["count"] = len(arrays)
    for index, values in enumerate(arrays):
        rows[f"length{index}"] = 4
        rows[f"value{index}"] = values
    data = _SIGNATURE + bytes(8) + rows.tobytes() + _TRAILER
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(
            f'COPY "{name}" FROM STDIN (FORMAT binary)') as copy:
        for start in range(0, len(data), _BLOCK_BYTES):
            copy.write(data[start:start + _BLOCK_BYTES])


def insert_rows(table: sa.Table, rows: list[dict]) -> None:
    """Insert *rows*, dicts with the same keys (column names), in the current
    transaction. Column defaults made in Python are not applied: give every value."""
    if not rows:
        return
    connection = db.session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    binders = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
               for name in names]
    quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
    target = f"{dialect.identifier_preparer.format_table(table)} ({quoted})"

    def bound(row: dict) -> list:
        return [bind(value) if bind else value
                for bind, value in zip(binders, map(row.__getitem__, names), strict=True)]

    if dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(bound(row))
        return
    _insert_sqlite(connection, target, len(names), [bound(row) for row in rows])


def _insert_sqlite(connection: sa.Connection, target: str, width: int,
                   rows: list[list]) -> None:
    # Many rows per INSERT rather than executemany's one statement per row: FTS5 writes
    # out its pending index entries at the end of every statement that touched it
    # (the item_search trigger), so row by row the versions of a large import became
    # one index segment each, merged again and again (40 s instead of 15 for 100,000).
    raw = connection.connection.driver_connection
    limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per = max(1, min(limit // width, _SQLITE_ROWS_PER_INSERT))
    one = "(" + ", ".join("?" * width) + ")"
    cursor = connection.connection.cursor()
    try:
        for start in range(0, len(rows), per):
            chunk = rows[start:start + per]
            # The table and column names are the model's; every value is a parameter.
            statement = f"INSERT INTO {target} VALUES " + ", ".join([one] * len(chunk))  # noqa: S608
            cursor.execute(statement, [value for row in chunk for value in row])
    finally:
        cursor.close()


_SQLITE_ROWS_PER_INSERT = 2000
