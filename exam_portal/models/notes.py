"""What candidates keep and send about items: private notes (笔记) and error reports (纠错)."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, enum_type, utcnow
from question_bank.item_feedback import (
    NOTE_MAX_CHARS,
    REPLY_MAX_CHARS,
    REPORT_MAX_CHARS,
    ReportKind,
    ReportStatus,
)


class ItemNote(db.Model):
    """A candidate's own note on an item, whichever version they saw: read by nobody else."""

    __tablename__ = "item_notes"
    __table_args__ = (
        sa.CheckConstraint(f"length(text) BETWEEN 1 AND {NOTE_MAX_CHARS}", name="text_length"),
    )

    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("items.id"), primary_key=True)
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


_OPEN = f"status = '{ReportStatus.OPEN.value}'"


class ErrorReport(db.Model):
    """A candidate's report of an error in an item (纠错), against the version they saw,
    until a trainer resolves it with a reply."""

    __tablename__ = "error_reports"
    __table_args__ = (
        # One open report per candidate and item: a second click, or two at once,
        # cannot file it twice.
        sa.Index("uq_error_reports_open", "candidate_id", "item_id", unique=True,
                 sqlite_where=sa.text(_OPEN), postgresql_where=sa.text(_OPEN)),
        # The trainers' list, newest first per status; the candidate's own list.
        sa.Index("ix_error_reports_status_created_at", "status", "created_at"),
        sa.Index("ix_error_reports_candidate_id_created_at", "candidate_id", "created_at"),
        sa.CheckConstraint(f"length(text) BETWEEN 1 AND {REPORT_MAX_CHARS}",
                           name="text_length"),
        sa.CheckConstraint(
            f"({_OPEN} AND resolved_at IS NULL AND reply IS NULL) OR "
            f"(status <> '{ReportStatus.OPEN.value}' AND resolved_at IS NOT NULL "
            f"AND resolved_by_id IS NOT NULL AND length(reply) BETWEEN 1 AND {REPLY_MAX_CHARS})",
            name="resolution"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("items.id"), index=True)
    # The version on the candidate's page when they wrote the report.
    item_version_id: Mapped[int] = mapped_column(sa.ForeignKey("item_versions.id"))
    kind: Mapped[ReportKind] = mapped_column(enum_type(ReportKind, "report_kind"))
    text: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[ReportStatus] = mapped_column(enum_type(ReportStatus, "report_status"),
                                                 default=ReportStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reply: Mapped[str | None] = mapped_column(sa.Text)
    # When the candidate first saw the reply on their list (the dashboard counts the rest).
    reply_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
