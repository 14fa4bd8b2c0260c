"""Append to and verify the hash-chained audit log."""

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC

import sqlalchemy as sa
from flask import has_request_context
from flask_login import current_user

from exam_portal.extensions import client_address, db, lock_for_writing
from exam_portal.models.accounts import User
from exam_portal.models.audit import GENESIS_HASH, AuditEvent
from exam_portal.models.types import utcnow

# Any fixed number: PostgreSQL advisory locks are keyed by integers.
_AUDIT_LOCK_KEY = 7_311_042


def canonical_json(data) -> str:
    """Serialise *data* the one way the chain hashes it."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(event: AuditEvent) -> str:
    """The hash a row must carry: its content and its predecessor's hash."""
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
    event.hash = event_hash(event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    count: int  # rows read, up to and including a broken one
    head_hash: str  # the hash of the last row that verified
    broken_at: int | None  # id of the first row that does not verify
    reason: str | None
    head_id: int | None = None  # id of the last row that verified
    # The hash of the n-th row (counted from 1 in order; 0: the genesis hash) for each
    # position asked for that verified.
    hashes: dict[int, str] = field(default_factory=dict, compare=False)

    @property
    def is_intact(self) -> bool:
        return self.broken_at is None


def verify_chain(positions: Collection[int] = ()) -> ChainReport:
    """Recompute every hash in order and report the first break, with the hashes of
    the rows at *positions*. One SELECT reads the rows: on PostgreSQL that is one
    snapshot, so the count and head belong together while others append (on SQLite
    the caller's transaction is the snapshot)."""
    wanted = set(positions)
    hashes = {0: GENESIS_HASH} if 0 in wanted else {}
    return _walk(sa.select(AuditEvent), 0, GENESIS_HASH, None, wanted, hashes)


def verify_chain_from(position: int, head_hash: str) -> ChainReport | None:
    """Verify only the rows after the *position*-th (counted from 1 in order), which
    must still carry *head_hash*; None if the log holds no such row (fewer rows, or
    another hash there). For a log of millions of events checked every few minutes: the
    rows before that one are vouched for by their hash, not recomputed."""
    if position == 0:
        return verify_chain([0]) if head_hash == GENESIS_HASH else None
    head = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)
                              .offset(position - 1).limit(1)).first()
    if head is None or head.hash != head_hash or event_hash(head) != head.hash:
        return None
    # Appends commit in id order (one at a time, under the advisory lock), so the rows
    # after this one in a later snapshot are still all that follow it.
    return _walk(sa.select(AuditEvent).where(AuditEvent.id > head.id), position, head.hash,
                 head.id, set(), {position: head.hash})


def _walk(query, count: int, expected_prev: str, head_id: int | None, wanted: set[int],
          hashes: dict[int, str]) -> ChainReport:
    # Streamed so a long log does not fill memory; closed on early return so the
    # PostgreSQL server-side cursor is released.
    events = db.session.scalars(
        query.order_by(AuditEvent.id).execution_options(yield_per=500))
    try:
        for event in events:
            count += 1
            if event.prev_hash != expected_prev:
                return ChainReport(count, expected_prev, event.id, "a previous row is missing",
                                   head_id, hashes)
            if event_hash(event) != event.hash:
                return ChainReport(count, expected_prev, event.id, "the row was changed",
                                   head_id, hashes)
            expected_prev, head_id = event.hash, event.id
            if count in wanted:
                hashes[count] = event.hash
    finally:
        events.close()
    return ChainReport(count, expected_prev, None, None, head_id, hashes)


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
