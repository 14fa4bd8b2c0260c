"""Client addresses behind proxies and the storage of rate limits (RELIABILITY AU-8,
AU-9): X-Forwarded-For is believed for exactly TRUSTED_PROXIES hops, and production
keeps rate-limit counters where every worker process sees them."""

import json
import secrets
import subprocess
import sys

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.audit import AuditEvent

from ..conftest import portal_config

PROXY = "10.0.0.2"  # the TLS proxy in front of the portal
REDIS_URL = "redis://127.0.0.1:6379/14"


def _failed_login_ip(app, forwarded_for, proto=None):
    headers = {"X-Forwarded-For": forwarded_for}
    if proto:
        headers["X-Forwarded-Proto"] = proto
    response = app.test_client().post(
        "/auth/login", data={"email": "nobody@example.com", "password": "wrong-password-1"},
        environ_base={"REMOTE_ADDR": PROXY}, headers=headers)
    assert response.status_code == 200
    with app.app_context():
        return db.session.scalar(sa.select(AuditEvent.ip).order_by(AuditEvent.id.desc()))


@pytest.mark.parametrize("hops, forwarded_for, seen", [
    # The default: no proxy is trusted, so a client cannot pick its address.
    (0, "198.51.100.9", PROXY),
    (0, "198.51.100.9, 203.0.113.5", PROXY),
    # One proxy: the address it appended is the client; whatever the client itself
    # wrote before it is ignored.
    (1, "198.51.100.9", "198.51.100.9"),
    (1, "6.6.6.6, 198.51.100.9", "198.51.100.9"),
    # Two proxies (a load balancer behind the TLS proxy): two values from the right.
    (2, "6.6.6.6, 198.51.100.9, 203.0.113.5", "198.51.100.9"),
])
def test_the_client_address_honours_exactly_the_trusted_proxy_hops(
        make_app, hops, forwarded_for, seen):
    app = make_app(TRUSTED_PROXIES=hops)
    assert _failed_login_ip(app, forwarded_for) == seen


def test_proxy_and_limit_settings_come_from_the_environment():
    from exam_portal.config import settings_from_env

    assert settings_from_env({"TRUSTED_PROXIES": "1"})["TRUSTED_PROXIES"] == 1
    assert "TRUSTED_PROXIES" not in settings_from_env({})
    assert settings_from_env({"RATELIMIT_PER_PROCESS": "1"})["RATELIMIT_PER_PROCESS"] is True
    assert settings_from_env({"RATELIMIT_PER_PROCESS": "no"})["RATELIMIT_PER_PROCESS"] is False
    with pytest.raises(RuntimeError, match="TRUSTED_PROXIES"):
        settings_from_env({"TRUSTED_PROXIES": "one"})


@pytest.mark.parametrize("value", [-1, "two", True])
def test_a_bad_trusted_proxies_value_refuses_to_start(make_app, value):
    with pytest.raises(RuntimeError, match="TRUSTED_PROXIES"):
        make_app(TRUSTED_PROXIES=value)


def test_the_scheme_comes_from_the_trusted_proxy_only(make_app):
    probe = {}
    for hops in (0, 1):
        app = make_app(TRUSTED_PROXIES=hops)

        @app.get("/probe-scheme")
        def probe_scheme(hops=hops):
            from flask import request

            probe[hops] = request.scheme
            return ""

        from exam_portal.web.permissions import ACCESS
        ACCESS["probe_scheme"] = "anyone"
        try:
            app.test_client().get("/probe-scheme", environ_base={"REMOTE_ADDR": PROXY},
                                  headers={"X-Forwarded-Proto": "https",
                                           "X-Forwarded-For": "198.51.100.9"})
        finally:
            del ACCESS["probe_scheme"]
    assert probe == {0: "http", 1: "https"}


