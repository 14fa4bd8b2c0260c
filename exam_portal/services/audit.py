"""Append to and verify the hash-chained audit log."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC

import sqlalchemy as sa
from flask import has_request_context
from flask_login import current_user

from ..extensions import client_address, db, lock_for_writing
from ..models.accounts import User
from ..models.audit import GENESIS_HASH, AuditEvent
from ..models.types import utcnow

# Any fixed number: PostgreSQL advisory locks are keyed by integers.
_AUDIT_LOCK_KEY = 7_311_042


def canonical_json(data) -> str:
    """Serialise *data* the one way the chain hashes it."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _event_hash(event: AuditEvent) -> str:
    body = canonical_json(
        {
            "prev": event.prev_hash,
            "at": event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "actor_id": event.actor_id,
            "action": event.action,
            "target_type": event.target_type,
            "target_id": event.target_id,
            "details": event.details,
            "ip": event.ip,
        }
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record(action: str, *, target=None, details=None, actor=None) -> AuditEvent:
    """Append one event to the audit log, chained to the last one."""
    lock_for_writing()
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        # Held to the end of the transaction: appends are serialised, so two
        # writers never read the same predecessor. SQLite's BEGIN IMMEDIATE
        # already gives the same guarantee.
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_AUDIT_LOCK_KEY)))
    last = session.scalar(
        sa.select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    )
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user
    event = AuditEvent(
        at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_type=type(target).__name__ if target is not None else None,
        target_id=str(target.id) if target is not None else None,
        details=canonical_json(details or {}),
        ip=client_address() if has_request_context() else None,
        prev_hash=last or GENESIS_HASH,
    )
    event.hash = _event_hash(event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    count: int
    head_hash: str
    broken_at: int | None  # id of the first row that does not verify
    reason: str | None

    @property
    def is_intact(self) -> bool:
        return self.broken_at is None


def verify_chain() -> ChainReport:
    """Recompute every hash in order and report the first break."""
    expected_prev = GENESIS_HASH
    count = 0
    # Streamed so a long log does not fill memory; closed on early return so the
    # PostgreSQL server-side cursor is released.
    events = db.session.scalars(
        sa.select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=500)
    )
    try:
        for event in events:
            count += 1
            if event.prev_hash != expected_prev:
                return ChainReport(count, expected_prev, event.id, "a previous row is missing")
            if _event_hash(event) != event.hash:
                return ChainReport(count, expected_prev, event.id, "the row was changed")
            expected_prev = event.hash
    finally:
        events.close()
    return ChainReport(count, expected_prev, None, None)


def recent_events(*, page: int, per_page: int, action: str | None = None):
    """Return a page of audit events, newest first."""
    query = sa.select(AuditEvent).order_by(AuditEvent.id.desc())
    if action:
        query = query.where(AuditEvent.action == action)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def actor_emails(events) -> dict[int, str]:
    """The e-mail of each actor on a page of events, by one query."""
    ids = {event.actor_id for event in events if event.actor_id}
    return dict(db.session.execute(sa.select(User.id, User.email).where(User.id.in_(ids))).all())
