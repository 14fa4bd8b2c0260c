"""Registration evidence: the documents a candidate attaches to a registration (the
file itself is in the evidence store, under storage_key)."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_portal.extensions import db
from exam_portal.models.accounts import EmploymentPeriod, HeldCertificate
from exam_portal.models.types import UTCDateTime, enum_type, utcnow


class EvidenceKind(enum.StrEnum):
    DEGREE = "DEGREE"  # 学历证书
    EMPLOYMENT = "EMPLOYMENT"  # 工作证明, for one employment period
    CERTIFICATE = "CERTIFICATE"  # a certificate held, for one held certificate
    OTHER = "OTHER"


class EvidenceDocument(db.Model):
    """One file attached to a registration, checked by its content when uploaded."""

    __tablename__ = "evidence_documents"
    __table_args__ = (
        # The period or certificate is named only for its own kind; it becomes NULL if
        # the candidate later deletes that row from the profile (the file stays).
        sa.CheckConstraint("employment_period_id IS NULL OR kind = 'EMPLOYMENT'",
                           name="period_only_for_employment"),
        sa.CheckConstraint("held_certificate_id IS NULL OR kind = 'CERTIFICATE'",
                           name="certificate_only_for_certificate"),
        sa.CheckConstraint("size_bytes > 0", name="size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("registrations.id"), index=True)
    kind: Mapped[EvidenceKind] = mapped_column(enum_type(EvidenceKind, "evidence_kind"))
    employment_period_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("employment_periods.id", ondelete="SET NULL"), index=True)
    held_certificate_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("held_certificates.id", ondelete="SET NULL"), index=True)
    storage_key: Mapped[str] = mapped_column(sa.String(128), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(40))  # as sniffed, never as sent
    size_bytes: Mapped[int]
    # As the browser sent it, made harmless: shown to people, never used as a path.
    original_filename: Mapped[str] = mapped_column(sa.String(120))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    employment_period: Mapped[EmploymentPeriod | None] = relationship()
    held_certificate: Mapped[HeldCertificate | None] = relationship()
