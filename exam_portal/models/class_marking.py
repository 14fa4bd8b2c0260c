"""Trainers' marks on subjective answers written for a class's assignments (practice
marking): one mark per answer, with points and written feedback per key point."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, utcnow


class PracticeMark(db.Model):
    """A class trainer's mark on one answer (a case analysis, a plan design) of a paper
    a candidate started from the class's assignment. Single marking: the unique key
    lets exactly one trainer's mark in, however many submit at once; the marker may
    correct it afterwards."""

    __tablename__ = "practice_marks"
    __table_args__ = (
        sa.ForeignKeyConstraint(["attempt_id", "position"],
                                ["responses.attempt_id", "responses.position"]),
        sa.UniqueConstraint("attempt_id", "position"),
        sa.CheckConstraint("total_halves >= 0", name="total_not_negative"),
        # A class's marks, newest first (the marked list, the dashboard's counts).
        sa.Index("ix_practice_marks_class_id_marked_at", "class_id", "marked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int]
    position: Mapped[int]
    # Copied from the attempt's assignment when marked: the class whose trainers mark.
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("class_assignments.id"))
    class_id: Mapped[int] = mapped_column(sa.ForeignKey("training_classes.id"))
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("items.id"))
    marker_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    # Per sub-question, per key point: half points, and the trainer's comment ("" none).
    awarded: Mapped[list] = mapped_column(sa.JSON)
    feedback: Mapped[list] = mapped_column(sa.JSON)
    total_halves: Mapped[int]
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
