"""Headers, error pages, health check, size limits, hostile input (IN-1, IN-4, DP-4)."""

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from exam_portal.extensions import db
from exam_portal.models.accounts import CandidateProfile, Role, User

from ..conftest import PASSWORD
from ..factories import make_user
from .test_profile import profile_data

# Pages, forms and access rules: they read and write alike on both databases.
pytestmark = pytest.mark.usefixtures("one_leg")

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "javascript:alert(1)",
    "{{ 7*7 }}{% raw %}</textarea>",
]


@pytest.mark.parametrize("path", ["/", "/auth/login", "/healthz", "/no-such-page"])
def test_security_headers_on_every_kind_of_response(client, path):
    response = client.get(path)
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"
    assert "max-age" in headers["Strict-Transport-Security"]


def test_pages_have_no_inline_script(client):
    for path in ("/", "/auth/login", "/auth/sign-up", "/auth/forgot-password"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and " onclick=" not in html and " style=" not in html


def test_static_assets_are_vendored(client):
    html = client.get("/").get_data(as_text=True)
    assert "http://" not in html.split("<body")[0] and "https://" not in html
    for asset in ("bootstrap/bootstrap.min.css", "bootstrap/bootstrap.bundle.min.js"):
        with client.get(f"/static/vendor/{asset}") as response:
            assert response.status_code == 200


def test_unexpected_errors_show_an_id_and_no_stack_trace(make_app):
    app = make_app(TESTING=False, DEBUG=False, PRODUCTION=True,
                   SECRET_KEY="a-real-production-secret-value")

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    from exam_portal.web.permissions import ACCESS
    ACCESS["boom"] = "anyone"
    try:
        response = app.test_client().get("/boom")
    finally:
        del ACCESS["boom"]
    text = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internals" not in text and "Traceback" not in text
    assert "错误编号" in text


def test_production_refuses_the_default_secret(database_url):
    from exam_portal import create_app

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "PRODUCTION": True})


@pytest.mark.parametrize("code, path", [(404, "/nope"), (405, "/healthz")])
def test_error_pages_exist_in_both_languages(client, code, path):
    method = client.post if code == 405 else client.get
    zh = method(path)
    assert zh.status_code == code and "返回首页" in zh.get_data(as_text=True)
    client.post("/language", data={"locale": "en"})
    en = method(path)
    assert en.status_code == code and "Back to the home page" in en.get_data(as_text=True)


def test_health_check_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"app": "ok", "database": "ok"}


def test_health_check_answers_503_without_a_database(tmp_path):
    from exam_portal import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                      "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 1}}})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"


def test_a_huge_body_is_refused_with_413(app, client):
    response = client.post("/auth/sign-up", data={"email": "x" * (20 * 1024 * 1024)})
    assert response.status_code == 413
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_strings_come_back_escaped(app, auth, payload):
    make_user(app, email="cand@example.com")
    auth.login("cand@example.com")
    auth.client.post("/account/profile", data=profile_data(real_name=payload[:64], major=payload))
    auth.client.post("/account/employment-periods", data={
        "period-employer": payload, "period-start_on": "2020-01-01", "period-is_social_work": "y"})
    page = auth.client.get("/account/profile").get_data(as_text=True)
    assert str(escape(payload)) in page
    if any(ch in payload for ch in "<>\"'"):
        assert payload not in page


@pytest.fixture
def lenient_app(make_app):
    """An app whose rate limits do not get in the way of many examples."""
    return make_app(SIGN_UP_LIMIT_PER_ADDRESS="10000 per minute",
                    LOGIN_LIMIT_PER_ADDRESS="10000 per minute")


text_field = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=text_field, major=text_field, resident_id=text_field, region=text_field)
def test_odd_profile_input_never_causes_a_server_error(
    lenient_app, name, major, resident_id, region
):
    with lenient_app.app_context():
        known = db.session.scalar(sa.select(User.id).where(User.email == "fuzz@example.com"))
    if known is None:
        make_user(lenient_app, email="fuzz@example.com")
    client = lenient_app.test_client()
    client.post("/auth/login", data={"email": "fuzz@example.com", "password": PASSWORD})
    response = client.post("/account/profile", data=profile_data(
        real_name=name, major=major, resident_id=resident_id, region=region))
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        with lenient_app.app_context():
            profile = db.session.scalar(sa.select(CandidateProfile))
            assert "\x00" not in (profile.real_name or "") + (profile.major or "")


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(email=text_field, password=text_field)
def test_odd_sign_up_input_never_causes_a_server_error(lenient_app, email, password):
    response = lenient_app.test_client().post("/auth/sign-up", data={
        "email": email, "password": password, "confirm": password})
    assert response.status_code in (200, 302, 429)
    with lenient_app.app_context():
        for stored in db.session.scalars(sa.select(User.email)):
            assert "\x00" not in stored


@pytest.mark.parametrize("query", ["page=²", "page=٣", "page=99999999999999999999"])
def test_odd_page_numbers_show_the_first_page(app, auth, query):
    make_user(app, email="cand@example.com")
    auth.login("cand@example.com")
    assert auth.client.get(f"/practice/attempts?{query}").status_code == 200


def test_a_superscript_digit_as_a_version_to_compare_is_ignored(app, auth):
    from question_bank.items import ItemType
    from question_bank.subjects import Subject

    from ..bank_factory import bank_item, publish

    (item_id,) = publish(app, [bank_item(Subject.PRAC_JR, ItemType.SINGLE, 1, "PRAC_JR.01")])
    make_user(app, Role.TRAINER, email="trainer@example.com")
    auth.login("trainer@example.com")
    assert auth.client.get(f"/authoring/items/{item_id}?compare=²").status_code == 200


@pytest.mark.parametrize("path", ["/admin/users?q=%00", "/authoring/items?q=a%00b",
                                  "/admin/certificates?q=%00", "/admin/audit?action=%00",
                                  "/verify?n=SW-%00&c=x", "/admin/sessions?x%00=1"])
def test_a_nul_in_a_query_parameter_is_a_bad_request(app, path):
    # PostgreSQL refuses NUL in text: before this guard a search with one was a 500.
    make_user(app, Role.ADMIN, email="nul-admin@example.com")
    client = app.test_client()
    client.post("/auth/login", data={"email": "nul-admin@example.com", "password": PASSWORD})
    assert client.get(path).status_code == 400
