"""The candidate's study record: review cards (spaced review and the wrong-answer book),
bookmarks, and the dashboard figures."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.attempts import (
    Attempt,
    AttemptStatus,
    Bookmark,
    ReviewCard,
    ReviewLog,
)
from exam_portal.models.bank import Item, ItemVersion
from exam_portal.models.mastery import KnowledgeMastery
from exam_portal.models.types import dialect_insert
from exam_portal.services import ServiceError
from exam_portal.services.delivery import mastery
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank import spaced_review, syllabus
from question_bank.items import ItemType
from question_bank.practice import Mode
from question_bank.spaced_review import CardState, Feeling, Rating, State
from question_bank.subjects import Subject


class CannotReview(ServiceError):
    """A review the candidate asked for cannot be changed or made."""

    code = "review"


@dataclass(frozen=True)
class MarkedAnswer:
    item_id: int
    subject: Subject
    correct: bool
    selected: str | None = None  # the item's own option letters
    attempt_id: int | None = None
    position: int | None = None
    item_version_id: int | None = None
    item_type: ItemType = ItemType.SINGLE


def review_settings() -> spaced_review.Settings:
    config = current_app.config
    return spaced_review.Settings(
        desired_retention=config["REVIEW_RETENTION_PERCENT"] / 100,
        maximum_interval_days=config["REVIEW_MAX_INTERVAL_DAYS"])


def _state(card: ReviewCard) -> CardState:
    return CardState(State(card.state), card.step, card.stability, card.difficulty,
                     card.due, card.last_review)


def _store(card: ReviewCard, state: CardState) -> None:
    card.state, card.step = int(state.state), state.step
    card.stability, card.difficulty = state.stability, state.difficulty
    card.due, card.last_review = state.due, state.last_review


def _locked_cards(candidate_id: int, item_ids) -> dict[int, ReviewCard]:
    # In item order, so two transactions reviewing the same cards lock them alike.
    return {card.item_id: card for card in db.session.scalars(
        sa.select(ReviewCard).where(ReviewCard.candidate_id == candidate_id,
                                    ReviewCard.item_id.in_(sorted(set(item_ids))))
        .order_by(ReviewCard.item_id).with_for_update()
        .execution_options(populate_existing=True))}


def _add_cards(candidate_id: int, subjects: dict[int, Subject], *, now: datetime,
               in_book: bool) -> None:
    """New cards, due at once, for the items that have none (a parallel answer may
    have just made one: that one stands)."""
    if not subjects:
        return
    fresh = spaced_review.new_card(now)
    insert = dialect_insert(ReviewCard.__table__, db.session.get_bind().dialect.name)
    db.session.execute(insert.on_conflict_do_nothing(), [
        {"candidate_id": candidate_id, "item_id": item_id, "subject": subject,
         "state": int(fresh.state), "step": fresh.step, "due": fresh.due, "reviews": 0,
         "in_book": in_book, "times_wrong": 0, "created_at": now}
        for item_id, subject in sorted(subjects.items())])


def record_answers(candidate_id: int, answers: list[MarkedAnswer], *, now: datetime) -> None:
    """Review the candidate's cards with marked answers: a wrong answer makes the item a
    card (and puts it in the wrong-answer book) and rates it Again; a right answer to
    an item with a card rates it Good. Items never answered wrong get no card. Then
    trace the candidate's mastery of the syllabus nodes the items are linked to."""
    if not answers:
        return
    mastery.record(candidate_id, [
        mastery.Answer(a.item_version_id, a.item_type, a.subject, a.correct)
        for a in answers if a.item_version_id is not None], now=now)
    _add_cards(candidate_id, {a.item_id: a.subject for a in answers if not a.correct},
               now=now, in_book=True)
    cards = _locked_cards(candidate_id, (a.item_id for a in answers))
    settings = review_settings()
    logs = []
    for answer in answers:
        card = cards.get(answer.item_id)
        if card is None:
            continue
        rating = spaced_review.rating_for(answer.correct)
        _store(card, spaced_review.review(_state(card), rating, now, settings))
        card.reviews += 1
        card.last_selected = answer.selected
        if not answer.correct:
            card.in_book, card.times_wrong, card.last_wrong_at = True, card.times_wrong + 1, now
        logs.append({"candidate_id": candidate_id, "item_id": answer.item_id,
                     "rating": int(rating), "reviewed_at": now,
                     "attempt_id": answer.attempt_id, "position": answer.position})
    if logs:
        db.session.execute(sa.insert(ReviewLog), logs)
    db.session.flush()


