"""The candidate's study record: wrong-answer book, bookmarks, and the dashboard figures."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from exam_portal.extensions import db
from exam_portal.models.attempts import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    Bookmark,
    Response,
    WrongAnswer,
)
from exam_portal.models.bank import Item, ItemVersion
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank import learning, syllabus
from question_bank.items import ItemType
from question_bank.practice import Mode
from question_bank.subjects import Subject


@dataclass(frozen=True)
class MarkedAnswer:
    item_id: int
    subject: Subject
    correct: bool


def record_answers(candidate_id: int, answers: list[MarkedAnswer], *, now: datetime) -> None:
    """Move items in or out of the candidate's wrong-answer book after marked answers."""
    if not answers:
        return
    streak = current_app.config["WRONG_ANSWER_STREAK"]
    rows = {row.item_id: row for row in db.session.scalars(
        sa.select(WrongAnswer).where(WrongAnswer.candidate_id == candidate_id,
                                     WrongAnswer.item_id.in_({a.item_id for a in answers}))
        .with_for_update())}
    for answer in answers:
        row = rows.get(answer.item_id)
        before = (learning.BookEntry(row.in_book, row.streak, row.times_wrong)
                  if row else None)
        after = learning.after_answer(before, correct=answer.correct, streak_to_leave=streak)
        if after is None or after == before:
            continue
        if row is None:
            row = WrongAnswer(candidate_id=candidate_id, item_id=answer.item_id,
                              subject=answer.subject)
            db.session.add(row)
            rows[answer.item_id] = row
        row.in_book, row.streak, row.times_wrong = after.in_book, after.streak, after.times_wrong
        row.updated_at = now
        if not answer.correct:
            row.last_wrong_at = now
    db.session.flush()


def book_item_ids(candidate_id: int, subject: Subject) -> list[int]:
    """Items in the candidate's wrong-answer book for *subject*, most often wrong first."""
    return list(db.session.scalars(
        sa.select(WrongAnswer.item_id).where(WrongAnswer.candidate_id == candidate_id,
                                             WrongAnswer.subject == subject,
                                             WrongAnswer.in_book.is_(True))
        .order_by(WrongAnswer.times_wrong.desc(), WrongAnswer.item_id)))


def bookmarked_item_ids(candidate_id: int, subject: Subject) -> list[int]:
    return list(db.session.scalars(
        sa.select(Bookmark.item_id).where(Bookmark.candidate_id == candidate_id,
                                          Bookmark.subject == subject)
        .order_by(Bookmark.created_at.desc())))


def book_counts(candidate_id: int) -> dict[Subject, tuple[int, int]]:
    """Per subject: (items in the wrong-answer book, bookmarks)."""
    counts: dict[Subject, list[int]] = defaultdict(lambda: [0, 0])
    for subject, number in db.session.execute(
            sa.select(WrongAnswer.subject, sa.func.count())
            .where(WrongAnswer.candidate_id == candidate_id, WrongAnswer.in_book.is_(True))
            .group_by(WrongAnswer.subject)):
        counts[subject][0] = number
    for subject, number in db.session.execute(
            sa.select(Bookmark.subject, sa.func.count())
            .where(Bookmark.candidate_id == candidate_id).group_by(Bookmark.subject)):
        counts[subject][1] = number
    return {subject: (book, marks) for subject, (book, marks) in counts.items()}


def wrong_answer_query(candidate_id: int, subject: Subject | None):
    """The candidate's book entries with their items' current published versions."""
    query = (sa.select(WrongAnswer, Item).join(Item, Item.id == WrongAnswer.item_id)
             .where(WrongAnswer.candidate_id == candidate_id, WrongAnswer.in_book.is_(True),
                    Item.published_version_id.is_not(None)))
    if subject:
        query = query.where(WrongAnswer.subject == subject)
    return query.order_by(WrongAnswer.last_wrong_at.desc(), WrongAnswer.item_id)


def bookmark_query(candidate_id: int, subject: Subject | None):
    query = (sa.select(Bookmark, Item).join(Item, Item.id == Bookmark.item_id)
             .where(Bookmark.candidate_id == candidate_id,
                    Item.published_version_id.is_not(None)))
    if subject:
        query = query.where(Bookmark.subject == subject)
    return query.order_by(Bookmark.created_at.desc(), Bookmark.item_id)


def set_bookmark(candidate_id: int, item: Item, wanted: bool) -> bool:
    """Bookmark *item* for the candidate, or remove the bookmark; return the new state."""
    existing = db.session.get(Bookmark, (candidate_id, item.id))
    if wanted and existing is None:
        db.session.add(Bookmark(candidate_id=candidate_id, item_id=item.id,
                                subject=item.subject))
    elif not wanted and existing is not None:
        db.session.delete(existing)
    db.session.flush()
    return wanted


