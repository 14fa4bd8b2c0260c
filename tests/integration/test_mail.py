"""Mail goes through the outbox: a request only queues it, a deliverer (a job kicked after
commit, or `flask mail deliver` from cron) sends it with retries and back-off, and two
deliverers never send one message twice."""

import re
import smtplib
import threading
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.mail import MailStatus, OutboxMail
from exam_portal.models.types import utcnow
from exam_portal.services.platform import mail, mail_delivery, mail_transports

from ..conftest import PASSWORD
from ..factories import make_user
from ..smtp_server import FakeSMTP, closed_port, self_signed_tls
from ..write_lock import try_write_lock

FORGOT_FLASH = "如果该邮箱已注册，我们已发送一封包含重置链接的邮件。"
REDIS_URL = "redis://127.0.0.1:6379/15"


def _smtp(port, **extra) -> dict:
    return {"MAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": port,
            "SMTP_USE_TLS": False, "SMTP_TIMEOUT_SECONDS": 5, **extra}


def _without_csrf_token(response) -> str:
    # Each visitor's session has its own token; everything else must be the same.
    return re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(as_text=True))


def _rows(app) -> list[OutboxMail]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMail).order_by(OutboxMail.id)).all()
        db.session.expunge_all()
        return rows


def _deliver(app, now=None, **options):
    with app.app_context():
        return mail_delivery.deliver(now=now, **options)


def _queue(app, count, **values):
    with app.app_context():
        ids = [mail.send(f"person{n}@example.com", f"第 {n} 封", f"正文 {n}", **values).id
               for n in range(count)]
        db.session.commit()
        return ids


def test_retry_delay_doubles_from_the_base_up_to_the_cap():
    delays = [mail_delivery.retry_delay(n, base=60, cap=900).total_seconds() for n in range(1, 8)]
    assert delays == [60, 120, 240, 480, 900, 900, 900]


def test_forgot_password_answers_when_smtp_is_unreachable_and_the_mail_is_retried(make_app):
    app = make_app(**_smtp(closed_port()), MAIL_MAX_ATTEMPTS=4, MAIL_RETRY_BASE_SECONDS=60,
                   MAIL_RETRY_MAX_SECONDS=100)
    make_user(app, email="user@example.com")
    client = app.test_client()
    response = client.post("/auth/forgot-password", data={"email": "user@example.com"})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert FORGOT_FLASH in client.get("/auth/login").get_data(as_text=True)
    [queued] = _rows(app)
    assert queued.status is MailStatus.PENDING and queued.attempts == 0  # nothing tried yet

    start = queued.next_attempt_at
    assert _deliver(app, now=start).failed == 1
    [row] = _rows(app)
    assert row.status is MailStatus.PENDING and row.attempts == 1
    assert row.next_attempt_at == start + timedelta(seconds=60)
    assert "ConnectionRefusedError" in row.last_error
    assert row.claim_token is None and row.sent_at is None

    # Not due yet: nothing is tried.
    assert _deliver(app, now=start + timedelta(seconds=59)) == mail_delivery.DeliveryReport()
    assert _rows(app)[0].attempts == 1
    # Due: the second wait doubles, the third is capped.
    _deliver(app, now=start + timedelta(seconds=60))
    assert _rows(app)[0].next_attempt_at == start + timedelta(seconds=60 + 100)  # not 120
    _deliver(app, now=start + timedelta(seconds=160))
    row = _rows(app)[0]
    assert row.attempts == 3 and row.next_attempt_at == start + timedelta(seconds=260)
    # The fourth failure is the last one allowed: the message is given up.
    report = _deliver(app, now=start + timedelta(seconds=260))
    assert report.given_up == 1
    row = _rows(app)[0]
    assert row.status is MailStatus.GIVEN_UP and row.attempts == 4
    assert _deliver(app, now=start + timedelta(days=1)) == mail_delivery.DeliveryReport()
    assert _rows(app)[0].attempts == 4


