"""The item bank: items, their immutable versions, syllabus links, tags and reviews."""

import enum
import hashlib
import json
import secrets
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_portal.extensions import db
from exam_portal.models.types import UTCDateTime, enum_type, utcnow
from question_bank.formats.records import from_record, to_record
from question_bank.items import ItemContent, ItemType
from question_bank.subjects import Subject
from question_bank.workflow import ItemStatus

# Built by a migration, per database, outside the ORM metadata: an FTS5 table on
# SQLite, a pg_trgm GIN index on PostgreSQL. Schema comparisons leave them alone.
SEARCH_TABLE = "item_search"
SEARCH_INDEX = "ix_item_versions_search_trgm"


def is_search_structure(name: str | None, kind: str) -> bool:
    """True for the search index objects that live outside the model metadata."""
    if kind == "table":
        return bool(name) and (name == SEARCH_TABLE or name.startswith(SEARCH_TABLE + "_"))
    return kind == "index" and name == SEARCH_INDEX


class ItemPool(enum.StrEnum):
    """Where an item may be used: the open pool is practised on; the secure pool is
    exam content, seen only by exam authors and administrators until it is released."""

    OPEN = "OPEN"
    SECURE = "SECURE"


class ReviewDecision(enum.StrEnum):
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


def new_external_id() -> str:
    """An external id for an item that has none of its own (written in the editor, or
    imported from a file without ids): random, so an id exported from another portal
    can never name an item of this one, and stable, so exporting and importing the
    item again updates it instead of adding a copy."""
    return f"item-{secrets.token_hex(8)}"


class Item(db.Model):
    """A stable identity for an item; what it says lives in its versions."""

    __tablename__ = "items"
    __table_args__ = (
        sa.Index("ix_items_subject_status", "subject", "status"),
        # The imported drafts still holding a file's defaults (a few, in a large bank).
        sa.Index("ix_items_needs_completing", "id",
                 sqlite_where=sa.text("defaulted_fields <> ''"),
                 postgresql_where=sa.text("defaulted_fields <> ''")),
        # Items not published (drafts, retired): few beside the published bank, and what
        # the review counts leave out of a candidate's cards.
        sa.Index("ix_items_unpublished", "id",
                 sqlite_where=sa.text("published_version_id IS NULL"),
                 postgresql_where=sa.text("published_version_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Every item has one (the services give it); nullable only in the schema, which
    # predates the rule.
    external_id: Mapped[str | None] = mapped_column(sa.String(100), unique=True,
                                                    default=new_external_id)
    subject: Mapped[Subject] = mapped_column(enum_type(Subject, "subject"))
    item_type: Mapped[ItemType] = mapped_column(enum_type(ItemType, "item_type"))
    pool: Mapped[ItemPool] = mapped_column(enum_type(ItemPool, "item_pool"),
                                           default=ItemPool.OPEN, server_default="OPEN")
    # The status of the newest version, kept here so the list filters on one table.
    status: Mapped[ItemStatus] = mapped_column(enum_type(ItemStatus, "item_status"))
    # Fields of the newest version that hold an import file's defaults, not what the
    # question said ("subject,difficulty,syllabus,explanation"): the item needs
    # completing, and is not submitted for review or published until it is.
    defaulted_fields: Mapped[str] = mapped_column(sa.String(100), default="",
                                                  server_default="")
    current_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("item_versions.id", use_alter=True, name="fk_items_current_version_id")
    )
    # The version candidates get; it stays until a newer version is approved.
    published_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("item_versions.id", use_alter=True, name="fk_items_published_version_id")
    )
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    current_version: Mapped["ItemVersion | None"] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )
    published_version: Mapped["ItemVersion | None"] = relationship(
        foreign_keys=[published_version_id], post_update=True
    )
    versions: Mapped[list["ItemVersion"]] = relationship(
        back_populates="item", foreign_keys="ItemVersion.item_id", order_by="ItemVersion.number"
    )

    @property
    def needs_completing(self) -> tuple[str, ...]:
        """The fields still holding an import file's defaults (empty when none)."""
        return tuple(name for name in (self.defaulted_fields or "").split(",") if name)


