"""Mock contests (模考大赛): one paper for everyone in a window, ranked afterwards."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, enum_type, utcnow
from question_bank.items import ItemType
from question_bank.subjects import Subject


class Contest(db.Model):
    """A contest paper of one subject, open to start between opens_at and closes_at
    with the exam's own time; starts after the window are late and not ranked."""

    __tablename__ = "contests"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    subject: Mapped[Subject] = mapped_column(enum_type(Subject, "subject"))
    # The released past paper it copies, or None: drawn from the open pool by the
    # subject's mock spec when it was scheduled.
    source_form_id: Mapped[int | None] = mapped_column(sa.ForeignKey("exam_forms.id"))
    spec_variant: Mapped[str | None] = mapped_column(sa.String(20))
    minutes: Mapped[int]
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ranked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ranked_sitters: Mapped[int] = mapped_column(default=0)

    items = relationship("ContestItem", order_by="ContestItem.position",
                         cascade="all, delete-orphan")

    @property
    def ends_at(self) -> datetime:
        """When the last paper started in the window runs out of time."""
        return self.closes_at + timedelta(minutes=self.minutes)


class ContestItem(db.Model):
    """One position of the contest paper (as a locked form's)."""

    __tablename__ = "contest_items"

    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contests.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    section: Mapped[str] = mapped_column(sa.String(20))
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("items.id"))
    item_version_id: Mapped[int] = mapped_column(sa.ForeignKey("item_versions.id"))
    item_type: Mapped[ItemType] = mapped_column(enum_type(ItemType, "item_type"))
    chapter_code: Mapped[str] = mapped_column(sa.String(40))
    points_halves: Mapped[int]
    option_count: Mapped[int] = mapped_column(default=0)
    fixed_order: Mapped[bool] = mapped_column(default=False)


class ContestEntry(db.Model):
    """A candidate's one paper of a contest, and where they stood when they started."""

    __tablename__ = "contest_entries"

    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contests.id"), primary_key=True)
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("attempts.id"), unique=True)
    province: Mapped[str | None] = mapped_column(sa.String(6))  # from their profile
    late: Mapped[bool]  # started after the window: never ranked
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when the paper is marked: its score, and "1" or "0" per contest position
    # (right or not), from which a ranking counts each item's national correct rate
    # without reading every sitter's answers again.
    score_halves: Mapped[int | None]
    right_mask: Mapped[str | None] = mapped_column(sa.Text)


class ContestStanding(db.Model):
    """A ranked entry's place, written anew by each ranking."""

    __tablename__ = "contest_standings"
    __table_args__ = (sa.Index("ix_contest_standings_contest_id_rank", "contest_id", "rank"),)

    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contests.id"), primary_key=True)
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    score_halves: Mapped[int]
    rank: Mapped[int]
    below: Mapped[int]
    province_rank: Mapped[int | None]
    province_below: Mapped[int | None]
    province_sitters: Mapped[int | None]


class ContestItemRate(db.Model):
    """How many ranked sitters answered an item of the contest fully right."""

    __tablename__ = "contest_item_rates"

    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contests.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("items.id"), primary_key=True)
    right: Mapped[int]
    answered: Mapped[int]  # every ranked sitter: a blank answer counts as not right
