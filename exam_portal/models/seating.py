"""Where and when candidates sit: a session's timetable per subject, and each
registration's venue, room and seat (for all its subjects, or one subject at a time)."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, enum_type, utcnow
from question_bank.subjects import Subject


class SubjectTime(db.Model):
    """A subject's start and end in a session (its timetable, set by an administrator)."""

    __tablename__ = "subject_times"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "subject"),
        sa.CheckConstraint("starts_at < ends_at", name="subject_time_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"))
    subject: Mapped[Subject] = mapped_column(enum_type(Subject, "subject"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SeatAssignment(db.Model):
    """A registration's venue, room and seat: one row for all its subjects (subject
    NULL), or one row per subject when they are sat at different venues."""

    __tablename__ = "seat_assignments"
    __table_args__ = (
        sa.UniqueConstraint("registration_id", "subject"),
        # NULLs are distinct in a unique constraint: one "all subjects" row at most.
        sa.Index("uq_seat_assignments_whole", "registration_id", unique=True,
                 sqlite_where=sa.text("subject IS NULL"),
                 postgresql_where=sa.text("subject IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"), index=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("registrations.id"))
    subject: Mapped[Subject | None] = mapped_column(enum_type(Subject, "subject"))
    venue: Mapped[str] = mapped_column(sa.String(100))
    address: Mapped[str] = mapped_column(sa.String(200))
    room: Mapped[str] = mapped_column(sa.String(40))
    seat: Mapped[str] = mapped_column(sa.String(20))
    # The subject's start at this venue, when it differs from the session's timetable.
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