class ItemVersion(db.Model):
    """One immutable wording of an item; attempts and papers point at a version."""

    __tablename__ = "item_versions"
    __table_args__ = (
        sa.UniqueConstraint("item_id", "number"),
        sa.CheckConstraint("difficulty BETWEEN 1 AND 5", name="difficulty_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("items.id"), index=True)
    number: Mapped[int]
    status: Mapped[ItemStatus] = mapped_column(enum_type(ItemStatus, "item_status"))
    content: Mapped[dict] = mapped_column(sa.JSON)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    syllabus_version: Mapped[str] = mapped_column(sa.String(10))
    chapter_code: Mapped[str] = mapped_column(sa.String(40), index=True)
    difficulty: Mapped[int]
    # Read from the content so paper assembly never parses it: option order, the points
    # of a subjective item, and the dates the rule a law item tests was in force.
    fixed_order: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    points_halves: Mapped[int | None]
    law_valid_from: Mapped[date | None]
    law_valid_to: Mapped[date | None]
    # Stem, options, sub-questions, key points, tags, statute: the trainers' text search.
    search_text: Mapped[str] = mapped_column(sa.Text)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    item: Mapped[Item] = relationship(back_populates="versions", foreign_keys=[item_id])
    links: Mapped[list["ItemLink"]] = relationship(cascade="all, delete-orphan")
    reviews: Mapped[list["ItemReview"]] = relationship(order_by="ItemReview.id")

    def to_domain(self) -> ItemContent:
        record = from_record(self.content, 0)
        if record.content is None:  # stored content was validated when written
            raise ValueError(f"item version {self.id} holds invalid content")
        return record.content

    def set_content(self, content: ItemContent, chapter_of) -> None:
        """Store *content* and everything derived from it."""
        columns, links = version_columns(content, chapter_of)
        for name, value in columns.items():
            setattr(self, name, value)
        self.links = [ItemLink(code=code, chapter_code=chapter) for code, chapter in links]


def version_columns(content: ItemContent, chapter_of) -> tuple[dict, list[tuple[str, str]]]:
    """The stored columns of a version holding *content*, and its (code, chapter) links."""
    record = to_record(None, content)
    chapters = [chapter_of(code) or code for code in content.syllabus]
    columns = {
        "content": record,
        "content_hash": _hash(record),
        "difficulty": content.difficulty,
        "search_text": "\n".join(content.searchable_texts()),
        "chapter_code": chapters[0],
        "fixed_order": content.fixed_order,
        "points_halves": None if content.item_type.is_choice else int(content.points * 2),
        "law_valid_from": content.law.valid_from if content.law else None,
        "law_valid_to": content.law.valid_to if content.law else None,
    }
    return columns, list(zip(content.syllabus, chapters, strict=True))


def _hash(record: dict) -> str:
    canonical = json.dumps(record, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def content_hash(content: ItemContent) -> str:
    return _hash(to_record(None, content))


class ItemLink(db.Model):
    """A syllabus node an item version is filed under."""

    __tablename__ = "item_links"

    version_id: Mapped[int] = mapped_column(sa.ForeignKey("item_versions.id"), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    chapter_code: Mapped[str] = mapped_column(sa.String(40), index=True)


class ItemExposure(db.Model):
    """How often an item has been put in front of candidates: one use per paper it was
    drawn into (practice, mock) and per candidate who sat it on an exam form."""

    __tablename__ = "item_exposures"

    item_id: Mapped[int] = mapped_column(sa.ForeignKey("items.id"), primary_key=True)
    uses: Mapped[int] = mapped_column(default=0)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ItemReview(db.Model):
    """A reviewer's decision on a submitted version."""

    __tablename__ = "item_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("item_versions.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decision: Mapped[ReviewDecision] = mapped_column(enum_type(ReviewDecision, "review_decision"))
    comment: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reviewer = relationship("User")
