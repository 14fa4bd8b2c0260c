"""Exam forms: the one paper of a subject every candidate of a session sits, built from
an assembly plan (组卷方案 / 双向细目表) out of the secure pool and locked before the exam."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, enum_type, utcnow
from question_bank.subjects import Subject


class FormStatus(enum.StrEnum):
    DRAFT = "DRAFT"  # built, may be rebuilt or discarded
    LOCKED = "LOCKED"  # reviewed: nothing in it changes any more


class AssemblyPlan(db.Model):
    """What a form must hold: item counts per item type × chapter, the range of its mean
    facility, enemy items, how recently used items rest, and parallel forms."""

    __tablename__ = "assembly_plans"
    __table_args__ = (
        sa.CheckConstraint("facility_min >= 0 AND facility_min <= facility_max "
                           "AND facility_max <= 1", name="facility_range"),
        sa.CheckConstraint("rest_sessions >= 0", name="rest_not_negative"),
        sa.CheckConstraint("form_count BETWEEN 1 AND 4", name="form_count_range"),
        sa.CheckConstraint("max_overlap >= 0", name="overlap_not_negative"),
        sa.UniqueConstraint("session_id", "subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"), index=True)
    subject: Mapped[Subject] = mapped_column(enum_type(Subject, "subject"))
    # [{"type": "SINGLE", "chapter": "1", "count": 5}, ...]
    cells: Mapped[list] = mapped_column(sa.JSON)
    facility_min: Mapped[float]
    facility_max: Mapped[float]
    # Items on a locked form of any of the last N sessions sit this one out.
    rest_sessions: Mapped[int] = mapped_column(default=1)
    # Groups of item ids of which a form holds at most one.
    enemies: Mapped[list] = mapped_column(sa.JSON, default=list)
    form_count: Mapped[int] = mapped_column(default=1)
    max_overlap: Mapped[int] = mapped_column(default=0)
    updated_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ExamForm(db.Model):
    """One form of a subject in a session (A, B, … when parallel forms are built)."""

    __tablename__ = "exam_forms"
    __table_args__ = (sa.UniqueConstraint("session_id", "subject", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"), index=True)
    subject: Mapped[Subject] = mapped_column(enum_type(Subject, "subject"))
    label: Mapped[str] = mapped_column(sa.String(2))
    status: Mapped[FormStatus] = mapped_column(enum_type(FormStatus, "form_status"),
                                               default=FormStatus.DRAFT)
    spec_version: Mapped[str] = mapped_column(sa.String(10))
    spec_variant: Mapped[str | None] = mapped_column(sa.String(10))
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    # SHA-256 over every position's item version, its content hash and its points:
    # written to the audit log at locking, and checked again when a process first
    # seats a candidate at the form.
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))
    built_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Released to the open pool as past papers (历年真题): for good.
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list["ExamFormItem"]] = relationship(
        order_by="ExamFormItem.position", cascade="all, delete-orphan")

    @property
    def is_locked(self) -> bool:
        return self.status is FormStatus.LOCKED


class ExamFormItem(db.Model):
    """The item version at one position of a form."""

    __tablename__ = "exam_form_items"
    __table_args__ = (sa.UniqueConstraint("form_id", "item_id"),)

    form_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_forms.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    section: Mapped[str] = mapped_column(sa.String(20))
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("items.id"), index=True)
    item_version_id: Mapped[int] = mapped_column(sa.ForeignKey("item_versions.id"))
    chapter_code: Mapped[str] = mapped_column(sa.String(40))
    points_halves: Mapped[int]

    version = relationship("ItemVersion")
