"""Backup and restore (FT-5): `flask backup create` copies the database while another
connection keeps writing, `flask backup restore` puts it into an empty database, and
there every attempt, response and certificate is as it was, the certificates verify,
the audit chain is intact (and SQLite passes PRAGMA integrity_check)."""

import os
import secrets
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.attempts import Attempt, Response
from exam_portal.models.audit import AuditEvent
from exam_portal.models.certificates import Certificate
from exam_portal.models.types import utcnow
from exam_portal.services.certification import certificates
from exam_portal.services.platform import audit, backup
from question_bank.subjects import Subject

from ..conftest import create_private_pg_database, drop_pg_database
from ..factories import make_user
from .practice_support import candidate, objective_bank, save, start
from .test_certificates import _achieved, _issue

WRITER_EVENT = "backup.test_write"


@pytest.fixture
def admin(app) -> int:
    return make_user(app, Role.ADMIN, email="backup-admin@example.com")


@pytest.fixture
def empty_target(database, tmp_path):
    """The URL of a new, empty database of this leg's kind."""
    kind, _source = database
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    url = create_private_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


def _attempt_with_answers(app, client, answers: int) -> int:
    attempt_id = start(client, mode="RANDOM", count="10")
    device = client.post(f"/practice/attempts/{attempt_id}/open").get_json()["device"]
    for position in range(1, answers + 1):
        assert save(client, attempt_id, position, device, position,
                    selected=["B"]).status_code == 200
    return attempt_id


def _build_data(app, admin):
    """Attempts with responses, certificates (one revoked), audit events; returns the
    attempt the writer will keep answering, and its candidate's client."""
    objective_bank(app, Subject.COMP_JR)
    for answers in (3, 7):
        _user_id, client = candidate(app)
        attempt_id = _attempt_with_answers(app, client, answers)
        assert client.post(f"/practice/attempts/{attempt_id}/submit").status_code == 302
    for region in ("11", "54"):
        _issue(app, admin, _achieved(app, admin, region=region)[0])
    with app.app_context():
        first = db.session.scalar(sa.select(Certificate).order_by(Certificate.id))
        certificates.revoke(first, "证书信息有误，收回重发。", db.session.get(User, admin),
                            now=utcnow())
        db.session.commit()
    _user_id, writer_client = candidate(app)
    return _attempt_with_answers(app, writer_client, 1), writer_client


def _rows(app, *, leave_out_attempt: int) -> dict[str, dict]:
    """Every attempt, response, certificate and audit event, by primary key."""
    with app.app_context():
        def table(model, where=None):
            query = sa.select(model.__table__)
            if where is not None:
                query = query.where(where)
            keys = [c.name for c in model.__table__.primary_key.columns]
            return {tuple(row[k] for k in keys): "|".join(map(str, row.values()))
                    for row in db.session.execute(query).mappings()}

        rows = {
            "attempts": table(Attempt, Attempt.id != leave_out_attempt),
            "responses": table(Response, Response.attempt_id != leave_out_attempt),
            "certificates": table(Certificate),
            "audit_events": table(AuditEvent),
        }
        db.session.remove()
        return rows


class Writer(threading.Thread):
    """A second connection (its own app and engine) that keeps committing: answers to
    an open attempt through the save endpoint, and audit events."""

    def __init__(self, app, client, attempt_id):
        super().__init__(daemon=True)
        self.app, self.client, self.attempt_id = app, client, attempt_id
        self.acknowledged: list[int] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self):
        try:
            device = self.client.post(
                f"/practice/attempts/{self.attempt_id}/open").get_json()["device"]
            n = 0
            while not self.stop.is_set():
                n += 1
                response = save(self.client, self.attempt_id, 1 + n % 10, device, n,
                                selected=["A" if n % 2 else "C"])
                assert response.status_code == 200, response.status_code
                with self.app.app_context():
                    audit.record(WRITER_EVENT, details={"n": n})
                    db.session.commit()
                self.acknowledged.append(n)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error

    def wait_for(self, count, timeout=30.0):
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count and time.monotonic() < deadline:
            assert self.error is None, self.error
            time.sleep(0.01)
        assert len(self.acknowledged) >= count, "the writer stalled"


def _writer_numbers(app) -> list[int]:
    import json

    with app.app_context():
        details = db.session.scalars(sa.select(AuditEvent.details).where(
            AuditEvent.action == WRITER_EVENT).order_by(AuditEvent.id))
        numbers = [json.loads(d)["n"] for d in details]
        db.session.remove()
        return numbers


