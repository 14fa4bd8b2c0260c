"""Drawing pools: the published open-pool versions of a subject linked to one syllabus
version, cached per app process. Secure (exam) items are never drawn here: a sitting
takes its locked form.

Building a pool reads every published version of a subject; drawing a paper from a
built pool reads nothing. A token per subject (`bank_revisions`) is replaced, and its
revision number counted up, in the same transaction that publishes, retires or relinks
items, and `bank_changes` names the items each revision touched. Each draw compares
the token: after a change, a cached pool re-reads only the items changed since the
revision it holds (a few rows for a publish), and is built again from scratch only when
that history is gone (pruned past KEPT_REVISIONS, another database, a change of the
whole subject) or larger than rebuilding. So every app server is up to date on its
next draw, never serves a retired item, and a publish costs the next paper little.
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
from exam_portal.models.attempts import BankChange, BankRevision
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
    number: int = 0  # the bank revision's number when *revision* was read

    @property
    def uses(self) -> int:
        return sum(self.exposure.values())

    def papers(self, paper_length: int) -> int:
        return self.uses // max(1, paper_length)

    def record(self, version_ids) -> None:
        self.exposure.update(version_ids)


EXPOSURE_REFRESH_SECONDS = 300
# Revisions of a subject whose changes are kept: a pool older than that is rebuilt.
KEPT_REVISIONS = 1000
# A pool catching up on more changed items than this (or a quarter of its size) is
# rebuilt instead: one read of the subject is cheaper than many of single items.
MAX_CHANGES_APPLIED = 5000


_cache: dict[tuple[str, Subject, str, date | None], CachedPool] = {}
_lock = threading.Lock()


def current_pool(subject: Subject, syllabus_version: str,
                 on_date: date | None = None) -> CachedPool:
    """The pool of *subject*'s published versions written against *syllabus_version*
    (law items in force on *on_date*): a paper for one syllabus never draws an item
    filed under another's tree."""
    revision, number = db.session.execute(
        sa.select(BankRevision.token, BankRevision.number)
        .where(BankRevision.subject == subject)).first() or (None, 0)
    key = (str(db.session.get_bind().url), subject, syllabus_version, on_date)
    cached = _cache.get(key)
    if cached is not None and cached.revision == revision:
        if time.monotonic() - cached.read_at > EXPOSURE_REFRESH_SECONDS:
            _read_exposure(cached)
        return cached
    fresh = None
    if cached is not None and cached.revision is not None and revision is not None:
        fresh = _caught_up(cached, subject, syllabus_version, revision, number)
    if fresh is None:
        entries = _published_entries(subject, syllabus_version)
        pool = Pool(entries, on_date=on_date)
        fresh = CachedPool(revision, pool,
                           {entry.item_id: entry for entry in pool.by_version.values()},
                           number=number)
        _read_exposure(fresh)
    with _lock:
        _cache[key] = fresh
    return fresh


def _caught_up(cached: CachedPool, subject: Subject, syllabus_version: str,
               revision: str, number: int) -> CachedPool | None:
    """*cached* with the changes of the revisions after its own applied, or None when
    they are not all known (then the pool is built again)."""
    if number <= cached.number:
        return None  # another history (a database restored or emptied)
    rows = db.session.execute(
        sa.select(BankChange.number, BankChange.token, BankChange.item_id)
        .where(BankChange.subject == subject, BankChange.number >= cached.number,
               BankChange.number <= number)).all()
    if not any(row.number == cached.number and row.token == cached.revision for row in rows):
        return None  # pruned, or the pool's revision is not in this history
    if not any(row.number == number and row.token == revision for row in rows):
        return None  # changed again since the token was read: rebuild from scratch
    changed = {row.item_id for row in rows if row.number > cached.number}
    if None in changed or len(changed) > min(MAX_CHANGES_APPLIED,
                                             max(100, len(cached.by_item) // 4)):
        return None
    entries = {entry.item_id: entry for entry in _published_entries(
        subject, syllabus_version, item_ids=sorted(changed))}
    removed = [cached.by_item[item_id].version_id for item_id in changed
               if item_id in cached.by_item]
    pool = cached.pool.changed(removed, entries.values())
    by_item = {item_id: entry for item_id, entry in cached.by_item.items()
               if item_id not in changed}
    by_item.update((entry.item_id, entry) for entry in pool.by_version.values()
                   if entry.item_id in entries)
    exposure = Counter({version_id: uses for version_id, uses in cached.exposure.items()
                        if version_id in pool.by_version})
    version_of = {item_id: by_item[item_id].version_id for item_id in entries
                  if item_id in by_item}
    if version_of:
        for item_id, uses in db.session.execute(
                sa.select(ItemExposure.item_id, ItemExposure.uses)
                .where(ItemExposure.item_id.in_(sorted(version_of)))):
            exposure[version_of[item_id]] = uses
    return CachedPool(revision, pool, by_item, exposure, cached.read_at, number)


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


def _published_entries(subject: Subject, syllabus_version: str, *,
                       item_ids: list[int] | None = None) -> list[PoolItem]:
    query = (
        sa.select(ItemVersion.id, Item.id, Item.item_type, ItemVersion.chapter_code,
                  ItemVersion.fixed_order, ItemVersion.points_halves,
                  ItemVersion.law_valid_from, ItemVersion.law_valid_to)
        .join(Item, Item.published_version_id == ItemVersion.id)
        .where(Item.subject == subject, Item.pool == ItemPool.OPEN,
               ItemVersion.syllabus_version == syllabus_version))
    if item_ids is None:
        chunks = [query]
    else:
        chunks = [query.where(Item.id.in_(item_ids[start:start + 1000]))
                  for start in range(0, len(item_ids), 1000)]
    return [PoolItem(version_id, item_type, chapter, fixed_order=fixed, item_id=item_id,
                     points=None if halves is None else Decimal(halves) / 2,
                     law_from=law_from, law_to=law_to)
            for chunk in chunks
            for version_id, item_id, item_type, chapter, fixed, halves, law_from, law_to
            in db.session.execute(chunk)]


def bank_changed(subject: Subject, item_ids: Iterable[int] | None = None) -> None:
    """Record that the published versions of *item_ids* (None: any item) of *subject*
    changed; call it in the transaction that changes them.

    The upsert locks the subject's revision row to the end of the transaction, so the
    revisions of a subject commit in the order of their numbers: a server that reads
    number n finds every change up to n."""
    bind = db.session.get_bind()
    table = BankRevision.__table__
    token = secrets.token_hex(16)
    statement = dialect_insert(table, bind.dialect.name).values(
        subject=subject, token=token, number=1)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.subject],
        set_={"token": token, "number": table.c.number + 1}).returning(table.c.number)
    number = db.session.execute(statement).scalar_one()
    if item_ids is None:
        db.session.execute(sa.insert(BankChange).values(subject=subject, number=number,
                                                         token=token, item_id=None))
    ids = sorted(set(item_ids or ()))
    for start in range(0, len(ids), 1000):
        # Written by the database from the items: one statement per thousand.
        db.session.execute(sa.insert(BankChange).from_select(
            ["subject", "number", "token", "item_id"],
            sa.select(sa.literal(subject, BankChange.subject.type), sa.literal(number),
                      sa.literal(token), Item.id)
            .where(Item.id.in_(ids[start:start + 1000]))))
    if number > KEPT_REVISIONS:
        db.session.execute(sa.delete(BankChange).where(
            BankChange.subject == subject, BankChange.number <= number - KEPT_REVISIONS))


def forget() -> None:
    """Drop every cached pool (tests that swap databases under one process)."""
    with _lock:
        _cache.clear()
