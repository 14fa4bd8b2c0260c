"""Show CursorResult.rowcount of the save's statement shape on PostgreSQL (psycopg 3).

Usage: .venv/bin/python bench/rowcount_probe.py   (creates and drops a private database)

Prints the rowcount of INSERT … SELECT … ON CONFLICT DO UPDATE from raw psycopg, from
SQLAlchemy, and from SQLAlchemy with execution_options(preserve_rowcount=True).
"""

import os
import uuid

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

ADMIN = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
NAME = f"bench_rowcount_{uuid.uuid4().hex[:8]}"
admin = ADMIN.replace("+psycopg", "")
with psycopg.connect(admin, autocommit=True) as conn:
    conn.execute(f'CREATE DATABASE "{NAME}"')
url = sa.engine.make_url(ADMIN).set(database=NAME)
try:
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    responses = sa.Table("r", metadata, sa.Column("a", sa.Integer, primary_key=True),
                         sa.Column("p", sa.Integer, primary_key=True), sa.Column("seq", sa.Integer))
    attempts = sa.Table("t", metadata, sa.Column("id", sa.Integer, primary_key=True))
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(attempts.insert().values(id=1))

    def upsert(seq):
        source = sa.select(sa.literal(1), sa.literal(1), sa.literal(seq)).where(attempts.c.id == 1)
        statement = insert(responses).from_select(["a", "p", "seq"], source)
        return statement.on_conflict_do_update(
            index_elements=[responses.c.a, responses.c.p], set_={"seq": statement.excluded.seq},
            where=responses.c.seq < statement.excluded.seq)

    raw = psycopg.connect(url.set(drivername="postgresql").render_as_string(False))
    with raw:
        cursor = raw.execute("INSERT INTO r (a, p, seq) SELECT 1, 1, %s FROM t WHERE t.id = 1 "
                             "ON CONFLICT (a, p) DO UPDATE SET seq = excluded.seq "
                             "WHERE r.seq < excluded.seq", (1,))
        print("psycopg cursor.rowcount:", cursor.rowcount)
    with engine.begin() as conn:
        print("SQLAlchemy rowcount:", conn.execute(upsert(2)).rowcount)
        print("SQLAlchemy rowcount, preserve_rowcount=True:",
              conn.execute(upsert(3).execution_options(preserve_rowcount=True)).rowcount)
    print("SQLAlchemy", sa.__version__, "psycopg", psycopg.__version__)
    engine.dispose()
finally:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
