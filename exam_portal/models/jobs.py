"""Background jobs: long administrative work (a session's results, bulk certificates)
with its progress and final summary, whichever runner carries it out."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, enum_type, utcnow


class JobStatus(enum.StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class Job(db.Model):
    """One run of a job kind on one target (e.g. the results of exam session 12)."""

    __tablename__ = "jobs"
    __table_args__ = (
        sa.Index("ix_jobs_kind_target_id", "kind", "target_id"),
        # The same work on the same target is under way at most once.
        sa.Index("uq_jobs_active_kind_target", "kind", "target_id", unique=True,
                 sqlite_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
                 postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(60))
    target_id: Mapped[int | None]
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[JobStatus] = mapped_column(enum_type(JobStatus, "job_status"),
                                              default=JobStatus.QUEUED)
    # Progress: a phase key the job page names, and units done out of total.
    phase: Mapped[str | None] = mapped_column(sa.String(40))
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None]
    summary: Mapped[dict | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.String(1000))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Moved on at every progress report: a running job that stops reporting has died.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by = relationship("User")

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)
