"""Exam sessions (sittings), their pass lines, registrations (报名), subject results and
the qualifications they add up to."""

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, enum_type, utcnow
from question_bank import pass_rules
from question_bank.key_review import VoidPolicy
from question_bank.levels import Level
from question_bank.subjects import Subject


class SessionMode(enum.StrEnum):
    ONLINE = "ONLINE"  # sat on this portal with the delivery engine
    PAPER = "PAPER"  # sat on paper; subject scores are imported


class VerificationMode(enum.StrEnum):
    BEFORE_EXAM = "before_exam"  # only verified registrations may sit
    AFTER_EXAM = "after_exam"  # declared ones sit; results wait for verification


class RegistrationStatus(enum.StrEnum):
    DECLARED = "DECLARED"  # self-declared (告知承诺), not yet checked
    VERIFIED = "VERIFIED"
    REJECTED = "REJECTED"


class ExamSession(db.Model):
    """One sitting of the exam: its windows, cutoffs, mode and pass lines."""

    __tablename__ = "exam_sessions"
    __table_args__ = (
        sa.CheckConstraint("registration_opens_at < registration_closes_at",
                           name="registration_window"),
        sa.CheckConstraint("exam_opens_at < exam_closes_at", name="exam_window"),
        sa.CheckConstraint("fee_per_subject_fen >= 0", name="fee_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(200))
    levels: Mapped[list] = mapped_column(sa.JSON)  # Level values
    registration_opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    registration_closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    exam_opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    exam_closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mode: Mapped[SessionMode] = mapped_column(enum_type(SessionMode, "session_mode"))
    syllabus_version: Mapped[str] = mapped_column(sa.String(10))
    law_cutoff: Mapped[date]
    experience_cutoff: Mapped[date]
    verification_mode: Mapped[VerificationMode] = mapped_column(
        enum_type(VerificationMode, "verification_mode"))
    # Admission numbers handed out so far (the serial part of the next one).
    admission_serial: Mapped[int] = mapped_column(default=0)
    results_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The exam fee (考试费) per subject, in fen (0: no fee), and the moment unpaid
    # registrations lapse (None: they never do). Set on the session's payments page.
    fee_per_subject_fen: Mapped[int] = mapped_column(default=0, server_default="0")
    payment_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How a voided item counts after the key review: credit for everyone, or dropped
    # from the paper with totals prorated to the full marks.
    void_policy: Mapped[VoidPolicy] = mapped_column(
        enum_type(VoidPolicy, "void_policy"), default=VoidPolicy.CREDIT_ALL,
        server_default=VoidPolicy.CREDIT_ALL.value)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    pass_lines: Mapped[list["PassLine"]] = relationship(
        cascade="all, delete-orphan", order_by="PassLine.id")

    @property
    def level_set(self) -> tuple[Level, ...]:
        return tuple(Level(value) for value in self.levels)


class PassLine(db.Model):
    """A subject's pass line in a session; region "" is the national line."""

    __tablename__ = "pass_lines"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "subject", "region"),
        sa.CheckConstraint("line_halves >= 0", name="line_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"), index=True)
    subject: Mapped[Subject] = mapped_column(enum_type(Subject, "subject"))
    region: Mapped[str] = mapped_column(sa.String(6), default="")
    line_halves: Mapped[int]


class Registration(db.Model):
    """A candidate's registration (报名) for one level of one session."""

    __tablename__ = "registrations"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "candidate_id", "level"),
        sa.Index("ix_registrations_session_id_status", "session_id", "status"),
        # One level per candidate and session: the levels' subjects sit at the same
        # times. A rejected registration leaves the candidate free to choose again.
        sa.Index("uq_registrations_one_level", "session_id", "candidate_id", unique=True,
                 sqlite_where=sa.text("status != 'REJECTED'"),
                 postgresql_where=sa.text("status != 'REJECTED'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"))
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    level: Mapped[Level] = mapped_column(enum_type(Level, "level"))
    region: Mapped[str] = mapped_column(sa.String(6))  # the exam area (GB/T 2260 code)
    route_code: Mapped[str] = mapped_column(sa.String(40))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[RegistrationStatus] = mapped_column(
        enum_type(RegistrationStatus, "registration_status"),
        default=RegistrationStatus.DECLARED)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_note: Mapped[str | None] = mapped_column(sa.String(500))
    admission_number: Mapped[str] = mapped_column(sa.String(20), unique=True)

    session: Mapped[ExamSession] = relationship()
    candidate = relationship("User", foreign_keys=[candidate_id])


class ResultSource(enum.StrEnum):
    ONLINE = "ONLINE"  # marked from an attempt sat on the portal
    PAPER = "PAPER"  # imported from a paper sitting


class SubjectResult(db.Model):
    """A registration's score in one subject and whether it passed (by which line)."""

    __tablename__ = "subject_results"
    __table_args__ = (
        sa.UniqueConstraint("registration_id", "subject"),
        sa.Index("ix_subject_results_candidate_id_year", "candidate_id", "year"),
        sa.CheckConstraint("score_halves >= 0", name="score_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("registrations.id"))
    # Copied from the registration: the rolling windows read results by candidate and year.
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    year: Mapped[int]
    subject: Mapped[Subject] = mapped_column(enum_type(Subject, "subject"))
    score_halves: Mapped[int]
    full_halves: Mapped[int] = mapped_column(default=200)
    source: Mapped[ResultSource] = mapped_column(enum_type(ResultSource, "result_source"))
    attempt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attempts.id"))
    # Filled when results are computed: the line applied, and the region when the
    # subject passed only on that region's own line.
    line_halves: Mapped[int | None]
    passed: Mapped[bool | None]
    passed_region: Mapped[str | None] = mapped_column(sa.String(6))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QualificationStatus(enum.StrEnum):
    ACHIEVED = "ACHIEVED"
    PENDING_VERIFICATION = "PENDING_VERIFICATION"  # after_exam: registration not yet verified
    AWAITING_REVIEW = "AWAITING_REVIEW"  # 高级: passed the exam, the review (评审) is next
    REVIEW_FAILED = "REVIEW_FAILED"


class Qualification(db.Model):
    """A level a candidate has qualified for, by the pass rules (one per level)."""

    __tablename__ = "qualifications"
    __table_args__ = (sa.UniqueConstraint("candidate_id", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    level: Mapped[Level] = mapped_column(enum_type(Level, "level"))
    year: Mapped[int]
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"), index=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("registrations.id"))
    region: Mapped[str | None] = mapped_column(sa.String(6))  # valid only in this region
    status: Mapped[QualificationStatus] = mapped_column(
        enum_type(QualificationStatus, "qualification_status"))
    # 高级: the pass proof's issue date, the day the results were published; it supports
    # a review for three years from that day.
    proof_issued_on: Mapped[date | None]
    review_recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    review_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def proof_last_day(self) -> date | None:
        """The last day the 高级 pass proof supports a review (None before it is issued)."""
        if self.proof_issued_on is None:
            return None
        return pass_rules.senior_proof_last_day(self.proof_issued_on)