def test_a_backup_taken_under_writes_restores_whole(app, make_app, admin, empty_target,
                                                    tmp_path):
    writer_attempt, writer_client = _build_data(app, admin)
    writer = Writer(make_app(), writer_client, writer_attempt)
    writer.start()
    try:
        writer.wait_for(5)
        before = _rows(app, leave_out_attempt=writer_attempt)
        acknowledged_before = len(writer.acknowledged)
        path = tmp_path / "portal.backup"
        result = app.test_cli_runner().invoke(args=["backup", "create", str(path)])
        acknowledged_after = len(writer.acknowledged)
        writer.wait_for(acknowledged_after + 5)  # the portal went on writing
    finally:
        writer.stop.set()
        writer.join(30)
    assert writer.error is None, writer.error
    assert result.exit_code == 0, result.output
    assert "backup written to" in result.output

    restored = make_app(SQLALCHEMY_DATABASE_URI=empty_target)
    result = restored.test_cli_runner().invoke(args=["backup", "restore", str(path)])
    assert result.exit_code == 0, result.output

    after = _rows(restored, leave_out_attempt=writer_attempt)
    for name in ("attempts", "responses", "certificates"):
        assert after[name] == before[name], name
    assert len(before["responses"]) >= 10 and len(before["certificates"]) == 2
    # The audit log: all that was there before, and of the writer's events a run from
    # the first with no gap, at least those acknowledged before the backup began.
    assert before["audit_events"].items() <= after["audit_events"].items()
    numbers = _writer_numbers(restored)
    assert numbers == list(range(1, len(numbers) + 1))
    assert acknowledged_before <= len(numbers) <= acknowledged_after
    verified = restored.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 0 and "audit log intact" in verified.output, verified.output
    with restored.app_context():
        issued = db.session.scalars(sa.select(Certificate)).all()
        assert issued and all(certificates.signature_valid(c) for c in issued)
        assert {c.status.value for c in issued} == {"VALID", "REVOKED"}
        if db.engine.dialect.name == "sqlite":
            assert db.session.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
        db.session.remove()


def test_restore_refuses_a_database_that_holds_tables_unless_forced(app, make_app, admin,
                                                                    empty_target, tmp_path):
    _issue(app, admin, _achieved(app, admin)[0])
    path = tmp_path / "portal.backup"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["backup", "create", str(path)]).exit_code == 0
    again = runner.invoke(args=["backup", "create", str(path)])
    assert again.exit_code == 1 and "never overwrites" in again.output

    before = _rows(app, leave_out_attempt=0)
    refused = runner.invoke(args=["backup", "restore", str(path)])  # onto the live database
    assert refused.exit_code == 1 and "already holds" in refused.output
    assert _rows(app, leave_out_attempt=0) == before

    target = make_app(SQLALCHEMY_DATABASE_URI=empty_target)
    restore = target.test_cli_runner()
    assert restore.invoke(args=["backup", "restore", str(path)]).exit_code == 0
    assert "already holds" in restore.invoke(args=["backup", "restore", str(path)]).output
    forced = restore.invoke(args=["backup", "restore", "--force", str(path)])
    assert forced.exit_code == 0, forced.output
    assert _rows(target, leave_out_attempt=0) == before
    assert restore.invoke(args=["audit", "verify"]).exit_code == 0


def test_a_backup_of_the_other_kind_or_a_stray_file_is_refused(app, empty_target, tmp_path):
    stray = tmp_path / "notes.txt"
    stray.write_text("not a backup")
    with pytest.raises(backup.BackupError, match="neither a SQLite backup nor a pg_dump"):
        backup.backup_kind(stray)
    other = tmp_path / "other.backup"
    if sa.make_url(empty_target).get_backend_name() == "sqlite":
        other.write_bytes(backup.PG_DUMP_MAGIC + b"\x01\x0e" + b"\0" * 64)
    else:
        sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(backup.BackupError, match="backup; the target is a"):
        backup.restore(other, sa.make_url(empty_target))


def test_pg_dump_missing_or_older_than_the_server_is_a_clear_error(database, app,
                                                                    tmp_path, monkeypatch):
    kind, url = database
    if kind != "postgresql":
        pytest.skip("pg_dump backs up PostgreSQL only")
    url = sa.make_url(url)
    server = backup.server_major(url)
    monkeypatch.setattr(backup, "tool_major", lambda _path: server - 1)
    with pytest.raises(backup.BackupError, match=f"pg_dump {server - 1} cannot back up a "
                                                 f"PostgreSQL {server} server"):
        backup.create(url, tmp_path / "old.backup")
    monkeypatch.setattr(backup.shutil, "which", lambda _name: None)
    with pytest.raises(backup.BackupError, match="pg_dump not found: install"):
        backup.create(url, tmp_path / "none.backup")
    assert not list(Path(tmp_path).iterdir())  # no partial file left behind


