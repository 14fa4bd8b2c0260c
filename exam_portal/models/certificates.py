"""Certificates: the signed record of a qualification or of a completed training
programme, with its public number and verification code, and its revocation."""

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, enum_type, utcnow
from question_bank.levels import Level


class CertificateKind(enum.StrEnum):
    QUALIFICATION = "QUALIFICATION"
    TRAINING = "TRAINING"


class CertificateStatus(enum.StrEnum):
    VALID = "VALID"
    REVOKED = "REVOKED"


class Certificate(db.Model):
    __tablename__ = "certificates"
    __table_args__ = (
        # One valid certificate per qualification: a second issue (even two at the same
        # moment) is refused; a reissue revokes the old one first.
        sa.Index("uq_certificates_valid_qualification", "qualification_id", unique=True,
                 sqlite_where=sa.text("status = 'VALID'"),
                 postgresql_where=sa.text("status = 'VALID'")),
        # One valid training certificate per programme and candidate, likewise.
        sa.Index("uq_certificates_valid_programme_candidate", "programme_id", "candidate_id",
                 unique=True, sqlite_where=sa.text("status = 'VALID'"),
                 postgresql_where=sa.text("status = 'VALID'")),
        # A qualification certificate names its qualification and level; a training
        # one its programme (whose level is optional), never a qualification.
        sa.CheckConstraint(
            "(kind = 'QUALIFICATION' AND qualification_id IS NOT NULL AND level IS NOT NULL"
            " AND programme_id IS NULL) OR (kind = 'TRAINING' AND programme_id IS NOT NULL"
            " AND programme_name IS NOT NULL AND qualification_id IS NULL)",
            name="kind_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(24), unique=True)
    verification_code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    kind: Mapped[CertificateKind] = mapped_column(enum_type(CertificateKind, "certificate_kind"))
    qualification_id: Mapped[int | None] = mapped_column(sa.ForeignKey("qualifications.id"))
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    programme_id: Mapped[int | None] = mapped_column(sa.ForeignKey("training_programmes.id"))
    # The programme's name as at issue: the record is signed, a later rename must not
    # change it.
    programme_name: Mapped[str | None] = mapped_column(sa.String(100))
    level: Mapped[Level | None] = mapped_column(enum_type(Level, "level"))
    # The holder as at issue (a later profile change does not alter a certificate).
    holder_name: Mapped[str] = mapped_column(sa.String(64))
    holder_id_masked: Mapped[str] = mapped_column(sa.String(18))
    holder_gender: Mapped[str | None] = mapped_column(sa.String(6))
    holder_birth_date: Mapped[date | None]
    session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("exam_sessions.id"))
    approved_on: Mapped[date]
    valid_region: Mapped[str | None] = mapped_column(sa.String(6))
    title: Mapped[str] = mapped_column(sa.String(200))
    issuer: Mapped[str] = mapped_column(sa.String(200))
    # Exactly the bytes that were signed (canonical JSON), the key that signed them and
    # the signature: the record verifies from these alone.
    payload: Mapped[str] = mapped_column(sa.Text)
    key_id: Mapped[str] = mapped_column(sa.String(40))
    signature: Mapped[str] = mapped_column(sa.String(100))
    issued_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[CertificateStatus] = mapped_column(
        enum_type(CertificateStatus, "certificate_status"), default=CertificateStatus.VALID)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(500))
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    replaces_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certificates.id"))

    replaces = relationship("Certificate", remote_side=[id])
