"""Online sittings: a registered candidate sits each subject of an online session once,
inside the exam window, on the session's locked form (exam_sessions.forms), on the
delivery engine (Mode.EXAM: timed, no feedback, no review until the results are
published). Administrators can extend or reopen a sitting with a reason, e.g. after a
proven outage. A handed-in objective paper becomes the registration's subject score
once the marking run has marked it."""

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.attempts import Attempt, AttemptStatus, EndedBy
from exam_portal.models.forms import ExamForm
from exam_portal.models.marking import Mark
from exam_portal.models.sittings import (
    ExamSession,
    Registration,
    SessionMode,
    SubjectResult,
)
from exam_portal.models.statistics import FormStatistics
from exam_portal.services import ServiceError
from exam_portal.services.delivery import attempts, hand_in
from exam_portal.services.exam_sessions import forms, sittings
from exam_portal.services.platform import audit, driver_sql, notifications
from question_bank.practice import Mode
from question_bank.subjects import Subject

log = logging.getLogger(__name__)
MAX_EXTRA_MINUTES = 240


class SittingState(enum.StrEnum):
    NOT_YET = "not_yet"  # the exam window has not opened
    MAY_START = "may_start"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    MISSED = "missed"  # the window closed without a sitting
    NOT_ALLOWED = "not_allowed"  # the registration does not admit the candidate


@dataclass(frozen=True)
class SubjectSitting:
    subject: Subject
    state: SittingState
    attempt: Attempt | None


def is_exam_open(session: ExamSession, now: datetime) -> bool:
    return session.exam_opens_at <= now < session.exam_closes_at


def sittings_of(registration: Registration, now: datetime) -> list[SubjectSitting]:
    """Each subject of the registration's level and where the candidate stands in it."""
    session = registration.session
    by_subject = {attempt.subject: attempt for attempt in db.session.scalars(
        sa.select(Attempt).where(Attempt.registration_id == registration.id))}
    states = []
    for subject in sittings.subjects_for(registration):
        attempt = by_subject.get(subject)
        if attempt is not None:
            state = (SittingState.IN_PROGRESS if attempt.is_open
                     and not attempts.is_overdue(attempt, now) else SittingState.SUBMITTED)
        elif not sittings.may_sit(registration):
            state = SittingState.NOT_ALLOWED
        elif now < session.exam_opens_at:
            state = SittingState.NOT_YET
        elif now >= session.exam_closes_at:
            state = SittingState.MISSED
        else:
            state = SittingState.MAY_START
        states.append(SubjectSitting(subject, state, attempt))
    return states


def start(registration: Registration, subject: Subject, candidate: User, *,
          now: datetime) -> Attempt:
    """Open (or resume) the candidate's sitting of *subject*; refused outside the exam
    window, for a registration that does not admit them, or a subject already sat."""
    session = registration.session
    if registration.candidate_id != candidate.id:
        raise ServiceError(gettext("没有这条报名。"))
    if session.mode is not SessionMode.ONLINE:
        raise ServiceError(gettext("这个考试批次是纸笔考试，不在网上作答。"))
    if subject not in sittings.subjects_for(registration):
        raise ServiceError(gettext("这个科目不属于所报考的级别。"))
    if not sittings.may_sit(registration):
        raise ServiceError(gettext(
            "这份报名还不能参加考试（未审核通过、已被退回或未缴清考试费）。"))
    existing = db.session.scalar(sa.select(Attempt).where(
        Attempt.registration_id == registration.id, Attempt.subject == subject))
    if existing is not None:
        if existing.is_open and not attempts.is_overdue(existing, now):
            return existing
        raise ServiceError(gettext("每个科目只能参加一次考试，这个科目你已经交卷。"))
    if not is_exam_open(session, now):
        raise ServiceError(gettext("现在不在考试时间内。"))
    if session.results_published_at is not None:
        raise ServiceError(gettext("成绩已发布，不能再参加考试。"))
    # A practice mock of the same subject left open is handed in: the candidate now
    # sits the real paper, and the two must not be confused.
    mock = attempts.open_mock(candidate.id, subject)
    if mock is not None:
        hand_in.finalise(mock.id, now=now, ended_by=EndedBy.CANDIDATE)
    form = forms.form_for(registration, subject)
    attempt = attempts.start_sitting(
        candidate.id, subject, now=now, form=forms.paper_of(form), sitting=attempts.Sitting(
            registration.id, session.law_cutoff, session.exam_closes_at))
    audit.record("sitting.started", target=attempt, actor=candidate,
                 details={"registration": registration.id, "subject": subject.value,
                          "form": form.id})
    return attempt


