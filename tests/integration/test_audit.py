"""The audit log is append-only and hash-chained; `audit verify` finds tampering."""

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.audit import AuditEvent
from exam_portal.services.platform import audit


def _record_events(app, n=5):
    with app.app_context():
        for i in range(n):
            audit.record("test.event", details={"i": i, "note": f"第 {i} 条"})
        db.session.commit()


def _verify(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def _without_append_only_guard(app, statement):
    """Run *statement* the way an attacker with database access would."""
    with app.app_context():
        connection = db.session.connection()
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
            connection.exec_driver_sql(statement)
            connection.exec_driver_sql("ALTER TABLE audit_events ENABLE TRIGGER USER")
        else:
            connection.exec_driver_sql("DROP TRIGGER audit_events_no_update")
            connection.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
            connection.exec_driver_sql(statement)
        db.session.commit()


def test_an_intact_chain_verifies(app):
    _record_events(app)
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "intact: 5 events" in result.output


def test_each_row_carries_the_previous_rows_hash(app):
    _record_events(app, 3)
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    assert rows[0].prev_hash == "0" * 64
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET action = 'test.innocent' WHERE id = 3",
    "UPDATE audit_events SET details = '{}' WHERE id = 2",
])
def test_a_changed_row_is_detected(app, statement):
    _record_events(app)
    _without_append_only_guard(app, statement)
    result = _verify(app)
    assert result.exit_code == 1
    assert "BROKEN" in result.output and "changed" in result.output


def test_a_deleted_row_is_detected(app):
    _record_events(app)
    _without_append_only_guard(app, "DELETE FROM audit_events WHERE id = 2")
    result = _verify(app)
    assert result.exit_code == 1 and "missing" in result.output


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET action = 'x' WHERE id = 1",
    "DELETE FROM audit_events WHERE id = 1",
    # SQLite's "truncate optimisation" of an unqualified DELETE skips row triggers,
    # unless the table has a DELETE trigger: then it does not apply.
    "DELETE FROM audit_events",
])
def test_the_database_refuses_updates_and_deletes(app, statement):
    _record_events(app, 2)
    with app.app_context():
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            db.session.execute(sa.text(statement))
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 2


def test_the_chain_cannot_fork(app):
    _record_events(app, 2)
    with app.app_context():
        first = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).first()
        db.session.add(AuditEvent(action="test.fork", details="{}", prev_hash=first.prev_hash,
                                  hash="f" * 64))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_concurrent_appends_keep_one_chain(app):
    import threading

    errors = []

    def worker(n):
        try:
            with app.app_context():
                for i in range(5):
                    audit.record("test.concurrent", details={"worker": n, "i": i})
                    db.session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = _verify(app)
    assert result.exit_code == 0 and "intact: 20 events" in result.output


@pytest.mark.parametrize("statement", [
    "TRUNCATE audit_events",
    "TRUNCATE audit_events RESTART IDENTITY CASCADE",
    # Emptying the table an event names takes the audit log along by CASCADE.
    "TRUNCATE users CASCADE",
])
def test_postgresql_refuses_truncate_from_any_connection(app, database_url, statement):
    if not database_url.startswith("postgresql"):
        pytest.skip("TRUNCATE is PostgreSQL's; SQLite only has DELETE, refused above")
    _record_events(app, 3)
    # Another client than the portal: the refusal is the database's, not the app's.
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                connection.execute(sa.text(statement))
            connection.rollback()
            assert connection.scalar(sa.text("SELECT count(*) FROM audit_events")) == 3
    finally:
        engine.dispose()
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "intact: 3 events" in result.output
