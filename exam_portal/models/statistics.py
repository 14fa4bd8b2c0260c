"""Item statistics of a sitting (classical item analysis of a locked form), and the key
decisions administrators take on flagged items before the results."""

import dataclasses
import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, enum_type, utcnow
from question_bank.item_analysis import ItemStats
from question_bank.key_review import DecisionKind, VoidPolicy


class FormStatistics(db.Model):
    """A form's figures over the candidates who sat it (handed-in papers)."""

    __tablename__ = "form_statistics"

    form_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_forms.id"), primary_key=True)
    candidates: Mapped[int]
    mean_points: Mapped[float | None]
    sd_points: Mapped[float | None]
    alpha: Mapped[float | None]
    kr20: Mapped[float | None]
    sem_points: Mapped[float | None]
    # {"edges": [halves…], "counts": […]}
    distribution: Mapped[dict] = mapped_column(sa.JSON)
    pass_line_halves: Mapped[int | None]
    pass_rate: Mapped[float | None]
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ItemStatistics(db.Model):
    """One item version's figures on one form (or, with no form, over the first mock
    attempts of the open pool)."""

    __tablename__ = "item_statistics"
    __table_args__ = (
        sa.Index("uq_item_statistics_form_version", "form_id", "item_version_id", unique=True),
        sa.Index("uq_item_statistics_open_version", "item_version_id", unique=True,
                 sqlite_where=sa.text("form_id IS NULL"),
                 postgresql_where=sa.text("form_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int | None] = mapped_column(sa.ForeignKey("exam_forms.id"))
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("items.id"), index=True)
    item_version_id: Mapped[int] = mapped_column(sa.ForeignKey("item_versions.id"))
    position: Mapped[int | None]
    candidates: Mapped[int]
    facility: Mapped[float | None]
    discrimination: Mapped[float | None]
    upper_lower: Mapped[float | None]
    blank: Mapped[float | None]
    # Per option: letter, is_key, chosen, by quintile, upper, lower, point-biserial.
    options: Mapped[list] = mapped_column(sa.JSON, default=list)
    # Flag codes (question_bank.item_analysis.FlagCode) with their figures.
    flags: Mapped[list] = mapped_column(sa.JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_flagged(self) -> bool:
        return bool(self.flags)

    @staticmethod
    def figures(stats: ItemStats, flags=None) -> dict:
        """The columns that hold *stats*, with *flags* instead of its own when given."""
        return {"facility": stats.facility, "discrimination": stats.discrimination,
                "upper_lower": stats.upper_lower, "blank": stats.blank,
                "options": [dataclasses.asdict(option) for option in stats.options],
                "flags": [{"code": flag.code.value, "value": flag.value,
                           "limit": flag.limit, "option": flag.option}
                          for flag in (stats.flags if flags is None else flags)]}


class KeyDecision(db.Model):
    """What an administrator decided about one item of a form after its analysis, with
    the reason and what it did to the scores."""

    __tablename__ = "key_decisions"
    __table_args__ = (sa.UniqueConstraint("form_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_forms.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("items.id"))
    kind: Mapped[DecisionKind] = mapped_column(enum_type(DecisionKind, "key_decision_kind"))
    keys: Mapped[list] = mapped_column(sa.JSON, default=list)  # REKEY / ADD_KEY letters
    policy: Mapped[VoidPolicy | None] = mapped_column(enum_type(VoidPolicy, "void_policy"))
    reason: Mapped[str] = mapped_column(sa.String(1000))
    decided_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The rescoring it caused: candidates whose total changed, who crossed the line.
    changed: Mapped[int] = mapped_column(default=0)
    crossed_up: Mapped[int] = mapped_column(default=0)
    crossed_down: Mapped[int] = mapped_column(default=0)


class AnalysisState(enum.StrEnum):
    """Where a session's analysis stands (derived, not stored)."""

    NOT_YET = "not_yet"  # the exam window is open
    TO_RUN = "to_run"
    DONE = "done"
