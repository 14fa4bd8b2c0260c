"""Paper assembly: draw a paper for an exam spec from published item versions."""

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .errors import QuotaNotMet
from .items import ItemType
from .specs import ExamSpec


@dataclass(frozen=True)
class PoolItem:
    """What assembly needs to know about one published item version."""

    version_id: int
    item_type: ItemType
    chapter: str
    option_count: int = 0
    fixed_order: bool = False


@dataclass(frozen=True)
class PaperItem:
    section: str
    position: int  # 1-based over the whole paper
    version_id: int
    option_order: tuple[int, ...]  # shown order of the stored options (indexes)


def assemble(spec: ExamSpec, pool: Sequence[PoolItem], rng: random.Random, *,
             seen: frozenset[int] = frozenset(),
             chapter_weights: Mapping[str, float] | None = None) -> tuple[PaperItem, ...]:
    """Pick items for every section of *spec*.

    Chapters get items in proportion to *chapter_weights* (default: their share of the
    bank), no version twice, versions the candidate has not seen first, options
    shuffled unless the item fixes them. The same pool, seen set and seed give the
    same paper. Raises QuotaNotMet naming the first section the bank cannot fill.
    """
    by_type: dict[ItemType, list[PoolItem]] = defaultdict(list)
    for entry in sorted({entry.version_id: entry for entry in pool}.values(),
                        key=lambda entry: entry.version_id):
        by_type[entry.item_type].append(entry)
    paper: list[PaperItem] = []
    for section in spec.sections:
        candidates = by_type[section.item_type]
        if len(candidates) < section.count:
            raise QuotaNotMet(section.code, section.count, len(candidates))
        chosen = _draw(candidates, section.count, rng, seen, chapter_weights)
        for entry in chosen:
            order = list(range(entry.option_count))
            if not entry.fixed_order:
                rng.shuffle(order)
            paper.append(PaperItem(section.code, len(paper) + 1, entry.version_id, tuple(order)))
    return tuple(paper)


def _draw(candidates, count, rng, seen, weights) -> list[PoolItem]:
    by_chapter: dict[str, list[PoolItem]] = defaultdict(list)
    for entry in candidates:
        by_chapter[entry.chapter].append(entry)
    chapters = sorted(by_chapter)
    shares = {chapter: (weights or {}).get(chapter, len(by_chapter[chapter]))
              for chapter in chapters}
    unseen = {chapter: [e for e in by_chapter[chapter] if e.version_id not in seen]
              for chapter in chapters}
    already = {chapter: [e for e in by_chapter[chapter] if e.version_id in seen]
               for chapter in chapters}
    # Unseen items first, spread by the chapter weights; only then, if the section is
    # still short, items the candidate has seen.
    first = allocate(count, shares, {c: len(unseen[c]) for c in chapters})
    rest = allocate(count - sum(first.values()), shares,
                    {c: len(by_chapter[c]) - first[c] for c in chapters})
    chosen = []
    for chapter in chapters:
        rng.shuffle(unseen[chapter])
        rng.shuffle(already[chapter])
        chosen += (unseen[chapter] + already[chapter])[:first[chapter] + rest[chapter]]
    rng.shuffle(chosen)
    return chosen


def allocate(count: int, weights: Mapping[str, float], available: Mapping[str, int]) -> dict:
    """Split *count* over chapters in proportion to *weights*, never above what is available.

    Largest remainder first; what a full chapter cannot take goes to the others, and
    chapters of weight 0 are used only when the weighted ones are full.
    """
    quotas = dict.fromkeys(weights, 0)
    remaining = count
    for use_unweighted in (False, True):
        open_chapters = [c for c in weights if available[c] > quotas[c]
                         and (use_unweighted or weights[c] > 0)]
        while remaining > 0 and open_chapters:
            weight = {c: weights[c] if weights[c] > 0 else 1 for c in open_chapters}
            total = sum(weight.values())
            shares = {c: remaining * weight[c] / total for c in open_chapters}
            granted = 0
            for chapter in open_chapters:
                take = min(int(shares[chapter]), available[chapter] - quotas[chapter])
                quotas[chapter] += take
                granted += take
            remaining -= granted
            for chapter in sorted(open_chapters, key=lambda c: (-(shares[c] % 1), c)):
                if remaining == 0:
                    break
                if quotas[chapter] < available[chapter]:
                    quotas[chapter] += 1
                    remaining -= 1
            open_chapters = [c for c in open_chapters if quotas[c] < available[c]]
    return quotas
