"""A plan to the exam date (备考计划): how many new items and reviews a day cover the
syllabus by then, weighted by the exam spec and by the candidate's weak chapters.

The plan is arithmetic on today's state, so it adjusts as the candidate goes: each day
it is worked out again from what is left. New items stop a few days before the exam
(REVISION_DAYS), which are left for reviews and mock papers.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

# The last days before the exam: reviews and mock papers only.
REVISION_DAYS = 7
# How many items of the whole subject a candidate should have seen by the exam, shared
# out over chapters by the spec's weights (a real paper has 80–100 objective items).
SUBJECT_GOAL = 1200
# A weak chapter asks for more items, a mastered one for fewer.
WEAKNESS_FACTOR = {"weak": 1.5, "learning": 1.0, "mastered": 0.5, None: 1.0}


@dataclass(frozen=True)
class ChapterNeed:
    chapter: str
    weight: float  # share of the exam's items (the chapter weights sum to 1)
    level: str | None  # mastery level ("weak", "learning", "mastered"), None: untraced
    seen: int  # items of the chapter the candidate has answered
    available: int  # items of the chapter in the open pool


@dataclass(frozen=True)
class ChapterToday:
    chapter: str
    new_items: int
    left: int  # new items of the chapter still to do after today's


@dataclass(frozen=True)
class Plan:
    exam_day: date
    days_left: int
    days_for_new: int
    new_left: int
    new_per_day: int
    reviews_per_day: int
    today: tuple[ChapterToday, ...]

    @property
    def finished_new(self) -> bool:
        return self.new_left == 0


def chapter_goal(need: ChapterNeed, goal: int = SUBJECT_GOAL) -> int:
    """Items of the chapter to have seen by the exam: its share of the goal, more for a
    weak chapter and fewer for a mastered one, never more than the pool holds."""
    wanted = math.ceil(goal * need.weight * WEAKNESS_FACTOR[need.level])
    return min(need.available, wanted)


def make_plan(today: date, exam_day: date, needs: Sequence[ChapterNeed],
              review_forecast: Sequence[int], *, goal: int = SUBJECT_GOAL,
              revision_days: int = REVISION_DAYS) -> Plan:
    """Today's plan: new items per day until the revision days, reviews per day from
    the forecast of cards falling due (the mean over the days given)."""
    days_left = max(0, (exam_day - today).days)
    days_for_new = max(0, days_left - revision_days)
    left = {need.chapter: max(0, chapter_goal(need, goal) - need.seen) for need in needs}
    new_left = sum(left.values())
    new_per_day = math.ceil(new_left / days_for_new) if days_for_new and new_left else 0
    reviews = round(sum(review_forecast) / len(review_forecast)) if review_forecast else 0
    return Plan(exam_day, days_left, days_for_new, new_left, new_per_day, reviews,
                tuple(_share(left, new_per_day)))


def _share(left: dict[str, int], total: int) -> list[ChapterToday]:
    """*total* new items shared over chapters in proportion to what each has left, by
    largest remainder (so the shares add up to the total)."""
    remaining = sum(left.values())
    total = min(total, remaining)
    if not total:
        return []
    exact = {chapter: total * n / remaining for chapter, n in left.items()}
    shares = {chapter: math.floor(value) for chapter, value in exact.items()}
    spare = total - sum(shares.values())
    for chapter in sorted(exact, key=lambda c: (shares[c] - exact[c], c))[:spare]:
        shares[chapter] += 1
    return [ChapterToday(chapter, shares[chapter], left[chapter] - shares[chapter])
            for chapter in left if shares[chapter]]
