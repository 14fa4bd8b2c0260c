"""Deliver the outbox: claim a due message, compose it if it was queued by kind, send
it with no transaction open, record the outcome; started after every commit that
queued mail (a thread of the portal, or an RQ worker) and by `flask mail deliver`
from cron, which also makes the retries.

What it promises:
- a message is claimed for one attempt before it is sent (FOR UPDATE SKIP LOCKED and a
  conditional update on PostgreSQL; SQLite's single write lock serialises claims), so two
  deliverers never send it at the same time;
- no transaction is open while SMTP talks;
- a failure waits MAIL_RETRY_BASE_SECONDS, doubling up to MAIL_RETRY_MAX_SECONDS; after
  MAIL_MAX_ATTEMPTS, a permanent refusal (5xx for the recipient) or its expiry the
  message is given up; the error kept names the failure and the server's reply, never
  the credentials;
- at least once, not exactly once: a deliverer that dies between the server's "queued"
  and recording it lets its claim lapse (MAIL_CLAIM_SECONDS), and the message goes again.
"""

import logging
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import force_locale

from exam_portal.extensions import db
from exam_portal.models.mail import MailStatus, OutboxMail
from exam_portal.models.types import utcnow
from exam_portal.services.platform import jobs, mail, mail_transports

log = logging.getLogger(__name__)


# Starting a delivery -----------------------------------------------------------------

def deliver_after_commits() -> None:
    """Start a delivery after every commit that queued mail (the app factory calls it;
    the listeners are the session's, so once is enough)."""
    if not sa.event.contains(db.session, "after_commit", _deliver_after_commit):
        sa.event.listen(db.session, "after_commit", _deliver_after_commit)
        sa.event.listen(db.session, "after_rollback", _forget_queued)


def _deliver_after_commit(session):
    if session.info.pop(mail.QUEUED, False):
        start_delivery(current_app._get_current_object())


def _forget_queued(session):
    session.info.pop(mail.QUEUED, None)


def start_delivery(app: Flask) -> None:
    """Have the runner deliver what is due, soon and outside this request. A failure to
    start is logged only: the mail stays queued for `flask mail deliver`."""
    runner = app.config["JOB_RUNNER"]
    if runner == "inline":
        return  # tests deliver when they choose; mail never goes within a request
    try:
        if runner == "thread":
            _thread_deliverer(app).kick()
        else:
            _mail_queue(app).enqueue(deliver_queued, job_timeout=3600, result_ttl=0,
                                     failure_ttl=7 * 86400)
    except Exception:  # noqa: BLE001 - e.g. Redis down: the outbox row is still there
        log.exception("mail delivery could not be queued; `flask mail deliver` will send it")


def deliver_queued() -> None:
    """What RQ calls; the worker (`flask jobs worker`) runs inside an app context."""
    deliver()


def _mail_queue(app: Flask):
    found = app.extensions.get("mail_queue")
    if found is None:
        found = app.extensions.setdefault("mail_queue", jobs.queue(app, for_mail=True))
    return found


class _ThreadDeliverer:
    """One delivery thread per portal process. Kicks that come while a run waits to
    start are that run; a kick during a run starts another, for mail queued meanwhile."""

    def __init__(self, app: Flask):
        self.app = app
        self.lock = threading.Lock()
        self.waiting = False
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mail")

    def kick(self) -> None:
        with self.lock:
            if self.waiting:
                return
            self.waiting = True
        self.executor.submit(self._run)

    def _run(self) -> None:
        with self.lock:
            self.waiting = False
        try:
            with self.app.app_context():
                deliver()
        except Exception:  # noqa: BLE001 - a thread has nobody else to tell
            log.exception("mail delivery failed")


_deliverers_lock = threading.Lock()


def _thread_deliverer(app: Flask) -> _ThreadDeliverer:
    with _deliverers_lock:
        if "mail_deliverer" not in app.extensions:
            app.extensions["mail_deliverer"] = _ThreadDeliverer(app)
        return app.extensions["mail_deliverer"]


# Delivering --------------------------------------------------------------------------

@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0  # to be tried again
    given_up: int = 0
    skipped: int = 0

    def add(self, status: MailStatus) -> None:
        if status is MailStatus.GIVEN_UP:
            self.given_up += 1
        elif status is MailStatus.SKIPPED:
            self.skipped += 1
        else:
            self.failed += 1


@dataclass(frozen=True)
class Claim:
    mail_id: int
    token: str
    attempts: int  # this attempt's number
    kind: str | None  # composed at delivery: its text may hold a one-time link