def remove_bookmark(candidate_id: int, item_id: int) -> bool:
    """Delete the candidate's own bookmark; False when there was none."""
    deleted = db.session.execute(sa.delete(Bookmark).where(
        Bookmark.candidate_id == candidate_id, Bookmark.item_id == item_id))
    return deleted.rowcount == 1


def is_bookmarked(candidate_id: int, item_ids) -> set[int]:
    return set(db.session.scalars(sa.select(Bookmark.item_id).where(
        Bookmark.candidate_id == candidate_id, Bookmark.item_id.in_(set(item_ids)))))


# The dashboard ----------------------------------------------------------------------

@dataclass(frozen=True)
class TrendPoint:
    attempt_id: int
    day: date
    percent: float


@dataclass(frozen=True)
class ChapterAccuracy:
    subject: Subject
    chapter: str
    title: str
    right: int
    answered: int

    @property
    def percent(self) -> float:
        return 100 * self.right / self.answered if self.answered else 0.0


@dataclass(frozen=True)
class StudyDays:
    total: int
    last_30: int
    streak: int


def attempt_history(candidate_id: int):
    """The candidate's attempts, newest first."""
    return (sa.select(Attempt).where(Attempt.candidate_id == candidate_id,
                                     Attempt.mode != Mode.EXAM)
            .order_by(Attempt.started_at.desc(), Attempt.id.desc()))


def recent_attempts(candidate_id: int, limit: int = 8) -> list[Attempt]:
    return list(db.session.scalars(attempt_history(candidate_id).limit(limit)))


def score_trends(candidate_id: int, per_subject: int = 20) -> dict[Subject, list[TrendPoint]]:
    """Per subject, the percentage scores of the latest marked attempts, oldest first."""
    rows = db.session.execute(
        sa.select(Attempt.id, Attempt.subject, Attempt.submitted_at, Attempt.score_halves,
                  Attempt.full_halves)
        .where(Attempt.candidate_id == candidate_id, Attempt.status == AttemptStatus.SUBMITTED,
               Attempt.mode != Mode.EXAM,
               Attempt.score_halves.is_not(None), Attempt.full_halves > 0)
        .order_by(Attempt.submitted_at.desc(), Attempt.id.desc()).limit(per_subject * 6))
    trends: dict[Subject, list[TrendPoint]] = defaultdict(list)
    for attempt_id, subject, at, score, full in rows:
        if len(trends[subject]) < per_subject:
            trends[subject].append(TrendPoint(attempt_id, at.astimezone(LOCAL_ZONE).date(),
                                              round(100 * score / full, 1)))
    return {subject: list(reversed(points)) for subject, points in trends.items()}


def chapter_accuracy(candidate_id: int, syllabus_version: str) -> list[ChapterAccuracy]:
    """Right answers out of marked choice answers, per chapter of *syllabus_version*'s
    tree (answers to items filed under it), the weakest first."""
    marked = sa.and_(Response.score_halves.is_not(None), Response.selected.is_not(None),
                     Response.selected != "")
    full = AttemptItem.points_halves
    rows = db.session.execute(
        sa.select(Attempt.subject, AttemptItem.chapter_code,
                  sa.func.count(),
                  sa.func.sum(sa.case((Response.score_halves == full, 1), else_=0)))
        .select_from(Response)
        .join(AttemptItem, sa.and_(AttemptItem.attempt_id == Response.attempt_id,
                                   AttemptItem.position == Response.position))
        .join(Attempt, Attempt.id == Response.attempt_id)
        .join(Item, Item.id == AttemptItem.item_id)
        # A chapter code means a chapter of the tree its item version is filed under.
        .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
        # Exam sittings stay out: their marks are not the candidate's to see before
        # the results are published, and they are not practice.
        .where(Attempt.candidate_id == candidate_id, marked, Attempt.mode != Mode.EXAM,
               Item.item_type.in_([ItemType.SINGLE, ItemType.MULTI]),
               ItemVersion.syllabus_version == syllabus_version)
        .group_by(Attempt.subject, AttemptItem.chapter_code))
    tree = syllabus.load(syllabus_version)
    result = []
    for subject, chapter, answered, right in rows:
        node = tree.node(chapter)
        result.append(ChapterAccuracy(subject, chapter, node.title if node else chapter,
                                      int(right or 0), int(answered)))
    return sorted(result, key=lambda row: (row.percent, -row.answered, row.chapter))


def study_days(candidate_id: int, today: date) -> StudyDays:
    """Days (in China) on which the candidate practised: in all, lately, and in a row."""
    stamps = db.session.scalars(
        sa.select(Response.saved_at).join(Attempt, Attempt.id == Response.attempt_id)
        .where(Attempt.candidate_id == candidate_id)
        .order_by(Response.saved_at.desc()).limit(20_000))
    days = {stamp.astimezone(LOCAL_ZONE).date() for stamp in stamps}
    streak, day = 0, today
    if day not in days:
        day -= timedelta(days=1)  # a streak is not broken before today is over
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    recent = sum(1 for d in days if (today - d).days < 30)
    return StudyDays(len(days), recent, streak)
