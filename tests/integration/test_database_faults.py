"""A database connection lost under the pool costs one request a 503, never a 500,
and the next request works again (PostgreSQL: backends killed as a restart would); a
save survives it. SQLite's commit durability is a setting."""

import pytest
import sqlalchemy as sa

from .practice_support import candidate, objective_bank, open_attempt, save, start


def _kill_connections(database_url):
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        connection.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    engine.dispose()


def test_a_lost_connection_answers_503_and_the_retry_succeeds(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("kills PostgreSQL backends; SQLite has no server connection to lose")
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    _kill_connections(database_url)
    # The save's fast path finds its connection dead, drops it and hands the request
    # to the view, which stores the answer on a fresh connection.
    assert save(client, attempt_id, 1, device, 1, ["A"]).status_code == 200
    assert save(client, attempt_id, 1, device, 1, ["A"]).status_code == 200  # a retry
    with app.app_context():
        from exam_portal.extensions import db
        from exam_portal.models.attempts import Response

        assert db.session.get(Response, (attempt_id, 1)).seq == 1
    _kill_connections(database_url)
    assert save(client, attempt_id, 2, device, 2, ["A"]).status_code == 200
    _kill_connections(database_url)
    assert client.get("/practice/").status_code == 503
    assert client.get("/practice/").status_code == 200


@pytest.mark.parametrize("setting, level", [(None, 1), ("FULL", 2), ("normal", 1)])
def test_sqlite_commits_at_the_configured_durability(tmp_path, setting, level):
    from exam_portal import create_app
    from exam_portal.extensions import db
    from tests.conftest import portal_config

    overrides = {} if setting is None else {"SQLITE_SYNCHRONOUS": setting}
    app = create_app(portal_config(f"sqlite:///{tmp_path / 'portal.db'}", **overrides))
    with app.app_context():
        assert db.session.execute(sa.text("PRAGMA synchronous")).scalar() == level
        db.session.remove()
        db.engine.dispose()


def test_an_unknown_sqlite_durability_is_refused(tmp_path):
    from exam_portal import create_app
    from tests.conftest import portal_config

    with pytest.raises(RuntimeError, match="SQLITE_SYNCHRONOUS"):
        create_app(portal_config(f"sqlite:///{tmp_path / 'portal.db'}",
                                 SQLITE_SYNCHRONOUS="OFF"))


def test_a_database_that_cannot_be_reached_answers_503_not_500():
    # PostgreSQL restarting refuses connections for a moment (FT-1): the candidate's
    # page and save must say "try again" (503), which the delivery page retries,
    # and never "unexpected error" (500).
    from exam_portal import create_app
    from tests.conftest import portal_config

    app = create_app(portal_config("postgresql+psycopg://postgres@127.0.0.1:1/nowhere"))
    client = app.test_client()
    response = client.post("/auth/login", data={"email": "a@example.com", "password": "x" * 12})
    assert response.status_code == 503
    assert "服务暂时不可用" in response.get_data(as_text=True)


def test_a_signed_in_candidate_gets_503_while_the_database_cannot_be_reached(app):
    # The 503 page picks its language; for a signed-in candidate that used to load the
    # user from the database that had just failed, so the answer became a 500.
    from exam_portal.extensions import db

    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    with app.app_context():
        engine = db.engine
        engine.dispose()

        def refuse(dialect, _record, _args, _params):
            raise dialect.loaded_dbapi.OperationalError("connection refused (test)")

        sa.event.listen(engine, "do_connect", refuse)
    try:
        response = save(client, attempt_id, 1, device, 1, ["A"])
        assert response.status_code == 503
        assert response.get_json()["error"] == "服务暂时不可用"
        assert client.get("/practice/").status_code == 503
    finally:
        sa.event.remove(engine, "do_connect", refuse)
    assert save(client, attempt_id, 1, device, 1, ["A"]).status_code == 200
