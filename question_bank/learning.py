"""The wrong-answer book (错题本): which answers put an item in it, and when it leaves."""

from dataclasses import dataclass

# An item leaves the book after this many right answers in a row (configurable).
DEFAULT_STREAK_TO_LEAVE = 2


@dataclass(frozen=True)
class BookEntry:
    """A candidate's standing with one item in the wrong-answer book."""

    in_book: bool
    streak: int = 0  # right answers in a row since the last wrong one
    times_wrong: int = 0


def after_answer(entry: BookEntry | None, *, correct: bool,
                 streak_to_leave: int = DEFAULT_STREAK_TO_LEAVE) -> BookEntry | None:
    """The entry after one more marked answer; None while the item was never wrong.

    A wrong (or partly right) answer puts the item in the book and restarts the run;
    a right answer extends it, and the item leaves once the run is long enough.
    """
    if not correct:
        times = entry.times_wrong if entry else 0
        return BookEntry(in_book=True, streak=0, times_wrong=times + 1)
    if entry is None or not entry.in_book:
        return entry
    streak = entry.streak + 1
    if streak >= streak_to_leave:
        return BookEntry(in_book=False, streak=0, times_wrong=entry.times_wrong)
    return BookEntry(in_book=True, streak=streak, times_wrong=entry.times_wrong)
