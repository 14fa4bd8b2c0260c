"""The audit trail cannot be cut short unnoticed (DP-6): `audit checkpoint` writes signed
checkpoints of the chain's head outside the database, and `audit verify --checkpoints`
reports every checkpoint the database no longer extends."""

import json
import os
import stat
import threading

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.audit import AuditEvent
from exam_portal.services.platform import audit
from question_bank import certificates as signing

from ..conftest import TEST_CHECKPOINT_KEYS, TEST_SIGNING_KEYS
from ..factories import make_user
from .test_backup import empty_target  # noqa: F401 - a new database of this leg's kind

NEWEST_TWO = "DELETE FROM audit_events WHERE id IN " \
             "(SELECT id FROM audit_events ORDER BY id DESC LIMIT 2)"


def _record(app, n):
    with app.app_context():
        for i in range(n):
            audit.record("test.event", details={"i": i, "note": f"第 {i} 条"})
        db.session.commit()


def _checkpoint(app, folder):
    return app.test_cli_runner().invoke(args=["audit", "checkpoint", str(folder)])


def _verify(app, folder=None):
    args = ["audit", "verify"] + (["--checkpoints", str(folder)] if folder else [])
    return app.test_cli_runner().invoke(args=args)


@pytest.fixture
def folder(tmp_path):
    """Where checkpoints go: a folder of their own, as in production."""
    path = tmp_path / "checkpoints"
    path.mkdir(mode=0o700)
    return path


def _files(folder):
    return sorted(folder.glob("audit-checkpoint-*.json"))


def _as_owner(database_url, *statements):
    """Run *statements* as someone who holds the database can, past the guard triggers,
    from a connection of their own: on PostgreSQL the table's owner disables them for
    the transaction; on SQLite they are dropped and made again. A statement is SQL text
    or (SQL text, parameters)."""
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            postgresql = connection.dialect.name == "postgresql"
            if postgresql:
                connection.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
            else:
                triggers = connection.execute(sa.text(
                    "SELECT name, sql FROM sqlite_master "
                    "WHERE type = 'trigger' AND tbl_name = 'audit_events'")).all()
                assert triggers, "the append-only guard is missing"
                for name, _sql in triggers:
                    connection.exec_driver_sql(f"DROP TRIGGER {name}")
            for statement in statements:
                sql, params = statement if isinstance(statement, tuple) else (statement, {})
                connection.execute(sa.text(sql), params)
            if postgresql:
                connection.exec_driver_sql("ALTER TABLE audit_events ENABLE TRIGGER USER")
            else:
                for _name, sql in triggers:
                    connection.exec_driver_sql(sql)
    finally:
        engine.dispose()


# An honest log -------------------------------------------------------------------------

def test_an_honest_log_that_grew_since_its_checkpoints_verifies(app, folder):
    _record(app, 3)
    assert _checkpoint(app, folder).exit_code == 0
    _record(app, 4)
    assert _checkpoint(app, folder).exit_code == 0
    _record(app, 2)
    result = _verify(app, folder)
    assert result.exit_code == 0, result.output
    assert "intact: 9 events" in result.output
    assert "all 2 checkpoints are extended" in result.output
    assert "newest: 7 events" in result.output


def test_a_checkpoint_file_is_a_new_self_describing_file_for_its_owner_only(app, folder):
    _record(app, 2)
    first = _checkpoint(app, folder)
    assert first.exit_code == 0, first.output
    [path] = _files(folder)
    assert str(path) in first.output
    before = path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    fields = json.loads(before)
    with app.app_context():
        head = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert fields["format"] == "exam-portal-audit-checkpoint" and fields["version"] == 1
    assert fields["events"] == 2 and fields["head_hash"] == head.hash
    assert fields["head_event_id"] == head.id and fields["key_id"] == "audit-test-1"
    assert fields["portal"] == app.config["PUBLIC_BASE_URL"] and fields["signature"]
    # The next one is a file of its own; the first is left as it was.
    assert _checkpoint(app, folder).exit_code == 0
    assert len(_files(folder)) == 2 and path.read_bytes() == before
    assert sorted(folder.iterdir()) == _files(folder)  # nothing half-written left


