"""Exam fee payments (缴费) recorded against registrations, imported from a payment
provider's statement or entered by an administrator."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, enum_type, utcnow


class PaymentSource(enum.StrEnum):
    IMPORT = "IMPORT"  # a row of the provider's statement
    MANUAL = "MANUAL"  # entered by an administrator from a receipt


class Payment(db.Model):
    """One payment of a registration's exam fee. Never changed or deleted: money
    received stays on record (a late or surplus payment is reported for refund)."""

    __tablename__ = "payments"
    __table_args__ = (
        # The provider's reference names one payment: the same statement imported twice,
        # or a receipt entered by hand and then imported, is recorded once.
        sa.UniqueConstraint("session_id", "reference"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"))
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("registrations.id"),
                                                 index=True)
    amount_fen: Mapped[int]
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the provider's time
    reference: Mapped[str] = mapped_column(sa.String(64))
    source: Mapped[PaymentSource] = mapped_column(enum_type(PaymentSource, "payment_source"))
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(sa.String(500))

    registration = relationship("Registration")
