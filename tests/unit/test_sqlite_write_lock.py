"""extensions.sqlite_begin_immediate: writers poll for SQLite's write lock (SQLite's own
busy handler sleeps whole milliseconds for a lock held a fraction of one), get it once
it is free, give up after their patience, and leave the connection's busy_timeout as
it was."""

import sqlite3
import threading

import pytest

from exam_portal.extensions import SQLITE_BUSY_SECONDS, sqlite_begin_immediate


def _connect(path):
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
    return connection


def _busy_timeout(connection) -> int:
    return connection.execute("PRAGMA busy_timeout").fetchone()[0]


def test_a_writer_gets_the_lock_once_another_lets_it_go(tmp_path):
    path = tmp_path / "lock.db"
    holder, waiter = _connect(path), _connect(path)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    sqlite_begin_immediate(waiter)
    waiter.execute("INSERT INTO t VALUES (2)")
    waiter.execute("COMMIT")
    release.join()
    assert [row[0] for row in waiter.execute("SELECT x FROM t ORDER BY x")] == [1, 2]
    assert _busy_timeout(waiter) == int(SQLITE_BUSY_SECONDS * 1000)


def test_a_writer_gives_up_after_its_patience_and_keeps_its_busy_timeout(tmp_path):
    path = tmp_path / "lock.db"
    holder, waiter = _connect(path), _connect(path)
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        sqlite_begin_immediate(waiter, patience=0.2)
    assert _busy_timeout(waiter) == int(SQLITE_BUSY_SECONDS * 1000)
    holder.execute("ROLLBACK")
    sqlite_begin_immediate(waiter)
    waiter.execute("ROLLBACK")
