"""Marks given to subjective exam answers: two markers each, a third when they differ
too much. A mark row is taken (claimed) when a marker opens the answer, and holds the
points per key point once submitted."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, utcnow


class Mark(db.Model):
    __tablename__ = "marks"
    __table_args__ = (
        sa.ForeignKeyConstraint(["attempt_id", "position"],
                                ["responses.attempt_id", "responses.position"]),
        # One marker per round, and never the same marker twice on one answer.
        sa.UniqueConstraint("attempt_id", "position", "round"),
        sa.UniqueConstraint("attempt_id", "position", "marker_id"),
        sa.CheckConstraint("round IN (1, 2, 3)", name="round_known"),
        sa.Index("ix_marks_session_id_submitted_at", "session_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int]
    position: Mapped[int]
    # Copied from the attempt's registration: progress is read per session.
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"))
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("items.id"))
    round: Mapped[int]  # 1 and 2: the two markers; 3: the adjudicator
    marker_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Points per key point, per sub-question, in half points; None until submitted.
    awarded: Mapped[list | None] = mapped_column(sa.JSON)
    total_halves: Mapped[int | None]
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