def _kind(database) -> str:
    return database[0]


def _dumping_function(kind: str) -> str:
    return "_sqlite_backup" if kind == "sqlite" else "_pg_dump"


@pytest.fixture
def folder(tmp_path) -> Path:
    """A folder for backups alone (the SQLite leg's database is in tmp_path)."""
    made = tmp_path / "backups"
    made.mkdir()
    return made


def test_a_backup_file_is_readable_by_its_owner_only(database, app, admin, folder):
    path = folder / "portal.backup"
    umask = os.umask(0o022)  # the usual default, under which a new file is 0644
    try:
        result = app.test_cli_runner().invoke(args=["backup", "create", str(path)])
    finally:
        os.umask(umask)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == ["portal.backup"]


def test_a_file_that_appears_at_the_target_meanwhile_is_not_overwritten(
        database, database_url, admin, folder, monkeypatch):
    path = folder / "portal.backup"
    name = _dumping_function(_kind(database))
    dump = getattr(backup, name)

    def dump_then_another_writes(*args):
        dump(*args)
        path.write_text("another program's file")

    monkeypatch.setattr(backup, name, dump_then_another_writes)
    with pytest.raises(backup.BackupError, match="exists: a backup never overwrites"):
        backup.create(sa.make_url(database_url), path)
    assert path.read_text() == "another program's file"
    assert [p.name for p in folder.iterdir()] == ["portal.backup"]  # no partial left


def test_another_runs_partial_file_is_left_alone_and_ours_is_removed_on_failure(
        database, database_url, admin, folder, monkeypatch):
    path = folder / "portal.backup"
    others = {folder / "portal.backup.partial": "an earlier version's partial",
              folder / "portal.backup.4242.0badf00d.partial": "a running backup's part"}
    for other, text in others.items():
        other.write_text(text)
    url = sa.make_url(database_url)
    assert backup.create(url, path).path == path
    assert {p: p.read_text() for p in others} == others

    path.unlink()
    name = _dumping_function(_kind(database))
    dump = getattr(backup, name)

    def dump_then_fail(*args):
        dump(*args)
        raise backup.BackupError("the disk is full")

    monkeypatch.setattr(backup, name, dump_then_fail)
    with pytest.raises(backup.BackupError, match="the disk is full"):
        backup.create(url, path)
    assert set(folder.iterdir()) == set(others)
    assert {p: p.read_text() for p in others} == others


