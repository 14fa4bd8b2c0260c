"""Flask extensions, created unbound; the app factory binds them."""

import sqlite3
import time
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa
from flask import g, has_request_context, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

# Every constraint gets a name, so SQLite batch migrations can alter it later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def client_address() -> str:
    """Return the address used for rate limits and the audit log."""
    return request.remote_addr or "unknown"


@sa.event.listens_for(sa.engine.Engine, "connect")
def _configure_sqlite(dbapi_connection, _record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy's "begin" hook below issue BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


SQLITE_BUSY_SECONDS = 5.0
# SQLite's own busy handler sleeps 1, 2, 5, 10 … ms between tries, for a write lock
# that a save holds for a fraction of a millisecond: with two workers saving, the lock
# sat idle for most of each sleep and the save rate fell by a third. Writers poll for it
# in steps from 0.1 ms instead, doubling to 2 ms, all alike, so none is favoured.
_POLL_FIRST, _POLL_MOST = 0.0001, 0.002


def sqlite_begin_immediate(dbapi_connection, *, patience: float = SQLITE_BUSY_SECONDS):
    """BEGIN IMMEDIATE on a sqlite3 connection, waiting up to *patience* seconds for
    the write lock; sqlite3.OperationalError ("database is locked") after that."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    try:
        deadline, pause = time.monotonic() + patience, _POLL_FIRST
        while True:
            try:
                cursor.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, _POLL_MOST)
    finally:
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
        cursor.close()


def use_sqlite_synchronous(engine: sa.Engine, level: str) -> None:
    """Set the app's SQLITE_SYNCHRONOUS level on every connection *engine* opens."""
    if engine.dialect.name != "sqlite":
        return
    pragma = {"NORMAL": "PRAGMA synchronous=NORMAL", "FULL": "PRAGMA synchronous=FULL"}[level]

    @sa.event.listens_for(engine, "connect")
    def _synchronous(dbapi_connection, _record):
        dbapi_connection.execute(pragma)


_READ_METHODS = frozenset({"GET", "HEAD"})


@sa.event.listens_for(sa.engine.Engine, "begin")
def _begin(conn):
    # A deferred transaction that reads and then writes fails with SQLITE_BUSY
    # despite busy_timeout; taking the write lock up front makes writers queue. Pages
    # (GET) only read, so they begin deferred and never wait for, or hold up, a writer;
    # the few that must write ask for the lock first (lock_for_writing).
    if conn.dialect.name != "sqlite":
        return
    if _may_write():
        sqlite_begin_immediate(conn.connection.dbapi_connection)
    else:
        conn.exec_driver_sql("BEGIN")


_reading_only: ContextVar[bool] = ContextVar("reading_only", default=False)


def _may_write() -> bool:
    if _reading_only.get():
        return False
    if not has_request_context() or request.method not in _READ_METHODS:
        return True
    return bool(g.get("sqlite_writes"))


@contextmanager
def reading_only():
    """Outside a request, SQLite transactions take the write lock; the hot paths only
    read through the session (a paper's layout, item contents), so theirs begin
    deferred, like a page's, and never wait for a writer."""
    token = _reading_only.set(True)
    try:
        yield
    finally:
        _reading_only.reset(token)


# Set in a session's info once its transaction has written (a flush, or an INSERT,
# UPDATE or DELETE run through it); cleared when that transaction ends. Pending ORM
# changes alone do not say it: a flushed change is no longer pending.
_WROTE = "exam_portal.wrote"


@sa.event.listens_for(sa.orm.Session, "after_flush")
def _flushed(session, _context):
    session.info[_WROTE] = True


@sa.event.listens_for(sa.orm.Session, "do_orm_execute")
def _executed(state):
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@sa.event.listens_for(sa.orm.Session, "after_transaction_end")
def _ended(session, transaction):
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


@contextmanager
def no_write_lock():
    """Run work that writes nothing and takes long (parsing an upload, hashing a
    password) with no write transaction open: on SQLite a POST's transaction holds the
    database's only write lock from its first query, so every other writer (candidates'
    saves too) would wait for the work. The request's transaction ends first (it must
    have written nothing, flushed or not: that would be lost); reads in the block begin
    deferred; the next transaction after it takes the write lock again, and ORM objects
    read before are loaded again."""
    session = db.session
    if session.new or session.dirty or session.deleted or session.info.get(_WROTE):
        raise RuntimeError("no_write_lock() with changes pending: commit them first")
    session.rollback()
    token = _reading_only.set(True)
    try:
        yield
    finally:
        _reading_only.reset(token)
        session.rollback()


def lock_for_writing() -> None:
    """Call before writing while serving a GET request: on SQLite the read transaction
    ends (nothing is pending in it) and the next one takes the write lock."""
    if not has_request_context() or request.method not in _READ_METHODS:
        return
    if g.get("sqlite_writes"):
        return
    g.sqlite_writes = True
    session = db.session
    if session.get_bind().dialect.name == "sqlite" and not (
            session.new or session.dirty or session.deleted):
        session.rollback()