def test_a_failed_message_is_sent_once_smtp_answers_again(make_app):
    port = closed_port()
    app = make_app(**_smtp(port), MAIL_MAX_ATTEMPTS=2)
    [mail_id] = _queue(app, 1)
    start = _rows(app)[0].next_attempt_at
    _deliver(app, now=start)
    row = _rows(app)[0]
    assert row.status is MailStatus.PENDING
    with FakeSMTP() as server:
        app.config["SMTP_PORT"] = server.port
        report = _deliver(app, now=row.next_attempt_at)
    assert report.sent == 1 and len(server.messages) == 1
    row = _rows(app)[0]
    assert row.id == mail_id and row.status is MailStatus.SENT and row.attempts == 2
    assert row.sent_at is not None and row.last_error is None


def test_known_and_unknown_addresses_get_the_same_answer_and_the_request_sends_nothing(
        make_app):
    with FakeSMTP() as server:
        app = make_app(**_smtp(server.port))
        make_user(app, email="user@example.com")
        answers = []
        for email in ("user@example.com", "ghost@example.com"):
            client = app.test_client()
            response = client.post("/auth/forgot-password", data={"email": email})
            page = _without_csrf_token(client.get(response.headers["Location"]))
            answers.append((response.status_code, response.headers["Location"], page))
        assert answers[0] == answers[1]
        assert server.connections == 0  # no SMTP inside either request
        # Both requests queued the same thing: which address has an account is decided
        # by the deliverer, not by the request.
        rows = _rows(app)
        assert [(r.kind, r.status, r.subject, r.body) for r in rows] == [
            ("auth.password_reset", MailStatus.PENDING, None, None)] * 2
        report = _deliver(app)
        assert (report.sent, report.skipped) == (1, 1)
        assert len(server.sent_to("user@example.com")) == 1
        assert server.sent_to("ghost@example.com") == []
        [reset] = server.sent_to("user@example.com")
        assert "/auth/reset/" in reset.get_content()


def test_sign_up_answers_when_smtp_is_unreachable_and_the_mail_is_retried(make_app):
    app = make_app(**_smtp(closed_port()), MAIL_MAX_ATTEMPTS=2, MAIL_RETRY_BASE_SECONDS=60)
    make_user(app, email="taken@example.com")
    for email in ("taken@example.com", "new@example.com"):
        response = app.test_client().post("/auth/sign-up", data={"email": email})
        assert response.status_code == 302
        assert response.headers["Location"] == "/auth/sign-up/sent"
    rows = _rows(app)
    assert [(r.kind, r.status, r.attempts) for r in rows] == [
        ("auth.sign_up", MailStatus.PENDING, 0)] * 2
    start = max(row.next_attempt_at for row in rows)
    while _deliver(app, now=start) != mail_delivery.DeliveryReport():
        pass
    rows = _rows(app)
    assert [(r.status, r.attempts) for r in rows] == [(MailStatus.PENDING, 1)] * 2
    assert {r.next_attempt_at for r in rows} == {start + timedelta(seconds=60)}
    while _deliver(app, now=start + timedelta(seconds=60)) != mail_delivery.DeliveryReport():
        pass
    assert [(r.status, r.attempts) for r in _rows(app)] == [(MailStatus.GIVEN_UP, 2)] * 2


def test_sign_up_for_known_and_unknown_addresses_sends_nothing_within_the_request(make_app):
    with FakeSMTP() as server:
        app = make_app(**_smtp(server.port))
        make_user(app, email="taken@example.com")
        answers = []
        for email in ("taken@example.com", "new@example.com"):
            client = app.test_client()
            response = client.post("/auth/sign-up", data={"email": email})
            page = _without_csrf_token(client.get(response.headers["Location"]))
            answers.append((response.status_code, response.headers["Location"], page))
        assert answers[0] == answers[1]
        assert server.connections == 0
        assert _deliver(app).sent == 2
        [notice] = server.sent_to("taken@example.com")
        [confirmation] = server.sent_to("new@example.com")
    assert "/auth/sign-up/" not in notice.get_content()
    assert "/auth/sign-up/" in confirmation.get_content()