def reviewed_positions(attempt_id: int) -> dict[int, int]:
    """Positions of the attempt whose marked answer reviewed a card: their ratings."""
    return dict(db.session.execute(
        sa.select(ReviewLog.position, ReviewLog.rating)
        .where(ReviewLog.attempt_id == attempt_id)).all())


def rate_recall(candidate_id: int, attempt_id: int, position: int, feeling: Feeling) -> Rating:
    """The candidate says how a right answer felt: its review is rated Easy or Hard
    instead of Good, and the card is scheduled again from its whole history. Only the
    card's latest review can change (later ones were scheduled from it)."""
    log = db.session.scalar(sa.select(ReviewLog).where(
        ReviewLog.attempt_id == attempt_id, ReviewLog.position == position,
        ReviewLog.candidate_id == candidate_id))
    if log is None:
        raise CannotReview(gettext("这道题没有复习记录。"))
    card = _locked_cards(candidate_id, [log.item_id]).get(log.item_id)
    if card is None:
        raise CannotReview(gettext("这道题已不在复习中。"))
    # The card's own history: an item taken out of review and answered wrong again
    # starts a new card, which owes nothing to the reviews before it.
    history = db.session.scalars(
        sa.select(ReviewLog).where(ReviewLog.candidate_id == candidate_id,
                                   ReviewLog.item_id == log.item_id,
                                   ReviewLog.reviewed_at >= card.created_at)
        .order_by(ReviewLog.reviewed_at, ReviewLog.id)
        .execution_options(populate_existing=True)).all()
    if not history or history[-1].id != log.id:
        raise CannotReview(gettext("这道题之后又复习过，不能再改这次的感受。"))
    if log.rating == Rating.Again:
        raise CannotReview(gettext("答错的题按“忘记”安排复习。"))
    log.rating = int(spaced_review.rating_for(True, feeling))
    _store(card, spaced_review.replay(((Rating(entry.rating), entry.reviewed_at)
                                       for entry in history), review_settings()))
    db.session.flush()
    return Rating(log.rating)


def add_bookmarks_to_review(candidate_id: int, subject: Subject, *, now: datetime) -> int:
    """Make a card of every bookmarked choice item of *subject* that has none; how many."""
    before = _card_count(candidate_id, subject)
    item_ids = db.session.scalars(
        sa.select(Bookmark.item_id).join(Item, Item.id == Bookmark.item_id)
        .where(Bookmark.candidate_id == candidate_id, Bookmark.subject == subject,
               Item.item_type.in_([ItemType.SINGLE, ItemType.MULTI]))).all()
    _add_cards(candidate_id, dict.fromkeys(item_ids, subject), now=now, in_book=False)
    return _card_count(candidate_id, subject) - before


def _card_count(candidate_id: int, subject: Subject) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ReviewCard).where(
        ReviewCard.candidate_id == candidate_id, ReviewCard.subject == subject))


def remove_card(candidate_id: int, item_id: int) -> bool:
    """Stop reviewing an item (it leaves the wrong-answer book); False when it had no
    card. Its review history stays."""
    deleted = db.session.execute(sa.delete(ReviewCard).where(
        ReviewCard.candidate_id == candidate_id, ReviewCard.item_id == item_id))
    return deleted.rowcount == 1


# A card whose item is not published (retired since): left out of the counts as the
# queue and the book leave it out. Asked as NOT EXISTS against the few unpublished
# items (a partial index holds them) rather than by joining every card to its item.
_unpublished_item = sa.exists().where(Item.id == ReviewCard.item_id,
                                      Item.published_version_id.is_(None))


def due_until(now: datetime) -> datetime:
    """Cards due before this are in today's review (today as in China)."""
    return spaced_review.end_of_day(now.astimezone(LOCAL_ZONE).date(), LOCAL_ZONE)


