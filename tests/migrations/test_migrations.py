"""Migrations: upgrade, downgrade to base and upgrade again; no drift from the models."""

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from exam_portal import create_app
from exam_portal.extensions import db
from exam_portal.models.bank import is_search_structure

from ..conftest import create_private_pg_database, drop_pg_database, portal_config


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        url = create_private_pg_database()
        try:
            yield url
        finally:
            drop_pg_database(url)


def _tables(app):
    names = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
    return {name for name in names if not is_search_structure(name, "table")}


def test_upgrade_downgrade_upgrade_round_trip(empty_database_url):
    app = create_app(portal_config(empty_database_url))
    with app.app_context():
        flask_migrate.upgrade()
        expected = {t.name for t in db.metadata.sorted_tables}
        assert _tables(app) == expected
        flask_migrate.downgrade(revision="base")
        assert _tables(app) == set()
        flask_migrate.upgrade()
        assert _tables(app) == expected
        with db.engine.connect() as connection:
            options = {"compare_type": True,
                       "include_name": lambda name, kind, _: not is_search_structure(name, kind)}
            context = MigrationContext.configure(connection, opts=options)
            assert compare_metadata(context, db.metadata) == []
        db.engine.dispose()


def test_db_check_reports_no_drift(empty_database_url):
    app = create_app(portal_config(empty_database_url))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()