def retry_delay(attempts: int, *, base: int, cap: int) -> timedelta:
    """How long a message waits after its *attempts*-th failure: base, twice that, four
    times … never more than cap."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def deliver(*, now: datetime | None = None, limit: int | None = None) -> DeliveryReport:
    """Send the messages that are due, one claim at a time, committing after each step;
    safe to run in several processes at once. *now* fixes the clock (tests)."""
    config = current_app.config
    session = db.session
    report = DeliveryReport()
    report.given_up += _give_up_stale(now or utcnow())
    session.commit()
    transport = mail_transports.for_backend(config)
    try:
        for _ in range(limit or config["MAIL_BATCH_SIZE"]):
            moment = now or utcnow()
            claim = claim_next(moment)
            session.commit()
            if claim is None:
                break
            try:
                message = _prepare(claim)
            except _ClaimLost:
                session.rollback()
                continue
            except Exception as error:  # noqa: BLE001 - a composer's bug: retried, logged
                session.rollback()
                log.exception("mail %s could not be composed", claim.mail_id)
                report.add(record_failure(claim, error, moment))
                session.commit()
                continue
            if message is None:
                report.skipped += 1
                continue
            try:
                transport.send(message)
            except Exception as error:  # noqa: BLE001 - every failure is kept on the row
                report.add(record_failure(claim, error, moment))
                session.commit()
                if mail_transports.ends_the_run(error):
                    break  # the server is unreachable: the others would wait for it too
                continue
            if record_sent(claim, now or utcnow()):
                report.sent += 1
            session.commit()
    finally:
        transport.close()
    return report


def _due(now: datetime):
    config = current_app.config
    return sa.and_(
        OutboxMail.status == MailStatus.PENDING,
        OutboxMail.next_attempt_at <= now,
        _unclaimed(now),
        OutboxMail.attempts < config["MAIL_MAX_ATTEMPTS"],
        sa.or_(OutboxMail.expires_at.is_(None), OutboxMail.expires_at > now),
    )


def _unclaimed(now: datetime):
    return sa.or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until <= now)


def claim_next(now: datetime) -> Claim | None:
    """Claim the message due first for one attempt, or return None. The caller commits.

    PostgreSQL: the row is locked as it is chosen and rows another deliverer has locked
    are passed over (SKIP LOCKED), so deliverers share the queue without waiting; the
    update checks the conditions again on the locked row. SQLite: this transaction holds
    the database's write lock from its start, so claims happen one after another."""
    session = db.session
    due = _due(now)
    mail_id = session.scalar(
        sa.select(OutboxMail.id).where(due)
        .order_by(OutboxMail.next_attempt_at, OutboxMail.id).limit(1)
        .with_for_update(skip_locked=True))
    if mail_id is None:
        return None
    token = secrets.token_hex(16)
    lease = timedelta(seconds=current_app.config["MAIL_CLAIM_SECONDS"])
    claimed = session.execute(
        sa.update(OutboxMail).where(OutboxMail.id == mail_id, due)
        .values(claim_token=token, claimed_until=now + lease,
                attempts=OutboxMail.attempts + 1)
        .returning(OutboxMail.attempts, OutboxMail.kind)
        .execution_options(synchronize_session=False)).first()
    return None if claimed is None else Claim(mail_id, token, *claimed)


def _final_text(claim: Claim) -> dict:
    """A message composed at delivery (a reset or sign-up link) keeps no text once it is
    sent or given up: the links' tokens are stored hashed, and the outbox must not keep
    them readable. The outbox backend keeps it: there the table is the mailbox."""
    if claim.kind is None or current_app.config["MAIL_BACKEND"] == "outbox":
        return {}
    return {"body": None}


