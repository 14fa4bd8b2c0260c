"""Handing an attempt in (by the candidate or the clock) and marking it.

A paper is marked in the hand-in's transaction, except an exam paper: its marks are
not shown before the session's results, and at the end of an exam everyone hands in
within the same seconds, so its hand-in only records it and the marking run
(`mark_handed_in`: the expiry cron, and whatever reads exam marks first) marks it.

What a handed-in paper means beyond delivery (an exam paper becoming a subject score)
is registered by the context that knows it (`after_marking`); delivery imports no
context above it."""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.attempts import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    EndedBy,
    Response,
)
from exam_portal.models.types import UTCDateTime
from exam_portal.services.delivery import attempts, learning, paper_cache
from exam_portal.services.platform import driver_sql
from question_bank import scoring
from question_bank.practice import Mode

# What happens to a marked attempt beyond delivery, by name (registering twice, as every
# app created in one process does, keeps one). Called inside the hand-in's transaction.
_after_marking: dict[str, Callable[[Attempt, datetime], None]] = {}


def after_marking(name: str, handler: Callable[[Attempt, datetime], None]) -> None:
    """Call *handler(attempt, now)* for every attempt marked at hand-in, in its
    transaction, after delivery's own marking."""
    _after_marking[name] = handler


def submit_attempt(attempt: Attempt, *, now: datetime) -> bool:
    """Hand the attempt in; True if this call finalised it, False if it already was.

    Exactly one of any number of concurrent calls wins the conditional UPDATE; after
    deadline + grace the attempt is finalised as ended by the deadline instead.
    """
    if not attempt.is_open:
        return False
    if attempts.is_overdue(attempt, now):
        finalise(attempt.id, now=now, ended_by=EndedBy.DEADLINE)
        raise attempts.AttemptClosed(gettext("考试时间已到，试卷已按已保存的答案交卷。"))
    return finalise(attempt.id, now=now, ended_by=EndedBy.CANDIDATE)


def try_hand_in(attempt_id: int, user_id: int, session_token: str, *, now: datetime) -> bool:
    """The hot path's hand-in of an exam paper by its candidate in time: one statement
    that also checks the signed-in user (session token, active, a candidate), in a
    transaction of its own, committed here. Call it outside any request transaction.
    False when it did not land for any reason (not an exam paper, handed in already,
    past the grace, …); `submit_attempt` then decides and says why."""
    engine = db.engine
    statement = driver_sql.compiled(engine, "hand_in", lambda _dialect: _HAND_IN)
    return driver_sql.changed_one_row(engine, statement, {
        "attempt_id": attempt_id, "candidate_id": user_id, "session_token": session_token,
        "now": now, "deadline_floor": now - attempts.grace()}, what="hand-in")


# A row lock like finalise's UPDATE: a save holding the attempt (FOR SHARE) is waited
# for and is in the paper; a save after it finds the paper handed in.
_HAND_IN = (
    sa.update(Attempt.__table__)
    .where(Attempt.id == sa.bindparam("attempt_id", type_=sa.Integer),
           Attempt.candidate_id == sa.bindparam("candidate_id", type_=sa.Integer),
           Attempt.mode == Mode.EXAM, Attempt.status == AttemptStatus.IN_PROGRESS,
           sa.or_(Attempt.deadline_at.is_(None),
                  Attempt.deadline_at >= sa.bindparam("deadline_floor", type_=UTCDateTime)),
           sa.exists().where(
               User.id == Attempt.candidate_id,
               User.session_token == sa.bindparam("session_token", type_=sa.String),
               User.is_active.is_(True), User.role == Role.CANDIDATE))
    .values(status=AttemptStatus.SUBMITTED,
            submitted_at=sa.bindparam("now", type_=UTCDateTime),
            ended_by=EndedBy.CANDIDATE))


def finalise(attempt_id: int, *, now: datetime, ended_by: EndedBy) -> bool:
    """Close an open attempt and mark it (an exam paper: leave it to the marking run),
    in the caller's transaction; idempotent."""
    conditions = [Attempt.id == attempt_id, Attempt.status == AttemptStatus.IN_PROGRESS]
    if ended_by is EndedBy.DEADLINE:
        conditions.append(Attempt.deadline_at < now - attempts.grace())
    else:
        conditions.append(sa.or_(Attempt.deadline_at.is_(None),
                                 Attempt.deadline_at >= now - attempts.grace()))
    mode = db.session.execute(
        sa.update(Attempt).where(*conditions)
        .values(status=AttemptStatus.SUBMITTED, submitted_at=now, ended_by=ended_by)
        .returning(Attempt.mode)
        .execution_options(synchronize_session=False)).scalar_one_or_none()
    if mode is None:
        return False
    if mode is not Mode.EXAM:
        _mark(db.session.get(Attempt, attempt_id, populate_existing=True), now)
    return True