def test_a_checkpoint_never_replaces_a_file_of_its_name(app, folder, monkeypatch):
    from datetime import UTC, datetime

    from exam_portal.commands import cli
    from exam_portal.services.platform import audit_checkpoints

    _record(app, 1)
    # Two runs at the same instant over the same log, with the same random part: the
    # same name.
    monkeypatch.setattr(cli, "utcnow", lambda: datetime(2026, 12, 6, 4, 0, tzinfo=UTC))
    monkeypatch.setattr(audit_checkpoints.secrets, "token_hex", lambda _n: "abcdef")
    assert _checkpoint(app, folder).exit_code == 0
    [path] = _files(folder)
    first = path.read_bytes()
    again = _checkpoint(app, folder)
    assert again.exit_code == 1 and "File exists" in again.output
    assert _files(folder) == [path] and path.read_bytes() == first
    assert list(folder.iterdir()) == [path]


def test_a_checkpoint_of_an_empty_log_is_extended_by_what_follows(app, folder):
    assert _checkpoint(app, folder).exit_code == 0
    _record(app, 2)
    second = _checkpoint(app, folder)
    assert second.exit_code == 0, second.output
    result = _verify(app, folder)
    assert result.exit_code == 0, result.output
    assert "all 2 checkpoints are extended (newest: 2 events" in result.output


# A log cut short or rewritten ----------------------------------------------------------

def test_deleting_the_newest_events_is_caught_by_a_checkpoint(app, database_url, folder):
    _record(app, 5)
    assert _checkpoint(app, folder).exit_code == 0
    _as_owner(database_url, NEWEST_TWO)
    # The chain alone cannot see it: what is left is a shorter, perfect chain.
    plain = _verify(app)
    assert plain.exit_code == 0 and "intact: 3 events" in plain.output
    assert "--checkpoints" in plain.output  # and says what would
    result = _verify(app, folder)
    assert result.exit_code == 1, result.output
    assert "NOT EXTENDED" in result.output
    assert "the log holds 3 events, the checkpoint counted 5" in result.output
    assert "1 of 1 checkpoints fail" in result.output


def test_emptying_the_log_past_its_guard_is_caught(app, database_url, folder):
    _record(app, 4)
    assert _checkpoint(app, folder).exit_code == 0
    statement = ("TRUNCATE audit_events" if database_url.startswith("postgresql")
                 else "DELETE FROM audit_events")
    _as_owner(database_url, statement)
    plain = _verify(app)
    assert plain.exit_code == 0 and "intact: 0 events" in plain.output
    result = _verify(app, folder)
    assert result.exit_code == 1
    assert "the log holds 0 events, the checkpoint counted 4" in result.output


def test_a_log_cut_short_and_grown_again_is_caught(app, database_url, folder):
    _record(app, 5)
    assert _checkpoint(app, folder).exit_code == 0
    _as_owner(database_url, NEWEST_TWO)
    _record(app, 4)  # the portal goes on appending to the shortened chain
    assert "intact: 7 events" in _verify(app).output
    result = _verify(app, folder)
    assert result.exit_code == 1
    assert "NOT EXTENDED" in result.output and "event 5 of the log" in result.output


def test_a_row_rewritten_with_its_hashes_recomputed_is_caught(app, database_url, folder):
    _record(app, 5)
    assert _checkpoint(app, folder).exit_code == 0
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        db.session.expunge_all()  # edited below as copies, never flushed
    events[1].details = '{"i":1,"note":"nothing to see"}'
    updates, previous = [], events[0].hash
    for event in events[1:]:
        event.prev_hash = previous
        event.hash = previous = audit.event_hash(event)
        updates.append(("UPDATE audit_events SET details = :details, prev_hash = :prev, "
                        "hash = :hash WHERE id = :id",
                        {"details": event.details, "prev": event.prev_hash,
                         "hash": event.hash, "id": event.id}))
    _as_owner(database_url, *updates)
    plain = _verify(app)
    assert plain.exit_code == 0 and "intact: 5 events" in plain.output
    result = _verify(app, folder)
    assert result.exit_code == 1
    assert "NOT EXTENDED" in result.output and "rewritten" in result.output


def test_a_checkpoint_past_a_break_in_the_chain_is_not_taken_as_extended(app, database_url,
                                                                          folder):
    _record(app, 5)
    assert _checkpoint(app, folder).exit_code == 0
    _as_owner(database_url, "UPDATE audit_events SET action = 'test.innocent' "
                            "WHERE id = (SELECT min(id) + 1 FROM audit_events)")
    result = _verify(app, folder)
    assert result.exit_code == 1
    assert "BROKEN" in result.output and "the chain breaks before" in result.output


