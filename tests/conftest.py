"""Shared fixtures: the two database legs, the app, a client and a login helper."""

import os
import secrets
import shutil

import freezegun
import pytest
import sqlalchemy as sa
from hypothesis import settings

from question_bank import certificates

# pytest times tests with perf_counter: under freeze_time it must still read the real
# clock, or --durations reports frozen nonsense.
freezegun.configure(extend_ignore_list=["_pytest"])


def _build_url_builders_on_first_use() -> None:
    """Werkzeug writes two URL-building functions for every route as the app is built
    (most of create_app's time), and a test uses a handful: here each is written when
    first used. URLs come out the same; only when the work is done changes."""
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder

    def lazy(rule: Rule, append_unknown: bool = True):
        name = "_build_unknown" if append_unknown else "_build"

        def build_once(self, *args, **kwargs):
            real = compile_builder(self, append_unknown).__get__(self, None)
            setattr(self, name, real)
            return real(*args, **kwargs)

        return build_once

    Rule._compile_builder = lazy


_build_url_builders_on_first_use()
settings.register_profile("ci", deadline=None, derandomize=True, max_examples=100)
settings.load_profile("ci")

IN_CI = os.environ.get("CI") == "true"
PG_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# scrypt still, but cheap: the production cost would make the suite minutes slower.
FAST_PASSWORD_HASH = "scrypt:1024:8:1"
PASSWORD = "correct horse battery staple"


TEST_SIGNING_KEYS = f"test-1:{certificates.new_key_seed()}"
TEST_CHECKPOINT_KEYS = f"audit-test-1:{certificates.new_key_seed()}"


def portal_config(database_url: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test-secret-key",
        "PASSWORD_HASH_METHOD": FAST_PASSWORD_HASH,
        "RATELIMIT_STORAGE_URI": "memory://",
        # Each test's app is one process; production without Redis refuses to start
        # unless this is said (tests of that refusal turn it off).
        "RATELIMIT_PER_PROCESS": True,
        "MAIL_BACKEND": "outbox",
        "REDIS_URL": None,
        "JOB_RUNNER": "inline",
        "CERT_SIGNING_KEYS": TEST_SIGNING_KEYS,
        "AUDIT_CHECKPOINT_KEYS": TEST_CHECKPOINT_KEYS,
    }
    config.update(overrides)
    return config


def migrate_to_head(database_url: str) -> None:
    import flask_migrate

    from exam_portal import create_app
    from exam_portal.extensions import db

    app = create_app(portal_config(database_url))
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