@pytest.mark.parametrize("hops, other_client", [(1, 302), (0, 429)])
def test_behind_the_tls_proxy_one_guessers_failures_slow_only_its_own_address(
        make_app, hops, other_client):
    # Without TRUSTED_PROXIES every client behind the proxy shares its address, and one
    # guesser makes everybody wait; with it, each client is counted by its own address.
    from freezegun import freeze_time

    from ..conftest import PASSWORD
    from ..factories import make_user

    app = make_app(TRUSTED_PROXIES=hops)
    make_user(app, email="other@example.com")

    def post(email, password, client_address):
        return app.test_client().post(
            "/auth/login", data={"email": email, "password": password},
            environ_base={"REMOTE_ADDR": PROXY}, headers={"X-Forwarded-For": client_address})

    with freeze_time("2026-12-06 01:00:00"):
        statuses = [post(f"random{n}@example.com", "wrong-password-1", "198.51.100.66"
                         ).status_code for n in range(101)]
        assert statuses == [200] * 100 + [429]
        assert post("other@example.com", PASSWORD, "198.51.100.77").status_code == other_client


# --- AU-9: where the rate-limit counters live -------------------------------------


def _production(make_app, **overrides):
    settings = {"PRODUCTION": True, "SECRET_KEY": "a-real-production-secret-value",
                "RATELIMIT_PER_PROCESS": False, "RATELIMIT_STORAGE_URI": "memory://"}
    settings.update(overrides)
    return make_app(**settings)


def test_production_without_shared_limit_storage_refuses_to_start(make_app):
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        _production(make_app, REDIS_URL=None)


def test_production_may_run_one_process_with_limits_in_memory_but_says_so(make_app, caplog):
    app = _production(make_app, REDIS_URL=None, RATELIMIT_PER_PROCESS=True)
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("per process" in message and "SIGN_UP_LIMIT_PER_ADDRESS" in message
               for message in warnings), warnings


def _redis_or_skip():
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except RedisError:
        pytest.skip(f"no Redis server at {REDIS_URL}: shared limit storage is not tested")


# A worker process of its own (the limiter is one object per process, so two apps in
# this process would share its storage whatever the configuration says): it signs up
# with a bad email *posts* times from one address and prints the statuses.
_WORKER = """
import json, sys
from exam_portal import create_app
app = create_app(json.loads(sys.argv[1]))
client = app.test_client()
print(json.dumps([client.post("/auth/sign-up", data={"email": "not an email"},
                              environ_base={"REMOTE_ADDR": "198.51.100.20"}).status_code
                  for _ in range(int(sys.argv[2]))]))
"""


def _worker_statuses(config: dict, posts: int) -> list[int]:
    done = subprocess.run([sys.executable, "-c", _WORKER, json.dumps(config), str(posts)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _worker_config(database_url, **overrides) -> dict:
    config = portal_config(database_url, PRODUCTION=True, TESTING=False,
                           SECRET_KEY="a-real-production-secret-value",
                           SIGN_UP_LIMIT_PER_ADDRESS="4 per minute",
                           RATELIMIT_KEY_PREFIX=f"test-{secrets.token_hex(4)}")
    config.update(overrides)
    return config


def test_production_with_redis_shares_the_limits_between_workers(one_leg, database_url):
    _redis_or_skip()
    config = _worker_config(database_url, REDIS_URL=REDIS_URL, JOB_RUNNER="inline",
                            RATELIMIT_STORAGE_URI="memory://", RATELIMIT_PER_PROCESS=False)
    # Each worker alone would allow four; sharing Redis, the two allow four between them.
    assert _worker_statuses(config, 3) == [200] * 3
    assert _worker_statuses(config, 3) == [200, 429, 429]


def test_limits_in_memory_are_per_worker(one_leg, database_url):
    # What RATELIMIT_PER_PROCESS accepts, and why production refuses it by default.
    config = _worker_config(database_url, RATELIMIT_PER_PROCESS=True)
    assert _worker_statuses(config, 3) == [200] * 3
    assert _worker_statuses(config, 3) == [200] * 3
