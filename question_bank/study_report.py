"""The weekly study report's judgements: which chapters a week improved, which it
left weak. Plain arithmetic on answer counts, so that the report can say why."""

from dataclasses import dataclass

# A week's answers in a chapter say something only from this many on.
MIN_WEEK_ANSWERS = 5
# Percentage points a chapter's accuracy must rise over the weeks before to count as
# improved (fewer is within the noise of a few answers).
MIN_GAIN = 10
# Below this accuracy a chapter practised this week still needs work.
WEAK_PERCENT = 60


@dataclass(frozen=True)
class ChapterWeek:
    key: tuple  # (subject, chapter code)
    right: int  # this week
    answered: int
    right_before: int  # every week before
    answered_before: int

    @property
    def percent(self) -> float:
        return 100 * self.right / self.answered if self.answered else 0.0

    @property
    def percent_before(self) -> float | None:
        return 100 * self.right_before / self.answered_before if self.answered_before else None

    @property
    def gain(self) -> float | None:
        before = self.percent_before
        return None if before is None else self.percent - before


def improved(chapters: list[ChapterWeek]) -> list[ChapterWeek]:
    """Chapters answered enough this week whose accuracy rose by MIN_GAIN points or more
    over the weeks before, the biggest rise first."""
    chosen = [c for c in chapters if c.answered >= MIN_WEEK_ANSWERS
              and c.gain is not None and c.gain >= MIN_GAIN]
    return sorted(chosen, key=lambda c: (-c.gain, c.key))


def still_weak(chapters: list[ChapterWeek]) -> list[ChapterWeek]:
    """Chapters answered enough this week and still below WEAK_PERCENT, weakest first."""
    chosen = [c for c in chapters if c.answered >= MIN_WEEK_ANSWERS
              and c.percent < WEAK_PERCENT]
    return sorted(chosen, key=lambda c: (c.percent, c.key))
