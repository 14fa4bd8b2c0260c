"""Whether SQLite's only write lock is free at this moment, as a candidate's save
would find it: the tests that check slow work holds no write transaction ask this
while the work runs."""

import sqlite3


def try_write_lock(path) -> str:
    """Take and release the write lock of the SQLite file *path* without waiting:
    "wrote" when it was free, SQLite's refusal otherwise."""
    with sqlite3.connect(path, timeout=0, isolation_level=None) as other:
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        except sqlite3.OperationalError as error:
            return str(error)
    return "wrote"
