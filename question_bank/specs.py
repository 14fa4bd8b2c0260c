"""Exam specs: the structure of each subject's paper, as versioned data."""

import functools
import json
from dataclasses import dataclass, replace
from decimal import Decimal
from importlib import resources

from .allocation import allocate
from .items import ItemType
from .subjects import Subject


@dataclass(frozen=True)
class Section:
    code: str
    title: str
    item_type: ItemType
    count: int
    points: Decimal  # per item

    @property
    def full_marks(self) -> Decimal:
        return self.points * self.count


@dataclass(frozen=True)
class ExamSpec:
    subject: Subject
    version: str
    minutes: int
    pass_ratio: Decimal
    sections: tuple[Section, ...]
    variant: str | None = None
    # Chapter code → weight for paper assembly; empty: each chapter's share of the bank.
    chapter_weights: tuple[tuple[str, float], ...] = ()

    @property
    def weights(self) -> dict[str, float] | None:
        return dict(self.chapter_weights) or None

    @property
    def full_marks(self) -> Decimal:
        return sum((section.full_marks for section in self.sections), Decimal(0))

    @property
    def pass_mark(self) -> Decimal:
        return self.full_marks * self.pass_ratio


@functools.cache
def _data() -> dict:
    path = resources.files("question_bank") / "data" / "exam_specs.json"
    return json.loads(path.read_text(encoding="utf-8"))


def variants(subject: Subject) -> tuple[str, ...]:
    """The configurable paper mixes of *subject* (the senior paper has two)."""
    return tuple(_data()["specs"][subject.value].get("variants", {}))


def load(subject: Subject, variant: str | None = None) -> ExamSpec:
    """The exam spec of *subject*; *variant* picks a mix where there are several."""
    data = _data()
    entry = data["specs"][subject.value]
    if "variants" in entry:
        variant = variant or entry["default_variant"]
        raw_sections = entry["variants"][variant]
    else:
        if variant is not None:
            raise KeyError(variant)
        raw_sections = entry["sections"]
    sections = tuple(
        Section(raw["code"], raw["title"], ItemType(raw["item_type"]), int(raw["count"]),
                Decimal(raw["points"]))
        for raw in raw_sections
    )
    weights = tuple(sorted((code, float(weight))
                           for code, weight in entry.get("chapter_weights", {}).items()))
    return ExamSpec(subject, data["version"], int(entry["minutes"]),
                    Decimal(entry["pass_ratio"]), sections, variant, weights)


def practice_spec(spec: ExamSpec, count: int) -> ExamSpec:
    """A shorter set built like *spec*: *count* items split over its sections in
    proportion to their counts (largest remainder), each section at its own points.
    A section may get none; it still takes items another section cannot fill."""
    weights = {section.code: section.count for section in spec.sections}
    quotas = allocate(count, weights, dict.fromkeys(weights, count))
    sections = tuple(replace(section, count=quotas[section.code])
                     for section in spec.sections)
    return replace(spec, sections=sections, minutes=0)
