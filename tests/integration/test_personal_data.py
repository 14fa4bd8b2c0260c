"""Personal data at rest and in logs (DP-1, DP-2, DP-3)."""

import logging
import re

import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.mail import OutboxMail
from exam_portal.services.platform import mail_delivery
from exam_portal.web.logs import redact

from ..conftest import PASSWORD
from ..factories import make_user
from .test_profile import VALID_ID, profile_data

# A standalone 18-character ID; the lookarounds skip digit runs inside hex hashes.
ID_PATTERN = re.compile(rb"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def _fill_profiles(app):
    make_user(app, email="cand@example.com")
    client = app.test_client()
    client.post("/auth/login", data={"email": "cand@example.com", "password": PASSWORD})
    client.post("/account/profile", data=profile_data())
    return client


def _every_value(app):
    """Every cell of every table, as text."""
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(sa.select(table)):
                for value in row:
                    if isinstance(value, bytes):
                        yield value
                    elif value is not None:
                        yield str(value).encode()


def test_no_plaintext_resident_id_is_stored(app):
    _fill_profiles(app)
    for value in _every_value(app):
        assert not ID_PATTERN.search(value), value[:80]
        assert VALID_ID.encode() not in value
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        path = uri.removeprefix("sqlite:///")
        for suffix in ("", "-wal"):
            try:
                with open(path + suffix, "rb") as handle:
                    assert VALID_ID.encode() not in handle.read()
            except FileNotFoundError:
                pass


def test_ids_are_masked_on_every_page_for_every_role(app):
    candidate = _fill_profiles(app)
    pages = ["/account/profile", "/account/eligibility", "/account/"]
    for path in pages:
        assert VALID_ID not in candidate.get(path).get_data(as_text=True)
    make_user(app, Role.ADMIN, email="admin@example.com")
    admin = app.test_client()
    admin.post("/auth/login", data={"email": "admin@example.com", "password": PASSWORD})
    for path in ["/admin/users", "/admin/users/1", "/admin/audit"]:
        assert VALID_ID not in admin.get(path).get_data(as_text=True)


def test_logs_hold_no_passwords_tokens_or_ids(app, caplog):
    caplog.set_level(logging.DEBUG)
    client = _fill_profiles(app)
    client.post("/auth/logout")
    client.post("/auth/forgot-password", data={"email": "cand@example.com"})
    with app.app_context():
        mail_delivery.deliver()  # the link is written when the mail is delivered
        body = db.session.scalar(sa.select(OutboxMail.body))
    token = re.search(r"/auth/reset/(\S+)", body).group(1)
    client.get(f"/auth/reset/{token}")
    logging.getLogger("werkzeug").info('"GET /auth/reset/%s HTTP/1.1" 200 -', token)
    app.logger.warning("profile submitted with %s", VALID_ID)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert token not in text and VALID_ID not in text and PASSWORD not in text
    assert "[redacted]" in text and "110105********002X" in text


def test_log_lines_cannot_be_forged_with_newlines():
    assert redact("login failed for a@b.c\r\nINFO admin granted") == (
        "login failed for a@b.c\\r\\nINFO admin granted"
    )
