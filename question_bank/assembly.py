"""Paper assembly: draw a paper for an exam spec from published item versions."""

import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .allocation import allocate
from .errors import QuotaNotMet
from .items import OPTION_COUNTS, ItemType
from .specs import ExamSpec, Section


@dataclass(frozen=True)
class PoolItem:
    """What assembly needs to know about one published item version."""

    version_id: int
    item_type: ItemType
    chapter: str
    option_count: int = 0
    fixed_order: bool = False
    item_id: int = 0
    points: Decimal | None = None  # subjective items only: they fit a section of equal points
    law_from: date | None = None
    law_to: date | None = None

    def in_force_on(self, day: date | None) -> bool:
        if day is None or self.law_from is None:
            return True
        return self.law_from <= day and (self.law_to is None or day <= self.law_to)


@dataclass(frozen=True)
class PaperItem:
    section: str
    position: int  # 1-based over the whole paper
    version_id: int
    option_order: tuple[int, ...]  # shown order of the stored options (indexes)
    item_id: int = 0


class Pool:
    """Published versions indexed for drawing: by section fit, then by chapter.

    Built once per bank revision and reused: drawing a paper then costs a few
    samples per chapter instead of a pass over the whole bank.
    """

    def __init__(self, entries: Iterable[PoolItem], *, on_date: date | None = None):
        unique = {entry.version_id: entry for entry in entries if entry.in_force_on(on_date)}
        index: dict[tuple, dict[str, list[PoolItem]]] = defaultdict(lambda: defaultdict(list))
        for version_id in sorted(unique):
            entry = unique[version_id]
            index[_fit_key(entry.item_type, entry.points)][entry.chapter].append(entry)
            if not entry.item_type.is_choice:  # also under "any points", for practice sets
                index[(entry.item_type, None)][entry.chapter].append(entry)
        self._index = {key: dict(sorted(chapters.items())) for key, chapters in index.items()}
        self._ids = {key: {chapter: frozenset(e.version_id for e in entries)
                           for chapter, entries in chapters.items()}
                     for key, chapters in self._index.items()}
        self.by_version = unique
        self.on_date = on_date

    def changed(self, removed: Iterable[int], added: Iterable[PoolItem]) -> "Pool":
        """This pool without the versions *removed* and with *added* (those in force on
        its date): the same pool as one built from scratch, but only the chapters the
        change touches are indexed again, so a publish costs its chapter, not the bank."""
        by_version = dict(self.by_version)
        dropped: set[int] = set()
        joining: dict[tuple[tuple, str], dict[int, PoolItem]] = defaultdict(dict)
        touched: set[tuple[tuple, str]] = set()
        for version_id in removed:
            entry = by_version.pop(version_id, None)
            if entry is not None:
                dropped.add(version_id)
                touched.update(_places(entry))
        for entry in added:
            if not entry.in_force_on(self.on_date):
                continue
            old = by_version.get(entry.version_id)
            if old is not None:
                dropped.add(old.version_id)
                touched.update(_places(old))
            by_version[entry.version_id] = entry
            for place in _places(entry):
                joining[place][entry.version_id] = entry
                touched.add(place)
        fresh = object.__new__(Pool)
        fresh.by_version, fresh.on_date = by_version, self.on_date
        fresh._index = {key: dict(chapters) for key, chapters in self._index.items()}
        fresh._ids = {key: dict(chapters) for key, chapters in self._ids.items()}
        for key, chapter in touched:
            kept = {entry.version_id: entry
                    for entry in self._index.get(key, {}).get(chapter, ())
                    if entry.version_id not in dropped}
            kept.update(joining.get((key, chapter), {}))
            chapters, ids = fresh._index.setdefault(key, {}), fresh._ids.setdefault(key, {})
            if kept:
                chapters[chapter] = [kept[version_id] for version_id in sorted(kept)]
                ids[chapter] = frozenset(kept)
            else:
                chapters.pop(chapter, None)
                ids.pop(chapter, None)
        for key in {key for key, _ in touched}:
            if fresh._index[key]:
                fresh._index[key] = dict(sorted(fresh._index[key].items()))
            else:
                del fresh._index[key], fresh._ids[key]
        return fresh

    def __len__(self) -> int:
        return len(self.by_version)

    def chapters(self, key: tuple) -> dict[str, list[PoolItem]]:
        return self._index.get(key, {})

    def ids(self, key: tuple, chapter: str) -> frozenset[int]:
        return self._ids[key][chapter]

    def available(self, key: tuple, chapters: frozenset[str] | None = None) -> int:
        return sum(len(entries) for chapter, entries in self.chapters(key).items()
                   if chapters is None or chapter in chapters)


