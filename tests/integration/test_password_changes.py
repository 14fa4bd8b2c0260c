"""Password changes: a reset link dies with any password change (RELIABILITY AU-6), and
checking or hashing a password never holds SQLite's write lock (LD-4)."""

import re
import threading

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import PasswordResetToken, Role, User
from exam_portal.models.mail import OutboxMail
from exam_portal.models.types import utcnow
from exam_portal.services.accounts import accounts, passwords
from exam_portal.services.platform import mail_delivery

from ..conftest import PASSWORD
from ..factories import make_user
from ..write_lock import try_write_lock

NEW = "my new passphrase 2026"


def _request_reset(app, email="user@example.com") -> str:
    app.test_client().post("/auth/forgot-password", data={"email": email})
    return _delivered_link(app, email)


def _delivered_link(app, email="user@example.com") -> str | None:
    """Deliver the outbox (the reset link is written then) and read the newest link."""
    with app.app_context():
        mail_delivery.deliver()
        body = db.session.scalar(sa.select(OutboxMail.body).where(
            OutboxMail.to_address == email, OutboxMail.body.contains("/auth/reset/"))
            .order_by(OutboxMail.id.desc()))
    found = re.search(r"http://\S+(/auth/reset/\S+)", body or "")
    return found and found.group(1)


def _use(app, link, password=NEW):
    return app.test_client().post(link, data={"password": password, "confirm": password})


def _refused(response) -> bool:
    return response.status_code == 302 and "forgot-password" in response.headers["Location"]


def _signed_in(app, email="user@example.com"):
    client = app.test_client()
    assert client.post("/auth/login", data={"email": email, "password": PASSWORD}
                       ).status_code == 302
    return client


def _logs_in(app, password, email="user@example.com") -> bool:
    return app.test_client().post(
        "/auth/login", data={"email": email, "password": password}).status_code == 302


def test_a_reset_link_dies_when_the_password_is_changed_on_the_account_page(app):
    make_user(app, email="user@example.com")
    link = _request_reset(app)
    client = _signed_in(app)
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "password": "changed on the account page",
        "confirm": "changed on the account page"})
    assert response.status_code == 302
    assert _refused(app.test_client().get(link))
    assert _refused(_use(app, link))
    assert _logs_in(app, "changed on the account page") and not _logs_in(app, NEW)


def test_a_link_asked_for_before_a_password_change_and_mailed_after_it_is_not_sent(app):
    """The link is written when the mail is delivered: one asked for before the password
    changed (and delivered after) is not mailed at all."""
    make_user(app, email="user@example.com")
    app.test_client().post("/auth/forgot-password", data={"email": "user@example.com"})
    client = _signed_in(app)
    assert client.post("/account/password", data={
        "current_password": PASSWORD, "password": "changed on the account page",
        "confirm": "changed on the account page"}).status_code == 302
    assert _delivered_link(app) is None
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(PasswordResetToken.id))) == 0


def test_a_reset_link_dies_when_another_reset_link_is_used(app):
    make_user(app, email="user@example.com")
    first = _request_reset(app)
    second = _request_reset(app)
    assert _use(app, second).status_code == 302
    assert _refused(_use(app, first, "a password from the old link"))
    assert _logs_in(app, NEW)


def test_a_reset_link_dies_when_any_path_sets_the_password(app):
    # The service every password setter goes through (an administrator's tool too).
    user_id = make_user(app, email="user@example.com")
    link = _request_reset(app)
    with app.app_context():
        accounts.replace_password_hash(db.session.get(User, user_id),
                                       passwords.hash_password("set by an administrator"))
        db.session.commit()
    assert _refused(_use(app, link))
    assert _logs_in(app, "set by an administrator")


def test_a_reset_link_older_than_the_password_is_refused_however_it_was_changed(app):
    # Even a change that left the link itself untouched (a direct database update).
    user_id = make_user(app, email="user@example.com")
    link = _request_reset(app)
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == user_id).values(
            password_hash=passwords.hash_password("written elsewhere 2026"),
            password_changed_at=utcnow()))
        db.session.commit()
        assert db.session.scalar(sa.select(PasswordResetToken.used_at)) is None
    assert _refused(_use(app, link))


def test_a_reset_link_requested_after_a_change_still_works(app):
    make_user(app, email="user@example.com")
    client = _signed_in(app)
    client.post("/account/password", data={
        "current_password": PASSWORD, "password": "changed on the account page",
        "confirm": "changed on the account page"})
    link = _request_reset(app)
    assert _use(app, link).status_code == 302 and _logs_in(app, NEW)


