"""Invitations of new trainers by an institution admin (a single-use mailed link)."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_portal.extensions import db
from exam_portal.models.institutions import Institution
from exam_portal.models.types import UTCDateTime, utcnow

INVITEE_NAME_MAX_CHARS = 100


class TrainerInvitation(db.Model):
    """An institution admin invited an address to become a trainer of the institution.

    Only the SHA-256 of the mailed token is kept, set when the mail is composed (an
    address that already has an account gets no link). The invitation is spent once
    (used_at), by the invitee setting a password or by an existing trainer's address
    being added; an admin may withdraw it before."""

    __tablename__ = "trainer_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    name: Mapped[str] = mapped_column(sa.String(INVITEE_NAME_MAX_CHARS))
    token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    invited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The trainer account the invitation made (or the existing trainer it added).
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    institution: Mapped[Institution] = relationship()
