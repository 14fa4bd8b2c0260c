"""Sign-up, login, logout, passwords and reset links (AU-1 to AU-6, IN-8)."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import PasswordResetToken, Role, SignUpRequest, User
from exam_portal.models.audit import AuditEvent
from exam_portal.models.mail import MailStatus, OutboxMail
from exam_portal.models.types import utcnow
from exam_portal.services.accounts import passwords
from exam_portal.services.platform import mail_delivery

from ..conftest import PASSWORD
from ..factories import make_user
from ..write_lock import try_write_lock


def _ask_to_sign_up(client, email="new@example.com", **extra):
    return client.post("/auth/sign-up", data={"email": email, **extra})


def _mails_to(app, email) -> list[OutboxMail]:
    with app.app_context():
        mail_delivery.deliver()
        rows = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.to_address == email)
                                  .order_by(OutboxMail.id)).all()
        db.session.expunge_all()
        return rows


def _sign_up_link(app, email="new@example.com") -> str:
    body = _mails_to(app, email)[-1].body
    return re.search(r"http://\S+(/auth/sign-up/\S+)", body).group(1)


def _sign_up(app, client, email="new@example.com", password=PASSWORD, confirm=None):
    assert _ask_to_sign_up(client, email).status_code == 302
    link = _sign_up_link(app, email.strip().lower())
    return client.post(link, data={
        "password": password, "confirm": password if confirm is None else confirm})


def _without_csrf_token(response) -> str:
    # Each visitor's session has its own token; everything else must be the same.
    return re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(as_text=True))


def _users(app):
    with app.app_context():
        return db.session.scalars(sa.select(User).order_by(User.id)).all()


def test_visitor_signs_up_by_the_mailed_link_as_candidate_and_is_logged_in(app, client):
    response = _ask_to_sign_up(client, email="  New.Person@Example.com ", role="admin")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/sign-up/sent"
    assert "请查收邮件" in client.get("/auth/sign-up/sent").get_data(as_text=True)
    assert _users(app) == []  # nothing until the address is confirmed
    link = _sign_up_link(app, "new.person@example.com")
    page = client.get(link).get_data(as_text=True)
    assert "new.person@example.com" in page
    response = client.post(link, data={"password": PASSWORD, "confirm": PASSWORD,
                                       "role": "admin"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account/profile")
    [user] = _users(app)
    assert user.email == "new.person@example.com"
    assert user.role == Role.CANDIDATE  # a posted role is ignored (IN-7)
    assert client.get("/account/profile").status_code == 200


def test_a_registered_address_gets_the_same_answer_and_its_owner_a_mail(app):
    owner_id = make_user(app, email="taken@example.com")
    [before] = _users(app)
    answers = []
    for email in ("TAKEN@example.com", "fresh@example.com"):
        client = app.test_client()
        response = _ask_to_sign_up(client, email=email)
        page = _without_csrf_token(client.get(response.headers["Location"]))
        answers.append((response.status_code, response.headers["Location"], page))
    assert answers[0] == answers[1]
    assert "已注册" not in answers[0][2]
    [notice] = _mails_to(app, "taken@example.com")
    assert notice.subject == "有人尝试用你的邮箱注册"
    assert "/auth/sign-up/" not in notice.body  # nothing that could confirm anything
    assert "/auth/login" in notice.body and "/auth/forgot-password" in notice.body
    assert "/auth/sign-up/" in _mails_to(app, "fresh@example.com")[0].body
    [after] = _users(app)
    assert after.id == owner_id
    assert (after.password_hash, after.session_token, after.role, after.is_active,
            after.locale) == (before.password_hash, before.session_token, before.role,
                              before.is_active, before.locale)


def test_the_mails_speak_the_language_the_visitor_chose(app):
    make_user(app, email="taken@example.com")
    client = app.test_client()
    client.post("/language", data={"locale": "en"})
    _ask_to_sign_up(client, email="new@example.com")
    _ask_to_sign_up(client, email="taken@example.com")
    client.post("/auth/forgot-password", data={"email": "taken@example.com"})
    assert _mails_to(app, "new@example.com")[0].subject == "Finish signing up"
    subjects = [row.subject for row in _mails_to(app, "taken@example.com")]
    assert subjects == ["Someone tried to sign up with your e-mail address", "Reset password"]
    link = _sign_up_link(app)
    client.post(link, data={"password": PASSWORD, "confirm": PASSWORD})
    assert _users(app)[-1].locale == "en"


@pytest.mark.parametrize("password, message", [
    ("short-pw", "密码至少需要 12 个字符"),
    ("123456789012", "太常见"),
    ("passwordpassword", "太常见"),
    ("aaaaaaaaaaaaaaaa", "太常见"),
])
def test_weak_passwords_are_refused_with_a_reason(app, client, password, message):
    response = _sign_up(app, client, password=password)
    assert message in response.get_data(as_text=True)
    assert _users(app) == []
    # The link still works for a better password.
    assert _sign_up(app, client).status_code == 302


def test_minimum_length_is_configurable(make_app):
    app = make_app(PASSWORD_MIN_LENGTH=20)
    response = _sign_up(app, app.test_client(), password="nineteen-characters")
    assert "密码至少需要 20 个字符" in response.get_data(as_text=True)


@pytest.mark.parametrize("password", [
    "x" * 11 + "y" * 53,                       # 64 characters
    "长城长" * 30,                               # 90 CJK characters, 270 bytes
    "🔑🦊 emoji passphrase ✓ with spaces",
    "no composition rules here at all",
])
def test_long_unicode_passwords_are_accepted(app, client, auth, password):
    assert _sign_up(app, client, password=password).status_code == 302
    auth.logout()
    assert auth.login("new@example.com", password).status_code == 302


def test_passwords_are_not_truncated(app, client, auth):
    password = "a-long-passphrase-" * 5  # 90 bytes
    _sign_up(app, client, password=password)
    auth.logout()
    response = auth.login("new@example.com", password[:72] + "y")
    assert response.status_code == 200
    assert auth.login("new@example.com", password).status_code == 302


def test_a_sign_up_link_works_once(app, client):
    assert _sign_up(app, client).status_code == 302
    client.post("/auth/logout")
    link = _sign_up_link(app)
    again = client.post(link, data={"password": "another passphrase 2026",
                                    "confirm": "another passphrase 2026"})
    assert again.status_code == 302 and again.headers["Location"] == "/auth/sign-up"
    assert "注册链接无效" in client.get("/auth/sign-up").get_data(as_text=True)
    assert len(_users(app)) == 1


def test_unconfirmed_sign_ups_expire(app, client):
    _ask_to_sign_up(client)
    link = _sign_up_link(app)
    with app.app_context():
        expires_at = db.session.scalar(sa.select(SignUpRequest.expires_at))
    assert timedelta(hours=23) < expires_at - utcnow() <= timedelta(hours=24)
    with freeze_time(expires_at + timedelta(seconds=1)):
        opened = client.get(link)
        posted = client.post(link, data={"password": PASSWORD, "confirm": PASSWORD})
    assert opened.headers["Location"] == posted.headers["Location"] == "/auth/sign-up"
    assert _users(app) == []


def test_expired_sign_up_requests_are_purged(app, client):
    _ask_to_sign_up(client)
    _sign_up_link(app)
    runner = app.test_cli_runner()
    assert "0 expired" in runner.invoke(args=["users", "purge-sign-ups"]).output
    with freeze_time(utcnow() + timedelta(days=2)):
        assert "1 expired" in runner.invoke(args=["users", "purge-sign-ups"]).output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(SignUpRequest.id))) == 0


@pytest.mark.parametrize("token", ["A" * 43, "%00", "x" * 5000, "长城", "..%2F..%2Fadmin"])
def test_a_guessed_or_odd_sign_up_token_is_refused_without_an_error(client, token):
    for response in (client.get("/auth/sign-up/" + token),
                     client.post("/auth/sign-up/" + token,
                                 data={"password": PASSWORD, "confirm": PASSWORD})):
        assert response.status_code in (302, 404)
        if response.status_code == 302:
            assert response.headers["Location"] == "/auth/sign-up"


def test_an_address_registered_before_its_link_is_opened_gets_no_second_account(app, client):
    _ask_to_sign_up(client)
    link = _sign_up_link(app)
    make_user(app, email="new@example.com")  # e.g. an administrator made it meanwhile
    response = client.post(link, data={"password": "another passphrase 2026",
                                       "confirm": "another passphrase 2026"})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert "该电子邮箱已注册" in client.get("/auth/login").get_data(as_text=True)
    assert len(_users(app)) == 1


def test_one_link_posted_twice_at_once_makes_one_account(app):
    _ask_to_sign_up(app.test_client())
    link = _sign_up_link(app)
    barrier = threading.Barrier(2)

    def confirm(_):
        client = app.test_client()
        barrier.wait()
        response = client.post(link, data={"password": PASSWORD, "confirm": PASSWORD})
        return response.status_code, response.headers.get("Location")

    with ThreadPoolExecutor(2) as pool:
        answers = sorted(pool.map(confirm, range(2)))
    assert answers == [(302, "/account/profile"), (302, "/auth/sign-up")]
    assert len(_users(app)) == 1


def test_two_links_for_one_address_make_one_account(app):
    client = app.test_client()
    _ask_to_sign_up(client)
    first = _sign_up_link(app)
    _ask_to_sign_up(client)
    second = _sign_up_link(app)
    assert first != second
    assert client.post(second, data={"password": PASSWORD, "confirm": PASSWORD}
                       ).headers["Location"] == "/account/profile"
    other = app.test_client()
    response = other.post(first, data={"password": PASSWORD, "confirm": PASSWORD})
    assert response.headers["Location"] == "/auth/sign-up"
    assert len(_users(app)) == 1


def test_hashing_the_new_password_holds_no_sqlite_write_lock(app, database_url, monkeypatch):
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no database-wide write lock")
    client = app.test_client()
    _ask_to_sign_up(client)
    link = _sign_up_link(app)
    path = database_url.removeprefix("sqlite:///")
    other_writer = []
    hash_password = passwords.hash_password

    def slow_hash(password):
        other_writer.append(try_write_lock(path))
        return hash_password(password)

    monkeypatch.setattr(passwords, "hash_password", slow_hash)
    assert client.post(link, data={"password": PASSWORD, "confirm": PASSWORD}
                       ).status_code == 302
    assert other_writer == ["wrote"]
    assert len(_users(app)) == 1


def test_password_hashes_are_salted_scrypt(app):
    make_user(app, email="a@example.com")
    make_user(app, email="b@example.com")
    first, second = (u.password_hash for u in _users(app))
    assert first.startswith("scrypt:") and second.startswith("scrypt:")
    assert first != second


def test_unknown_user_and_wrong_password_get_the_same_answer(app, client, auth):
    make_user(app, email="known@example.com")
    wrong = auth.login("known@example.com", "not the password at all")
    unknown = auth.login("nobody@example.com", "not the password at all")
    assert wrong.status_code == unknown.status_code == 200
    text = "电子邮箱或密码不正确"
    assert text in wrong.get_data(as_text=True) and text in unknown.get_data(as_text=True)
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("auth.login_failed") == 2


def test_guessing_one_account_from_many_addresses_is_limited(app):
    make_user(app, email="victim@example.com")
    statuses = []
    with freeze_time("2026-12-06 01:00:00"):  # no time passes: every wait is still on
        for attempt in range(60):
            client = app.test_client()
            response = client.post(
                "/auth/login",
                data={"email": "victim@example.com", "password": f"guess-{attempt:04d}-wrong"},
                environ_base={"REMOTE_ADDR": f"10.0.{attempt // 250}.{attempt % 250 + 1}"},
            )
            statuses.append(response.status_code)
        # An anonymous client is refused the right password too while the wait lasts
        # (the owner's own browser is not: tests/integration/test_login_throttle.py).
        response = app.test_client().post(
            "/auth/login", data={"email": "victim@example.com", "password": PASSWORD},
            environ_base={"REMOTE_ADDR": "10.9.9.9"},
        )
    assert statuses[:10] == [200] * 10
    assert statuses[10:] == [429] * 50
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert "请 1 秒后再试" in response.get_data(as_text=True)


def test_guessing_many_accounts_from_one_address_is_limited(app):
    client = app.test_client()
    with freeze_time("2026-12-06 01:00:00"):
        statuses = [
            client.post("/auth/login",
                        data={"email": f"u{i}@example.com", "password": "wrong-pw-123"}
                        ).status_code
            for i in range(105)
        ]
    assert statuses[:100] == [200] * 100 and statuses[100:] == [429] * 5


def test_login_starts_a_fresh_session_and_sets_safe_cookie_flags(app, client, auth):
    make_user(app, email="user@example.com")
    client.get("/auth/login")
    client.set_cookie("session", "attacker-chosen-session")
    response = auth.login("user@example.com")
    cookie = _session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "attacker-chosen-session" not in cookie


def test_production_cookies_are_secure(make_app):
    app = make_app(PRODUCTION=True, SECRET_KEY="a-real-production-secret-value")
    make_user(app, email="user@example.com")
    response = app.test_client().post(
        "/auth/login", data={"email": "user@example.com", "password": PASSWORD}
    )
    assert "Secure" in _session_cookie(response)


def _session_cookie(response) -> str:
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return cookie


def test_an_old_session_cookie_no_longer_works_after_logout(app, client, auth):
    make_user(app, email="user@example.com")
    auth.login("user@example.com")
    stolen = client.get_cookie("session").value
    assert client.get("/account/").status_code == 200
    auth.logout()
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/account/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_new_login_elsewhere_ends_the_old_session(app, auth, client):
    make_user(app, email="user@example.com")
    auth.login("user@example.com")
    other = app.test_client()
    other.post("/auth/login", data={"email": "user@example.com", "password": PASSWORD})
    assert client.get("/account/").status_code == 302
    assert other.get("/account/").status_code == 200


def test_password_change_needs_the_current_password_and_ends_other_sessions(app, client, auth):
    make_user(app, email="user@example.com")
    auth.login("user@example.com")
    wrong = client.post("/account/password", data={
        "current_password": "not-my-password", "password": "a brand new passphrase",
        "confirm": "a brand new passphrase"})
    assert "当前密码不正确" in wrong.get_data(as_text=True)
    other = app.test_client()  # e.g. a copied cookie, or a device left logged in
    other.set_cookie("session", client.get_cookie("session").value)
    assert other.get("/account/").status_code == 200
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "password": "a brand new passphrase",
        "confirm": "a brand new passphrase"})
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200  # this browser stays in
    assert other.get("/account/").status_code == 302    # every other one is out
    auth.logout()
    assert auth.login("user@example.com").status_code == 200
    assert auth.login("user@example.com", "a brand new passphrase").status_code == 302


def _reset_link(app, email):
    with app.app_context():
        mail_delivery.deliver()
        message = db.session.scalars(
            sa.select(OutboxMail).where(OutboxMail.to_address == email)
            .order_by(OutboxMail.id.desc())
        ).first()
    return re.search(r"http://\S+(/auth/reset/\S+)", message.body).group(1)


def test_reset_link_is_single_use(app, client, auth):
    make_user(app, email="user@example.com")
    response = client.post("/auth/forgot-password", data={"email": "user@example.com"})
    assert response.status_code == 302
    link = _reset_link(app, "user@example.com")
    assert len(link.rsplit("/", 1)[1]) >= 22  # at least 128 bits
    assert client.get(link).status_code == 200
    new = {"password": "my new passphrase 2026", "confirm": "my new passphrase 2026"}
    assert client.post(link, data=new).status_code == 302
    other = {"password": "another one entirely", "confirm": "another one entirely"}
    again = client.post(link, data=other)
    assert again.status_code == 302 and "forgot-password" in again.headers["Location"]
    assert auth.login("user@example.com", "my new passphrase 2026").status_code == 302
    with app.app_context():
        subjects = db.session.scalars(sa.select(OutboxMail.subject)).all()
    assert "你的密码已重置" in subjects  # the user is told


def test_reset_link_expires(app, client):
    make_user(app, email="user@example.com")
    client.post("/auth/forgot-password", data={"email": "user@example.com"})
    link = _reset_link(app, "user@example.com")
    with app.app_context():
        expires_at = db.session.scalar(sa.select(PasswordResetToken.expires_at))
    with freeze_time(expires_at + timedelta(seconds=1)):
        response = client.post(link, data={"password": "my new passphrase 2026",
                                           "confirm": "my new passphrase 2026"})
    assert response.status_code == 302 and "forgot-password" in response.headers["Location"]


def test_reset_request_reveals_nothing_about_unknown_emails(app, client):
    make_user(app, email="user@example.com")
    known = client.post("/auth/forgot-password", data={"email": "user@example.com"},
                        follow_redirects=True)
    unknown = client.post("/auth/forgot-password", data={"email": "ghost@example.com"},
                          follow_redirects=True)
    # The pages differ only in their CSRF tokens, which carry the second they were made.
    def without_token(page):
        return re.sub(r'name="csrf_token"[^>]*value="[^"]*"', "csrf", page.get_data(as_text=True))

    assert without_token(known) == without_token(unknown)
    with app.app_context():
        mail_delivery.deliver()
        sent = db.session.scalars(sa.select(OutboxMail.to_address).where(
            OutboxMail.status == MailStatus.SENT)).all()
    assert sent == ["user@example.com"]


def test_a_guessed_reset_token_is_refused(client):
    response = client.get("/auth/reset/" + "A" * 43)
    assert response.status_code == 302 and "forgot-password" in response.headers["Location"]


@pytest.mark.parametrize("target", [
    "//evil.example.com/", "https://evil.example.com/", "/\\evil.example.com",
    "javascript:alert(1)", "http:/evil.example.com", "/%0d%0aSet-Cookie:x=1",
    "\\\\evil.example.com", " //evil.example.com",
])
def test_login_redirects_only_to_relative_paths(app, client, target):
    make_user(app, email="user@example.com")
    response = client.post("/auth/login", data={
        "email": "user@example.com", "password": PASSWORD, "next": target})
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert urlsplit(location).netloc == ""


def test_login_follows_a_relative_next(app, client):
    make_user(app, email="user@example.com")
    response = client.post("/auth/login", data={
        "email": "user@example.com", "password": PASSWORD, "next": "/account/password"})
    assert response.headers["Location"] == "/account/password"


def test_language_switch_redirect_is_relative_only(client):
    response = client.post("/language", data={"locale": "en", "next": "//evil.example.com"})
    assert response.headers["Location"] == "/"