def due_item_ids(candidate_id: int, subject: Subject, *, now: datetime, limit: int,
                 law_cutoff: date | None = None) -> list[int]:
    """The candidate's cards of *subject* due today whose items are still published (and
    test law in force on *law_cutoff*, when given), the longest due first: a card that
    cannot be drawn (a retired item, a repealed rule) must not hold the queue up."""
    query = (sa.select(ReviewCard.item_id).join(Item, Item.id == ReviewCard.item_id)
             .where(ReviewCard.candidate_id == candidate_id, ReviewCard.due < due_until(now),
                    ReviewCard.subject == subject, Item.published_version_id.is_not(None)))
    if law_cutoff is not None:
        query = query.join(ItemVersion, ItemVersion.id == Item.published_version_id).where(
            sa.or_(ItemVersion.law_valid_from.is_(None),
                   sa.and_(ItemVersion.law_valid_from <= law_cutoff,
                           sa.or_(ItemVersion.law_valid_to.is_(None),
                                  ItemVersion.law_valid_to >= law_cutoff))))
    return list(db.session.scalars(
        query.order_by(ReviewCard.due, ReviewCard.item_id).limit(limit)))


def review_queue(candidate_id: int, *, now: datetime):
    """Today's review (今日复习): the candidate's due cards with their items, in due order."""
    return (sa.select(ReviewCard, Item).join(Item, Item.id == ReviewCard.item_id)
            .where(ReviewCard.candidate_id == candidate_id, ReviewCard.due < due_until(now),
                   Item.published_version_id.is_not(None))
            .order_by(ReviewCard.due, ReviewCard.item_id))


def review_loads(candidate_id: int, *, now: datetime,
                 days: int = 7) -> dict[Subject, list[tuple[date, int]]]:
    """Per subject, cards falling due on each of the next *days* days (today counts
    what is overdue); as the queue, without cards of items no longer published. The
    database counts per day, so a page reads a few dozen rows, not every card."""
    until = due_until(now)
    today = now.astimezone(LOCAL_ZONE).date()
    loads: dict[Subject, dict[date, int]] = defaultdict(
        lambda: dict.fromkeys((today + timedelta(days=n) for n in range(days)), 0))
    day = _china_day(ReviewCard.due)
    for subject, due_day, count in db.session.execute(
            sa.select(ReviewCard.subject, day, sa.func.count())
            .where(ReviewCard.candidate_id == candidate_id,
                   ReviewCard.due < until + timedelta(days=days - 1), ~_unpublished_item)
            .group_by(ReviewCard.subject, day)):
        loads[subject][max(today, _as_date(due_day))] += count
    return {subject: list(load.items()) for subject, load in loads.items()}


def review_load(candidate_id: int, *, now: datetime, days: int = 7,
                loads: dict[Subject, list[tuple[date, int]]] | None = None,
                ) -> list[tuple[date, int]]:
    """Cards of every subject falling due on each of the next *days* days (summed from
    *loads*, review_loads' answer, when the caller has it)."""
    today = now.astimezone(LOCAL_ZONE).date()
    total = dict.fromkeys((today + timedelta(days=n) for n in range(days)), 0)
    if loads is None:
        loads = review_loads(candidate_id, now=now, days=days)
    for load in loads.values():
        for day, count in load:
            total[day] += count
    return list(total.items())


def book_item_ids(candidate_id: int, subject: Subject) -> list[int]:
    """Items in the candidate's wrong-answer book for *subject*, most often wrong first."""
    return list(db.session.scalars(
        sa.select(ReviewCard.item_id).where(ReviewCard.candidate_id == candidate_id,
                                            ReviewCard.subject == subject,
                                            ReviewCard.in_book.is_(True))
        .order_by(ReviewCard.times_wrong.desc(), ReviewCard.item_id)))


def bookmarked_item_ids(candidate_id: int, subject: Subject) -> list[int]:
    return list(db.session.scalars(
        sa.select(Bookmark.item_id).where(Bookmark.candidate_id == candidate_id,
                                          Bookmark.subject == subject)
        .order_by(Bookmark.created_at.desc())))


@dataclass(frozen=True)
class BookCounts:
    """Per subject: items in the wrong-answer book, bookmarks, cards due today."""

    book: int = 0
    bookmarks: int = 0
    due: int = 0


