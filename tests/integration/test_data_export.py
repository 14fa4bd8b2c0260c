"""A candidate's own data export: the full resident ID only after a fresh password, and
no staff member's address in it."""

import json

import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.audit import AuditEvent

from ..conftest import PASSWORD
from ..factories import make_user
from .test_profile import VALID_ID, profile_data

CANDIDATE_ADDRESS = "198.51.100.7"
ADMIN_ADDRESS = "203.0.113.9"


def _client(app, email, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    assert client.post("/auth/login", data={"email": email, "password": PASSWORD}
                       ).status_code == 302
    return client


def _exports(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "account.data_exported"))


def test_an_old_login_must_give_the_password_again_before_the_export(app):
    make_user(app, email="cand@example.com")
    with freeze_time() as clock:
        candidate = _client(app, "cand@example.com", CANDIDATE_ADDRESS)
        candidate.post("/account/profile", data=profile_data())
        clock.tick(7 * 3600)
        response = candidate.post("/account/export",
                                  headers={"Referer": "http://localhost/account/"})
        assert response.status_code == 302
        assert "/auth/reauthenticate" in response.headers["Location"]
        assert VALID_ID not in response.get_data(as_text=True)
        assert _exports(app) == 0
        wrong = candidate.post("/auth/reauthenticate",
                               data={"password": "not the password", "next": "/account/"})
        assert wrong.status_code == 200
        assert candidate.post("/account/export").status_code == 302
        confirmed = candidate.post("/auth/reauthenticate",
                                   data={"password": PASSWORD, "next": "/account/"})
        assert confirmed.headers["Location"] == "/account/"
        response = candidate.post("/account/export")
    assert response.status_code == 200
    assert json.loads(response.get_data(as_text=True))["profile"]["resident_id"] == VALID_ID
    assert _exports(app) == 1


def test_a_fresh_login_exports_at_once(app):
    make_user(app, email="cand@example.com")
    candidate = _client(app, "cand@example.com", CANDIDATE_ADDRESS)
    candidate.post("/account/profile", data=profile_data())
    response = candidate.post("/account/export")
    assert response.status_code == 200 and VALID_ID in response.get_data(as_text=True)


def test_the_export_lists_what_staff_did_to_the_account_without_their_address(app):
    user_id = make_user(app, email="cand@example.com")
    make_user(app, Role.ADMIN, email="admin@example.com")
    admin = _client(app, "admin@example.com", ADMIN_ADDRESS)
    for active in ("0", "1"):
        assert admin.post(f"/admin/users/{user_id}/active",
                          data={"active": active}).status_code == 302
    candidate = _client(app, "cand@example.com", CANDIDATE_ADDRESS)
    response = candidate.post("/account/export")
    text = response.get_data(as_text=True)
    assert ADMIN_ADDRESS not in text
    activity = json.loads(text)["activity"]
    actions = [entry["action"] for entry in activity]
    assert "admin.deactivate_user" in actions and "admin.activate_user" in actions
    own = [entry for entry in activity if entry["action"] == "auth.login"]
    assert own and all(entry["ip"] == CANDIDATE_ADDRESS for entry in own)
