"""In-process caches of what never changes once written: a paper's layout and the
content of published item versions.

An attempt's items, their order and option order are fixed when it is drawn, and a
version that was ever published is immutable, so these caches need no invalidation.
The layout is still checked against the attempt's seed by every save (see
practice._upsert), so a database restored or emptied under a running server cannot
make a stale entry pass.
"""

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.attempts import Attempt, AttemptItem
from exam_portal.models.bank import Item, ItemVersion
from question_bank import delivery
from question_bank.items import ItemContent, ItemType
from question_bank.practice import Mode


@dataclass(frozen=True)
class Slot:
    """One position of a paper, as drawn (the same fields as its AttemptItem row)."""

    position: int
    section: str
    item_id: int
    item_version_id: int
    item_type: ItemType
    chapter_code: str
    option_order: str  # as stored: "2031"
    points_halves: int

    @cached_property  # read for every answer on every delivery page
    def order(self) -> tuple[int, ...]:
        return delivery.decode_order(self.option_order)


@dataclass(frozen=True)
class Layout:
    candidate_id: int
    seed: int
    mode: Mode
    slots: dict[int, Slot]

    @property
    def items(self) -> list[Slot]:
        return [self.slots[position] for position in sorted(self.slots)]


class LRU:
    """A small thread-safe least-recently-used map."""

    def __init__(self, size: int):
        self.size = size
        self.data: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.data.get(key)
            if value is not None:
                self.data.move_to_end(key)
            return value

    def put(self, key, value):
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)

    def pop(self, key):
        with self.lock:
            self.data.pop(key, None)

    def clear(self):
        with self.lock:
            self.data.clear()


_layouts = LRU(20_000)
_contents = LRU(50_000)
_views = LRU(50_000)


_database_names: "weakref.WeakKeyDictionary[sa.Engine, str]" = weakref.WeakKeyDictionary()


def cache_key(value) -> tuple:
    """*value* qualified by the database, so two databases in one process never mix."""
    engine = db.engine
    name = _database_names.get(engine)
    if name is None:  # rendering the URL each time cost a tenth of a save
        name = _database_names[engine] = str(engine.url)
    return (name, value)


_key = cache_key


def layout(attempt_id: int) -> Layout | None:
    """Who owns the attempt and what each position holds, or None if there is none."""
    key = _key(attempt_id)
    cached = _layouts.get(key)
    if cached is not None:
        return cached
    rows = db.session.execute(
        sa.select(Attempt.candidate_id, Attempt.seed, Attempt.mode, AttemptItem.position,
                  AttemptItem.section,
                  AttemptItem.item_id, AttemptItem.item_version_id, Item.item_type,
                  AttemptItem.chapter_code, AttemptItem.option_order, AttemptItem.points_halves)
        .join(AttemptItem, AttemptItem.attempt_id == Attempt.id)
        .join(Item, Item.id == AttemptItem.item_id)
        .where(Attempt.id == attempt_id)).all()
    if not rows:
        return None
    found = Layout(rows[0][0], rows[0][1], rows[0][2], {row[3]: Slot(*row[3:]) for row in rows})
    _layouts.put(key, found)
    return found


def forget_layout(attempt_id: int) -> None:
    _layouts.pop(_key(attempt_id))


def attempt_items(attempt_id: int) -> list[AttemptItem]:
    return list(db.session.scalars(sa.select(AttemptItem).where(
        AttemptItem.attempt_id == attempt_id).order_by(AttemptItem.position)))


def attempt_item(attempt_id: int, position: int) -> AttemptItem | None:
    return db.session.get(AttemptItem, (attempt_id, position))


def content(version_id: int) -> ItemContent:
    """The content of a version that was published (and so never changes)."""
    key = _key(version_id)
    cached = _contents.get(key)
    if cached is None:
        cached = db.session.get(ItemVersion, version_id).to_domain()
        _contents.put(key, cached)
    return cached


def contents(version_ids) -> dict[int, ItemContent]:
    """Several contents, reading the missing ones in one query."""
    found, missing = {}, []
    for version_id in set(version_ids):
        cached = _contents.get(_key(version_id))
        if cached is None:
            missing.append(version_id)
        else:
            found[version_id] = cached
    if missing:
        for version in db.session.scalars(sa.select(ItemVersion).where(
                ItemVersion.id.in_(missing))):
            found[version.id] = version.to_domain()
            _contents.put(_key(version.id), found[version.id])
    return found


def candidate_views(items: list[AttemptItem]) -> list[dict]:
    """The paper as the candidate's browser gets it: no keys, no explanations."""
    views, missing = [], []
    keys = [_key((item.item_version_id, item.option_order, item.position, item.section,
                  item.points_halves)) for item in items]
    for key in keys:
        views.append(_views.get(key))
        if views[-1] is None:
            missing.append(key[1][0])
    loaded = contents(missing) if missing else {}
    for index, (item, key) in enumerate(zip(items, keys, strict=True)):
        if views[index] is None:
            views[index] = delivery.candidate_view(
                loaded[item.item_version_id], delivery.decode_order(item.option_order),
                position=item.position, section=item.section,
                points=Decimal(item.points_halves) / 2)
            _views.put(key, views[index])
    return views


def clear() -> None:
    """Forget everything (tests that swap databases under one process)."""
    for cache in (_layouts, _contents, _views):
        cache.clear()
