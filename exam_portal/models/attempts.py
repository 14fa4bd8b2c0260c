"""Attempts: a drawn paper, the candidate's responses to it, and its result."""

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, enum_type, utcnow
from question_bank.practice import Mode
from question_bank.subjects import Subject


class AttemptStatus(enum.StrEnum):
    IN_PROGRESS = "IN_PROGRESS"
    SUBMITTED = "SUBMITTED"


class EndedBy(enum.StrEnum):
    CANDIDATE = "CANDIDATE"  # the candidate submitted
    DEADLINE = "DEADLINE"  # time ran out: submitted with what was saved


class Attempt(db.Model):
    """One sitting of a paper or practice set by one candidate.

    Points are stored as half-points (integers): multiple-choice partial credit and
    subjective marks move in 0.5 steps, and floats would drift.
    """

    __tablename__ = "attempts"
    __table_args__ = (
        sa.Index("ix_attempts_candidate_id_started_at", "candidate_id", "started_at"),
        sa.Index("ix_attempts_status_deadline_at", "status", "deadline_at"),
        # One unfinished mock paper per candidate and subject: parallel "start" clicks
        # cannot open several.
        sa.Index("uq_attempts_open_mock", "candidate_id", "subject", unique=True,
                 sqlite_where=sa.text("status = 'IN_PROGRESS' AND mode = 'MOCK'"),
                 postgresql_where=sa.text("status = 'IN_PROGRESS' AND mode = 'MOCK'")),
        # The exam papers handed in and not marked yet: what the marking run looks for.
        sa.Index("ix_attempts_unmarked", "id",
                 sqlite_where=sa.text("status = 'SUBMITTED' AND marked_at IS NULL"),
                 postgresql_where=sa.text("status = 'SUBMITTED' AND marked_at IS NULL")),
        # A registered candidate sits each subject of an exam session once.
        sa.UniqueConstraint("registration_id", "subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    mode: Mapped[Mode] = mapped_column(enum_type(Mode, "attempt_mode"))
    subject: Mapped[Subject] = mapped_column(enum_type(Subject, "subject"))
    spec_version: Mapped[str] = mapped_column(sa.String(10))
    spec_variant: Mapped[str | None] = mapped_column(sa.String(10))
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    # Set for an exam sitting (Mode.EXAM): the registration it belongs to.
    registration_id: Mapped[int | None] = mapped_column(sa.ForeignKey("registrations.id"))
    # The locked exam form a sitting was built from (item analysis reads a form's papers).
    form_id: Mapped[int | None] = mapped_column(sa.ForeignKey("exam_forms.id"), index=True)
    chapters: Mapped[list] = mapped_column(sa.JSON, default=list)
    law_cutoff: Mapped[date | None]
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When its choice answers were marked: at hand-in, except an exam paper (its marks
    # are not shown before the results), which the marking run marks after the hand-in.
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[AttemptStatus] = mapped_column(
        enum_type(AttemptStatus, "attempt_status"), default=AttemptStatus.IN_PROGRESS)
    ended_by: Mapped[EndedBy | None] = mapped_column(enum_type(EndedBy, "ended_by"))
    # The device (browser page) that holds the attempt; opening it elsewhere takes over.
    device_token: Mapped[str] = mapped_column(sa.String(32))
    score_halves: Mapped[int | None]
    full_halves: Mapped[int]
    pass_halves: Mapped[int]
    passed: Mapped[bool | None]
    # Candidates' own marks for subjective answers: kept apart, never counted.
    self_score_halves: Mapped[int | None]

    items: Mapped[list["AttemptItem"]] = relationship(
        order_by="AttemptItem.position", cascade="all, delete-orphan")

    @property
    def is_open(self) -> bool:
        return self.status is AttemptStatus.IN_PROGRESS


class AttemptItem(db.Model):
    """The item version at one position of an attempt, and the order its options show in."""

    __tablename__ = "attempt_items"

    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("attempts.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    section: Mapped[str] = mapped_column(sa.String(20))
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("items.id"), index=True)
    item_version_id: Mapped[int] = mapped_column(sa.ForeignKey("item_versions.id"))
    chapter_code: Mapped[str] = mapped_column(sa.String(40))
    option_order: Mapped[str] = mapped_column(sa.String(5))
    points_halves: Mapped[int]

    version = relationship("ItemVersion")


class Response(db.Model):
    """The candidate's answer at one position: the newest save by client sequence number."""

    __tablename__ = "responses"
    __table_args__ = (
        sa.ForeignKeyConstraint(["attempt_id", "position"],
                                ["attempt_items.attempt_id", "attempt_items.position"]),
        sa.CheckConstraint("seq >= 0", name="seq_not_negative"),
    )

    attempt_id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    # The item's own option letters, sorted ("ACD"); "" is a cleared answer.
    selected: Mapped[str | None] = mapped_column(sa.String(5))
    text: Mapped[str | None] = mapped_column(sa.Text)
    is_flagged: Mapped[bool] = mapped_column(default=False)
    seq: Mapped[int]
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Practice: once the key is shown the answer can no longer change.
    is_locked: Mapped[bool] = mapped_column(default=False)
    score_halves: Mapped[int | None]
    self_score_halves: Mapped[int | None]


class ReviewCard(db.Model):
    """A candidate's card for one item in spaced review (间隔复习), scheduled by FSRS.

    An item answered wrong gets one (and is in the wrong-answer book, 错题本); so does a
    bookmarked item the candidate adds. Every later marked answer reviews it
    (review_logs keeps the history that replays to this state).
    """

    __tablename__ = "review_cards"
    __table_args__ = (
        # The daily queue: a candidate's cards in due order.
        sa.Index("ix_review_cards_candidate_id_due", "candidate_id", "due"),
    )

    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("items.id"), primary_key=True)
    subject: Mapped[Subject] = mapped_column(enum_type(Subject, "subject"))
    # FSRS state: 1 learning, 2 review, 3 relearning (fsrs.State).
    state: Mapped[int] = mapped_column(sa.SmallInteger)
    step: Mapped[int | None]
    stability: Mapped[float | None] = mapped_column(sa.Float)
    difficulty: Mapped[float | None] = mapped_column(sa.Float)
    due: Mapped[datetime] = mapped_column(UTCDateTime)
    last_review: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviews: Mapped[int] = mapped_column(default=0)
    # In the wrong-answer book: answered wrong at least once (bookmarked cards are not).
    in_book: Mapped[bool]
    times_wrong: Mapped[int] = mapped_column(default=0)
    last_wrong_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The candidate's latest marked answer (the item's own option letters), shown
    # beside the key in the wrong-answer book.
    last_selected: Mapped[str | None] = mapped_column(sa.String(5))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewLog(db.Model):
    """One review of a card: the rating a marked answer gave it, and where it was given."""

    __tablename__ = "review_logs"
    __table_args__ = (
        sa.Index("ix_review_logs_candidate_id_item_id", "candidate_id", "item_id"),
        sa.Index("ix_review_logs_attempt_id_position", "attempt_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("items.id"))
    rating: Mapped[int] = mapped_column(sa.SmallInteger)  # fsrs.Rating: 1 again … 4 easy
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attempts.id"))
    position: Mapped[int | None]


class Bookmark(db.Model):
    """An item a candidate marked to come back to (收藏)."""

    __tablename__ = "bookmarks"

    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("items.id"), primary_key=True)
    subject: Mapped[Subject] = mapped_column(enum_type(Subject, "subject"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BankRevision(db.Model):
    """A token per subject, replaced whenever its published items change: app servers
    compare it to bring their cached drawing pools up to date. Random, so a restored or
    emptied database never repeats a value a server has cached; *number* counts the
    changes, and bank_changes says which items each one touched."""

    __tablename__ = "bank_revisions"

    subject: Mapped[Subject] = mapped_column(enum_type(Subject, "subject"), primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(32))
    number: Mapped[int] = mapped_column(default=0, server_default="0")


class BankChange(db.Model):
    """An item whose published version changed in revision *number* of its subject's
    bank (published, superseded, retired, relinked), with that revision's token; no
    item means the whole subject. A cached pool applies the changes since the
    revision it was built at instead of reading the whole subject again. Only the
    newest revisions are kept (pools.KEPT_REVISIONS)."""

    __tablename__ = "bank_changes"
    __table_args__ = (sa.Index("ix_bank_changes_subject_number", "subject", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[Subject] = mapped_column(enum_type(Subject, "subject"))
    number: Mapped[int]
    token: Mapped[str] = mapped_column(sa.String(32))
    item_id: Mapped[int | None]
