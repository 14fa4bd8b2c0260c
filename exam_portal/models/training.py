"""Training programmes: what an administrator asks of a candidate (mock papers passed
per subject at a minimum score) before the portal issues its own training certificate.
Completion is never stored: it is derived from the candidate's mock papers."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, enum_type, utcnow
from question_bank.levels import Level
from question_bank.subjects import Subject
from question_bank.training import MAX_PAPERS, Requirement


class TrainingProgramme(db.Model):
    __tablename__ = "training_programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    description: Mapped[str] = mapped_column(sa.String(1000), default="")
    # The level a programme prepares for, shown on its certificates; None for one
    # that spans levels.
    level: Mapped[Level | None] = mapped_column(enum_type(Level, "level"))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    requirements: Mapped[list["TrainingRequirement"]] = relationship(
        order_by="TrainingRequirement.subject", cascade="all, delete-orphan")

    def to_domain(self) -> tuple[Requirement, ...]:
        return tuple(Requirement(r.subject, r.papers, r.min_percent) for r in self.requirements)


class TrainingRequirement(db.Model):
    """Pass *papers* mock papers of *subject*, each at *min_percent* % or more."""

    __tablename__ = "training_requirements"
    __table_args__ = (
        sa.CheckConstraint(f"papers BETWEEN 1 AND {MAX_PAPERS}", name="papers_range"),
        sa.CheckConstraint("min_percent BETWEEN 0 AND 100", name="min_percent_range"),
    )

    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("training_programmes.id"),
                                              primary_key=True)
    subject: Mapped[Subject] = mapped_column(enum_type(Subject, "subject"), primary_key=True)
    papers: Mapped[int]
    min_percent: Mapped[int]