def _pg_admin_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def create_private_pg_database() -> str:
    """Create an empty database test_<random> next to TEST_DATABASE_URL; return its URL."""
    import psycopg

    name = f"test_{secrets.token_hex(6)}"
    try:
        with psycopg.connect(_pg_admin_url(PG_URL), autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
            # A test database need not outlive a crash: commits return without waiting
            # for the WAL to reach the disk. Locks, visibility and every race the tests
            # stage behave as with the default; only durability differs.
            conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    except psycopg.OperationalError as error:
        reason = f"PostgreSQL not reachable at {PG_URL}: {str(error).strip()}"
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: the PostgreSQL leg must run)")
        pytest.skip(reason)
    return sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    import psycopg

    name = sa.engine.make_url(url).database
    with psycopg.connect(_pg_admin_url(PG_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file, copied for each test of the SQLite leg."""
    template = tmp_path_factory.mktemp("sqlite") / "template.db"
    migrate_to_head(f"sqlite:///{template}")
    return template


@pytest.fixture(scope="session")
def pg_database():
    """A private migrated PostgreSQL database, truncated after each test of its leg."""
    url = create_private_pg_database()
    try:
        migrate_to_head(url)
        yield url
    finally:
        if url in _truncators:
            _truncators.pop(url)[0].dispose()
        drop_pg_database(url)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request):
    """The leg's database: ('sqlite', template file) or ('postgresql', url).

    Each leg's database is its own session fixture, built once: tests run in random
    order (pytest-randomly), so the legs alternate, and a parametrised fixture that
    built the database itself would build it again at every switch."""
    if request.param == "sqlite":
        return "sqlite", request.getfixturevalue("sqlite_template")
    return "postgresql", request.getfixturevalue("pg_database")


@pytest.fixture
def one_leg(database, request):
    """For a test of pages and rules where the database plays no part: it runs on the
    SQLite leg only, skipped (before anything is built) on the PostgreSQL leg. List it
    before `app` so the skip comes first. In a module that uses it for every test, a
    test marked both_databases still runs on both."""
    if database[0] != "sqlite" and not request.node.get_closest_marker("both_databases"):
        pytest.skip("pages and rules alike on both databases: checked on SQLite")


@pytest.fixture
def database_url(database, tmp_path):
    kind, source = database
    if kind == "sqlite":
        path = tmp_path / "portal.db"
        shutil.copy(source, path)
        yield f"sqlite:///{path}"
    else:
        yield source
        _truncate_all(source)


_truncators: dict[str, tuple[sa.Engine, str]] = {}


def _forget_caches() -> None:
    """Drop what the process's caches hold: the next database numbers its rows from 1
    again."""
    from exam_portal.blueprints.candidate import fragments
    from exam_portal.services.delivery import paper_cache
    from exam_portal.services.exam_sessions import forms
    from exam_portal.services.item_bank import pools

    paper_cache.clear()
    pools.forget()
    forms.forget()
    fragments.clear()


def _truncate_all(url: str) -> None:
    _forget_caches()
    if url not in _truncators:
        _truncators[url] = _reset_script(url)
    engine, script = _truncators[url]
    with engine.begin() as conn:
        conn.exec_driver_sql(script)


def _reset_script(url: str) -> tuple[sa.Engine, str]:
    """One engine and one script per database, for the whole session, emptying every
    table of the head migration and starting its ids again at 1.

    DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE gives each of some fifty
    tables new files on disk, about 150 ms a test. The replica role skips the foreign-key
    triggers (so the order of the tables does not matter) and the audit log's guard,
    which refuses DELETE (DP-6), for this transaction only."""
    engine = sa.create_engine(url, pool_size=1, pool_pre_ping=True)
    with engine.connect() as conn:
        tables = [name for name in sa.inspect(conn).get_table_names()
                  if name != "alembic_version"]
        sequences = conn.exec_driver_sql(
            "SELECT sequence_schema || '.' || sequence_name FROM information_schema.sequences"
        ).scalars().all()
    script = ["SET LOCAL session_replication_role = replica"]
    script += [f'DELETE FROM "{table}"' for table in tables]  # noqa: S608 - own schema
    if sequences:
        script.append("SELECT " + ", ".join(
            f"setval('{name}', 1, false)" for name in sequences))
    return engine, ";\n".join(script)


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build apps on this test's database (evidence files in the test's own folder);
    extra config as keyword arguments."""
    from exam_portal import create_app
    from exam_portal.extensions import db

    apps = []

    def factory(**overrides):
        overrides.setdefault("EVIDENCE_DIR", str(tmp_path / "evidence"))
        app = create_app(portal_config(database_url, **overrides))
        apps.append(app)
        return app

    yield factory
    for app in apps:
        _wait_for_background_threads(app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _wait_for_background_threads(app) -> None:
    """Let the app's job and mail threads finish before its engine is disposed: a
    connection such a thread still holds would go back to the old pool, stay open, and
    be collected unclosed in some later test (psycopg's ResourceWarning, an error here)."""
    executors = [app.extensions.get("job_executor"),
                 getattr(app.extensions.get("mail_deliverer"), "executor", None)]
    for executor in executors:
        if executor is not None:
            executor.shutdown(wait=True)


@pytest.fixture
def app(make_app):
    return make_app()


class _DemoTemplates:
    """Per leg, one database the demo seed has filled, built on first use and copied for
    each test that starts from it: the seed takes seconds, a copy a fraction of one."""

    def __init__(self, folder):
        self.folder = folder
        self.built: dict[str, tuple[str, str]] = {}  # kind -> (source, seed output)

    def source(self, database) -> tuple[str, str]:
        kind, empty = database
        if kind not in self.built:
            if kind == "sqlite":
                url = f"sqlite:///{self.folder / 'demo.db'}"
                shutil.copy(empty, self.folder / "demo.db")
            else:
                url = create_private_pg_database()
                migrate_to_head(url)
            self.built[kind] = (url, self._seed(url))
        return self.built[kind]

    def _seed(self, url: str) -> str:
        from exam_portal import create_app
        from exam_portal.extensions import db

        _forget_caches()
        app = create_app(portal_config(url, EVIDENCE_DIR=str(self.folder / "evidence")))
        result = app.test_cli_runner().invoke(args=["demo", "seed"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        _forget_caches()
        return result.output

    def copy(self, database, tmp_path) -> tuple[str, str]:
        """A new database holding the seeded one's rows; its URL and the seed's output."""
        import psycopg

        source, output = self.source(database)
        if database[0] == "sqlite":
            shutil.copy(source.removeprefix("sqlite:///"), tmp_path / "demo.db")
            return f"sqlite:///{tmp_path / 'demo.db'}", output
        template = sa.engine.make_url(source).database
        name = f"test_{secrets.token_hex(6)}"
        with psycopg.connect(_pg_admin_url(PG_URL), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        return sa.engine.make_url(source).set(database=name).render_as_string(
            hide_password=False), output

    def drop(self) -> None:
        if "postgresql" in self.built:
            drop_pg_database(self.built["postgresql"][0])


@pytest.fixture(scope="session")
def demo_templates(tmp_path_factory):
    templates = _DemoTemplates(tmp_path_factory.mktemp("demo"))
    yield templates
    templates.drop()


class Seeded:
    def __init__(self, app, output: str):
        self.app, self.output = app, output


@pytest.fixture
def seeded(database, demo_templates, tmp_path):
    """An app on a copy of the leg's demo-seeded database, and what the seed printed as
    it filled it (the first run's output)."""
    from exam_portal import create_app
    from exam_portal.extensions import db

    url, output = demo_templates.copy(database, tmp_path)
    _forget_caches()
    app = create_app(portal_config(url, EVIDENCE_DIR=str(tmp_path / "evidence")))
    try:
        yield Seeded(app, output)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        _forget_caches()
        if database[0] == "postgresql":
            drop_pg_database(url)


@pytest.fixture
def client(app):
    return app.test_client()


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email, password=PASSWORD):
        return self.client.post(
            "/auth/login", data={"email": email, "password": password}
        )

    def logout(self):
        return self.client.post("/auth/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)