def _settle(claim: Claim, **values) -> bool:
    """Record an outcome if the claim is still this deliverer's (not lapsed and taken)."""
    result = db.session.execute(
        sa.update(OutboxMail)
        .where(OutboxMail.id == claim.mail_id, OutboxMail.claim_token == claim.token)
        .values(claim_token=None, claimed_until=None, **values)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def record_sent(claim: Claim, now: datetime) -> bool:
    """Mark a claimed message sent; False if the claim had lapsed and been taken."""
    sent = _settle(claim, status=MailStatus.SENT, sent_at=now, last_error=None,
                   **_final_text(claim))
    if not sent:
        log.warning("mail %s was sent after its claim lapsed", claim.mail_id)
    return sent


def record_failure(claim: Claim, error: BaseException, now: datetime) -> MailStatus:
    """Keep what went wrong; schedule the next attempt or give the message up."""
    config = current_app.config
    values = {"last_error": mail_transports.describe_error(error)}
    if mail_transports.is_permanent(error) or claim.attempts >= config["MAIL_MAX_ATTEMPTS"]:
        values["status"] = MailStatus.GIVEN_UP
        values.update(_final_text(claim))
    else:
        values["status"] = MailStatus.PENDING
        values["next_attempt_at"] = now + retry_delay(
            claim.attempts, base=config["MAIL_RETRY_BASE_SECONDS"],
            cap=config["MAIL_RETRY_MAX_SECONDS"])
    _settle(claim, **values)
    log.warning("mail %s attempt %d failed: %s", claim.mail_id, claim.attempts,
                values["last_error"])
    return values["status"]


def _give_up_stale(now: datetime) -> int:
    """Give up, unsent, what expired while it waited, and what used its last attempt in
    a deliverer that died (its claim lapsed). Rows another deliverer has locked are left
    to it (SKIP LOCKED): two sweeps never wait for, or deadlock on, each other."""
    session = db.session
    waiting = sa.and_(OutboxMail.status == MailStatus.PENDING, _unclaimed(now))

    def unlocked(*conditions):
        return OutboxMail.id.in_(sa.select(OutboxMail.id).where(waiting, *conditions)
                                 .with_for_update(skip_locked=True).scalar_subquery())

    expired = session.execute(
        sa.update(OutboxMail)
        .where(unlocked(OutboxMail.expires_at.is_not(None), OutboxMail.expires_at <= now))
        .values(status=MailStatus.GIVEN_UP, claim_token=None, claimed_until=None,
                last_error=sa.func.substr(
                    sa.literal("expired before it could be sent; last error: ")
                    + sa.func.coalesce(OutboxMail.last_error, "none"), 1, 300))
        .execution_options(synchronize_session=False)).rowcount
    spent = session.execute(
        sa.update(OutboxMail)
        .where(unlocked(OutboxMail.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]))
        .values(status=MailStatus.GIVEN_UP, claim_token=None, claimed_until=None,
                last_error=sa.func.coalesce(OutboxMail.last_error,
                                            "the deliverer stopped during the last attempt"))
        .execution_options(synchronize_session=False)).rowcount
    return expired + spent


class _ClaimLost(Exception):
    """This deliverer's claim lapsed and another took the message."""


def _prepare(claim: Claim) -> EmailMessage | None:
    """The message to send for a claim, composed first if it was queued by kind (and
    committed, with whatever the composer wrote); None if there is nothing to send."""
    session = db.session
    row = session.execute(
        sa.select(OutboxMail.to_address, OutboxMail.kind, OutboxMail.params,
                  OutboxMail.subject, OutboxMail.body)
        .where(OutboxMail.id == claim.mail_id)).one()
    subject, body = row.subject, row.body
    if body is None:
        params = row.params or {}
        languages = current_app.config["LANGUAGES"]
        locale = params.get("locale") if params.get("locale") in languages else languages[0]
        with force_locale(locale):
            draft = mail.COMPOSERS[row.kind](row.to_address, params)
        if draft is None:
            _settle(claim, status=MailStatus.SKIPPED)
            session.commit()
            return None
        subject, body = draft.subject[:200], draft.body
        if not _settle_draft(claim, subject, body, draft.expires_at):
            raise _ClaimLost  # it lapsed: whoever holds it now composes (and rolls back ours)
    session.commit()
    return _message(row.to_address, subject, body)


def _settle_draft(claim: Claim, subject: str, body: str, expires_at) -> bool:
    result = db.session.execute(
        sa.update(OutboxMail)
        .where(OutboxMail.id == claim.mail_id, OutboxMail.claim_token == claim.token)
        .values(subject=subject, body=body, expires_at=expires_at)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def _message(to_address: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = to_address
    message["Subject"] = subject
    message.set_content(body)
    return message


# Looking at the outbox ---------------------------------------------------------------

def status_counts() -> dict[MailStatus, int]:
    """How many messages are in each state."""
    rows = db.session.execute(sa.select(OutboxMail.status, sa.func.count(OutboxMail.id))
                              .group_by(OutboxMail.status)).all()
    counts = dict.fromkeys(MailStatus, 0)
    counts.update({status: count for status, count in rows})
    return counts


def recent_failures(limit: int = 20) -> list[OutboxMail]:
    """The latest messages with an error kept (waiting to be retried, or given up)."""
    return db.session.scalars(
        sa.select(OutboxMail).where(OutboxMail.last_error.is_not(None),
                                    OutboxMail.status != MailStatus.SENT)
        .order_by(OutboxMail.id.desc()).limit(limit)).all()
