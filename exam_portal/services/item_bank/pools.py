"""Drawing pools: the published versions of a subject linked to one syllabus version,
cached per app process.

Building a pool reads every published version of a subject; drawing a paper from a
built pool reads nothing. A token per subject (`bank_revisions`) is replaced in the
same transaction that publishes or retires an item, and each draw compares it, so
every app server rebuilds after a change and never serves a retired item.
"""

import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.attempts import BankRevision
from exam_portal.models.bank import Item, ItemVersion
from exam_portal.models.types import dialect_insert
from question_bank.assembly import Pool, PoolItem
from question_bank.subjects import Subject


@dataclass
class CachedPool:
    revision: str | None
    pool: Pool
    by_item: dict[int, PoolItem]
    # Mock papers drawn from this pool by this process, and how often each version was
    # in one: exposure control spreads the bank without a write per draw.
    papers: int = 0
    exposure: Counter = field(default_factory=Counter)

    def record(self, version_ids) -> None:
        self.papers += 1
        self.exposure.update(version_ids)


_cache: dict[tuple[str, Subject, str, date | None], CachedPool] = {}
_lock = threading.Lock()


def current_pool(subject: Subject, syllabus_version: str,
                 on_date: date | None = None) -> CachedPool:
    """The pool of *subject*'s published versions written against *syllabus_version*
    (law items in force on *on_date*): a paper for one syllabus never draws an item
    filed under another's tree."""
    revision = db.session.scalar(
        sa.select(BankRevision.token).where(BankRevision.subject == subject))
    key = (str(db.session.get_bind().url), subject, syllabus_version, on_date)
    cached = _cache.get(key)
    if cached is not None and cached.revision == revision:
        return cached
    entries = _published_entries(subject, syllabus_version)
    pool = Pool(entries, on_date=on_date)
    fresh = CachedPool(revision, pool, {entry.item_id: entry for entry in pool.by_version.values()})
    with _lock:
        _cache[key] = fresh
    return fresh


def _published_entries(subject: Subject, syllabus_version: str) -> list[PoolItem]:
    rows = db.session.execute(
        sa.select(ItemVersion.id, Item.id, Item.item_type, ItemVersion.chapter_code,
                  ItemVersion.fixed_order, ItemVersion.points_halves,
                  ItemVersion.law_valid_from, ItemVersion.law_valid_to)
        .join(Item, Item.published_version_id == ItemVersion.id)
        .where(Item.subject == subject, ItemVersion.syllabus_version == syllabus_version))
    return [PoolItem(version_id, item_type, chapter, fixed_order=fixed, item_id=item_id,
                     points=None if halves is None else Decimal(halves) / 2,
                     law_from=law_from, law_to=law_to)
            for version_id, item_id, item_type, chapter, fixed, halves, law_from, law_to in rows]


def bank_changed(subject: Subject) -> None:
    """Mark *subject*'s published items as changed (call in the publishing transaction)."""
    bind = db.session.get_bind()
    table = BankRevision.__table__
    token = secrets.token_hex(16)
    statement = dialect_insert(table, bind.dialect.name).values(subject=subject, token=token)
    statement = statement.on_conflict_do_update(index_elements=[table.c.subject],
                                                set_={"token": token})
    db.session.execute(statement)


def forget() -> None:
    """Drop every cached pool (tests that swap databases under one process)."""
    with _lock:
        _cache.clear()