def close_sittings(session: ExamSession, *, now: datetime) -> int:
    """Hand in the session's sittings whose time (and grace) has run out and mark its
    handed-in papers not marked yet, as the expiry run would; return how many papers
    were marked. What reads the session's marks calls this first."""
    overdue = list(db.session.scalars(
        sa.select(Attempt.id).join(Registration, Registration.id == Attempt.registration_id)
        .where(Registration.session_id == session.id,
               Attempt.status == AttemptStatus.IN_PROGRESS,
               Attempt.deadline_at < now - attempts.grace())))
    for attempt_id in overdue:
        hand_in.finalise(attempt_id, now=now, ended_by=EndedBy.DEADLINE)
    return sum(hand_in.mark_handed_in(attempt_id, now=now)
               for attempt_id in hand_in.unmarked_attempt_ids(*_of_session(session)))


def _of_session(session: ExamSession) -> tuple:
    return (Attempt.registration_id.in_(
        sa.select(Registration.id).where(Registration.session_id == session.id)),)


def unmarked_count(session: ExamSession) -> int:
    """Papers of the session handed in and not marked yet."""
    return hand_in.unmarked_count(*_of_session(session))


def open_count(session: ExamSession) -> int:
    """Sittings of the session still being answered."""
    return db.session.scalar(
        sa.select(sa.func.count(Attempt.id))
        .join(Registration, Registration.id == Attempt.registration_id)
        .where(Registration.session_id == session.id,
               Attempt.status == AttemptStatus.IN_PROGRESS))


def review_allowed(attempt: Attempt) -> bool:
    """Keys and marks of an exam paper are shown only once its results are published,
    and the items of a locked form (exam content) only once it is released as a past
    paper: until then the score report shows the scores."""
    if attempt.mode is not Mode.EXAM:
        return True
    registration = db.session.get(Registration, attempt.registration_id)
    if registration.session.results_published_at is None:
        return False
    form = attempt.form_id and db.session.get(ExamForm, attempt.form_id)
    return not form or form.released_at is not None


@dataclass(frozen=True)
class SubmittedPage:
    """What the "handed in" page of an exam paper shows of its candidate."""

    email: str
    locale: str | None
    subject: Subject
    submitted_at: datetime
    unread: int


def submitted_page_data(attempt_id: int, user_id: int, session_token: str
                        ) -> SubmittedPage | None:
    """For the hot path: the signed-in candidate's (session token, active, a candidate)
    own exam paper, handed in, of a session whose results are not published, read in
    one statement on a driver connection. None for anything else: the view answers."""
    engine = db.engine
    statement = driver_sql.compiled(engine, "submitted-page", lambda _dialect: sa.select(
        User.email, User.locale, Attempt.subject, Attempt.submitted_at,
        notifications.unread_count_of(User.id).scalar_subquery())
        .join(User, User.id == Attempt.candidate_id)
        .join(Registration, Registration.id == Attempt.registration_id)
        .join(ExamSession, ExamSession.id == Registration.session_id)
        .where(Attempt.id == sa.bindparam("attempt_id", type_=sa.Integer),
               Attempt.candidate_id == sa.bindparam("user_id", type_=sa.Integer),
               Attempt.mode == Mode.EXAM, Attempt.status == AttemptStatus.SUBMITTED,
               ExamSession.results_published_at.is_(None),
               User.session_token == sa.bindparam("token", type_=sa.String),
               User.is_active.is_(True), User.role == Role.CANDIDATE))
    with driver_sql.transaction(engine, write=False) as work:
        found = statement.rows(work.cursor, {"attempt_id": attempt_id, "user_id": user_id,
                                             "token": session_token})
    return SubmittedPage(*found[0]) if found else None


# Administrators ---------------------------------------------------------------------

def sitting_query(session: ExamSession, *, search: str = ""):
    """The session's sittings with their registrations, newest first."""
    query = (sa.select(Attempt, Registration)
             .join(Registration, Registration.id == Attempt.registration_id)
             .where(Registration.session_id == session.id)
             .order_by(Attempt.started_at.desc(), Attempt.id.desc()))
    if search:
        query = query.where(Registration.admission_number == search.strip())
    return query


