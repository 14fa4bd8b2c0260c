"""The national exam's timetable (考试时间安排): each subject's time of day on the first
or second day of the sitting, as the yearly notices have set it since 2021 (the same in
2021, 2022, 2023 and 2024):

    day 1 14:00–16:00  社会工作法规与政策
    day 2 09:00–11:00  社会工作综合能力（初级、中级）
    day 2 14:00–16:00  社会工作实务（初级）
    day 2 14:00–16:30  社会工作实务（中级）
    day 2 14:00–17:00  社会工作实务（高级）

So a 助理 candidate sits two subjects, a 社会工作师 candidate three (over both days), a
高级 candidate one. A session keeps its own timetable (an administrator's setting); this
is only where it starts from."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .subjects import Subject


@dataclass(frozen=True)
class Slot:
    day: int  # 1 for the sitting's first day
    starts: time
    ends: time


NATIONAL = {
    Subject.LAW_MID: Slot(1, time(14, 0), time(16, 0)),
    Subject.COMP_JR: Slot(2, time(9, 0), time(11, 0)),
    Subject.COMP_MID: Slot(2, time(9, 0), time(11, 0)),
    Subject.PRAC_JR: Slot(2, time(14, 0), time(16, 0)),
    Subject.PRAC_MID: Slot(2, time(14, 0), time(16, 30)),
    Subject.PRAC_SR: Slot(2, time(14, 0), time(17, 0)),
}


def national_times(subject: Subject, first_day: date) -> tuple[datetime, datetime]:
    """The subject's start and end (local, naive) in a sitting whose first day is
    *first_day*."""
    slot = NATIONAL[subject]
    day = first_day + timedelta(days=slot.day - 1)
    return datetime.combine(day, slot.starts), datetime.combine(day, slot.ends)


def overlapping(times: dict[Subject, tuple[datetime, datetime]]) -> tuple[Subject, Subject] | None:
    """Two subjects whose times overlap (a candidate cannot sit both), or None."""
    ordered = sorted(times.items(), key=lambda item: item[1])
    for (first, (_, first_ends)), (second, (second_starts, _)) in zip(
            ordered, ordered[1:], strict=False):
        if second_starts < first_ends:
            return first, second
    return None