def book_counts(candidate_id: int, *, now: datetime) -> dict[Subject, BookCounts]:
    """The candidate's book, bookmark and due-card counts per subject (in one pass over
    their cards, which the daily queue's index covers)."""
    counts: dict[Subject, dict[str, int]] = defaultdict(dict)
    in_book = sa.func.sum(sa.case((ReviewCard.in_book.is_(True), 1), else_=0))
    due = sa.func.sum(sa.case((ReviewCard.due < due_until(now), 1), else_=0))
    # Cards of retired items are left out, as the book and the queue leave them out.
    for subject, book, due_now in db.session.execute(
            sa.select(ReviewCard.subject, in_book, due)
            .where(ReviewCard.candidate_id == candidate_id, ~_unpublished_item)
            .group_by(ReviewCard.subject)):
        counts[subject].update(book=int(book or 0), due=int(due_now or 0))
    for subject, number in db.session.execute(
            sa.select(Bookmark.subject, sa.func.count())
            .where(Bookmark.candidate_id == candidate_id).group_by(Bookmark.subject)):
        counts[subject]["bookmarks"] = number
    return {subject: BookCounts(**values) for subject, values in counts.items()}


def wrong_answer_query(candidate_id: int, subject: Subject | None):
    """The candidate's book entries with their items' current published versions."""
    query = (sa.select(ReviewCard, Item).join(Item, Item.id == ReviewCard.item_id)
             .where(ReviewCard.candidate_id == candidate_id, ReviewCard.in_book.is_(True),
                    Item.published_version_id.is_not(None)))
    if subject:
        query = query.where(ReviewCard.subject == subject)
    return query.order_by(ReviewCard.last_wrong_at.desc(), ReviewCard.item_id)


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
    right: float  # answers, an answer to an item linked across chapters shared out
    answered: float

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
    """Right answers out of marked practice and mock choice answers, per chapter of
    *syllabus_version*'s tree, the weakest first: the sums of the shares of the
    answers at the chapter's traced nodes (each answer counted once), which the marking
    keeps, so the dashboard reads a few rows instead of every answer."""
    rows = db.session.execute(
        sa.select(KnowledgeMastery.subject, KnowledgeMastery.chapter_code,
                  sa.func.sum(KnowledgeMastery.answer_share),
                  sa.func.sum(KnowledgeMastery.right_share))
        .where(KnowledgeMastery.candidate_id == candidate_id,
               KnowledgeMastery.syllabus_version == syllabus_version,
               KnowledgeMastery.answered > 0)
        .group_by(KnowledgeMastery.subject, KnowledgeMastery.chapter_code))
    tree = syllabus.load(syllabus_version)
    result = []
    for subject, chapter, answered, right in rows:
        node = tree.node(chapter)
        result.append(ChapterAccuracy(subject, chapter, node.title if node else chapter,
                                      float(right or 0), float(answered)))
    return sorted(result, key=lambda row: (row.percent, -row.answered, row.chapter))


def _china_day(column):
    """In SQL: the calendar day in China of a UTC timestamp column (China keeps UTC+8
    all year)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.func.date(sa.func.timezone("Asia/Shanghai", column))
    return sa.func.date(column, "+8 hours")


def _as_date(value) -> date:
    """A day as _china_day gives it back: a date (PostgreSQL) or ISO text (SQLite)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def study_days(candidate_id: int, today: date) -> StudyDays:
    """Days (in China) on which the candidate practised (started or handed in a paper or
    practice set): in all, lately, and in a row."""
    # The database turns each time into its day in China and keeps each day once, from
    # the candidate's attempts (hundreds) rather than their saved answers (tens of
    # thousands): reading every answer's time was most of the dashboard's.
    started = sa.select(_china_day(Attempt.started_at).label("day")).where(
        Attempt.candidate_id == candidate_id)
    handed_in = sa.select(_china_day(Attempt.submitted_at).label("day")).where(
        Attempt.candidate_id == candidate_id, Attempt.submitted_at.is_not(None))
    days = {_as_date(value) for value in db.session.scalars(sa.union(started, handed_in))}
    streak, day = 0, today
    if day not in days:
        day -= timedelta(days=1)  # a streak is not broken before today is over
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    recent = sum(1 for d in days if (today - d).days < 30)
    return StudyDays(len(days), recent, streak)
