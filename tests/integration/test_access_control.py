"""Every route against the declared permission table, CSRF on every write, IDOR."""

import re

import pytest
import sqlalchemy as sa
from werkzeug.routing import AnyConverter, PathConverter

from exam_portal.models.accounts import Role, User
from exam_portal.web.permissions import ACCESS, allowed

from ..conftest import PASSWORD
from ..factories import make_user

# Pages, forms and access rules: they read and write alike on both databases.
pytestmark = pytest.mark.usefixtures("one_leg")

ROLES = [None, Role.CANDIDATE, Role.TRAINER, Role.ADMIN]


def _sample(rule, name):
    converter = rule._converters[name]
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    return "css/app.css" if isinstance(converter, PathConverter) else 1


def _routes(app):
    """Yield (endpoint, method, url) for every rule and method, every parameter filled
    (ids with 1); each URL routes back to its own rule, so none is left out."""
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        names = set(rule.arguments) - set(rule.defaults or {})
        url = rule.build({name: _sample(rule, name) for name in names},
                         append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            matched, _ = adapter.match(url, method=method)
            assert matched == rule.endpoint, f"{rule.rule} {method} routes to {matched}"
            yield rule.endpoint, method, url


def test_every_endpoint_is_declared_in_the_permission_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(ACCESS) == set(), "undeclared endpoints are refused to all"
    assert set(ACCESS) - endpoints == set(), "stale entries in the permission table"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "anonymous")
def test_every_route_answers_each_role_as_the_table_says(app, role):
    client = app.test_client()
    if role is not None:
        email = f"walker-{role.value}@example.com"
        make_user(app, role, email=email)
        response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302
    for endpoint, method, url in _routes(app):
        if endpoint in ("auth.logout",):
            continue  # would end the walker's own session
        response = client.open(url, method=method)
        response.close()  # static files are streamed from an open file
        verdict = allowed(endpoint, role)
        where = f"{method} {url} as {role}"
        assert response.status_code < 500, where
        if verdict is None:
            assert response.status_code == 302, where
            assert "/auth/login" in response.headers["Location"], where
        elif verdict is False:
            assert response.status_code == 403, where
        else:
            assert response.status_code != 403, where
            if response.status_code == 302:
                assert "/auth/login" not in response.headers["Location"], where


def test_undeclared_endpoint_is_refused_to_everyone(make_app):
    app = make_app()

    @app.get("/not-in-the-table")
    def stray():
        return "should never be served"

    admin = make_user(app, Role.ADMIN, email="stray-admin@example.com")
    assert admin
    client = app.test_client()
    assert client.get("/not-in-the-table").status_code == 403
    client.post("/auth/login", data={"email": "stray-admin@example.com", "password": PASSWORD})
    assert client.get("/not-in-the-table").status_code == 403


def _row_counts(app):
    from exam_portal.extensions import db

    with app.app_context():
        tables = [t for t in db.metadata.sorted_tables if t.name != "audit_events"]
        return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
                for t in tables}


def test_every_state_changing_route_refuses_a_request_without_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    email = "csrf-admin@example.com"
    make_user(app, Role.ADMIN, email=email)
    # Log in through a real form so the session holds a CSRF token.
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    before = _row_counts(app)
    writes = [(e, m, u) for e, m, u in _routes(app) if m in ("POST", "PUT", "PATCH", "DELETE")]
    every_write = [(rule.rule, method) for rule in app.url_map.iter_rules()
                   for method in rule.methods & {"POST", "PUT", "PATCH", "DELETE"}]
    assert len(writes) == len(every_write) >= 10  # two ids, defaults, any(): all of them
    for endpoint, method, url in writes:
        response = client.open(url, method=method,
                               data={"email": "x@example.com", "password": "p" * 20})
        assert response.status_code == 400, f"{endpoint} accepted a POST without CSRF token"
    assert _row_counts(app) == before
    # Still logged in: logout without token was refused too.
    assert client.get("/account/").status_code == 200


