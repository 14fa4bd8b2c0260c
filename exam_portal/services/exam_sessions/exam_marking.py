"""Marking the subjective answers of online exam sittings: blind, double, adjudicated.

A marker asks for the next answer of a session and takes (claims) it for one round:
an adjudication first, then a second mark, then a first, so answers get finished. A
claim not submitted within CLAIM_MINUTES goes back to the queue. A marker never sees
who wrote an answer and never marks one twice; the database's unique keys hold that
under concurrent requests. When an answer's final mark is known it is stored on the
response; when every answer of a paper is final, the paper's score becomes the
registration's subject score.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.attempts import Attempt, AttemptItem, AttemptStatus, Response
from exam_portal.models.bank import Item
from exam_portal.models.marking import Mark
from exam_portal.models.sittings import ExamSession, Registration, ResultSource, SubjectResult
from exam_portal.services import ServiceError
from exam_portal.services.delivery import paper_cache
from exam_portal.services.exam_sessions import form_analysis, online_exams, scores, sittings
from exam_portal.services.platform import audit
from question_bank import marking
from question_bank.i18n import N_
from question_bank.items import ItemType
from question_bank.practice import Mode

CLAIM_MINUTES = 30
_SUBJECTIVE = [item_type for item_type in ItemType if not item_type.is_choice]
_WINDOW = 1000  # unsettled answers looked at per request for the next one to mark

_INVALID = {
    "shape": N_("评分与答题要点不对应，请刷新后重试。"),
    "number": N_("每个要点的得分应为数字。"),
    "range": N_("要点得分不能为负，也不能超过该要点的分值。"),
    "step": N_("得分以 0.5 分为单位。"),
}

log = logging.getLogger(__name__)


def threshold() -> Decimal:
    return Decimal(str(current_app.config["MARKING_ADJUDICATION_THRESHOLD"]))


def _subjective_answers():
    """Non-blank answers to subjective items, with the item and the final mark (None
    until it is known)."""
    return (sa.select(Response.attempt_id, Response.position, AttemptItem.item_id,
                      Response.score_halves)
            .join(AttemptItem, sa.and_(AttemptItem.attempt_id == Response.attempt_id,
                                       AttemptItem.position == Response.position))
            .join(Item, Item.id == AttemptItem.item_id)
            .where(Item.item_type.in_(_SUBJECTIVE), Response.text.is_not(None),
                   Response.text != ""))


def _answers(session: ExamSession):
    """The subjective answers of the session's handed-in sittings."""
    return (_subjective_answers()
            .join(Attempt, Attempt.id == Response.attempt_id)
            .join(Registration, Registration.id == Attempt.registration_id)
            .where(Registration.session_id == session.id, Attempt.mode == Mode.EXAM,
                   Attempt.status == AttemptStatus.SUBMITTED))


def _check_session(session: ExamSession) -> None:
    if sittings.hold_results(session.id):
        raise ServiceError(gettext("成绩已发布，不能再阅卷。"))