def test_a_restored_older_backup_keeps_the_guard_and_shows_what_it_lost(
        app, make_app, folder, empty_target, tmp_path):  # noqa: F811
    _record(app, 3)
    assert _checkpoint(app, folder).exit_code == 0
    path = tmp_path / "portal.backup"
    assert app.test_cli_runner().invoke(args=["backup", "create", str(path)]).exit_code == 0
    _record(app, 2)  # after the backup: lost by restoring it
    assert _checkpoint(app, folder).exit_code == 0
    restored = make_app(SQLALCHEMY_DATABASE_URI=empty_target)
    assert restored.test_cli_runner().invoke(
        args=["backup", "restore", str(path)]).exit_code == 0
    result = _verify(restored, folder)
    assert result.exit_code == 1
    assert "1 of 2 checkpoints fail" in result.output
    assert "the log holds 3 events, the checkpoint counted 5" in result.output
    emptying = ("TRUNCATE audit_events" if empty_target.startswith("postgresql")
                else "DELETE FROM audit_events")
    with restored.app_context():
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            db.session.execute(sa.text(emptying))
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


# Checkpoints that are not genuine ------------------------------------------------------

def test_a_tampered_checkpoint_is_reported(app, folder):
    _record(app, 5)
    assert _checkpoint(app, folder).exit_code == 0
    [path] = _files(folder)
    fields = json.loads(path.read_bytes())
    fields["events"] = 3  # as if made before the two newest events
    path.write_text(json.dumps(fields))
    result = _verify(app, folder)
    assert result.exit_code == 1
    assert "INVALID" in result.output and "signature does not match" in result.output


def test_checkpoints_signed_with_foreign_keys_are_reported(app, make_app, folder):
    _record(app, 3)
    rogue = make_app(AUDIT_CHECKPOINT_KEYS=f"rogue:{signing.new_key_seed()}")
    impostor = make_app(AUDIT_CHECKPOINT_KEYS=f"audit-test-1:{signing.new_key_seed()}")
    checked = folder / "checked"
    checked.mkdir()
    for index, signer in enumerate((rogue, impostor)):
        # Each writes where the other's checkpoint cannot stop it (see the test below).
        made = folder / f"made-{index}"
        made.mkdir()
        assert _checkpoint(signer, made).exit_code == 0
        for path in _files(made):
            path.rename(checked / path.name)
    # Both fit the database exactly: only their signatures give them away.
    result = _verify(app, checked)
    assert result.exit_code == 1
    assert "key rogue" in result.output and "not among the checkpoint keys" in result.output
    assert "signature does not match" in result.output
    assert "2 of 2 checkpoints fail" in result.output


@pytest.mark.parametrize("content", [b"", b"\x00\xff garbage", b'{"events": 5}', b"[" * 5000])
def test_a_file_that_is_not_a_checkpoint_is_reported(app, folder, content):
    _record(app, 1)
    (folder / "audit-checkpoint-planted.json").write_bytes(content)
    result = _verify(app, folder)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "INVALID" in result.output and "not a checkpoint file" in result.output


def test_a_pipe_planted_under_a_checkpoint_name_is_reported_not_waited_on(app, folder):
    _record(app, 1)
    assert _checkpoint(app, folder).exit_code == 0
    os.mkfifo(folder / "audit-checkpoint-99999999T999999999999Z-pipe.json")
    result = _verify(app, folder)
    assert result.exit_code == 1 and "not a regular file" in result.output
    assert _checkpoint(app, folder).exit_code == 1  # the newest by name: refused too


def test_verify_with_no_checkpoints_in_the_folder_fails(app, folder):
    _record(app, 1)
    result = _verify(app, folder)
    assert result.exit_code == 1 and "no checkpoint files" in result.output


# Writing checkpoints -------------------------------------------------------------------

def test_no_checkpoint_is_written_for_a_log_cut_after_the_newest_one(app, database_url,
                                                                     folder):
    _record(app, 5)
    assert _checkpoint(app, folder).exit_code == 0
    _as_owner(database_url, NEWEST_TWO)
    result = _checkpoint(app, folder)
    assert result.exit_code == 1
    assert "does not extend" in result.output and _files(folder)[0].name in result.output
    assert len(_files(folder)) == 1


def test_no_checkpoint_is_written_over_a_newest_one_that_is_not_genuine(app, make_app,
                                                                         folder):
    _record(app, 2)
    rogue = make_app(AUDIT_CHECKPOINT_KEYS=f"rogue:{signing.new_key_seed()}")
    assert _checkpoint(rogue, folder).exit_code == 0
    result = _checkpoint(app, folder)
    assert result.exit_code == 1 and "key rogue" in result.output
    assert len(_files(folder)) == 1


