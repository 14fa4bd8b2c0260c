"""Drawing pools: the published open-pool versions of a subject linked to one syllabus
version, cached per app process. Secure (exam) items are never drawn here: a sitting
takes its locked form.

Building a pool reads every published version of a subject; drawing a paper from a
built pool reads nothing. A token per subject (`bank_revisions`) is replaced in the
same transaction that publishes or retires an item, and each draw compares it, so
every app server rebuilds after a change and never serves a retired item.
"""

import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.attempts import BankRevision
from exam_portal.models.bank import Item, ItemExposure, ItemPool, ItemVersion
from exam_portal.models.types import dialect_insert
from question_bank.assembly import Pool, PoolItem
from question_bank.subjects import Subject


@dataclass
class CachedPool:
    revision: str | None
    pool: Pool
    by_item: dict[int, PoolItem]
    # How often each version has been in a paper: read from item_exposures when the
    # pool is built (and again every EXPOSURE_REFRESH_SECONDS), plus this process's
    # draws since. Exposure control compares it to the papers drawn, estimated as all
    # uses over the length of the paper asked for.
    exposure: Counter = field(default_factory=Counter)
    read_at: float = 0.0

    @property
    def uses(self) -> int:
        return sum(self.exposure.values())

    def papers(self, paper_length: int) -> int:
        return self.uses // max(1, paper_length)

    def record(self, version_ids) -> None:
        self.exposure.update(version_ids)


EXPOSURE_REFRESH_SECONDS = 300


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
        if time.monotonic() - cached.read_at > EXPOSURE_REFRESH_SECONDS:
            _read_exposure(cached)
        return cached
    entries = _published_entries(subject, syllabus_version)
    pool = Pool(entries, on_date=on_date)
    fresh = CachedPool(revision, pool, {entry.item_id: entry for entry in pool.by_version.values()})
    _read_exposure(fresh)
    with _lock:
        _cache[key] = fresh
    return fresh


def _read_exposure(cached: CachedPool) -> None:
    version_of = {item_id: entry.version_id for item_id, entry in cached.by_item.items()}
    counts = Counter()
    for item_id, uses in db.session.execute(
            sa.select(ItemExposure.item_id, ItemExposure.uses)
            .join(Item, Item.id == ItemExposure.item_id)
            .where(Item.published_version_id.is_not(None))):
        if item_id in version_of:
            counts[version_of[item_id]] = uses
    cached.exposure, cached.read_at = counts, time.monotonic()


def record_uses(item_ids: Iterable[int], now: datetime, *, times: int = 1) -> None:
    """Count one more use (or *times*) of each item, in the caller's transaction.

    Rows are upserted in item id order, so two papers drawn at once never wait on each
    other in opposite order."""
    ids = sorted(set(item_ids))
    if not ids:
        return
    bind = db.session.get_bind()
    table = ItemExposure.__table__
    statement = dialect_insert(table, bind.dialect.name)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.item_id],
        set_={"uses": table.c.uses + statement.excluded.uses,
              "last_used_at": statement.excluded.last_used_at})
    db.session.execute(statement, [{"item_id": item_id, "uses": times, "last_used_at": now}
                                   for item_id in ids])


def _published_entries(subject: Subject, syllabus_version: str) -> list[PoolItem]:
    rows = db.session.execute(
        sa.select(ItemVersion.id, Item.id, Item.item_type, ItemVersion.chapter_code,
                  ItemVersion.fixed_order, ItemVersion.points_halves,
                  ItemVersion.law_valid_from, ItemVersion.law_valid_to)
        .join(Item, Item.published_version_id == ItemVersion.id)
        .where(Item.subject == subject, Item.pool == ItemPool.OPEN,
               ItemVersion.syllabus_version == syllabus_version))
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