def test_a_sent_link_is_not_kept_readable_in_the_outbox(make_app):
    with FakeSMTP() as server:
        app = make_app(**_smtp(server.port))
        make_user(app, email="user@example.com")
        app.test_client().post("/auth/forgot-password", data={"email": "user@example.com"})
        assert _deliver(app).sent == 1
        with app.app_context():
            mail.send("user@example.com", "通知", "没有链接的通知")
            db.session.commit()
        assert _deliver(app).sent == 1
    [reset] = server.sent_to("user@example.com")[:1]
    assert "/auth/reset/" in reset.get_content()  # the mail had the link …
    rows = _rows(app)
    assert (rows[0].status, rows[0].subject, rows[0].body) == (MailStatus.SENT, "重置密码", None)
    assert rows[1].body == "没有链接的通知"  # … a message queued with its text keeps it


def test_the_thread_runner_sends_after_the_answer_never_within_it(make_app):
    # The server holds its greeting back: a request that waited for SMTP could not answer.
    with FakeSMTP(hold=True) as server:
        app = make_app(**_smtp(server.port), JOB_RUNNER="thread")
        make_user(app, email="user@example.com")
        response = app.test_client().post("/auth/forgot-password",
                                          data={"email": "user@example.com"})
        assert response.status_code == 302
        assert server.messages == []
        server.release.set()
        assert server.wait_for(1), "the delivery thread did not send the mail"
    assert server.messages[0][0] == ("user@example.com",)
    _wait_until_sent(app)


def _wait_until_sent(app):
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if all(row.status is MailStatus.SENT for row in _rows(app)):
            return
        time.sleep(0.05)
    raise AssertionError([(r.status, r.last_error) for r in _rows(app)])


def test_the_rq_runner_sends_from_the_worker_not_the_request(make_app):
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    from exam_portal.services.platform import jobs

    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except RedisConnectionError:
        pytest.skip(f"no Redis server at {REDIS_URL}: the RQ runner is not tested here")
    with FakeSMTP() as server:
        app = make_app(**_smtp(server.port), JOB_RUNNER="rq", REDIS_URL=REDIS_URL,
                       JOB_QUEUE=f"test-{uuid.uuid4().hex}")
        make_user(app, email="user@example.com")
        response = app.test_client().post("/auth/forgot-password",
                                          data={"email": "user@example.com"})
        assert response.status_code == 302 and server.connections == 0
        with app.app_context():
            jobs.work(app, burst=True)
        assert len(server.sent_to("user@example.com")) == 1
    assert [row.status for row in _rows(app)] == [MailStatus.SENT]


