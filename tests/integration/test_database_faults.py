"""A database connection lost under the pool costs one request a 503, never a 500,
and the next request works again (PostgreSQL: backends killed as a restart would)."""

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
    lost = save(client, attempt_id, 1, device, 1, ["A"])
    assert lost.status_code == 503 and lost.get_json()["error"] == "服务暂时不可用"
    retried = save(client, attempt_id, 1, device, 1, ["A"])
    assert retried.status_code == 200
    _kill_connections(database_url)
    assert client.get("/practice/").status_code == 503
    assert client.get("/practice/").status_code == 200
