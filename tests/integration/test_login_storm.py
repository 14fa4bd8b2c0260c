"""The login storm at the start of an exam (RELIABILITY LD-3, LD-4): many candidates
behind one address all get in, guessing stays limited per address and per account, and
a login never holds SQLite's write lock while it hashes the password."""


import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.services.accounts import passwords

from ..conftest import PASSWORD
from ..factories import make_user
from ..write_lock import try_write_lock

CENTRE = {"REMOTE_ADDR": "203.0.113.7"}  # one exam centre behind one NAT address


def _log_in(app, email, password=PASSWORD):
    return app.test_client().post("/auth/login", data={"email": email, "password": password},
                                  environ_base=CENTRE)


def test_two_hundred_candidates_behind_one_address_all_log_in(app):
    with app.app_context():
        hashed = passwords.hash_password(PASSWORD)
        db.session.execute(sa.insert(User), [
            {"email": f"c{n}@centre.example.com", "password_hash": hashed,
             "session_token": f"token-{n}"} for n in range(200)])
        db.session.commit()
    # A few mistype their password first, as people do.
    typos = [_log_in(app, f"c{n}@centre.example.com", "a mistyped password").status_code
             for n in range(10)]
    statuses = [_log_in(app, f"c{n}@centre.example.com").status_code for n in range(200)]
    assert typos == [200] * 10
    assert statuses == [302] * 200


def test_guessing_many_accounts_from_one_address_is_still_limited(app):
    with freeze_time("2026-12-06 01:00:00") as frozen:
        statuses = [_log_in(app, f"nobody{n}@example.com", "wrong-pw-123").status_code
                    for n in range(105)]
        assert statuses[:100] == [200] * 100 and statuses[100:] == [429] * 5
        # Now anonymous logins from the address wait, a right password too, but only
        # the short time they are told.
        make_user(app, email="late@example.com")
        refused = _log_in(app, "late@example.com")
        assert refused.status_code == 429
        frozen.tick(int(refused.headers["Retry-After"]))
        assert _log_in(app, "late@example.com").status_code == 302


def test_checking_the_password_holds_no_sqlite_write_lock(app, database_url, monkeypatch):
    if not database_url.startswith("sqlite"):
        return  # PostgreSQL has no database-wide write lock
    make_user(app, email="candidate@example.com")
    path = database_url.removeprefix("sqlite:///")
    other_writer = []
    check = passwords.verify_password

    def slow_check(stored, given):
        # While scrypt runs, another request (a save) must be able to write at once.
        other_writer.append(try_write_lock(path))
        return check(stored, given)

    monkeypatch.setattr(passwords, "verify_password", slow_check)
    assert _log_in(app, "candidate@example.com").status_code == 302
    assert _log_in(app, "candidate@example.com", "a wrong password here").status_code == 200
    assert other_writer == ["wrote", "wrote"]


def test_a_password_changed_during_the_check_is_not_let_in(app, monkeypatch):
    user_id = make_user(app, email="candidate@example.com")
    check = passwords.verify_password

    def check_while_it_changes(stored, given):
        right = check(stored, given)
        engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        with engine.begin() as connection:
            connection.execute(sa.update(User).where(User.id == user_id)
                               .values(password_hash=passwords.hash_password("a new one 2026!")))
        engine.dispose()
        return right

    monkeypatch.setattr(passwords, "verify_password", check_while_it_changes)
    response = _log_in(app, "candidate@example.com")
    assert response.status_code == 200
    assert "电子邮箱或密码不正确" in response.get_data(as_text=True)
