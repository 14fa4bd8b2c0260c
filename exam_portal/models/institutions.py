"""Training institutions and the trainers who belong to them."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, enum_type, utcnow
from question_bank.institutions import NAME_MAX_CHARS, InstitutionKind


class Institution(db.Model):
    """An institution an administrator created: it runs classes and provides courses."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX_CHARS), unique=True)
    kind: Mapped[InstitutionKind] = mapped_column(enum_type(InstitutionKind, "institution_kind"))
    # A province code as in the candidate profile (GB/T 2260), or None for a national one.
    province: Mapped[str | None] = mapped_column(sa.String(6))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list["InstitutionMember"]] = relationship(
        back_populates="institution", cascade="all, delete-orphan")


class InstitutionMember(db.Model):
    """A trainer of an institution; an institution admin may invite other trainers.
    A trainer may belong to several institutions."""

    __tablename__ = "institution_members"

    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"),
                                                primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True,
                                         index=True)
    is_admin: Mapped[bool] = mapped_column(default=False)
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    institution: Mapped[Institution] = relationship(back_populates="members")
