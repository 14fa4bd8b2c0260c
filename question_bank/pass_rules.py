"""Pass rules: a subject's pass line (national or regional), and which subject passes
add up to a qualification within a level's rolling window."""

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources

from . import regions
from .dates import anniversary
from .levels import Level
from .subjects import Subject


@dataclass(frozen=True)
class LevelRule:
    """How a level's subjects combine: passes count within *window_years* consecutive
    exam years; a senior pass is a proof valid *proof_valid_years*, and the certificate
    needs a review (评审) on top."""

    level: Level
    window_years: int
    proof_valid_years: int | None = None
    needs_review: bool = False


@functools.cache
def _data() -> dict:
    path = resources.files("question_bank") / "data" / "pass_rules.json"
    return json.loads(path.read_text(encoding="utf-8"))


def national_ratio() -> Decimal:
    return Decimal(_data()["national_ratio"])


def level_rule(level: Level) -> LevelRule:
    entry = _data()["levels"][level.value]
    return LevelRule(level, int(entry["window_years"]), entry.get("proof_valid_years"),
                     bool(entry.get("needs_review", False)))


def subjects_of(level: Level) -> tuple[Subject, ...]:
    return tuple(subject for subject in Subject if subject.level is level)


@dataclass(frozen=True)
class PassLines:
    """The pass lines of one exam session, in marks: (subject, region code or None for
    the national line) → line. A subject with no national line passes at the national
    ratio of its full marks."""

    lines: Mapping[tuple[Subject, str | None], Decimal]

    def national(self, subject: Subject, full_marks: Decimal) -> Decimal:
        return self.lines.get((subject, None), full_marks * national_ratio())

    def regional(self, subject: Subject, region: str | None) -> tuple[Decimal, str] | None:
        """The line of the designated area that applies in *region*, with that area's
        code: a line set for an area covers every area inside it, and the most specific
        one wins (a 凉山州 line over a 四川省 one for a 西昌市 candidate)."""
        if not region:
            return None
        areas = [area for (line_subject, area) in self.lines if line_subject is subject and area]
        area = regions.most_specific(areas, region)
        return (self.lines[(subject, area)], area) if area is not None else None


@dataclass(frozen=True)
class SubjectOutcome:
    passed: bool
    line: Decimal  # the line applied: the regional one only when the pass needed it
    # set when the subject passed only on a designated area's line: that area (which
    # may be larger than the candidate's own exam area)
    region: str | None


def mark_subject(score: Decimal, full_marks: Decimal, subject: Subject, region: str | None,
                 lines: PassLines) -> SubjectOutcome:
    """Decide one subject: the national line first, then the line of the designated
    area the candidate's exam area lies in, if any."""
    national = lines.national(subject, full_marks)
    if score >= national:
        return SubjectOutcome(True, national, None)
    regional = lines.regional(subject, region)
    if regional is None:
        return SubjectOutcome(False, national, None)
    line, area = regional
    if line < national and score >= line:
        return SubjectOutcome(True, line, area)
    return SubjectOutcome(False, line, None)


@dataclass(frozen=True)
class SubjectPass:
    subject: Subject
    year: int
    region: str | None = None  # passed only on this region's line


@dataclass(frozen=True)
class Qualification:
    level: Level
    year: int  # the exam year of the last pass it needed
    region: str | None  # valid only in this region (a regional line was needed)
    passes: tuple[SubjectPass, ...]


def qualification(level: Level, passes: Iterable[SubjectPass], year: int) -> Qualification | None:
    """The qualification *level* earned with the results of exam *year*, or None.

    Every subject of the level needs a pass inside the rolling window that ends in
    *year* (助理: the same year; 社会工作师: this year and the one before), and at least
    one of them in *year* itself (otherwise it was earned earlier). A national pass is
    preferred to a regional one; the qualification is region-limited when some subject
    passed only on a regional line.
    """
    rule = level_rule(level)
    window = range(year - rule.window_years + 1, year + 1)
    chosen: list[SubjectPass] = []
    for subject in subjects_of(level):
        candidates = [p for p in passes if p.subject is subject and p.year in window]
        if not candidates:
            return None
        chosen.append(max(candidates, key=lambda p: (p.region is None, p.year)))
    if all(p.year != year for p in chosen):
        return None
    regional = sorted((p for p in chosen if p.region), key=lambda p: p.year)
    return Qualification(level, year, regional[-1].region if regional else None, tuple(chosen))


def senior_proof_last_day(issued_on: date) -> date:
    """The last day on which a senior pass proof issued on *issued_on* supports a review.

    "自颁发之日起…3年内有效": the issue day is the first valid day, so a proof issued on
    2023-08-20 is valid through 2026-08-19. A proof issued on 29 February reaches its
    anniversary on 1 March of a common year, so its last day is 28 February."""
    return anniversary(issued_on, level_rule(Level.SENIOR).proof_valid_years) - timedelta(days=1)

