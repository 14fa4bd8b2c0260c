"""A candidate's week of study (学习报告): what they did, what improved, what to do
next. Weeks run Monday to Sunday in China."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.attempts import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    Response,
    ReviewCard,
    ReviewLog,
)
from exam_portal.services.delivery import learning
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank import study_report, syllabus
from question_bank.practice import Mode
from question_bank.study_report import ChapterWeek
from question_bank.subjects import Subject

# How far back a candidate can page through their weeks.
MAX_WEEKS_BACK = 52


def week_of(day: date) -> date:
    """The Monday of *day*'s week."""
    return day - timedelta(days=day.weekday())


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(), LOCAL_ZONE).astimezone(UTC)


@dataclass(frozen=True)
class Mock:
    day: date
    subject: Subject
    percent: float
    passed: bool | None


@dataclass(frozen=True)
class ChapterLine:
    subject: Subject
    chapter: str
    title: str
    week: ChapterWeek


@dataclass(frozen=True)
class WeekReport:
    monday: date
    days_studied: int
    sets: int  # practice sets and mock papers handed in
    answered: int  # marked choice answers
    right: int
    reviews: int  # of review cards
    new_cards: int  # items that went into the wrong-answer book
    mocks: tuple[Mock, ...]
    chapters: tuple[ChapterLine, ...]  # practised this week, in syllabus order
    improved: tuple[ChapterLine, ...]
    still_weak: tuple[ChapterLine, ...]
    due_next_week: int  # review cards falling due in the seven days after the week

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def percent(self) -> float | None:
        return 100 * self.right / self.answered if self.answered else None

    @property
    def empty(self) -> bool:
        return not (self.sets or self.answered or self.reviews)


def _chapter_counts(candidate_id: int, start: datetime | None, end: datetime):
    """(subject, chapter) → (right, answered) of the candidate's marked practice and
    mock choice answers saved from *start* (or ever, with None) until *end*."""
    right = sa.case((Response.score_halves == AttemptItem.points_halves, 1), else_=0)
    query = (sa.select(Attempt.subject, AttemptItem.chapter_code, sa.func.sum(right),
                       sa.func.count())
             .select_from(Response)
             .join(AttemptItem, sa.and_(AttemptItem.attempt_id == Response.attempt_id,
                                        AttemptItem.position == Response.position))
             .join(Attempt, Attempt.id == Response.attempt_id)
             .where(Attempt.candidate_id == candidate_id, Attempt.mode != Mode.EXAM,
                    Response.score_halves.is_not(None), Response.selected.is_not(None),
                    Response.selected != "", Response.saved_at < end)
             .group_by(Attempt.subject, AttemptItem.chapter_code))
    if start is not None:
        query = query.where(Response.saved_at >= start)
    return {(subject, chapter): (int(r or 0), int(n))
            for subject, chapter, r, n in db.session.execute(query)}


def _title(version_tree, code: str) -> str:
    node = version_tree.node(code) if version_tree else None
    return node.title if node else code


def report(candidate_id: int, monday: date, *, version: str, now: datetime) -> WeekReport:
    """The report of the week starting *monday* (the week so far, for this week)."""
    start, end = _utc(monday), _utc(monday + timedelta(days=7))
    handed_in = db.session.execute(
        sa.select(Attempt.mode, Attempt.subject, Attempt.submitted_at, Attempt.score_halves,
                  Attempt.full_halves, Attempt.passed)
        .where(Attempt.candidate_id == candidate_id, Attempt.mode != Mode.EXAM,
               Attempt.status == AttemptStatus.SUBMITTED, Attempt.submitted_at >= start,
               Attempt.submitted_at < end)
        .order_by(Attempt.submitted_at)).all()
    started = db.session.scalars(
        sa.select(Attempt.started_at).where(
            Attempt.candidate_id == candidate_id, Attempt.mode != Mode.EXAM,
            Attempt.started_at >= start, Attempt.started_at < end)).all()
    days = {moment.astimezone(LOCAL_ZONE).date()
            for moment in (*started, *(row.submitted_at for row in handed_in))}
    mocks = tuple(Mock(row.submitted_at.astimezone(LOCAL_ZONE).date(), row.subject,
                       round(100 * row.score_halves / row.full_halves, 1), row.passed)
                  for row in handed_in if row.mode is Mode.MOCK
                  and row.score_halves is not None and row.full_halves)
    week = _chapter_counts(candidate_id, start, end)
    before = _chapter_counts(candidate_id, None, start)
    tree = syllabus.load(version) if syllabus.is_loaded(version) else None
    order = {chapter.code: index for index, chapter in enumerate(
        chapter for subject_tree in (tree.trees.values() if tree else ())
        for chapter in subject_tree.chapters)}
    lines = [ChapterLine(subject, chapter, _title(tree, chapter), ChapterWeek(
        (subject.value, chapter), right, answered, *before.get((subject, chapter), (0, 0))))
        for (subject, chapter), (right, answered) in week.items()]
    lines.sort(key=lambda line: (order.get(line.chapter, len(order)), line.chapter))
    by_key = {line.week.key: line for line in lines}
    weeks = [line.week for line in lines]
    reviews = db.session.scalar(
        sa.select(sa.func.count()).select_from(ReviewLog)
        .where(ReviewLog.candidate_id == candidate_id, ReviewLog.reviewed_at >= start,
               ReviewLog.reviewed_at < end))
    new_cards = db.session.scalar(
        sa.select(sa.func.count()).select_from(ReviewCard)
        .where(ReviewCard.candidate_id == candidate_id, ReviewCard.in_book.is_(True),
               ReviewCard.created_at >= start, ReviewCard.created_at < end))
    due = sum(count for _day, count in
              learning.review_load(candidate_id, now=max(now, end), days=7))
    return WeekReport(
        monday=monday, days_studied=len(days), sets=len(handed_in),
        answered=sum(n for _r, n in week.values()), right=sum(r for r, _n in week.values()),
        reviews=int(reviews or 0), new_cards=int(new_cards or 0), mocks=mocks,
        chapters=tuple(lines),
        improved=tuple(by_key[week.key] for week in study_report.improved(weeks)),
        still_weak=tuple(by_key[week.key] for week in study_report.still_weak(weeks)),
        due_next_week=due)


def weeks_with_study(candidate_id: int, today: date) -> list[date]:
    """The Mondays of the weeks (up to a year back) in which the candidate handed in
    practice, newest first, this week always included."""
    since = _utc(week_of(today) - timedelta(weeks=MAX_WEEKS_BACK))
    mondays = {week_of(today)} | {
        week_of(moment.astimezone(LOCAL_ZONE).date()) for moment in db.session.scalars(
            sa.select(Attempt.submitted_at).where(
                Attempt.candidate_id == candidate_id, Attempt.mode != Mode.EXAM,
                Attempt.submitted_at >= since))}
    return sorted(mondays, reverse=True)