def test_json_calls_may_carry_the_csrf_token_in_a_header(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/language", data={"locale": "en"}, headers={"X-CSRFToken": token})
    assert response.status_code == 302


def test_no_route_changes_state_on_get(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods:
            assert rule.endpoint not in {
                "auth.logout", "main.set_language", "account.export_my_data",
                "admin.set_role", "admin.set_active", "admin.reveal_resident_id",
                "account.delete_employment_period", "account.delete_held_certificate",
            }, rule.endpoint


def _add_period(client):
    return client.post("/account/employment-periods", data={
        "period-employer": "某社工站", "period-start_on": "2020-01-01",
        "period-is_social_work": "y",
    })


def test_candidate_cannot_touch_another_candidates_records(app):
    from exam_portal.extensions import db
    from exam_portal.models.accounts import EmploymentPeriod, HeldCertificate

    make_user(app, email="owner@example.com")
    make_user(app, email="intruder@example.com")
    owner = app.test_client()
    owner.post("/auth/login", data={"email": "owner@example.com", "password": PASSWORD})
    assert _add_period(owner).status_code == 302
    owner.post("/account/held-certificates", data={
        "certificate-level": "ASSISTANT", "certificate-obtained_on": "2021-06-01",
        "certificate-method": "EXAM", "certificate-region_limit": "",
    })
    with app.app_context():
        period_id = db.session.scalar(sa.select(EmploymentPeriod.id))
        certificate_id = db.session.scalar(sa.select(HeldCertificate.id))
    assert period_id and certificate_id
    intruder = app.test_client()
    intruder.post("/auth/login", data={"email": "intruder@example.com", "password": PASSWORD})
    assert intruder.post(f"/account/employment-periods/{period_id}/delete").status_code == 404
    assert intruder.post(f"/account/held-certificates/{certificate_id}/delete").status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(EmploymentPeriod.id))) == 1
        assert db.session.scalar(sa.select(sa.func.count(HeldCertificate.id))) == 1
    assert "某社工站" not in intruder.get("/account/profile").get_data(as_text=True)
    export = intruder.post("/account/export").get_data(as_text=True)
    assert "某社工站" not in export and "owner@example.com" not in export


def test_evidence_routes_answer_their_owner_and_administrators_only(app):
    """The evidence routes with real ids (a registration with a document, and a photo):
    another candidate and a trainer get 404 for the owner's files, as for none; the
    table's refusals (403) and the owner's and the administrator's answers are walked."""
    import io

    from exam_portal.extensions import db
    from exam_portal.models.evidence import EvidenceDocument

    from .. import evidence_files
    from .test_sittings import _candidate, _register, _session

    admin_id = make_user(app, Role.ADMIN, email="evidence-walk-admin@example.com")
    make_user(app, Role.TRAINER, email="evidence-walk-trainer@example.com")
    session_id = _session(app, admin_id)
    owner_id = _candidate(app)
    intruder_id = _candidate(app)
    registration_id = _register(app, owner_id, session_id).id
    clients = {}
    with app.app_context():
        emails = {name: db.session.get(User, user_id).email for name, user_id in
                  (("owner", owner_id), ("intruder", intruder_id), ("admin", admin_id))}
    emails["trainer"] = "evidence-walk-trainer@example.com"
    for name, email in emails.items():
        clients[name] = app.test_client()
        assert clients[name].post("/auth/login", data={"email": email, "password": PASSWORD}
                                  ).status_code == 302
    owner = clients["owner"]
    assert owner.post(f"/exams/registrations/{registration_id}/documents", data={
        "target": "DEGREE", "file": (io.BytesIO(evidence_files.pdf()), "d.pdf")},
        content_type="multipart/form-data").status_code == 302
    assert owner.post("/account/photo", data={"photo-photo": (
        io.BytesIO(evidence_files.photo()), "p.jpg")},
        content_type="multipart/form-data").status_code == 302
    with app.app_context():
        document_id = db.session.scalar(sa.select(EvidenceDocument.id))
    gets = {
        f"/exams/registrations/{registration_id}/documents":
            {"owner": 200, "intruder": 404, "trainer": 403, "admin": 403},
        f"/evidence/documents/{document_id}":
            {"owner": 200, "intruder": 404, "trainer": 404, "admin": 200},
        f"/evidence/photos/{owner_id}":
            {"owner": 200, "intruder": 404, "trainer": 404, "admin": 200},
        f"/admin/sessions/{session_id}/registrations/{registration_id}":
            {"owner": 403, "intruder": 403, "trainer": 403, "admin": 200},
    }
    for url, expected in gets.items():
        assert app.test_client().get(url).status_code == 302, url  # anonymous: log in
        for name, status in expected.items():
            assert clients[name].get(url).status_code == status, (url, name)
    delete = f"/exams/registrations/{registration_id}/documents/{document_id}/delete"
    for name, status in (("intruder", 404), ("trainer", 403), ("admin", 403)):
        assert clients[name].post(delete).status_code == status, name
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(EvidenceDocument.id))) == 1