def test_a_target_that_cannot_be_opened_is_a_clear_error(database, make_app, tmp_path):
    """No traceback: a SQLite target in a folder that does not exist, a PostgreSQL
    database that does not exist."""
    source = tmp_path / "portal.backup"
    make_app().test_cli_runner().invoke(args=["backup", "create", str(source)])
    if _kind(database) == "sqlite":
        target = f"sqlite:///{tmp_path / 'no-such-folder' / 'restored.db'}"
        expected = f"folder {tmp_path / 'no-such-folder'} does not exist"
    else:
        target = sa.make_url(database[1]).set(database="no_such_database_for_backup")
        target = target.render_as_string(hide_password=False)
        expected = "cannot read the database"
    result = make_app(SQLALCHEMY_DATABASE_URI=target).test_cli_runner().invoke(
        args=["backup", "restore", str(source)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert expected in result.output and "Traceback" not in result.output


def test_sqlite_errors_are_backup_errors(database, tmp_path, monkeypatch):
    if _kind(database) != "sqlite":
        pytest.skip("the sqlite3 module's errors")
    garbage = tmp_path / "portal.db"
    garbage.write_bytes(b"not a database at all " * 300)
    with pytest.raises(backup.BackupError, match="cannot back up .*: file is not a database"):
        backup.create(sa.make_url(f"sqlite:///{garbage}"), tmp_path / "portal.backup")
    assert [p.name for p in tmp_path.iterdir()] == ["portal.db"]

    # A target another connection writes to: a clear error once SQLITE_TIMEOUT has gone,
    # where Python's backup() alone would wait for as long as the lock is held.
    source = tmp_path / "good.backup"
    backup.create(sa.make_url(f"sqlite:///{database[1]}"), source)
    target = tmp_path / "locked.db"
    holder = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA journal_mode = WAL")  # like the portal's, with no tables yet
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(3, holder.rollback)
    release.start()
    monkeypatch.setattr(backup, "SQLITE_TIMEOUT", 0.2)
    try:
        with pytest.raises(backup.BackupError,
                           match=r"cannot restore .*: database is locked \(stop the portal"):
            backup.restore(source, sa.make_url(f"sqlite:///{target}"))
    finally:
        release.cancel()
        holder.close()


def _users(url: str) -> int:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.scalar(sa.select(sa.func.count()).select_from(User))
    finally:
        engine.dispose()


def test_grants_to_roles_the_target_lacks_do_not_stop_a_restore(database, app, make_app,
                                                                 admin, empty_target,
                                                                 tmp_path):
    kind, source = database
    if kind != "postgresql":
        pytest.skip("roles and grants are PostgreSQL's")
    role = f"backup_reader_{secrets.token_hex(4)}"
    engine = sa.create_engine(source, poolclass=sa.pool.NullPool,
                              isolation_level="AUTOCOMMIT")
    path = tmp_path / "portal.backup"
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f"CREATE ROLE {role}"))
            conn.execute(sa.text(f"GRANT SELECT ON {User.__tablename__} TO {role}"))
        backup.create(sa.make_url(source), path)
    finally:
        with engine.connect() as conn:  # the backup names a role no server has now
            conn.execute(sa.text(f"REVOKE ALL ON {User.__tablename__} FROM {role}"))
            conn.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
        engine.dispose()
    before = _rows(app, leave_out_attempt=0)
    assert backup.restore(path, sa.make_url(empty_target)) == "postgresql"
    assert _rows(make_app(SQLALCHEMY_DATABASE_URI=empty_target),
                 leave_out_attempt=0) == before
    assert _users(empty_target) == _users(source) >= 1


def _execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_a_forced_restore_leaves_no_table_the_backup_does_not_hold(app, make_app, admin,
                                                                  empty_target, tmp_path):
    path = tmp_path / "portal.backup"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["backup", "create", str(path)]).exit_code == 0
    target = make_app(SQLALCHEMY_DATABASE_URI=empty_target)
    restore = target.test_cli_runner()
    assert restore.invoke(args=["backup", "restore", str(path)]).exit_code == 0
    _execute(empty_target, "CREATE TABLE stray_extra (x INTEGER)",
             "CREATE VIEW stray_view AS SELECT * FROM stray_extra",
             "INSERT INTO stray_extra VALUES (1)", "DELETE FROM audit_events")
    forced = restore.invoke(args=["backup", "restore", "--force", str(path)])
    assert forced.exit_code == 0, forced.output
    tables = backup.table_names(sa.make_url(empty_target))
    assert "stray_extra" not in tables and "users" in tables
    assert _rows(target, leave_out_attempt=0) == _rows(app, leave_out_attempt=0)


def test_a_forced_postgresql_restore_that_fails_changes_nothing(database, app, make_app,
                                                                admin, empty_target,
                                                                tmp_path):
    if _kind(database) != "postgresql":
        pytest.skip("SQLite copies the backup whole or not at all")
    path = tmp_path / "portal.backup"
    assert app.test_cli_runner().invoke(args=["backup", "create", str(path)]).exit_code == 0
    target = sa.make_url(empty_target)
    backup.restore(path, target)
    # A view where the backup has a table: the restore's DROP TABLE fails on it, after
    # the stray table was dropped, and the transaction must bring it back.
    _execute(empty_target, "CREATE TABLE stray_extra (x INTEGER)",
             "INSERT INTO stray_extra VALUES (1)", "DROP TABLE audit_events CASCADE",
             "CREATE VIEW audit_events AS SELECT 1 AS x")
    with pytest.raises(backup.BackupError, match="(?s)psql failed .*audit_events"):
        backup.restore(path, target, force=True)
    assert {"stray_extra", "users"} <= backup.table_names(target)
    assert _users(empty_target) == _users(database[1]) >= 1
    engine = sa.create_engine(target, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT x FROM stray_extra")) == 1
    engine.dispose()

    # pg_restore stopping half-way through a damaged archive commits nothing either.
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])
    with pytest.raises(backup.BackupError, match="pg_restore failed"):
        backup.restore(damaged, target, force=True)
    assert "stray_extra" in backup.table_names(target)