def next_mark(session: ExamSession, marker: User, *, now: datetime) -> Mark | None:
    """Claim the next answer for *marker* (or return their claim still open); None when
    nothing is left that they may mark."""
    _check_session(session)
    held = db.session.scalar(sa.select(Mark).where(
        Mark.session_id == session.id, Mark.marker_id == marker.id,
        Mark.submitted_at.is_(None), Mark.claimed_at >= now - timedelta(minutes=CLAIM_MINUTES)))
    if held is not None:
        settled = db.session.scalar(sa.select(Response.score_halves).where(
            Response.attempt_id == held.attempt_id, Response.position == held.position))
        if settled is None:
            return held
        db.session.delete(held)  # settled meanwhile (a first mark was corrected)
        db.session.flush()
    _release_stale(session, now)
    def marked(*conditions):
        return sa.exists().where(Mark.attempt_id == Response.attempt_id,
                                 Mark.position == Response.position, *conditions)

    # Leave out, before the limit, what this marker can never take: answers they marked
    # and answers already adjudicated; the window then never fills with such answers.
    answers = db.session.execute(
        _answers(session).where(Response.score_halves.is_(None),
                                ~marked(Mark.marker_id == marker.id), ~marked(Mark.round == 3),
                                Attempt.candidate_id != marker.id)
        .order_by(Response.attempt_id, Response.position).limit(_WINDOW)).all()
    if not answers:
        return None
    marks: dict[tuple[int, int], list[Mark]] = {}
    for mark in db.session.scalars(sa.select(Mark).where(
            Mark.session_id == session.id,
            sa.tuple_(Mark.attempt_id, Mark.position).in_(
                [(a.attempt_id, a.position) for a in answers]))):
        marks.setdefault((mark.attempt_id, mark.position), []).append(mark)
    limit = threshold()
    # Finish answers before starting new ones: adjudications, second marks, first marks.
    choices: list[tuple[int, tuple, int, int]] = []
    for attempt_id, position, item_id, _final in answers:
        given = marks.get((attempt_id, position), [])
        if any(mark.marker_id == marker.id for mark in given):
            continue
        rounds = {mark.round: mark for mark in given}
        if 3 in rounds:
            continue
        if 1 in rounds and 2 in rounds:
            first, second = rounds[1], rounds[2]
            if first.total_halves is None or second.total_halves is None:
                continue
            if marking.needs_adjudication(Decimal(first.total_halves) / 2,
                                          Decimal(second.total_halves) / 2, limit):
                choices.append((0, (attempt_id, position), item_id, 3))
        elif 1 in rounds:
            choices.append((1, (attempt_id, position), item_id, 2))
        elif 2 not in rounds:
            choices.append((2, (attempt_id, position), item_id, 1))
    for _priority, (attempt_id, position), item_id, round_ in sorted(choices):
        mark = Mark(attempt_id=attempt_id, position=position, session_id=session.id,
                    item_id=item_id, round=round_, marker_id=marker.id, claimed_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(mark)
        except IntegrityError:
            continue  # another marker took this round a moment ago
        return mark
    return None


def _release_stale(session: ExamSession, now: datetime) -> None:
    db.session.execute(sa.delete(Mark).where(
        Mark.session_id == session.id, Mark.submitted_at.is_(None),
        Mark.claimed_at < now - timedelta(minutes=CLAIM_MINUTES)))


def release(mark: Mark, marker: User) -> None:
    """Give an unsubmitted claim back to the queue."""
    if mark.marker_id != marker.id or mark.submitted_at is not None:
        raise ServiceError(gettext("只能放回自己尚未提交的评阅。"))
    db.session.delete(mark)
    db.session.flush()


@dataclass(frozen=True)
class MarkingView:
    """What the marker sees: the question, its rubric and the answer, nothing else."""

    mark: Mark
    content: object
    rubric: marking.Rubric
    answer: str
    points_halves: int


def view(mark: Mark, marker: User) -> MarkingView:
    if mark.marker_id != marker.id:
        raise ServiceError(gettext("这份评阅不是你的。"))
    item = paper_cache.attempt_item(mark.attempt_id, mark.position)
    content = paper_cache.content(item.item_version_id)
    response = db.session.get(Response, (mark.attempt_id, mark.position))
    return MarkingView(mark, content, marking.rubric_of(content), response.text or "",
                       item.points_halves)


def submit(mark: Mark, marker: User, awarded: list[list[Decimal]], *, now: datetime) -> None:
    """Record the marker's points per key point (a change of one's own earlier mark is
    allowed until the answer's final mark is known); audited."""
    if mark.marker_id != marker.id:
        raise ServiceError(gettext("这份评阅不是你的。"))
    session = db.session.get(ExamSession, mark.session_id)
    attempt = db.session.get(Attempt, mark.attempt_id)
    online_exams.hold_paper(attempt)
    _check_session(session)
    # Marks of one paper are submitted one after another (hold_paper), each reading
    # the answer's final mark as the one before left it: a change checked against "not
    # final yet" otherwise landed after another marker's agreement had made it final,
    # and two answers finished at once each saw the other one unfinished.
    response = db.session.scalar(
        sa.select(Response).where(Response.attempt_id == mark.attempt_id,
                                  Response.position == mark.position)
        .execution_options(populate_existing=True))
    if response.score_halves is not None:
        raise ServiceError(gettext("这份答卷的最终得分已经确定，不能再修改。"))
    if attempt.status is not AttemptStatus.SUBMITTED:
        # Reopened by an administrator after this answer was claimed.
        raise ServiceError(gettext("这份作答已被重新开放，交卷后才能评阅。"))
    rubric = view(mark, marker).rubric
    try:
        total = marking.total(rubric, awarded)
    except marking.InvalidMarks as error:
        raise ServiceError(gettext(_INVALID[error.reason])) from error
    before = mark.total_halves
    mark.awarded = [[int(points * 2) for points in part] for part in awarded]
    mark.total_halves, mark.submitted_at = int(total * 2), now
    try:
        db.session.flush()
    except StaleDataError as error:
        # Idle past CLAIM_MINUTES and given back to the queue by another marker's request.
        raise ServiceError(gettext("这份评阅超时未提交，已放回队列，请重新领取。")) from error
    audit.record("mark.changed" if before is not None else "mark.submitted", target=mark,
                 actor=marker, details={"attempt": mark.attempt_id, "position": mark.position,
                                        "round": mark.round, "before": before,
                                        "total": mark.total_halves, "awarded": mark.awarded})
    _settle(mark.attempt_id, mark.position, now=now)


def _settle(attempt_id: int, position: int, *, now: datetime) -> None:
    """Store the answer's final mark once it is known, then the paper's score once every
    answer of it is final."""
    rounds = {mark.round: mark for mark in db.session.scalars(sa.select(Mark).where(
        Mark.attempt_id == attempt_id, Mark.position == position,
        Mark.submitted_at.is_not(None)))}
    if 3 in rounds:
        final = Decimal(rounds[3].total_halves) / 2
    elif 1 in rounds and 2 in rounds:
        first, second = (Decimal(rounds[r].total_halves) / 2 for r in (1, 2))
        if marking.needs_adjudication(first, second, threshold()):
            return
        final = marking.final_mark(first, second)
    else:
        return
    db.session.execute(sa.update(Response).where(
        Response.attempt_id == attempt_id, Response.position == position)
        .values(score_halves=int(final * 2)))
    _score_paper_if_complete(attempt_id, now=now)


def _score_paper_if_complete(attempt_id: int, *, now: datetime) -> None:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt.marked_at is None:
        return  # its choice answers are not marked yet: their marking completes it
    pending = db.session.scalar(
        sa.select(sa.func.count()).select_from(_open_answers_of(attempt_id).subquery()))
    if pending:
        return
    # Choice answers were marked (hand_in.mark_handed_in); blank subjective answers earn
    # nothing.
    attempt.score_halves = int(db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Response.score_halves), 0))
        .where(Response.attempt_id == attempt_id)))
    attempt.passed = attempt.score_halves >= attempt.pass_halves
    db.session.flush()
    record_paper_score(attempt, now)


