"""Continuing education (继续教育) and registration (登记): courses an institution
provides, the completions it records, holders' registrations with their periods of
validity, renewals, and signed CE transcripts.

Hours are stored as whole half hours (`half_hours`), so sums are exact on both
databases; `hours` gives them as a Decimal."""

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.institutions import Institution
from exam_portal.models.types import UTCDateTime, enum_type, utcnow
from question_bank.continuing_education import TITLE_MAX_CHARS, CourseCategory, Delivery
from question_bank.levels import Level


def _hours(half_hours: int) -> Decimal:
    return Decimal(half_hours) / 2


class CeCourse(db.Model):
    """A continuing-education course of a provider institution."""

    __tablename__ = "ce_courses"
    __table_args__ = (
        sa.CheckConstraint("half_hours > 0", name="hours_positive"),
        sa.CheckConstraint("ends_on >= starts_on", name="dates_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(TITLE_MAX_CHARS))
    half_hours: Mapped[int]
    category: Mapped[CourseCategory] = mapped_column(enum_type(CourseCategory, "ce_category"))
    delivery: Mapped[Delivery] = mapped_column(enum_type(Delivery, "ce_delivery"))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # An online course built from a class's assignments: the class (of the same
    # institution) whose every assignment completed records the course's completion.
    class_id: Mapped[int | None] = mapped_column(sa.ForeignKey("training_classes.id"),
                                                 index=True)

    institution: Mapped[Institution] = relationship()

    @property
    def hours(self) -> Decimal:
        return _hours(self.half_hours)


class CompletionSource(enum.StrEnum):
    IMPORT = "IMPORT"
    MANUAL = "MANUAL"
    ONLINE = "ONLINE"  # every assignment of the course's class completed


class CeCompletion(db.Model):
    """A person's completion of a course, recorded once by its provider; its hours are
    credited to the period its date falls in."""

    __tablename__ = "ce_completions"
    __table_args__ = (sa.UniqueConstraint("course_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("ce_courses.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    completed_on: Mapped[date]
    source: Mapped[CompletionSource] = mapped_column(
        enum_type(CompletionSource, "ce_completion_source"))
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[CeCourse] = relationship()


class RegistrationBasis(enum.StrEnum):
    ISSUED = "ISSUED"        # a qualification achieved here
    DECLARED = "DECLARED"    # declared with a document, verified by an administrator


class CeRegistrationStatus(enum.StrEnum):
    PENDING = "PENDING"      # declared, awaiting an administrator
    ACTIVE = "ACTIVE"
    REJECTED = "REJECTED"


class CeRegistration(db.Model):
    """A holder's registration (登记) of one qualification level."""

    __tablename__ = "ce_registrations"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "level"),
        sa.CheckConstraint(
            "(basis = 'ISSUED' AND qualification_id IS NOT NULL) OR "
            "(basis = 'DECLARED' AND document_key IS NOT NULL)", name="basis_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    level: Mapped[Level] = mapped_column(enum_type(Level, "level"))
    basis: Mapped[RegistrationBasis] = mapped_column(
        enum_type(RegistrationBasis, "ce_registration_basis"))
    qualification_id: Mapped[int | None] = mapped_column(sa.ForeignKey("qualifications.id"))
    passed_on: Mapped[date]
    registered_on: Mapped[date]
    certificate_number: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[CeRegistrationStatus] = mapped_column(
        enum_type(CeRegistrationStatus, "ce_registration_status"))
    # A declared registration's document, checked and stored as registration evidence is.
    document_key: Mapped[str | None] = mapped_column(sa.String(128), unique=True)
    document_type: Mapped[str | None] = mapped_column(sa.String(40))
    document_name: Mapped[str | None] = mapped_column(sa.String(120))
    document_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    periods: Mapped[list["CePeriod"]] = relationship(
        back_populates="registration", order_by="CePeriod.number")


class CePeriod(db.Model):
    """One period of validity of a registration (the first, then one per renewal)."""

    __tablename__ = "ce_periods"
    __table_args__ = (sa.UniqueConstraint("registration_id", "number"),
                      sa.CheckConstraint("ends_on > starts_on", name="dates_in_order"))

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("ce_registrations.id"))
    number: Mapped[int]  # 1, 2, ...
    starts_on: Mapped[date]
    ends_on: Mapped[date]

    registration: Mapped[CeRegistration] = relationship(back_populates="periods")


class RenewalStatus(enum.StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class CeRenewal(db.Model):
    """An application to renew a registration at the end of one period."""

    __tablename__ = "ce_renewals"
    __table_args__ = (
        # One live application per period: pending or approved (a rejected one may be
        # followed by another).
        sa.Index("uq_ce_renewals_live_period", "period_id", unique=True,
                 sqlite_where=sa.text("status IN ('PENDING', 'APPROVED')"),
                 postgresql_where=sa.text("status IN ('PENDING', 'APPROVED')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("ce_registrations.id"),
                                                 index=True)
    period_id: Mapped[int] = mapped_column(sa.ForeignKey("ce_periods.id"))
    half_hours_credited: Mapped[int]  # at application
    status: Mapped[RenewalStatus] = mapped_column(
        enum_type(RenewalStatus, "ce_renewal_status"))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_automatic: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    new_period_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ce_periods.id"))

    registration: Mapped[CeRegistration] = relationship()
    period: Mapped[CePeriod] = relationship(foreign_keys=[period_id])

    @property
    def hours_credited(self) -> Decimal:
        return _hours(self.half_hours_credited)


class CeTranscript(db.Model):
    """A signed CE transcript of one period: the record (holder, level, period, courses,
    hours) as canonical JSON, signed with the certificate keys, verified on the same
    public page by its number and code."""

    __tablename__ = "ce_transcripts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(24), unique=True)
    verification_code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    period_id: Mapped[int] = mapped_column(sa.ForeignKey("ce_periods.id"), index=True)
    payload: Mapped[str] = mapped_column(sa.Text)
    key_id: Mapped[str] = mapped_column(sa.String(40))
    signature: Mapped[str] = mapped_column(sa.String(100))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    period: Mapped[CePeriod] = relationship()