def test_no_checkpoint_is_written_for_a_broken_chain(app, database_url, folder):
    _record(app, 3)
    _as_owner(database_url, "UPDATE audit_events SET details = '{}' "
                            "WHERE id = (SELECT max(id) FROM audit_events)")
    result = _checkpoint(app, folder)
    assert result.exit_code == 1 and "BROKEN" in result.output
    assert _files(folder) == []


def test_a_cron_run_checks_what_followed_the_newest_checkpoint(app, database_url, folder):
    _record(app, 3)
    assert _checkpoint(app, folder).exit_code == 0
    _record(app, 3)
    _as_owner(database_url, "UPDATE audit_events SET details = '{}' "
                            "WHERE id = (SELECT max(id) - 1 FROM audit_events)")
    result = _checkpoint(app, folder)
    assert result.exit_code == 1 and "BROKEN" in result.output
    assert len(_files(folder)) == 1


def test_a_cron_run_reads_only_what_followed_the_newest_checkpoint(app, database_url,
                                                                   folder):
    """The rows a genuine, still-extended checkpoint covers are vouched for by its hash
    and not recomputed, so a run reads what is new, not a log of millions; a change in
    them that leaves the hashes alone is for the full `audit verify` to find, and one
    that recomputes them moves the hash the checkpoint signed."""
    _record(app, 3)
    assert _checkpoint(app, folder).exit_code == 0
    _as_owner(database_url, "UPDATE audit_events SET details = '{}' "
                            "WHERE id = (SELECT min(id) FROM audit_events)")
    _record(app, 2)
    assert _checkpoint(app, folder).exit_code == 0
    result = _verify(app, folder)
    assert result.exit_code == 1 and "BROKEN" in result.output


def test_checkpoint_needs_a_key_and_an_existing_folder(make_app, folder):
    keyless = make_app(AUDIT_CHECKPOINT_KEYS=None)
    result = _checkpoint(keyless, folder)
    assert result.exit_code == 1
    assert "AUDIT_CHECKPOINT_KEYS" in result.output and "audit new-key" in result.output
    app = make_app()
    missing = _checkpoint(app, folder / "not-mounted")
    assert missing.exit_code == 1 and "does not exist" in missing.output
    unnamed = app.test_cli_runner().invoke(args=["audit", "checkpoint"])
    assert unnamed.exit_code == 1 and "AUDIT_CHECKPOINT_DIR" in unnamed.output
    assert _files(folder) == [] and not (folder / "not-mounted").exists()


def test_the_configured_folder_is_used_when_none_is_given(make_app, folder):
    app = make_app(AUDIT_CHECKPOINT_DIR=str(folder))
    assert app.test_cli_runner().invoke(args=["audit", "checkpoint"]).exit_code == 0
    assert len(_files(folder)) == 1
    assert app.test_cli_runner().invoke(args=["audit", "verify", "--checkpoints",
                                              str(folder)]).exit_code == 0


def test_checkpoints_taken_while_others_append_are_all_extended(app, folder):
    """Each checkpoint reads one snapshot: its count and head belong together even with
    appends committing from other connections meanwhile."""
    errors, stop = [], threading.Event()

    def append(worker):
        try:
            with app.app_context():
                i = 0
                while not stop.is_set() and i < 40:
                    audit.record("test.concurrent", details={"worker": worker, "i": i})
                    db.session.commit()
                    i += 1
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(4):
            result = _checkpoint(app, folder)
            assert result.exit_code == 0, result.output
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    result = _verify(app, folder)
    assert result.exit_code == 0, result.output
    assert "all 4 checkpoints are extended" in result.output


def test_the_audit_log_page_tells_administrators_how_to_check_it(app, client, auth):
    make_user(app, Role.ADMIN, email="auditor@example.com")
    auth.login("auditor@example.com")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "audit verify --checkpoints" in page and "audit checkpoint" in page
    assert "检查点" in page
    client.post("/language", data={"locale": "en"})
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "audit verify --checkpoints" in page and "checkpoint" in page and "检查点" not in page


# Keys ----------------------------------------------------------------------------------