def hold_paper(attempt: Attempt) -> None:
    """Lock a sitting's paper until this transaction ends and read it again: its
    hand-in, an administrator's extension or reopening and a marker's mark then come one
    after another, each seeing what the one before did. Taken before the session's
    results (sittings.hold_results), as a hand-in takes them, so no two wait on each
    other in opposite order."""
    db.session.execute(sa.select(Attempt.id).where(Attempt.id == attempt.id)
                       .with_for_update(key_share=True))
    db.session.refresh(attempt)


def _check_change(attempt: Attempt, minutes: int, reason: str) -> str:
    if attempt.mode is not Mode.EXAM:
        raise ServiceError(gettext("只能调整正式考试的作答。"))
    if not 1 <= minutes <= MAX_EXTRA_MINUTES:
        raise ServiceError(gettext("延长时间应在 1 到 %(n)d 分钟之间。", n=MAX_EXTRA_MINUTES))
    reason = reason.strip()
    if not reason:
        raise ServiceError(gettext("请填写原因（例如经核实的系统故障）。"))
    registration = db.session.get(Registration, attempt.registration_id)
    if sittings.hold_results(registration.session_id):
        raise ServiceError(gettext("成绩已发布，不能再调整作答。"))
    if not sittings.may_sit(registration):
        raise ServiceError(gettext("这条报名已不能参加考试，不能调整作答。"))
    return reason[:500]


def extend(attempt: Attempt, minutes: int, reason: str, actor: User, *,
           now: datetime) -> None:
    """Give a sitting in progress *minutes* more (audited)."""
    hold_paper(attempt)
    reason = _check_change(attempt, minutes, reason)
    if not attempt.is_open or attempts.is_overdue(attempt, now):
        raise ServiceError(gettext("这份作答已经结束；要让考生继续，请重新开放。"))
    before = attempt.deadline_at
    attempt.deadline_at = max(attempt.deadline_at, now) + timedelta(minutes=minutes)
    db.session.flush()
    audit.record("sitting.extended", target=attempt, actor=actor, details={
        "minutes": minutes, "reason": reason, "before": before.isoformat(),
        "after": attempt.deadline_at.isoformat()})


def reopen(attempt: Attempt, minutes: int, reason: str, actor: User, *,
           now: datetime) -> None:
    """Let the candidate go on with a handed-in (or timed-out) sitting for *minutes*,
    with every saved answer kept; its score waits for the new hand-in (audited)."""
    hold_paper(attempt)
    reason = _check_change(attempt, minutes, reason)
    if attempt.is_open and not attempts.is_overdue(attempt, now):
        raise ServiceError(gettext("这份作答还在进行中；要多给时间，请延长。"))
    if db.session.scalar(sa.select(sa.func.count(Mark.id)).where(Mark.attempt_id == attempt.id)):
        raise ServiceError(gettext("这份作答已经开始阅卷，不能再重新开放。"))
    if attempt.form_id is not None and db.session.get(FormStatistics, attempt.form_id):
        # The item analysis counted the paper as handed in, and key decisions taken on
        # it would not reach a paper marked again later.
        raise ServiceError(gettext("这份试卷已做过试题分析，不能再重新开放其中的作答。"))
    if attempt.is_open:  # overdue but not yet handed in by the expiry run
        hand_in.finalise(attempt.id, now=now, ended_by=EndedBy.DEADLINE)
        db.session.refresh(attempt)
    before = {"status": attempt.status.value, "ended_by": attempt.ended_by and
              attempt.ended_by.value, "submitted_at": attempt.submitted_at
              and attempt.submitted_at.isoformat()}
    attempt.status, attempt.submitted_at, attempt.ended_by = AttemptStatus.IN_PROGRESS, None, None
    attempt.score_halves = attempt.passed = attempt.marked_at = None
    attempt.deadline_at = now + timedelta(minutes=minutes)
    db.session.execute(sa.delete(SubjectResult).where(SubjectResult.attempt_id == attempt.id))
    db.session.flush()
    audit.record("sitting.reopened", target=attempt, actor=actor, details={
        "minutes": minutes, "reason": reason, "before": before,
        "deadline": attempt.deadline_at.isoformat()})