def _open_answers_of(attempt_id: int):
    return _subjective_answers().where(Response.attempt_id == attempt_id,
                                       Response.score_halves.is_(None))


def record_missing_scores(session: ExamSession, *, now: datetime) -> None:
    """Make the score of every marked exam paper of the session that has no subject
    score the registration's subject score where it may sit now: a registration
    rejected (or unpaid) when its paper was marked, and admitted again since."""
    papers = db.session.scalars(
        sa.select(Attempt).join(Registration, Registration.id == Attempt.registration_id)
        .where(Registration.session_id == session.id, Attempt.mode == Mode.EXAM,
               Attempt.status == AttemptStatus.SUBMITTED, Attempt.marked_at.is_not(None),
               Attempt.score_halves.is_not(None),
               ~sa.exists().where(SubjectResult.registration_id == Attempt.registration_id,
                                  SubjectResult.subject == Attempt.subject))
        .order_by(Attempt.id)).all()
    for attempt in papers:
        record_paper_score(attempt, now)  # which leaves out one that may not sit


def settle_blank_papers(attempt: Attempt, *, now: datetime) -> None:
    """A handed-in exam paper whose subjective answers are all blank needs no marker."""
    if attempt.mode is Mode.EXAM and attempt.score_halves is None:
        _score_paper_if_complete(attempt.id, now=now)


def record_paper_score(attempt: Attempt, now: datetime) -> None:
    """Make an exam paper's score the registration's subject score, once it has one: at
    hand-in (delivery calls this through its after-marking hook) or when its last
    subjective answer is marked. A paper whose subjective answers are all blank is
    settled at once; one with answers waits for its markers."""
    if attempt.mode is not Mode.EXAM or attempt.registration_id is None:
        return
    if attempt.score_halves is None:
        settle_blank_papers(attempt, now=now)
        return
    form_analysis.apply_decisions(attempt)  # marked after a key review had decided
    registration = db.session.get(Registration, attempt.registration_id)
    if not sittings.may_sit(registration):
        # Rejected after the candidate sat: the paper stays, it earns no subject score.
        log.info("attempt %s of a registration that no longer admits its candidate",
                 attempt.id)
        return
    if registration.session.results_published_at is not None:
        # Cannot happen in order (the window closes before publication); never rewrite
        # published results for it.
        log.warning("attempt %s finished after the results were published", attempt.id)
        return
    scores.record_score(registration, attempt.subject, Decimal(attempt.score_halves) / 2,
                         source=ResultSource.ONLINE, now=now, attempt_id=attempt.id)


# Progress ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Progress:
    key: object
    answers: int  # subjective answers handed in (not blank)
    first: int  # with a first mark
    second: int  # with a second mark
    adjudicated: int
    final: int


def progress(session: ExamSession) -> tuple[Progress, list[Progress]]:
    """Marking progress of a session: in all, and per item."""
    answers = _answers(session).subquery()

    def done(round_: int):
        return sa.func.sum(sa.case((sa.exists().where(
            Mark.attempt_id == answers.c.attempt_id, Mark.position == answers.c.position,
            Mark.round == round_, Mark.submitted_at.is_not(None)), 1), else_=0))

    columns = (sa.func.count(), done(1), done(2), done(3),
               sa.func.sum(sa.case((answers.c.score_halves.is_not(None), 1), else_=0)))
    rows = db.session.execute(sa.select(answers.c.item_id, *columns)
                              .group_by(answers.c.item_id).order_by(answers.c.item_id)).all()
    per_item = [Progress(item_id, *(int(value or 0) for value in values))
                for item_id, *values in rows]
    overall = Progress(None, *(sum(getattr(p, name) for p in per_item) for name in (
        "answers", "first", "second", "adjudicated", "final")))
    return overall, per_item


def sessions_to_mark() -> list[ExamSession]:
    """Online sessions not yet published that have handed-in sittings."""
    return list(db.session.scalars(
        sa.select(ExamSession).where(
            ExamSession.results_published_at.is_(None),
            sa.exists().where(Registration.session_id == ExamSession.id,
                              Attempt.registration_id == Registration.id,
                              Attempt.status == AttemptStatus.SUBMITTED))
        .order_by(ExamSession.exam_opens_at.desc())))
