"""A training class's figures (班级看板) and a trainer's written feedback on a practice
answer: the rules, with no I/O.

- Completion of an assignment: the share of the class's enrolled candidates who have
  handed in a paper for it.
- Score distribution: each candidate's latest score (a percentage of full marks) falls
  in one of ten bands of ten points; 100 % sits in the top band.
- Trend: the least-squares slope of a candidate's latest percentages, in points per
  paper; TREND_FLAT_POINTS either side of zero reads as steady.
- Weak knowledge points of the class: a point counts once at least MIN_MEMBERS members
  (or every member, in a smaller class) have traced mastery of it; its class mastery is
  the mean of their probabilities, and it is weak below the mastery map's own line for
  "weak" (question_bank.mastery.Level), weakest first.
- Feedback: one text per key point of the rubric (empty: no comment), each at most
  FEEDBACK_MAX_CHARS characters, trimmed.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .marking import InvalidMarks, Rubric
from .mastery import Level

BANDS = 10
MIN_MEMBERS = 3
TREND_FLAT_POINTS = 1.0
FEEDBACK_MAX_CHARS = 500


# Completion and distribution --------------------------------------------------------

def completion(enrolled: int, handed_in: int) -> float:
    """The share (0–1) of *enrolled* candidates who handed in a paper (0 with nobody)."""
    return min(handed_in, enrolled) / enrolled if enrolled else 0.0


@dataclass(frozen=True)
class Band:
    low: int  # percent, inclusive
    high: int  # percent, exclusive but for the top band
    count: int


def score_distribution(percents: Iterable[float]) -> tuple[Band, ...]:
    """How many percentages fall in each band of 10 points (0–10, …, 90–100)."""
    counts = [0] * BANDS
    width = 100 // BANDS
    for percent in percents:
        clamped = min(max(float(percent), 0.0), 100.0)
        counts[min(int(clamped // width), BANDS - 1)] += 1
    return tuple(Band(i * width, (i + 1) * width, count) for i, count in enumerate(counts))


# Trend ------------------------------------------------------------------------------

class Direction:
    UP, DOWN, STEADY = "up", "down", "steady"


def slope(percents: Sequence[float]) -> float | None:
    """Points gained per paper, by least squares over *percents* in order (None for
    fewer than two)."""
    n = len(percents)
    if n < 2:
        return None
    mean_x, mean_y = (n - 1) / 2, sum(percents) / n
    spread = sum((x - mean_x) ** 2 for x in range(n))
    return sum((x - mean_x) * (y - mean_y) for x, y in enumerate(percents)) / spread


def direction(percents: Sequence[float]) -> str | None:
    """Up, down or steady (None for fewer than two papers)."""
    gain = slope(percents)
    if gain is None:
        return None
    if gain > TREND_FLAT_POINTS:
        return Direction.UP
    return Direction.DOWN if gain < -TREND_FLAT_POINTS else Direction.STEADY


# Weak knowledge points --------------------------------------------------------------

@dataclass(frozen=True)
class MemberMastery:
    """One member's traced mastery of one knowledge point."""

    code: str
    p_known: float
    answered: int
    right: int


@dataclass(frozen=True)
class ClassPoint:
    code: str
    members: int  # members with traced mastery of the point
    answered: int
    right: int
    p_known: float  # mean over those members

    @property
    def accuracy(self) -> float:
        return 100 * self.right / self.answered if self.answered else 0.0

    @property
    def level(self) -> str:
        return Level.of(self.p_known)


def aggregate(rows: Iterable[MemberMastery]) -> list[ClassPoint]:
    """Each knowledge point's totals over the members' rows (the database adds them
    up the same way)."""
    grouped: dict[str, list[MemberMastery]] = {}
    for row in rows:
        grouped.setdefault(row.code, []).append(row)
    return [ClassPoint(code, len(group), sum(r.answered for r in group),
                       sum(r.right for r in group),
                       sum(r.p_known for r in group) / len(group))
            for code, group in grouped.items()]


def class_points(points: Iterable[ClassPoint], enrolled: int) -> list[ClassPoint]:
    """The knowledge points enough members have traced, weakest first (then the most
    answered)."""
    needed = max(1, min(MIN_MEMBERS, enrolled))
    return sorted((p for p in points if p.members >= needed),
                  key=lambda p: (p.p_known, -p.answered, p.code))


def weak_points(points: Iterable[ClassPoint], enrolled: int, limit: int = 20
                ) -> list[ClassPoint]:
    """The class's weak knowledge points, weakest first, at most *limit*."""
    return [point for point in class_points(points, enrolled)
            if point.level == Level.WEAK][:limit]


# Feedback per key point -------------------------------------------------------------

def feedback(rubric: Rubric, texts: Sequence[Sequence[str | None]]) -> list[list[str]]:
    """The trainer's comments per key point, trimmed; raise InvalidMarks if they do not
    follow the rubric ("shape") or one is too long ("feedback")."""
    if tuple(len(part) for part in texts) != rubric.shape:
        raise InvalidMarks("shape")
    cleaned = [[(text or "").strip() for text in part] for part in texts]
    if any(len(text) > FEEDBACK_MAX_CHARS for part in cleaned for text in part):
        raise InvalidMarks("feedback")
    return cleaned
