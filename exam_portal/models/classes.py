"""Classes of training institutions, their candidates and their assignments."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, enum_type, utcnow
from question_bank.assignments import (
    ASSIGNMENT_TITLE_MAX_CHARS,
    CLASS_NAME_MAX_CHARS,
    CODE_LENGTH,
    AssignmentKind,
    EnrolmentStatus,
)
from question_bank.levels import Level
from question_bank.subjects import Subject


class TrainingClass(db.Model):
    """A class (培训班) a trainer of an institution opened; candidates join it with its
    code (or accept an invitation from an imported list). Every trainer of the
    institution may run it."""

    __tablename__ = "training_classes"
    __table_args__ = (
        sa.CheckConstraint("starts_on <= ends_on", name="class_dates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(CLASS_NAME_MAX_CHARS))
    level: Mapped[Level] = mapped_column(enum_type(Level, "level"))
    # The exam session it prepares for, if any.
    exam_session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("exam_sessions.id"))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    # The invitation code (and link); a new one can be drawn, which voids the old.
    join_code: Mapped[str] = mapped_column(sa.String(CODE_LENGTH), unique=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Closed classes take no new candidates or assignments; they stay readable.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    institution = relationship("Institution")

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class ClassEnrolment(db.Model):
    """A candidate in a class. Only ENROLLED rows share anything with the trainers: the
    candidate confirmed it (consented_at)."""

    __tablename__ = "class_enrolments"

    class_id: Mapped[int] = mapped_column(sa.ForeignKey("training_classes.id"),
                                          primary_key=True)
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True,
                                              index=True)
    status: Mapped[EnrolmentStatus] = mapped_column(
        enum_type(EnrolmentStatus, "enrolment_status"))
    # Set for a candidate imported from a list: who invited them and when.
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    training_class = relationship("TrainingClass")


class ClassInvitation(db.Model):
    """An invitation to a class by e-mail address, as the trainer's list gives it (the
    address normalised like a login, the name as typed). It says nothing of whether an
    account exists: a candidate whose address matches (now or after signing up) sees it
    and accepts it (with consent, making their enrolment) or declines it; a trainer may
    withdraw it while it is pending."""

    __tablename__ = "class_invitations"
    __table_args__ = (
        sa.UniqueConstraint("class_id", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(sa.ForeignKey("training_classes.id"))
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    name: Mapped[str] = mapped_column(sa.String(80), default="")
    invited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    training_class = relationship("TrainingClass")

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.declined_at is None \
            and self.withdrawn_at is None


class ClassAssignment(db.Model):
    """Work a class's trainer set: a chapter practice set, a mock paper by the subject's
    mock spec, or a released past paper, due at an instant."""

    __tablename__ = "class_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(sa.ForeignKey("training_classes.id"), index=True)
    kind: Mapped[AssignmentKind] = mapped_column(enum_type(AssignmentKind, "assignment_kind"))
    title: Mapped[str] = mapped_column(sa.String(ASSIGNMENT_TITLE_MAX_CHARS))
    subject: Mapped[Subject] = mapped_column(enum_type(Subject, "subject"))
    # PRACTICE: the chapter codes and the number of items.
    chapters: Mapped[list] = mapped_column(sa.JSON, default=list)
    item_count: Mapped[int | None]
    # PAST_PAPER: the released exam form.
    form_id: Mapped[int | None] = mapped_column(sa.ForeignKey("exam_forms.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Withdrawn assignments disappear from the candidates' lists (attempts stay).
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    training_class = relationship("TrainingClass")


class AssignmentAttempt(db.Model):
    """The one attempt a candidate started for an assignment: completion and score are
    read from it exactly (a double start finds this row and gets the same attempt)."""

    __tablename__ = "assignment_attempts"

    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("class_assignments.id"),
                                               primary_key=True)
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True,
                                              index=True)
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("attempts.id"), unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)

    attempt = relationship("Attempt")
