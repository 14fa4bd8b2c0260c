"""Backup and restore (FT-5): `flask backup create` copies the database while another
connection keeps writing, `flask backup restore` puts it into an empty database, and
there every attempt, response and certificate is as it was, the certificates verify,
the audit chain is intact (and SQLite passes PRAGMA integrity_check)."""

import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from exam_portal import backup
from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.attempts import Attempt, Response
from exam_portal.models.audit import AuditEvent
from exam_portal.models.certificates import Certificate
from exam_portal.models.types import utcnow
from exam_portal.services import audit, certificates
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