def _both_at_once(app, monkeypatch, first, second):
    """Run *first* and *second* (each returning a response) in two threads, each with
    its own database connection, both hashing at the same moment."""
    together = threading.Barrier(2, timeout=10)
    hash_password = passwords.hash_password

    def hash_in_step(password):
        hashed = hash_password(password)
        together.wait()  # both requests have read the link and hashed: now both write
        return hashed

    monkeypatch.setattr(passwords, "hash_password", hash_in_step)
    results = [None, None]

    def run(n, call):
        results[n] = call()

    threads = [threading.Thread(target=run, args=(n, call))
               for n, call in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    monkeypatch.setattr(passwords, "hash_password", hash_password)
    return results


def test_one_reset_link_used_twice_at_once_sets_one_password(app, monkeypatch):
    make_user(app, email="user@example.com")
    link = _request_reset(app)
    responses = _both_at_once(app, monkeypatch, lambda: _use(app, link, "first of two 2026"),
                              lambda: _use(app, link, "second of two 2026"))
    assert sorted(_refused(r) for r in responses) == [False, True]
    winner = "first of two 2026" if not _refused(responses[0]) else "second of two 2026"
    assert responses[0 if winner.startswith("first") else 1].status_code == 302
    assert _logs_in(app, winner)
    with app.app_context():
        told = db.session.scalars(sa.select(OutboxMail.subject).where(
            OutboxMail.subject == "你的密码已重置")).all()
    assert len(told) == 1


def test_a_link_used_while_the_password_changes_elsewhere_never_both_apply(
        app, monkeypatch):
    make_user(app, email="user@example.com")
    link = _request_reset(app)
    client = _signed_in(app)

    def change():
        return client.post("/account/password", data={
            "current_password": PASSWORD, "password": "changed on the account page",
            "confirm": "changed on the account page"})

    reset, changed = _both_at_once(app, monkeypatch, lambda: _use(app, link), change)
    reset_won = reset.status_code == 302 and "/auth/login" in reset.headers["Location"]
    change_won = changed.status_code == 302 and changed.headers["Location"].endswith(
        "/account/")
    # Whichever wrote first wins and the other is refused: the link dies with the
    # change, and a change checked against a password that a reset then replaced
    # does not go through either.
    assert reset_won != change_won
    assert _logs_in(app, NEW if reset_won else "changed on the account page")


# --- No write lock while hashing (SQLite) ---------------------------------------


@pytest.fixture
def watch_the_write_lock(app, database_url, monkeypatch):
    """Replace the password hash and check with versions that, while they run, try to
    take SQLite's write lock from another connection without waiting (as a
    candidate's save would); return what each attempt got."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no database-wide write lock")
    path = database_url.removeprefix("sqlite:///")
    seen = []

    def try_to_write():
        seen.append(try_write_lock(path))

    hash_password, verify_password = passwords.hash_password, passwords.verify_password

    def slow_hash(password):
        try_to_write()
        return hash_password(password)

    def slow_check(stored, given):
        try_to_write()
        return verify_password(stored, given)

    monkeypatch.setattr(passwords, "hash_password", slow_hash)
    monkeypatch.setattr(passwords, "verify_password", slow_check)
    return seen


def test_changing_the_password_holds_no_write_lock(app, watch_the_write_lock):
    make_user(app, email="user@example.com")
    client = _signed_in(app)
    watch_the_write_lock.clear()
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "password": NEW, "confirm": NEW})
    assert response.status_code == 302
    assert watch_the_write_lock == ["wrote", "wrote"]  # the check, then the new hash
    assert _logs_in(app, NEW)


def test_a_wrong_current_password_is_checked_without_the_write_lock(app, watch_the_write_lock):
    make_user(app, email="user@example.com")
    client = _signed_in(app)
    watch_the_write_lock.clear()
    response = client.post("/account/password", data={
        "current_password": "not my password", "password": NEW, "confirm": NEW})
    assert "当前密码不正确" in response.get_data(as_text=True)
    assert watch_the_write_lock == ["wrote"]


def test_resetting_the_password_holds_no_write_lock(app, watch_the_write_lock):
    make_user(app, email="user@example.com")
    link = _request_reset(app)
    watch_the_write_lock.clear()
    assert _use(app, link).status_code == 302
    assert watch_the_write_lock == ["wrote"]
    assert _logs_in(app, NEW)


def test_reauthenticating_holds_no_write_lock(app, watch_the_write_lock):
    make_user(app, email="user@example.com")
    client = _signed_in(app)
    watch_the_write_lock.clear()
    wrong = client.post("/auth/reauthenticate", data={"password": "not my password"})
    assert "密码不正确" in wrong.get_data(as_text=True)
    right = client.post("/auth/reauthenticate", data={"password": PASSWORD})
    assert right.status_code == 302
    assert watch_the_write_lock == ["wrote", "wrote"]


def test_an_administrator_creating_staff_holds_no_write_lock(app, watch_the_write_lock):
    make_user(app, Role.ADMIN, email="admin@example.com")
    client = _signed_in(app, "admin@example.com")
    watch_the_write_lock.clear()
    response = client.post("/admin/users/new", data={"email": "coach@example.com",
                                                      "role": "trainer"})
    assert response.status_code == 302
    assert watch_the_write_lock == ["wrote"]


def test_create_admin_holds_no_write_lock(app, watch_the_write_lock):
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "boss@example.com"],
        input="a strong admin passphrase\na strong admin passphrase\n")
    assert result.exit_code == 0, result.output
    assert watch_the_write_lock == ["wrote"]
    assert _logs_in(app, "a strong admin passphrase", "boss@example.com")