def _places(entry: PoolItem) -> list[tuple[tuple, str]]:
    """The (index key, chapter) lists an entry is filed in."""
    places = [(_fit_key(entry.item_type, entry.points), entry.chapter)]
    if not entry.item_type.is_choice:
        places.append(((entry.item_type, None), entry.chapter))
    return places


def _fit_key(item_type: ItemType, points: Decimal | None) -> tuple:
    # Choice items score by the spec; a subjective item is written for its points.
    return (item_type, None if item_type.is_choice else points)


def section_key(section: Section, *, match_points: bool = True) -> tuple:
    """The pool index a section draws from: its item type, and for subjective items in
    a paper also its points (practice sets take any points)."""
    return _fit_key(section.item_type, section.points if match_points else None)


def assemble(spec: ExamSpec, pool: "Pool | Sequence[PoolItem]", rng: random.Random, *,
             seen: frozenset[int] = frozenset(),
             chapter_weights: Mapping[str, float] | None = None,
             chapters: frozenset[str] | None = None,
             exposure: Mapping[int, int] | None = None, papers: int = 0,
             max_exposure: float | None = None,
             strict: bool = True, match_points: bool = True) -> tuple[PaperItem, ...]:
    """Pick items for every section of *spec*.

    Chapters get items in proportion to *chapter_weights* (default: their share of the
    bank), no version twice; versions the candidate has not seen (*seen*) come first,
    and versions already in more than *max_exposure* of the *papers* drawn so far
    (*exposure* counts them) only after those; options are shuffled unless the item
    fixes them. *chapters* limits the draw to those chapters. The same pool, inputs
    and seed give the same paper. With *strict*, raises QuotaNotMet naming the first
    section the bank cannot fill; otherwise what one section lacks goes to the others,
    and the paper is short only when the whole bank is. Without *match_points*,
    subjective items of any points fit (practice sets).
    """
    if not isinstance(pool, Pool):
        pool = Pool(pool)
    overexposed = _overexposed(exposure, papers, max_exposure)
    keys = {s.code: section_key(s, match_points=match_points) for s in spec.sections}
    available = {s.code: pool.available(keys[s.code], chapters) for s in spec.sections}
    counts = {s.code: s.count for s in spec.sections}
    if strict:
        short = next((s for s in spec.sections if available[s.code] < s.count), None)
        if short is not None:
            raise QuotaNotMet(short.code, short.count, available[short.code])
    else:
        counts = allocate(sum(counts.values()), counts, available)
    paper: list[PaperItem] = []
    for section in spec.sections:
        key = keys[section.code]
        by_chapter = {chapter: entries for chapter, entries in pool.chapters(key).items()
                      if chapters is None or chapter in chapters}
        ids = {chapter: pool.ids(key, chapter) for chapter in by_chapter}
        chosen = _draw(by_chapter, ids, counts[section.code], rng,
                       (overexposed, seen), chapter_weights)
        for entry in chosen:
            order = list(range(entry.option_count or OPTION_COUNTS.get(entry.item_type, 0)))
            if not entry.fixed_order:
                rng.shuffle(order)
            paper.append(PaperItem(section.code, len(paper) + 1, entry.version_id,
                                   tuple(order), entry.item_id))
    return tuple(paper)