def mark_handed_in(attempt_id: int, *, now: datetime) -> bool:
    """Mark a handed-in paper the hand-in left unmarked, in the caller's transaction;
    True if this call marked it. Of concurrent calls exactly one wins the conditional
    UPDATE; one that comes after a reopening finds the paper open and does nothing."""
    won = db.session.execute(
        sa.update(Attempt).where(Attempt.id == attempt_id,
                                 Attempt.status == AttemptStatus.SUBMITTED,
                                 Attempt.marked_at.is_(None))
        .values(marked_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if won != 1:
        return False
    _mark(db.session.get(Attempt, attempt_id, populate_existing=True), now)
    return True


def unmarked_attempt_ids(*conditions) -> list[int]:
    """Ids of the handed-in exam papers not marked yet (of those meeting *conditions* on
    Attempt); mark them with `mark_handed_in`."""
    return list(db.session.scalars(_unmarked(*conditions).order_by(Attempt.id)))


def unmarked_count(*conditions) -> int:
    """How many handed-in exam papers (meeting *conditions*) are not marked yet."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(
        _unmarked(*conditions).subquery()))


def _unmarked(*conditions) -> sa.Select:
    return sa.select(Attempt.id).where(Attempt.status == AttemptStatus.SUBMITTED,
                                       Attempt.marked_at.is_(None), Attempt.mode == Mode.EXAM,
                                       *conditions)


def _mark(attempt: Attempt, now: datetime) -> None:
    items = paper_cache.attempt_items(attempt.id)
    # As stored now, not as read earlier in this transaction: a save that held the
    # attempt (FOR SHARE) made the hand-in wait and is in the paper.
    responses = {r.position: r for r in db.session.scalars(
        sa.select(Response).where(Response.attempt_id == attempt.id)
        .execution_options(populate_existing=True))}
    total, subjective, answers, updates = 0, False, [], []
    for item in items:
        content = paper_cache.content(item.item_version_id)
        response = responses.get(item.position)
        if not content.item_type.is_choice:
            subjective = True
            continue
        halves = score_halves(content, item, response)
        total += halves
        if response is None:
            continue
        if not response.is_locked and response.selected:
            answers.append(learning.MarkedAnswer(
                item.item_id, attempt.subject, halves == item.points_halves,
                response.selected, attempt.id, item.position, item.item_version_id,
                content.item_type))
        updates.append({"attempt_id": attempt.id, "position": item.position,
                        "score_halves": halves})
    if updates:
        db.session.execute(sa.update(Response), updates)
    if subjective:
        # Subjective answers are marked by people (formal sittings); a practice paper of
        # them has no score, only the candidate's own marks.
        attempt.score_halves, attempt.passed = None, None
    else:
        attempt.score_halves = total
        attempt.passed = total >= attempt.pass_halves
    attempt.marked_at = now
    attempt.self_score_halves = db.session.scalar(
        sa.select(sa.func.sum(Response.self_score_halves))
        .where(Response.attempt_id == attempt.id))
    if attempt.mode.is_practice:
        learning.record_answers(attempt.candidate_id, answers, now=now)
    db.session.flush()
    for handler in _after_marking.values():
        handler(attempt, now)


def score_halves(content, item: AttemptItem, response: Response | None) -> int:
    """The half-points a choice response earns on its item as drawn (0 for none)."""
    if not content.item_type.is_choice:
        return 0
    selected = (response.selected or "") if response is not None else ""
    points = Decimal(item.points_halves) / 2
    return int(scoring.score_choice(content.item_type, content.keys, selected, points) * 2)


def recompute_score(attempt: Attempt) -> int | None:
    """Mark the attempt again from its stored versions and responses, writing nothing."""
    items = paper_cache.attempt_items(attempt.id)
    responses = {r.position: r for r in db.session.scalars(
        sa.select(Response).where(Response.attempt_id == attempt.id))}
    contents = [paper_cache.content(item.item_version_id) for item in items]
    if any(not content.item_type.is_choice for content in contents):
        return None
    return sum(score_halves(content, item, responses.get(item.position))
               for content, item in zip(contents, items, strict=True))


def overdue_attempt_ids(*, now: datetime) -> list[int]:
    """Ids of the open attempts past deadline + grace; finalise them with `finalise`."""
    return list(db.session.scalars(
        sa.select(Attempt.id).where(Attempt.status == AttemptStatus.IN_PROGRESS,
                                    Attempt.deadline_at < now - attempts.grace())
        .order_by(Attempt.id)))
