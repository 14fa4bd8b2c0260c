"""Backups of the portal's database while it runs, and their restore (FT-5).

SQLite: the online backup API copies the database in one step, a consistent snapshot
taken under a read transaction, so the portal's writers go on (WAL) and nothing they
commit meanwhile is half in the copy. PostgreSQL: `pg_dump --format=custom`, which
reads one snapshot of the whole database, restored by `pg_restore` through `psql` in one
transaction. A backup holds password hashes, encrypted IDs and e-mail addresses: only its
owner may read it (mode 0600).
The keys (SECRET_KEY, DATA_ENCRYPTION_KEY, BLIND_INDEX_KEY, CERT_SIGNING_KEYS,
AUDIT_CHECKPOINT_KEYS) are not in the database and so not in a backup: keep them apart,
or resident IDs cannot be read, certificates cannot be checked and the audit log's
checkpoints cannot be signed after a restore.
"""

import contextlib
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess  # noqa: S404 - pg_dump, pg_restore, psql: fixed arguments, no shell
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
SQLITE_TIMEOUT = 30  # seconds to wait for another connection's lock, then give up
BACKUP_MODE = 0o600  # owner only, whatever the umask


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
    partial = _new_partial(path)
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_backup(_sqlite_file(url), partial)
            kind = "sqlite"
        elif url.get_backend_name() == "postgresql":
            _pg_dump(url, partial)
            kind = "postgresql"
        else:
            raise BackupError(f"no backup for {url.get_backend_name()} databases")
        _publish(partial, path)
    finally:
        for leftover in (partial, *(partial.with_name(partial.name + suffix)
                                    for suffix in ("-journal", "-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
    return Backup(path, kind, path.stat().st_size)


def _new_partial(path: Path) -> Path:
    """A new empty file next to *path*, readable by its owner only, under a name no
    other run uses: the backup is written there and carries *path* only once whole."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, BACKUP_MODE)
    except OSError as error:
        raise BackupError(f"cannot create {partial}: {error.strerror}") from error
    try:
        os.fchmod(fd, BACKUP_MODE)
    finally:
        os.close(fd)
    return partial


def _publish(partial: Path, path: Path) -> None:
    """Give the finished backup its name; a link, unlike a rename, never replaces a file
    that appeared there meanwhile."""
    try:
        os.link(partial, path)
    except FileExistsError as error:
        raise BackupError(f"{path} exists: a backup never overwrites a file") from error
    except OSError as error:
        raise BackupError(f"cannot create {path}: {error.strerror}") from error


def restore(path: Path, url: sa.URL, *, force: bool = False) -> str:
    """Restore the backup at *path* into the database at *url*; return its kind.

    The target must hold no tables unless *force*: a restore replaces everything, so
    putting it over live data is something to ask for, never a slip of DATABASE_URL.
    Forced, a SQLite target becomes a copy of the backup; on PostgreSQL every table in
    the target's public schema is dropped (with what depends on it), in the transaction
    that restores the backup. Ownership and grants are not restored: the restoring
    user owns everything."""
    kind = backup_kind(Path(path))
    if kind != url.get_backend_name():
        raise BackupError(f"{path} is a {kind} backup; the target is a "
                          f"{url.get_backend_name()} database")
    if kind == "sqlite" and not _sqlite_file(url).parent.is_dir():
        raise BackupError(f"folder {_sqlite_file(url).parent} does not exist")
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
    if url.get_backend_name() == "sqlite":
        return _sqlite_tables(_sqlite_file(url))
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    except sa.exc.SQLAlchemyError as error:
        raise _unreachable(url, error) from error
    finally:
        engine.dispose()


def _unreachable(url: sa.URL, error: sa.exc.SQLAlchemyError) -> BackupError:
    reason = str(getattr(error, "orig", None) or error).strip()
    return BackupError(f"cannot read the database {url.render_as_string()}: {reason}")


# SQLite ------------------------------------------------------------------------------


def _sqlite_file(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _sqlite_tables(path: Path) -> set[str]:
    """By sqlite3 itself: an engine of ours would switch the file to WAL and, outside a
    request, begin by taking the write lock."""
    if not path.exists():
        return set()
    try:
        conn = sqlite3.connect(path, timeout=SQLITE_TIMEOUT)
        try:
            return {name for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite~_%' ESCAPE '~'")}
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise BackupError(f"cannot read the database {path}: {error}") from error


def _sqlite_backup(source: Path, target: Path) -> None:
    if not source.exists():
        raise BackupError(f"database file {source} does not exist")
    try:
        # Read-write, though it only reads: a read-only connection cannot open a WAL
        # database whose -shm file it would have to create.
        src = sqlite3.connect(source, timeout=SQLITE_TIMEOUT)
        try:
            dst = sqlite3.connect(target, timeout=SQLITE_TIMEOUT)
            try:
                # pages=-1: the whole database in one step under one read transaction.
                # A stepwise copy starts again whenever another connection writes, so
                # under a steady load it might never finish.
                src.backup(dst, pages=-1, progress=_give_up_when_locked)
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                _check_integrity(dst, target)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as error:
        raise BackupError(f"cannot back up {source}: {error}") from error


def _sqlite_restore(backup: Path, target: Path) -> None:
    try:
        src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        try:
            _check_integrity(src, backup)
            dst = sqlite3.connect(target, timeout=SQLITE_TIMEOUT)
            try:
                # Through the backup API, not a file copy: the target's WAL and any
                # connection still open on it stay consistent.
                src.backup(dst, pages=-1, progress=_give_up_when_locked)
                dst.execute("PRAGMA journal_mode=WAL")
                _check_integrity(dst, target)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as error:
        hint = " (stop the portal first)" if "locked" in str(error) else ""
        raise BackupError(f"cannot restore {backup} into {target}: {error}{hint}") from error


def _give_up_when_locked(status: int, _remaining: int, _total: int) -> None:
    """Python's backup() retries a locked database for ever; each try has already
    waited SQLITE_TIMEOUT seconds for the lock, so one is enough."""
    if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        raise sqlite3.OperationalError("database is locked")


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
    except sa.exc.SQLAlchemyError as error:
        raise _unreachable(url, error) from error
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


# Dropped first by a forced restore, in its transaction: the backup's tables are made
# anew and no table it does not hold stays behind. CASCADE takes views, foreign keys and
# sequences that depend on a table along.
DROP_PUBLIC_TABLES = """
DO $drop$
DECLARE doomed text;
BEGIN
    FOR doomed IN SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = 'public' LOOP
        EXECUTE format('DROP TABLE IF EXISTS public.%I CASCADE', doomed);
    END LOOP;
END
$drop$;
"""


def _pg_restore(backup: Path, url: sa.URL, *, clean: bool) -> None:
    """pg_restore writes the backup as SQL, psql runs it in one transaction, so a restore
    that fails half-way leaves the target as it was. --no-owner, --no-acl: the objects
    belong to the user who restores and carry no grants, for the roles they named need
    not exist on the target server."""
    restore_tool, psql = _tool("pg_restore"), _tool("psql")
    uri, env = _pg_environment(url)
    # --single-transaction: the script begins with BEGIN and its last line is COMMIT, so
    # a pg_restore that stops early commits nothing.
    script = [restore_tool, "--single-transaction", "--no-owner", "--no-acl",
              "--file=-", str(backup)]
    if clean:
        script[1:1] = ["--clean", "--if-exists"]
    # The prelude opens the transaction: the script's BEGIN then only warns (quietly)
    # and its COMMIT ends the drops and the restore together.
    prelude = "SET client_min_messages = error;\nBEGIN;\n"
    if clean:
        prelude += DROP_PUBLIC_TABLES
    runner = [psql, "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--dbname", uri]
    with tempfile.TemporaryFile() as script_errors, tempfile.TemporaryFile() as run_errors:
        reader = subprocess.Popen(script, stdout=subprocess.PIPE,  # noqa: S603
                                  stderr=script_errors, env=env)
        writer = subprocess.Popen(runner, stdin=subprocess.PIPE,  # noqa: S603
                                  stdout=subprocess.DEVNULL, stderr=run_errors, env=env)
        # psql stopping at an error (and rolling back) closes the pipe: its own message
        # says why.
        with contextlib.suppress(BrokenPipeError):
            try:
                writer.stdin.write(prelude.encode())
                shutil.copyfileobj(reader.stdout, writer.stdin)
            finally:
                reader.stdout.close()  # a pg_restore still writing gets SIGPIPE
                writer.stdin.close()  # without the script's COMMIT psql rolls back
        reader_status, writer_status = reader.wait(), writer.wait()
        if reader_status not in (0, -signal.SIGPIPE):
            raise _failed("pg_restore", reader_status, script_errors)
        if writer_status != 0 or reader_status != 0:
            raise _failed("psql", writer_status, run_errors)


def _failed(tool: str, status: int, errors) -> BackupError:
    errors.seek(0)
    message = errors.read().decode(errors="replace").strip()[-1000:]
    return BackupError(f"{tool} failed (exit {status}): {message}")


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True,  # noqa: S603
                            check=False)
    if result.returncode != 0:
        tool = Path(command[0]).name
        raise BackupError(f"{tool} failed (exit {result.returncode}): "
                          f"{result.stderr.strip()[-1000:]}")
