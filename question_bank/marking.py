"""Marking subjective answers against their key points, and double marking.

A marker awards points per key point (0.5 steps, never above the key point's
points); a sub-question never earns more than its own points, however many key
points were met. Two markers mark every answer; when their totals differ by more than
a threshold, a third marker adjudicates and their total is final, otherwise the
average counts (rounded half up to the 0.5 step marks move in).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .errors import QuestionBankError
from .items import ItemContent

HALF = Decimal("0.5")


class InvalidMarks(QuestionBankError):
    """Marks that do not fit the rubric; `reason` says how."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RubricPart:
    prompt: str
    cap: Decimal
    key_points: tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True)
class Rubric:
    parts: tuple[RubricPart, ...]

    @property
    def full_marks(self) -> Decimal:
        return sum((part.cap for part in self.parts), Decimal(0))

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(part.key_points) for part in self.parts)


def rubric_of(content: ItemContent) -> Rubric:
    """The marking rubric of a subjective item: its key points, per sub-question."""
    if content.item_type.is_choice:
        raise ValueError("choice items are scored, not marked")
    if content.sub_questions:
        return Rubric(tuple(RubricPart(sub.prompt, sub.points,
                                       tuple((kp.text, kp.points) for kp in sub.key_points))
                            for sub in content.sub_questions))
    return Rubric((RubricPart(content.stem, content.points,
                              tuple((kp.text, kp.points) for kp in content.key_points)),))


def total(rubric: Rubric, awarded: Sequence[Sequence[Decimal]]) -> Decimal:
    """Add up one marker's points per key point; raise InvalidMarks if they do not fit."""
    if tuple(len(part) for part in awarded) != rubric.shape:
        raise InvalidMarks("shape")
    result = Decimal(0)
    for part, points in zip(rubric.parts, awarded, strict=True):
        earned = Decimal(0)
        for (_, available), given in zip(part.key_points, points, strict=True):
            if not isinstance(given, Decimal) or not given.is_finite():
                raise InvalidMarks("number")
            if given < 0 or given > available:
                raise InvalidMarks("range")
            if given % HALF:
                raise InvalidMarks("step")
            earned += given
        result += min(earned, part.cap)
    return result


def needs_adjudication(first: Decimal, second: Decimal, threshold: Decimal) -> bool:
    return abs(first - second) > threshold


def final_mark(first: Decimal, second: Decimal, third: Decimal | None = None) -> Decimal:
    """The mark that counts: the adjudicator's when there is one, else the two markers'
    average rounded half up to a 0.5 step."""
    if third is not None:
        return third
    average = (first + second) / 2
    return (average / HALF).quantize(Decimal(1), rounding=ROUND_HALF_UP) * HALF
