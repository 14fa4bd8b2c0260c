"""Backups of the portal's database while it runs, and their restore (FT-5).

SQLite: the online backup API copies the database in one step, a consistent snapshot
taken under a read transaction, so the portal's writers go on (WAL) and nothing they
commit meanwhile is half in the copy. PostgreSQL: `pg_dump --format=custom`, which
reads one snapshot of the whole database, restored by `pg_restore` in one transaction.
The keys (SECRET_KEY, DATA_ENCRYPTION_KEY, BLIND_INDEX_KEY, CERT_SIGNING_KEYS) are not
in the database and so not in a backup: keep them apart, or resident IDs cannot be read
and certificates cannot be checked after a restore.
"""

import os
import re
import shutil
import sqlite3
import subprocess  # noqa: S404 - pg_dump and pg_restore, fixed arguments, no shell
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or a restore that cannot be done, with the reason."""


@dataclass(frozen=True)
class Backup:
    path: Path
    kind: str  # "sqlite" or "postgresql"
    size: int


def create(url: sa.URL, path: Path) -> Backup:
    """Back up the database at *url* to *path* (a new file), while it is in use."""
    path = Path(path)
    if path.exists():
        raise BackupError(f"{path} exists: a backup never overwrites a file")
    if not path.parent.is_dir():
        raise BackupError(f"folder {path.parent} does not exist")
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_backup(_sqlite_file(url), partial)
            kind = "sqlite"
        elif url.get_backend_name() == "postgresql":
            _pg_dump(url, partial)
            kind = "postgresql"
        else:
            raise BackupError(f"no backup for {url.get_backend_name()} databases")
        partial.rename(path)  # only a finished backup carries the name asked for
    finally:
        partial.unlink(missing_ok=True)
    return Backup(path, kind, path.stat().st_size)


def restore(path: Path, url: sa.URL, *, force: bool = False) -> str:
    """Restore the backup at *path* into the database at *url*; return its kind.

    The target must hold no tables unless *force*: a restore replaces everything, so
    putting it over live data is something to ask for, never a slip of DATABASE_URL."""
    kind = backup_kind(Path(path))
    if kind != url.get_backend_name():
        raise BackupError(f"{path} is a {kind} backup; the target is a "
                          f"{url.get_backend_name()} database")
    tables = table_names(url)
    if tables and not force:
        raise BackupError(f"the target database already holds {len(tables)} tables "
                          f"({', '.join(sorted(tables)[:3])}, …): restore into an empty "
                          "database, or pass --force to replace it")
    if kind == "sqlite":
        _sqlite_restore(Path(path), _sqlite_file(url))
    else:
        _pg_restore(Path(path), url, clean=bool(tables))
    return kind


def backup_kind(path: Path) -> str:
    """Tell a SQLite backup from a pg_dump archive by the file's first bytes."""
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except OSError as error:
        raise BackupError(f"cannot read {path}: {error.strerror}") from error
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is neither a SQLite backup nor a pg_dump archive")


def table_names(url: sa.URL) -> set[str]:
    if url.get_backend_name() == "sqlite" and not _sqlite_file(url).exists():
        return set()
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


# SQLite ------------------------------------------------------------------------------


def _sqlite_file(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _sqlite_backup(source: Path, target: Path) -> None:
    if not source.exists():
        raise BackupError(f"database file {source} does not exist")
    # Read-write, though it only reads: a read-only connection cannot open a WAL
    # database whose -shm file it would have to create.
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        # pages=-1: the whole database in one step under one read transaction. A
        # stepwise copy starts again whenever another connection writes, so under a
        # steady load it might never finish.
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        _check_integrity(dst, target)
    finally:
        dst.close()
        src.close()


def _sqlite_restore(backup: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        _check_integrity(src, backup)
        dst = sqlite3.connect(target, timeout=30)
        try:
            # Through the backup API, not a file copy: the target's WAL and any
            # connection still open on it stay consistent.
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=WAL")
            _check_integrity(dst, target)
        finally:
            dst.close()
    finally:
        src.close()


def _check_integrity(conn: sqlite3.Connection, where: Path) -> None:
    verdict = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if verdict != ["ok"]:
        raise BackupError(f"{where} fails PRAGMA integrity_check: {'; '.join(verdict[:5])}")


# PostgreSQL --------------------------------------------------------------------------


def _pg_environment(url: sa.URL) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password (which goes in PGPASSWORD, never on the
    command line where `ps` shows it), and the environment to run the tool in."""
    plain = url.set(drivername="postgresql", password=None)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools "
                          "(Debian: apt-get install postgresql-client) at the server's "
                          "major version or newer")
    return path


def tool_major(path: str) -> int:
    """The major version of a PostgreSQL client tool (`pg_dump (PostgreSQL) 15.20`)."""
    output = subprocess.run([path, "--version"], capture_output=True, text=True,  # noqa: S603
                            check=False).stdout
    found = re.search(r"\(PostgreSQL\)\s+(\d+)", output)
    if found is None:
        raise BackupError(f"cannot read the version of {path}: {output.strip()!r}")
    return int(found.group(1))


def server_major(url: sa.URL) -> int:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(sa.text("SHOW server_version_num"))) // 10000
    finally:
        engine.dispose()


def _pg_dump(url: sa.URL, target: Path) -> None:
    tool = _tool("pg_dump")
    server, client = server_major(url), tool_major(tool)
    if client < server:
        # pg_dump refuses a newer server anyway, with a less helpful message.
        raise BackupError(f"pg_dump {client} cannot back up a PostgreSQL {server} server: "
                          f"install postgresql-client-{server} or newer")
    uri, env = _pg_environment(url)
    _run([tool, "--format=custom", "--file", str(target), "--dbname", uri], env)


def _pg_restore(backup: Path, url: sa.URL, *, clean: bool) -> None:
    tool = _tool("pg_restore")
    uri, env = _pg_environment(url)
    # One transaction: a restore that fails half-way leaves the target as it was.
    # --no-owner: the objects belong to the user who restores, whoever owned them.
    command = [tool, "--single-transaction", "--exit-on-error", "--no-owner",
               "--dbname", uri, str(backup)]
    if clean:
        command[1:1] = ["--clean", "--if-exists"]
    _run(command, env)


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True,  # noqa: S603
                            check=False)
    if result.returncode != 0:
        tool = Path(command[0]).name
        raise BackupError(f"{tool} failed (exit {result.returncode}): "
                          f"{result.stderr.strip()[-1000:]}")
