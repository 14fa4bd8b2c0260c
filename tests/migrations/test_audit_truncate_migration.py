"""Migration c15a0d1e7a01: PostgreSQL refuses TRUNCATE of the audit log from it on, and
its downgrade takes exactly that guard away again."""

import flask_migrate
import sqlalchemy as sa

from exam_portal import create_app
from exam_portal.extensions import db

from ..conftest import create_private_pg_database, drop_pg_database, portal_config

BEFORE = "bbe1156d5c5a"
GUARD = "c15a0d1e7a01"


def _truncate():
    """Whether TRUNCATE audit_events goes through (rolled back either way)."""
    with db.engine.connect() as connection:
        try:
            connection.execute(sa.text("TRUNCATE audit_events"))
        except sa.exc.DatabaseError as error:
            assert "append-only" in str(error)
            return False
        finally:
            connection.rollback()
    return True


def test_truncate_is_refused_from_the_guard_on_and_allowed_after_its_downgrade():
    url = create_private_pg_database()
    app = create_app(portal_config(url))
    try:
        with app.app_context():
            flask_migrate.upgrade(revision=BEFORE)
            assert _truncate() is True
            flask_migrate.upgrade(revision=GUARD)
            assert _truncate() is False
            flask_migrate.downgrade(revision=BEFORE)
            assert _truncate() is True
            flask_migrate.upgrade()
            assert _truncate() is False
            db.engine.dispose()
    finally:
        drop_pg_database(url)
