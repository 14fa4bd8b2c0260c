"""Administrators: staff accounts, roles, deactivation, re-authentication, ID reveal."""

import re

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.audit import AuditEvent
from exam_portal.models.mail import OutboxMail
from exam_portal.services.platform import mail_delivery

from ..conftest import PASSWORD
from ..factories import make_user
from .test_profile import VALID_ID, profile_data


@pytest.fixture
def admin(app, auth):
    make_user(app, Role.ADMIN, email="admin@example.com")
    auth.login("admin@example.com")
    return auth.client


def _actions(app):
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()


def _user(app, email):
    with app.app_context():
        return db.session.scalar(sa.select(User).where(User.email == email))


def test_admin_creates_a_trainer_who_sets_their_own_password(app, admin):
    response = admin.post("/admin/users/new",
                          data={"email": "coach@example.com", "role": "trainer"})
    assert response.status_code == 302
    trainer = _user(app, "coach@example.com")
    assert trainer.role == Role.TRAINER
    assert "admin.create_user" in _actions(app)
    with app.app_context():
        mail_delivery.deliver()  # the link is written when the mail is delivered
        body = db.session.scalar(sa.select(OutboxMail.body).where(
            OutboxMail.to_address == "coach@example.com"))
    link = re.search(r"http://\S+(/auth/reset/\S+)", body).group(1)
    coach = app.test_client()
    coach.post(link, data={"password": "coach passphrase 2026", "confirm": "coach passphrase 2026"})
    assert coach.post("/auth/login", data={"email": "coach@example.com",
                                           "password": "coach passphrase 2026"}).status_code == 302


def test_admin_changes_a_role_and_the_change_is_audited(app, admin):
    user_id = make_user(app, email="cand@example.com")
    response = admin.post(f"/admin/users/{user_id}/role", data={"role": "trainer"})
    assert response.status_code == 302
    assert _user(app, "cand@example.com").role == Role.TRAINER
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "admin.set_role")).one()
    assert event.target_id == str(user_id)
    assert '"before":"candidate"' in event.details and '"after":"trainer"' in event.details


def test_admin_cannot_demote_themself(app, admin):
    me = _user(app, "admin@example.com")
    admin.post(f"/admin/users/{me.id}/role", data={"role": "candidate"})
    assert _user(app, "admin@example.com").role == Role.ADMIN


def test_deactivated_account_is_logged_out_and_cannot_log_in(app, admin):
    user_id = make_user(app, email="cand@example.com")
    victim = app.test_client()
    victim.post("/auth/login", data={"email": "cand@example.com", "password": PASSWORD})
    assert victim.get("/account/").status_code in (200, 302)
    admin.post(f"/admin/users/{user_id}/active", data={"active": "0"})
    assert _user(app, "cand@example.com").is_active is False
    response = victim.get("/account/eligibility")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    again = victim.post("/auth/login", data={"email": "cand@example.com", "password": PASSWORD})
    assert "电子邮箱或密码不正确" in again.get_data(as_text=True)
    assert "admin.deactivate_user" in _actions(app)


def test_a_stale_login_must_confirm_the_password_before_admin_actions(app, admin):
    user_id = make_user(app, email="cand@example.com")
    with freeze_time() as frozen:
        frozen.tick(app.config["REAUTH_WINDOW_SECONDS"] + 1)
        response = admin.post(f"/admin/users/{user_id}/role", data={"role": "trainer"},
                              headers={"Referer": f"http://localhost/admin/users/{user_id}"})
        assert response.status_code == 302
        assert "/auth/reauthenticate" in response.headers["Location"]
        assert _user(app, "cand@example.com").role == Role.CANDIDATE
        assert admin.get("/admin/users/new").status_code == 302
        confirm = admin.post("/auth/reauthenticate", data={
            "password": PASSWORD, "next": f"/admin/users/{user_id}"})
        assert confirm.headers["Location"] == f"/admin/users/{user_id}"
        admin.post(f"/admin/users/{user_id}/role", data={"role": "trainer"})
    assert _user(app, "cand@example.com").role == Role.TRAINER


def test_reauthentication_window_is_configurable(make_app):
    app = make_app(REAUTH_WINDOW_SECONDS=5)
    make_user(app, Role.ADMIN, email="admin@example.com")
    client = app.test_client()
    client.post("/auth/login", data={"email": "admin@example.com", "password": PASSWORD})
    with freeze_time() as frozen:
        frozen.tick(6)
        assert client.get("/admin/users/new").status_code == 302


def test_full_id_is_shown_only_on_an_audited_reveal(app, admin):
    user_id = make_user(app, email="cand@example.com")
    cand = app.test_client()
    cand.post("/auth/login", data={"email": "cand@example.com", "password": PASSWORD})
    cand.post("/account/profile", data=profile_data())
    page = admin.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert "110105********002X" in page and VALID_ID not in page
    assert "admin.reveal_resident_id" not in _actions(app)
    revealed = admin.post(f"/admin/users/{user_id}/reveal-id").get_data(as_text=True)
    assert VALID_ID in revealed
    assert "admin.reveal_resident_id" in _actions(app)


def test_user_list_searches_filters_and_paginates(app, admin):
    for i in range(25):
        make_user(app, email=f"person{i:02d}@example.com")
    page_one = admin.get("/admin/users").get_data(as_text=True)
    assert "第 1 / 2 页" in page_one
    found = admin.get("/admin/users?q=person07").get_data(as_text=True)
    assert "person07@example.com" in found and "person08@example.com" not in found
    admins = admin.get("/admin/users?role=admin").get_data(as_text=True)
    assert "admin@example.com" in admins and "person00" not in admins
    assert admin.get("/admin/users?q=%25&page=abc").status_code == 200


def test_admin_reads_the_audit_log(app, admin):
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "auth.login" in page
    assert ">admin@example.com</a>" in page  # the actor by e-mail, not a bare id
    filtered = admin.get("/admin/audit?action=account.sign_up").get_data(as_text=True)
    assert "auth.login<" not in filtered
