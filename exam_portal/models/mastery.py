"""Mastery of knowledge points: each candidate's standing per syllabus node, and the
knowledge-tracing parameters fitted from the portal's answers."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, enum_type, utcnow
from question_bank.subjects import Subject


class KnowledgeMastery(db.Model):
    """A candidate's answers to items linked to one syllabus node, and the probability
    that they know it (question_bank.mastery), as of their latest marked answer."""

    __tablename__ = "knowledge_mastery"

    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    syllabus_version: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    subject: Mapped[Subject] = mapped_column(enum_type(Subject, "subject"))
    chapter_code: Mapped[str] = mapped_column(sa.String(40))
    p_known: Mapped[float] = mapped_column(sa.Float)
    answered: Mapped[int] = mapped_column(default=0)
    right: Mapped[int] = mapped_column(default=0)
    # An answer to an item linked to k nodes counts 1/k at each: summed over a chapter
    # or subject they count every answer once, however its item is linked.
    answer_share: Mapped[float] = mapped_column(sa.Float, default=0, server_default="0")
    right_share: Mapped[float] = mapped_column(sa.Float, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MasteryModel(db.Model):
    """Knowledge-tracing parameters fitted by `flask attempts fit-mastery`; the newest
    is in use (the built-in defaults before the first fit)."""

    __tablename__ = "mastery_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    parameters: Mapped[dict] = mapped_column(sa.JSON)
    # Per item type: answers held out, log loss, Brier score, AUC, and the baseline's.
    quality: Mapped[dict] = mapped_column(sa.JSON)
    sequences: Mapped[int]
    answers: Mapped[int]
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StudyGoal(db.Model):
    """The exam date a candidate plans for when no registration gives one."""

    __tablename__ = "study_goals"

    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    exam_day: Mapped[date]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
