"""Mail through the outbox: queue a message in the request's transaction; a deliverer
(services/mail_delivery.py) sends it after the commit, outside any transaction, with
retries.

Why: sent inside the request, an unreachable SMTP server made "forgot password" a 500,
the SMTP conversation held the request's transaction (on SQLite, the only write lock),
and the response time told which addresses have accounts. Now a request only adds an
outbox row.

A message is queued either with its text (`send`) or by *kind* (`send_later`): the
kind's composer writes it when it is delivered. "Forgot password" and sign-up queue by
kind, so their requests do the same work whether or not the address has an account;
only the deliverer, in the background, looks the address up.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app

from exam_portal.extensions import db
from exam_portal.models.mail import OutboxMail


@dataclass(frozen=True)
class Draft:
    """A composed message, and when it is of no use any more (None: never)."""

    subject: str
    body: str
    expires_at: datetime | None = None


Composer = Callable[[str, dict], Draft | None]
COMPOSERS: dict[str, Composer] = {}


def composer(kind: str):
    """Register the composer of messages queued as *kind*. Given the address and the
    queued parameters it returns the Draft to send, or None to send nothing. It runs in
    the deliverer's transaction (it may write: a reset token) in the queued locale."""
    def register(function: Composer) -> Composer:
        COMPOSERS[kind] = function
        return function
    return register


# Set on the session when mail is queued: the commit that ends it starts a delivery.
QUEUED = "mail_queued"


def send(to_address: str, subject: str, body: str, *,
         expires_at: datetime | None = None) -> OutboxMail:
    """Queue a message: it is sent after the transaction commits, never within it."""
    return _queue(OutboxMail(to_address=to_address, subject=subject, body=body,
                             expires_at=expires_at))


def send_later(kind: str, to_address: str, params: dict | None = None) -> OutboxMail:
    """Queue a message that *kind*'s composer writes when it is delivered."""
    if kind not in COMPOSERS:
        raise ValueError(f"no composer for mail of kind {kind!r}")
    return _queue(OutboxMail(to_address=to_address, kind=kind, params=params or {}))


def _queue(mail: OutboxMail) -> OutboxMail:
    session = db.session
    session.add(mail)
    session.flush()
    session.info[QUEUED] = True
    return mail


def public_url(endpoint: str, **values) -> str:
    """An absolute link to *endpoint* under PUBLIC_BASE_URL, built with or without a
    request: composers run in the deliverer."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/",
                                       url_scheme=base.scheme or "https")
    return adapter.build(endpoint, values, force_external=True)
