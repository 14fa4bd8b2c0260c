"""Migration c15b0e2f8b02 (mail delivery state): mail written before it keeps its story —
sent stays sent, never-sent is given up rather than sent late — and the downgrade keeps
every message that has its text."""

from datetime import UTC, datetime

import flask_migrate
import sqlalchemy as sa

from exam_portal import create_app
from exam_portal.extensions import db

from ..conftest import portal_config
from .test_migrations import empty_database_url  # noqa: F401 - the two database legs

BEFORE = "c15a0d1e7a01"
REVISION = "c15b0e2f8b02"
AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_old_mail_is_kept_as_sent_or_given_up_and_the_downgrade_keeps_it(
        empty_database_url):  # noqa: F811
    app = create_app(portal_config(empty_database_url))
    with app.app_context():
        flask_migrate.upgrade(revision=BEFORE)
        old = sa.table("outbox_mails", sa.column("to_address"), sa.column("subject"),
                       sa.column("body"), sa.column("created_at"), sa.column("sent_at"))
        with db.engine.begin() as connection:
            connection.execute(old.insert(), [
                {"to_address": "sent@example.com", "subject": "已发送", "body": "正文",
                 "created_at": AT, "sent_at": AT},
                {"to_address": "kept@example.com", "subject": "未发送", "body": "正文",
                 "created_at": AT, "sent_at": None},
            ])
        flask_migrate.upgrade(revision=REVISION)
        with db.engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT to_address, status, attempts, next_attempt_at, last_error "
                "FROM outbox_mails ORDER BY id")).all()
        assert [(r.to_address, r.status, r.attempts) for r in rows] == [
            ("sent@example.com", "sent", 1), ("kept@example.com", "given_up", 0)]
        assert all(row.next_attempt_at is not None for row in rows)
        assert rows[0].last_error is None and "not sent" in rows[1].last_error

        with db.engine.begin() as connection:  # queued by kind: no text yet
            connection.execute(sa.text(
                "INSERT INTO outbox_mails (to_address, kind, status, attempts, "
                "next_attempt_at, created_at) VALUES ('later@example.com', 'auth.sign_up', "
                "'pending', 0, :at, :at)"), {"at": AT})
        flask_migrate.downgrade(revision=BEFORE)
        with db.engine.connect() as connection:
            left = connection.execute(sa.text(
                "SELECT to_address FROM outbox_mails ORDER BY id")).scalars().all()
        assert left == ["sent@example.com", "kept@example.com"]
        db.engine.dispose()
