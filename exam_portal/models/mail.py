"""Outgoing mail: the outbox, one row per message with its delivery state."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, enum_type, utcnow


class MailStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its first or next attempt
    SENT = "sent"
    SKIPPED = "skipped"  # its composer found nothing to send (no account at the address)
    GIVEN_UP = "given_up"  # refused for good, out of attempts, or past its expiry


class OutboxMail(db.Model):
    __tablename__ = "outbox_mails"
    __table_args__ = (
        # What the deliverer looks for: pending messages by the time they are due.
        sa.Index("ix_outbox_mails_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(sa.String(254), index=True)
    # A message queued by kind is written by that kind's composer when it is delivered
    # (subject and body are empty until then); one queued with its text has no kind.
    kind: Mapped[str | None] = mapped_column(sa.String(40))
    params: Mapped[dict | None] = mapped_column(sa.JSON)
    subject: Mapped[str | None] = mapped_column(sa.String(200))
    body: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[MailStatus] = mapped_column(enum_type(MailStatus, "mail_status"),
                                               default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A deliverer's claim: its token, and when it lapses if the deliverer dies.
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The kind of failure and the server's reply code, never credentials or the body.
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    # A message that is useless late (a reset link that has expired) is not sent after.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