def test_new_key_prints_settings_that_sign_and_verify(make_app, folder):
    printed = make_app().test_cli_runner().invoke(args=["audit", "new-key", "--kid",
                                                        "audit-2027"])
    assert printed.exit_code == 0, printed.output
    settings = dict(line.split("=", 1) for line in printed.output.split() if "=" in line)
    assert settings["AUDIT_CHECKPOINT_KEYS"].startswith("audit-2027:")
    signer = make_app(AUDIT_CHECKPOINT_KEYS=settings["AUDIT_CHECKPOINT_KEYS"])
    assert _checkpoint(signer, folder).exit_code == 0
    checker = make_app(AUDIT_CHECKPOINT_KEYS=None,
                       AUDIT_CHECKPOINT_PUBLIC_KEYS=settings["AUDIT_CHECKPOINT_PUBLIC_KEYS"])
    result = _verify(checker, folder)
    assert result.exit_code == 0, result.output


def test_new_key_refuses_a_key_id_a_checkpoint_cannot_carry(make_app):
    result = make_app().test_cli_runner().invoke(args=["audit", "new-key", "--kid", "a b"])
    assert result.exit_code == 1 and "--kid" in result.output
    assert "AUDIT_CHECKPOINT_KEYS=" not in result.output


def test_a_rotated_key_still_verifies_what_it_signed(app, make_app, folder):
    _record(app, 2)
    assert _checkpoint(app, folder).exit_code == 0
    rotated = make_app(AUDIT_CHECKPOINT_KEYS=f"audit-test-2:{signing.new_key_seed()},"
                                             f"{TEST_CHECKPOINT_KEYS}")
    _record(app, 1)
    assert _checkpoint(rotated, folder).exit_code == 0
    assert json.loads(_files(folder)[-1].read_bytes())["key_id"] == "audit-test-2"
    # A machine that only checks holds the public keys, the retired one included.
    printed = rotated.test_cli_runner().invoke(args=["audit", "public-keys"])
    assert printed.exit_code == 0
    public = printed.output.strip().split("=", 1)[1]
    checker = make_app(AUDIT_CHECKPOINT_KEYS=None, AUDIT_CHECKPOINT_PUBLIC_KEYS=public)
    result = _verify(checker, folder)
    assert result.exit_code == 0, result.output
    forgetful = make_app(AUDIT_CHECKPOINT_KEYS=rotated.config["AUDIT_CHECKPOINT_KEYS"]
                         .split(",")[0])
    result = _verify(forgetful, folder)
    assert result.exit_code == 1 and "key audit-test-1" in result.output


def _settings(tmp_path, **overrides):
    return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.db'}",
            "SECRET_KEY": "a-real-production-secret-value",
            "CERT_SIGNING_KEYS": TEST_SIGNING_KEYS, "RATELIMIT_PER_PROCESS": True,
            **overrides}


def test_production_refuses_to_start_without_a_checkpoint_key(tmp_path):
    from exam_portal import create_app

    with pytest.raises(RuntimeError, match="AUDIT_CHECKPOINT_KEYS"):
        create_app(_settings(tmp_path, PRODUCTION=True))
    create_app(_settings(tmp_path, PRODUCTION=True, AUDIT_CHECKPOINT_KEYS=TEST_CHECKPOINT_KEYS))
    # An app server that never signs may hold the public key only.
    public = f"audit-test-1:{signing.b64url(os.urandom(32))}"
    create_app(_settings(tmp_path, PRODUCTION=True, AUDIT_CHECKPOINT_PUBLIC_KEYS=public))


@pytest.mark.parametrize("overrides, complaint", [
    ({"AUDIT_CHECKPOINT_KEYS": "not-a-key"}, "AUDIT_CHECKPOINT_KEYS"),
    ({"AUDIT_CHECKPOINT_KEYS": f"审计:{signing.new_key_seed()}"}, "key id"),
    ({"AUDIT_CHECKPOINT_PUBLIC_KEYS": "audit-1:short"}, "AUDIT_CHECKPOINT_PUBLIC_KEYS"),
    # One key for two jobs: whoever signs certificates could sign checkpoints too.
    ({"AUDIT_CHECKPOINT_KEYS": "audit-1:" + TEST_SIGNING_KEYS.split(":", 1)[1]},
     "certificate"),
    ({"AUDIT_CHECKPOINT_PUBLIC_KEYS":
      f"audit-test-1:{signing.b64url(os.urandom(32))}"}, "audit-test-1"),
])
def test_unusable_checkpoint_keys_are_refused_at_start(tmp_path, overrides, complaint):
    from exam_portal import create_app

    with pytest.raises(RuntimeError, match=complaint):
        create_app(_settings(tmp_path, **{"AUDIT_CHECKPOINT_KEYS": TEST_CHECKPOINT_KEYS,
                                          **overrides}))
