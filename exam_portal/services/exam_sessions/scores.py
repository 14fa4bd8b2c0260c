"""Subject scores of a registration: what a score may be, recording and correcting one.

Below marking and results: an online paper's score, a paper sitting's imported score
and an administrator's correction all land here, each refused with the same words."""

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.attempts import Attempt
from exam_portal.models.sittings import Registration, ResultSource, SubjectResult
from exam_portal.services import ServiceError
from exam_portal.services.delivery import hand_in
from exam_portal.services.exam_sessions import sittings
from exam_portal.services.platform import audit
from question_bank import pass_rules, specs
from question_bank.levels import Level
from question_bank.subjects import Subject


def full_marks(subject: Subject) -> Decimal:
    """The most points a paper of *subject* carries."""
    return specs.load(subject).full_marks


def score_problem(level: Level, subject: Subject, score: Decimal) -> str | None:
    """Why *score* cannot be a registration's score in *subject*, or None."""
    if subject not in pass_rules.subjects_of(level):
        return gettext("这个科目不属于所报考的级别。")
    full = full_marks(subject)
    if not Decimal(0) <= score <= full or score * 2 != int(score * 2):
        return gettext("成绩应在 0 到 %(full)s 分之间，以 0.5 分为单位。", full=f"{full:g}")
    return None


def sitting_problem(registration: Registration, *, source: ResultSource,
                    now: datetime) -> str | None:
    """Why the registration cannot have a score (yet), or None: a paper score exists
    only after the exam, and only for a registration that admitted its candidate."""
    if source is ResultSource.PAPER and now < registration.session.exam_closes_at:
        return gettext("考试结束后才能录入成绩。")
    if not sittings.may_sit(registration):
        return gettext("这条报名未审核通过、已被退回或未缴清考试费，不能有成绩。")
    return None


def record_score(registration: Registration, subject: Subject, score: Decimal, *,
                 source: ResultSource, now: datetime, attempt_id: int | None = None
                 ) -> SubjectResult:
    """Store (or replace) the registration's score in *subject*; marking comes later."""
    problem = score_problem(registration.level, subject, score) or sitting_problem(
        registration, source=source, now=now)
    if problem:
        raise ServiceError(problem)
    full = full_marks(subject)
    if sittings.hold_results(registration.session_id):
        raise ServiceError(gettext("成绩已发布，不能再修改。"))
    result = db.session.scalar(sa.select(SubjectResult).where(
        SubjectResult.registration_id == registration.id, SubjectResult.subject == subject))
    if result is None:
        result = SubjectResult(registration_id=registration.id, subject=subject,
                               candidate_id=registration.candidate_id,
                               year=registration.session.year)
        db.session.add(result)
    result.score_halves, result.full_halves = int(score * 2), int(full * 2)
    result.source, result.attempt_id, result.updated_at = source, attempt_id, now
    result.line_halves = result.passed = result.passed_region = None
    db.session.flush()
    return result


def correct_score(registration: Registration, subject: Subject, score: Decimal, *,
                  reason: str, actor: User, now: datetime) -> SubjectResult:
    """An administrator sets or corrects one subject score, with a reason; the audit
    row keeps who, why, and the score before and after (EX-14)."""
    reason = reason.strip()
    if not reason:
        raise ServiceError(gettext("更正成绩须填写原因。"))
    # A paper handed in and not marked yet is marked first: marking it later would
    # replace the correction with its own score.
    for attempt_id in hand_in.unmarked_attempt_ids(Attempt.registration_id == registration.id,
                                                   Attempt.subject == subject):
        hand_in.mark_handed_in(attempt_id, now=now)
    existing = db.session.scalar(sa.select(SubjectResult).where(
        SubjectResult.registration_id == registration.id, SubjectResult.subject == subject))
    before = existing.score_halves if existing else None
    result = record_score(
        registration, subject, score, now=now,
        source=existing.source if existing else ResultSource.PAPER,
        attempt_id=existing.attempt_id if existing else None)
    audit.record("score.corrected", target=result, actor=actor, details={
        "admission_number": registration.admission_number, "subject": subject.value,
        "before": before, "after": result.score_halves, "reason": reason[:500]})
    return result