def test_mail_is_kept_for_cron_when_the_queue_cannot_be_reached(make_app, caplog):
    app = make_app(**_smtp(closed_port()), JOB_RUNNER="rq",
                   REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0")
    _queue(app, 1)  # commits: the kick fails, the commit does not
    assert [(row.status, row.attempts) for row in _rows(app)] == [(MailStatus.PENDING, 0)]
    assert "mail delivery could not be queued" in caplog.text


def test_a_refused_recipient_is_given_up_at_once_and_the_others_still_go(make_app):
    with FakeSMTP(refuse={"person1@example.com"}) as server:
        app = make_app(**_smtp(server.port))
        _queue(app, 3)
        report = _deliver(app)
    assert (report.sent, report.given_up) == (2, 1)
    statuses = {row.to_address: (row.status, row.attempts) for row in _rows(app)}
    assert statuses["person1@example.com"] == (MailStatus.GIVEN_UP, 1)
    assert statuses["person0@example.com"] == (MailStatus.SENT, 1)
    assert "550" in next(r.last_error for r in _rows(app) if r.status is MailStatus.GIVEN_UP)


def test_an_unreachable_server_stops_the_run_instead_of_failing_every_message(make_app):
    app = make_app(**_smtp(closed_port()))
    _queue(app, 5)
    report = _deliver(app)
    assert report.failed == 1
    assert sorted(row.attempts for row in _rows(app)) == [0, 0, 0, 0, 1]


def test_a_message_past_its_expiry_is_given_up_unsent(make_app):
    with FakeSMTP() as server:
        app = make_app(**_smtp(server.port))
        _queue(app, 1, expires_at=utcnow() + timedelta(minutes=5))
        report = _deliver(app, now=utcnow() + timedelta(minutes=6))
    assert report.given_up == 1 and server.messages == []
    [row] = _rows(app)
    assert row.status is MailStatus.GIVEN_UP and "expired" in row.last_error


def test_the_error_kept_never_holds_the_smtp_credentials(make_app):
    app = make_app(SMTP_USERNAME="portal-user", SMTP_PASSWORD="s3cret-pw-value")
    error = smtplib.SMTPAuthenticationError(
        535, b"5.7.8 credentials portal-user s3cret-pw-value rejected")
    with app.app_context():
        text = mail_transports.describe_error(error)
    assert "535" in text and "SMTPAuthenticationError" in text
    assert "s3cret-pw-value" not in text and "portal-user" not in text


def test_starttls_checks_the_servers_certificate(make_app, tmp_path):
    context, certificate = self_signed_tls(tmp_path)
    with FakeSMTP(tls=context) as server:
        # A certificate nobody vouches for (a machine on the way): nothing is sent.
        app = make_app(**_smtp(server.port, SMTP_USE_TLS=True))
        _queue(app, 1)
        assert _deliver(app).failed == 1
        assert server.messages == []
        assert "CERTIFICATE_VERIFY_FAILED" in _rows(app)[0].last_error
        # The operator trusts the relay's own authority: it goes, encrypted.
        app.config["SMTP_CA_FILE"] = certificate
        assert _deliver(app, now=_rows(app)[0].next_attempt_at).sent == 1
    assert len(server.messages) == 1


def test_nothing_is_held_open_while_a_message_is_sent(make_app, database_url):
    seen = []

    def check():
        if database_url.startswith("sqlite"):
            # Another writer can take SQLite's only write lock at once.
            taken = try_write_lock(database_url.removeprefix("sqlite:///"))
            seen.append("free" if taken == "wrote" else taken)
        else:
            engine = sa.create_engine(database_url)
            with engine.connect() as other:
                seen.append("free" if other.scalar(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()")) == 0
                    else "a transaction is open")
            engine.dispose()

    with FakeSMTP(while_receiving=check) as server:
        app = make_app(**_smtp(server.port))
        make_user(app, email="user@example.com")
        app.test_client().post("/auth/forgot-password", data={"email": "user@example.com"})
        _queue(app, 1)
        assert _deliver(app).sent == 2
    assert seen == ["free", "free"]


def test_two_deliverers_never_send_one_message_twice(make_app):
    with FakeSMTP() as server:
        app = make_app(**_smtp(server.port))
        _queue(app, 40)
        barrier = threading.Barrier(3)
        reports, errors = [], []

        def deliverer():
            try:
                with app.app_context():
                    barrier.wait()
                    reports.append(mail_delivery.deliver())
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=deliverer) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    subjects = sorted(message["Subject"] for _, message in server.messages)
    assert subjects == sorted(f"第 {n} 封" for n in range(40))  # each exactly once
    assert sum(report.sent for report in reports) == 40
    assert {(row.status, row.attempts) for row in _rows(app)} == {(MailStatus.SENT, 1)}


def test_a_message_locked_by_one_deliverer_is_skipped_by_another(make_app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL only (SQLite deliverers queue for the write lock)")
    with FakeSMTP() as server:
        app = make_app(**_smtp(server.port))
        first, second = _queue(app, 2)
        engine = sa.create_engine(database_url)
        with engine.connect() as other:
            # Another deliverer in the middle of claiming the first message.
            other.execute(sa.text("SET lock_timeout = '5s'"))
            other.execute(sa.text("SELECT id FROM outbox_mails WHERE id = :id FOR UPDATE"),
                          {"id": first})
            with app.app_context():
                db.session.execute(sa.text("SET lock_timeout = '3s'"))
                report = mail_delivery.deliver()
            other.rollback()
        engine.dispose()
    assert report.sent == 1
    assert [message["Subject"] for _, message in server.messages] == ["第 1 封"]
    statuses = {row.id: row.status for row in _rows(app)}
    assert statuses == {first: MailStatus.PENDING, second: MailStatus.SENT}


def test_a_claim_left_by_a_dead_deliverer_is_taken_again_after_its_lease(make_app):
    with FakeSMTP() as server:
        app = make_app(**_smtp(server.port), MAIL_CLAIM_SECONDS=300)
        _queue(app, 1)
        start = _rows(app)[0].next_attempt_at
        with app.app_context():
            claim = mail_delivery.claim_next(start)  # the deliverer dies before it sends
            db.session.commit()
        assert claim is not None
        assert _deliver(app, now=start + timedelta(seconds=299)) == mail_delivery.DeliveryReport()
        assert server.messages == []
        assert _deliver(app, now=start + timedelta(seconds=301)).sent == 1
    [row] = _rows(app)
    assert row.status is MailStatus.SENT and row.attempts == 2


def test_a_last_attempt_lost_with_its_deliverer_gives_the_message_up(make_app):
    with FakeSMTP() as server:
        app = make_app(**_smtp(server.port), MAIL_MAX_ATTEMPTS=1)
        _queue(app, 1)
        start = _rows(app)[0].next_attempt_at
        with app.app_context():
            assert mail_delivery.claim_next(start) is not None  # and the deliverer dies
            db.session.commit()
        report = _deliver(app, now=start + timedelta(seconds=301))
    assert report.given_up == 1 and server.messages == []
    [row] = _rows(app)
    assert row.status is MailStatus.GIVEN_UP and "stopped" in row.last_error


def test_the_late_outcome_of_a_deliverer_that_lost_its_claim_is_ignored(make_app):
    app = make_app(**_smtp(closed_port()))
    _queue(app, 1)
    start = _rows(app)[0].next_attempt_at
    with app.app_context():
        stale = mail_delivery.claim_next(start)
        db.session.commit()
        fresh = mail_delivery.claim_next(start + timedelta(seconds=301))
        db.session.commit()
        assert mail_delivery.record_sent(stale, start) is False
        assert mail_delivery.record_sent(fresh, start + timedelta(seconds=302)) is True
        db.session.commit()
    [row] = _rows(app)
    assert row.status is MailStatus.SENT and row.attempts == 2


def test_the_deliver_command_sends_due_mail_and_status_shows_failures(make_app):
    with FakeSMTP(refuse={"person1@example.com"}) as server:
        app = make_app(**_smtp(server.port))
        _queue(app, 2)
        result = app.test_cli_runner().invoke(args=["mail", "deliver"])
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.output and "1 given up" in result.output
    status = app.test_cli_runner().invoke(args=["mail", "status"])
    assert status.exit_code == 0
    assert "sent 1" in status.output and "given_up 1" in status.output
    assert "550" in status.output
    assert "正文" not in status.output  # bodies (reset links) are never printed


def test_the_console_backend_prints_in_development(make_app, capsys):
    app = make_app(MAIL_BACKEND="console")
    _queue(app, 1)
    assert _deliver(app).sent == 1
    assert "正文 0" in capsys.readouterr().err
    assert _rows(app)[0].status is MailStatus.SENT


def test_in_development_the_delivery_thread_prints_the_sign_up_link(make_app, capsys):
    app = make_app(MAIL_BACKEND="console", JOB_RUNNER="thread")
    response = app.test_client().post("/auth/sign-up", data={"email": "new@example.com"})
    assert response.status_code == 302
    _wait_until_sent(app)
    printed = capsys.readouterr().err
    assert "--- mail to new@example.com" in printed and "/auth/sign-up/" in printed


def test_changing_the_password_answers_when_smtp_is_unreachable(make_app):
    app = make_app(**_smtp(closed_port()))
    make_user(app, email="user@example.com")
    client = app.test_client()
    client.post("/auth/login", data={"email": "user@example.com", "password": PASSWORD})
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "password": "a brand new passphrase",
        "confirm": "a brand new passphrase"})
    assert response.status_code == 302
    assert [(row.subject, row.status) for row in _rows(app)] == [
        ("你的密码已修改", MailStatus.PENDING)]
