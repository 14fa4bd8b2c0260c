"""Official scoring of choice items, and section and paper totals. Points are exact."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from .items import ItemType
from .specs import ExamSpec

# 多项选择题: each correct option chosen earns 0.5 when no wrong option is chosen.
MULTI_PARTIAL_PER_OPTION = Decimal("0.5")


def score_choice(item_type: ItemType, keys: Iterable[str], selected: Iterable[str],
                 points: Decimal) -> Decimal:
    """Score one choice response by the official rule.

    SINGLE: the key → full points, anything else → 0.
    MULTI: any wrong option → 0; no wrong option but not every key → 0.5 per option
    chosen; every key → full points; blank → 0. Never negative.
    """
    keys, selected = frozenset(keys), frozenset(selected)
    if not selected:
        return Decimal(0)
    if item_type is ItemType.SINGLE:
        return points if selected == keys and len(selected) == 1 else Decimal(0)
    if item_type is not ItemType.MULTI:
        raise ValueError(f"{item_type} is not a choice item")
    if not selected <= keys:
        return Decimal(0)
    if selected == keys:
        return points
    return min(points, MULTI_PARTIAL_PER_OPTION * len(selected))


@dataclass(frozen=True)
class SectionScore:
    code: str
    title: str
    score: Decimal
    full_marks: Decimal


@dataclass(frozen=True)
class PaperScore:
    sections: tuple[SectionScore, ...]
    total: Decimal
    full_marks: Decimal
    pass_mark: Decimal

    @property
    def passed(self) -> bool:
        return self.total >= self.pass_mark


def score_paper(spec: ExamSpec, item_scores: Mapping[str, Iterable[Decimal]]) -> PaperScore:
    """Add up item scores per section (keyed by section code) against *spec*."""
    sections = tuple(
        SectionScore(section.code, section.title,
                     sum(item_scores.get(section.code, ()), Decimal(0)), section.full_marks)
        for section in spec.sections
    )
    total = sum((section.score for section in sections), Decimal(0))
    return PaperScore(sections, total, spec.full_marks, spec.pass_mark)
