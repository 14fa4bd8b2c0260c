"""Practice modes: what each kind of attempt draws, whether it is timed, when it gives feedback."""

import hashlib
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from .subjects import Subject, SubjectKind


class Mode(StrEnum):
    CHAPTER = "CHAPTER"  # 章节练习: chosen chapters, feedback after each answer
    DAILY = "DAILY"  # 每日一练: the same set all day for one candidate
    RANDOM = "RANDOM"  # 随机练习
    MOCK = "MOCK"  # 模拟考试: a full paper, timed, feedback only after submission
    REDO = "REDO"  # 错题重做: from the wrong-answer book
    BOOKMARKS = "BOOKMARKS"  # 收藏练习
    EXAM = "EXAM"  # 正式考试: one subject of an exam session, reviewed only after publication
    REVIEW = "REVIEW"  # 今日复习: the candidate's review cards due today, in due order

    @property
    def is_full_paper(self) -> bool:
        """A paper built like the real exam: every section filled, timed."""
        return self in (Mode.MOCK, Mode.EXAM)

    @property
    def is_timed(self) -> bool:
        return self.is_full_paper

    @property
    def gives_feedback_per_item(self) -> bool:
        """Key and explanation right after each answer, which then locks."""
        return not self.is_full_paper

    @property
    def is_practice(self) -> bool:
        """Counts in the candidate's practice: history, trends, wrong-answer book."""
        return self is not Mode.EXAM

    @property
    def draws_from_bank(self) -> bool:
        return self in (Mode.CHAPTER, Mode.DAILY, Mode.RANDOM, Mode.MOCK, Mode.EXAM)


@dataclass(frozen=True)
class SetSize:
    default: int
    choices: tuple[int, ...]


# Subjective items take a quarter of an hour each: their sets are short.
SET_SIZES = {
    SubjectKind.OBJECTIVE: {
        Mode.CHAPTER: SetSize(20, (10, 20, 30, 50)),
        Mode.DAILY: SetSize(15, (15,)),
        Mode.RANDOM: SetSize(20, (10, 20, 30, 50)),
        Mode.REDO: SetSize(20, (10, 20, 30, 50)),
        Mode.BOOKMARKS: SetSize(20, (10, 20, 30, 50)),
        Mode.REVIEW: SetSize(20, (10, 20, 30, 50)),
    },
    SubjectKind.SUBJECTIVE: {
        Mode.CHAPTER: SetSize(2, (1, 2, 3)),
        Mode.DAILY: SetSize(1, (1,)),
        Mode.RANDOM: SetSize(2, (1, 2, 3)),
        Mode.BOOKMARKS: SetSize(2, (1, 2, 3)),
    },
}


def set_size(subject: Subject, mode: Mode) -> SetSize | None:
    """How many items a practice set of *mode* holds; None where the mode does not
    apply (mock papers; wrong-answer redo of subjective items, which are not marked)."""
    return SET_SIZES[subject.kind].get(mode)


def daily_seed(candidate_id: int, day: date, subject: Subject) -> int:
    """The seed of a candidate's daily set: the same all day, different every day."""
    text = f"daily:{candidate_id}:{subject.value}:{day.isoformat()}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def default_law_cutoff(today: date, exam_month: int = 5) -> date:
    """31 Dec of the year before the coming exam: the exam tests the law in force then."""
    exam_year = today.year if today.month <= exam_month else today.year + 1
    return date(exam_year - 1, 12, 31)