def _overexposed(exposure, papers, max_exposure) -> frozenset[int]:
    if not exposure or max_exposure is None or papers <= 0:
        return frozenset()
    limit = max_exposure * papers
    return frozenset(version for version, count in exposure.items() if count >= limit)


def _draw(by_chapter: dict[str, list[PoolItem]], ids: dict[str, frozenset[int]], count: int,
          rng: random.Random, avoid: tuple[frozenset[int], ...], weights) -> list[PoolItem]:
    """Draw *count* entries over chapters: entries in no *avoid* set first, then the
    others by the most avoided set they are in (*avoid* runs from least to most)."""
    chapters = list(by_chapter)
    shares = {chapter: (weights or {}).get(chapter, len(by_chapter[chapter]))
              for chapter in chapters}
    avoided = {chapter: _avoided_in(ids[chapter], avoid) for chapter in chapters}
    # Tier 0: in no avoid set; tier k: in avoid set k-1 and in none after it.
    tiers = len(avoid) + 1
    tier_sizes = {chapter: _tier_sizes(len(by_chapter[chapter]), avoided[chapter], avoid)
                  for chapter in chapters}
    quotas = dict.fromkeys(chapters, 0)
    remaining = count
    for tier in range(tiers):
        granted = allocate(remaining, shares,
                           {c: sum(tier_sizes[c][:tier + 1]) - quotas[c] for c in chapters})
        for chapter, extra in granted.items():
            quotas[chapter] += extra
        remaining -= sum(granted.values())
    chosen = []
    for chapter in chapters:
        if quotas[chapter]:
            chosen += _sample(by_chapter[chapter], quotas[chapter], rng, avoided[chapter], avoid)
    rng.shuffle(chosen)
    return chosen


def _avoided_in(ids: frozenset[int], avoid) -> dict[int, int]:
    """version id → the most avoided set holding it, for one chapter's versions."""
    result: dict[int, int] = {}
    for rank, versions in enumerate(avoid):
        for version in versions:
            if version in ids:
                result[version] = rank
    return result


def _tier_sizes(size: int, avoided: dict[int, int], avoid) -> list[int]:
    sizes = [0] * (len(avoid) + 1)
    for rank in avoided.values():
        sizes[rank + 1] += 1
    sizes[0] = size - sum(sizes)
    return sizes


def _sample(entries: list[PoolItem], count: int, rng: random.Random,
            avoided: dict[int, int], avoid) -> list[PoolItem]:
    # A uniform sample of count + len(avoided) entries holds at least *count* entries of
    # the best tiers there are, so the whole chapter is never shuffled.
    size = min(len(entries), count + len(avoided))
    sample = rng.sample(entries, size)
    sample.sort(key=lambda entry: avoided.get(entry.version_id, -1))
    return sample[:count]


@dataclass(frozen=True)
class FormPosition:
    """One position of a locked exam form, with what seating a candidate needs."""

    section: str
    position: int
    version_id: int
    item_id: int
    item_type: ItemType
    chapter: str
    points_halves: int
    option_count: int = 0
    fixed_order: bool = False


def seat_form(form: Sequence[FormPosition], rng: random.Random) -> tuple[PaperItem, ...]:
    """One candidate's paper from a locked form: the same items for everyone.

    Sections keep the form's order. Within a section of choice items the items come in
    a per-candidate order, and options are shuffled unless the item fixes them; a
    subjective section keeps the form's order (its items may build on each other).
    """
    by_section: dict[str, list[FormPosition]] = {}
    for entry in sorted(form, key=lambda entry: entry.position):
        by_section.setdefault(entry.section, []).append(entry)
    paper: list[PaperItem] = []
    for entries in by_section.values():
        if all(entry.item_type.is_choice for entry in entries):
            entries = rng.sample(entries, len(entries))
        for entry in entries:
            order = list(range(entry.option_count or OPTION_COUNTS.get(entry.item_type, 0)))
            if not entry.fixed_order:
                rng.shuffle(order)
            paper.append(PaperItem(entry.section, len(paper) + 1, entry.version_id,
                                   tuple(order), entry.item_id))
    return tuple(paper)
