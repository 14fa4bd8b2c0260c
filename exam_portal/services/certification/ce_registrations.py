"""Registration (登记) of a qualification, its periods of validity, the CE hours
credited to them, and renewal.

What it promises:
- a holder registers a qualification the portal knows: one achieved here, or one
  declared with a document (checked and stored as registration evidence is) that an
  administrator verifies or rejects; within the configured time after passing;
- where a holder stands (hours required, credited, missing; the renewal window) comes
  from question_bank.continuing_education, with the operator's numbers (CE_RULES);
- a renewal is applied for in the window with the hours met, once per period (a
  partial unique index); an administrator approves or rejects it, or the rule approves
  it when CE_RENEWAL_AUTO_APPROVE is set; a decision is one conditional UPDATE, so of
  two administrators deciding at once one wins and one new period is opened;
- every step is audited, and the holder is told of a decision (ce_notices).
"""

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.continuing_education import (
    CeCompletion,
    CeCourse,
    CePeriod,
    CeRegistration,
    CeRegistrationStatus,
    CeRenewal,
    RegistrationBasis,
    RenewalStatus,
)
from exam_portal.models.sittings import ExamSession, Qualification, QualificationStatus
from exam_portal.services import ServiceError
from exam_portal.services.certification import ce_notices
from exam_portal.services.exam_sessions import evidence
from exam_portal.services.platform import audit, file_store
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank import continuing_education as rules
from question_bank.levels import Level

MAX_REASON = 500
MAX_NUMBER = 64


def current_rules() -> rules.Rules:
    """The operator's numbers (CE_RULES), over the published rule."""
    return rules.rules_from(current_app.config.get("CE_RULES") or {})


def _period(row: CePeriod) -> rules.Period:
    return rules.Period(row.starts_on, row.ends_on)


# Reading --------------------------------------------------------------------------------

def own_registrations(user: User) -> list[CeRegistration]:
    return list(db.session.scalars(sa.select(CeRegistration).where(
        CeRegistration.user_id == user.id).order_by(CeRegistration.id)))


def own_registration(registration_id: int, user: User) -> CeRegistration | None:
    """The holder's own registration, or None (someone else's is not acknowledged)."""
    registration = db.session.get(CeRegistration, registration_id)
    return registration if registration is not None and registration.user_id == user.id \
        else None


def completions_of(user_id: int) -> list[tuple[CeCompletion, CeCourse]]:
    return list(db.session.execute(
        sa.select(CeCompletion, CeCourse).join(CeCourse, CeCourse.id == CeCompletion.course_id)
        .where(CeCompletion.user_id == user_id)
        .order_by(CeCompletion.completed_on, CeCompletion.id)).all())


def current_period(registration: CeRegistration, today: date) -> CePeriod | None:
    """The period *today* falls in, else the latest (expired, or not begun)."""
    periods = registration.periods
    return next((row for row in periods if today in _period(row)),
                periods[-1] if periods else None)


@dataclass(frozen=True)
class Overview:
    """A registration as its holder sees it on one day."""

    registration: CeRegistration
    period: CePeriod | None
    standing: rules.Standing | None
    courses: list[tuple[CeCompletion, CeCourse]]  # credited to the period
    renewal: CeRenewal | None  # the latest application for the period
    problem: rules.RenewalProblem | None


def overview(registration: CeRegistration, today: date) -> Overview:
    row = current_period(registration, today)
    if row is None:
        return Overview(registration, None, None, [], None, None)
    period, rule = _period(row), current_rules()
    completions = completions_of(registration.user_id)
    credited = [(c, course) for c, course in completions if c.completed_on in period]
    state = rules.standing(period, registration.level,
                           [(c.completed_on, course.hours) for c, course in credited], rule)
    renewal = db.session.scalar(sa.select(CeRenewal).where(CeRenewal.period_id == row.id)
                                .order_by(CeRenewal.id.desc()).limit(1))
    return Overview(registration, row, state, credited, renewal,
                    rules.renewal_problem(state, today))


def standing_of(period: CePeriod) -> rules.Standing:
    registration = period.registration
    completions = completions_of(registration.user_id)
    return rules.standing(_period(period), registration.level,
                          [(c.completed_on, course.hours) for c, course in completions],
                          current_rules())


# Registering ------------------------------------------------------------------------------

def registrable_qualifications(user: User) -> list[tuple[Qualification, date]]:
    """The holder's achieved qualifications not yet registered, with their pass date."""
    registered = {r.level for r in own_registrations(user)}
    rows = db.session.execute(
        sa.select(Qualification, ExamSession)
        .join(ExamSession, ExamSession.id == Qualification.session_id)
        .where(Qualification.candidate_id == user.id,
               Qualification.status == QualificationStatus.ACHIEVED,
               ExamSession.results_published_at.is_not(None))).all()
    return [(q, passed_on(q, session)) for q, session in rows if q.level not in registered]


def passed_on(qualification: Qualification, session: ExamSession) -> date:
    """The day a qualification was approved (the results' publication, or the review)."""
    moment = qualification.review_recorded_at or session.results_published_at
    return moment.astimezone(LOCAL_ZONE).date()


def _refuse_late(passed: date, today: date) -> None:
    problem = rules.registration_problem(passed, today, current_rules())
    if problem is rules.RegistrationProblem.TOO_LATE:
        raise ServiceError(gettext(
            "登记须在取得资格后 %(n)d 个月内办理（最迟 %(day)s），已超过期限。",
            n=current_rules().register_within_months,
            day=rules.registration_deadline(passed, current_rules()).isoformat()))
    if problem is rules.RegistrationProblem.BEFORE_PASSING:
        raise ServiceError(gettext("取得资格的日期不能晚于今天。"))


def _add(registration: CeRegistration) -> None:
    try:
        with db.session.begin_nested():
            db.session.add(registration)
    except IntegrityError as error:
        raise ServiceError(gettext("这个级别已经登记过。")) from error


def _open_first_period(registration: CeRegistration) -> CePeriod:
    period = rules.period_from(registration.registered_on, current_rules())
    row = CePeriod(registration_id=registration.id, number=1, starts_on=period.starts_on,
                   ends_on=period.ends_on)
    db.session.add(row)
    db.session.flush()
    return row


def register_issued(user: User, qualification_id: int, today: date) -> CeRegistration:
    """Register a qualification achieved here: active at once (audited)."""
    found = db.session.execute(
        sa.select(Qualification, ExamSession)
        .join(ExamSession, ExamSession.id == Qualification.session_id)
        .where(Qualification.id == qualification_id, Qualification.candidate_id == user.id,
               Qualification.status == QualificationStatus.ACHIEVED,
               ExamSession.results_published_at.is_not(None))).first()
    if found is None:
        raise ServiceError(gettext("只能登记本人已取得的资格。"))
    qualification, session = found
    passed = passed_on(qualification, session)
    _refuse_late(passed, today)
    registration = CeRegistration(
        user_id=user.id, level=qualification.level, basis=RegistrationBasis.ISSUED,
        qualification_id=qualification.id, passed_on=passed, registered_on=today,
        status=CeRegistrationStatus.ACTIVE)
    _add(registration)
    period = _open_first_period(registration)
    audit.record("ce.registered", target=registration, actor=user, details={
        "level": registration.level.value, "basis": "ISSUED",
        "qualification": qualification.id, "period": [period.starts_on.isoformat(),
                                                       period.ends_on.isoformat()]})
    return registration


def declare(user: User, level: Level, passed: date, number: str,
            stored: evidence.StoredFile, today: date) -> CeRegistration:
    """Declare a qualification obtained elsewhere, with its document (checked and stored
    beforehand, as registration evidence is); it waits for an administrator."""
    file_store.delete_unless_committed(stored.key)
    number = (number or "").strip()
    if not number or len(number) > MAX_NUMBER:
        raise ServiceError(gettext("请填写证书编号（管理号）。"))
    _refuse_late(passed, today)
    registration = CeRegistration(
        user_id=user.id, level=level, basis=RegistrationBasis.DECLARED, passed_on=passed,
        registered_on=today, certificate_number=number, status=CeRegistrationStatus.PENDING,
        document_key=stored.key, document_type=stored.content_type,
        document_name=stored.filename, document_sha256=stored.sha256)
    _add(registration)
    audit.record("ce.declared", target=registration, actor=user, details={
        "level": level.value, "passed_on": passed.isoformat(), "sha256": stored.sha256})
    return registration


def open_document(registration: CeRegistration, viewer: User) -> bytes | None:
    """The declared document for its holder or an administrator (audited for the
    administrator); None for anyone else or when missing."""
    if registration.document_key is None or not (
            viewer.id == registration.user_id or viewer.role is Role.ADMIN):
        return None
    try:
        data = file_store.current().get(registration.document_key)
    except file_store.MissingFile:
        current_app.logger.error("ce registration %s: its document is missing", registration.id)
        return None
    if viewer.id != registration.user_id:
        audit.record("ce.document_viewed", target=registration, actor=viewer,
                     details={"holder": registration.user_id})
    return data


def decide_declaration(registration: CeRegistration, verify: bool, reason: str,
                       actor: User, *, now: datetime) -> None:
    """Verify (the first period opens from the registration date) or reject, with a
    reason, a declared registration; once (audited)."""
    reason = (reason or "").strip()[:MAX_REASON]
    if not verify and not reason:
        raise ServiceError(gettext("驳回须填写原因。"))
    status = CeRegistrationStatus.ACTIVE if verify else CeRegistrationStatus.REJECTED
    won = db.session.execute(
        sa.update(CeRegistration)
        .where(CeRegistration.id == registration.id,
               CeRegistration.status == CeRegistrationStatus.PENDING)
        .values(status=status, decided_by_id=actor.id, decided_at=now, reason=reason or None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(registration)
    if won != 1:
        raise ServiceError(gettext("这条登记已经处理过。"))
    if verify:
        _open_first_period(registration)
    audit.record("ce.declaration_verified" if verify else "ce.declaration_rejected",
                 target=registration, actor=actor, details={"reason": reason or None})


def pending_declarations_query():
    return (sa.select(CeRegistration).where(
        CeRegistration.status == CeRegistrationStatus.PENDING)
        .order_by(CeRegistration.created_at, CeRegistration.id))


# Renewal -----------------------------------------------------------------------------------

def renewal_refusal(problem: rules.RenewalProblem, state: rules.Standing) -> str:
    if problem is rules.RenewalProblem.BEFORE_WINDOW:
        return gettext("续期申请自 %(day)s 起才能提交。", day=state.window.starts_on.isoformat())
    if problem is rules.RenewalProblem.AFTER_PERIOD:
        return gettext("这个有效期已于 %(day)s 结束，不能再申请续期。",
                       day=state.period.ends_on.isoformat())
    return gettext("继续教育学时不足：本期需 %(required)s 学时，已取得 %(credited)s 学时，"
                   "还差 %(short)s 学时。", required=state.required, credited=state.credited,
                   short=state.shortfall)


def apply_for_renewal(registration: CeRegistration, user: User, *, today: date,
                      now: datetime) -> CeRenewal:
    """Apply to renew the current period (audited); approved at once when the operator
    configured the rule to approve."""
    if registration.user_id != user.id or registration.status is not CeRegistrationStatus.ACTIVE:
        raise ServiceError(gettext("只能为本人已生效的登记申请续期。"))
    seen = overview(registration, today)
    if seen.period is None:
        raise ServiceError(gettext("只能为本人已生效的登记申请续期。"))
    if seen.problem is not None:
        raise ServiceError(renewal_refusal(seen.problem, seen.standing))
    renewal = CeRenewal(registration_id=registration.id, period_id=seen.period.id,
                        half_hours_credited=int(seen.standing.credited * 2),
                        status=RenewalStatus.PENDING, applied_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(renewal)
    except IntegrityError as error:
        raise ServiceError(gettext("这个有效期已经申请过续期。")) from error
    audit.record("ce.renewal_applied", target=renewal, actor=user, details={
        "registration": registration.id, "period": seen.period.number,
        "hours": str(seen.standing.credited)})
    if current_app.config.get("CE_RENEWAL_AUTO_APPROVE"):
        _decide(renewal, approve=True, actor=None, reason="", now=now)
    return renewal


def decide_renewal(renewal: CeRenewal, approve: bool, reason: str, actor: User, *,
                   now: datetime) -> CePeriod | None:
    """Approve (the next period opens) or reject with a reason; once, whoever is
    first (audited; the holder is told)."""
    return _decide(renewal, approve=approve, actor=actor, reason=reason, now=now)


def _decide(renewal: CeRenewal, *, approve: bool, actor: User | None, reason: str,
            now: datetime) -> CePeriod | None:
    reason = (reason or "").strip()[:MAX_REASON]
    if not approve and not reason:
        raise ServiceError(gettext("驳回须填写原因。"))
    status = RenewalStatus.APPROVED if approve else RenewalStatus.REJECTED
    won = db.session.execute(
        sa.update(CeRenewal)
        .where(CeRenewal.id == renewal.id, CeRenewal.status == RenewalStatus.PENDING)
        .values(status=status, decided_by_id=actor.id if actor else None, decided_at=now,
                is_automatic=actor is None, reason=reason or None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(renewal)
    if won != 1:
        raise ServiceError(gettext("这份续期申请已经处理过。"))
    new = None
    if approve:
        old = renewal.period
        period = rules.next_period(_period(old), current_rules())
        new = CePeriod(registration_id=renewal.registration_id, number=old.number + 1,
                       starts_on=period.starts_on, ends_on=period.ends_on)
        db.session.add(new)
        db.session.flush()
        renewal.new_period_id = new.id
    audit.record("ce.renewal_approved" if approve else "ce.renewal_rejected", target=renewal,
                 actor=actor, details={
                     "registration": renewal.registration_id, "automatic": actor is None,
                     "reason": reason or None,
                     "new_period": [new.starts_on.isoformat(), new.ends_on.isoformat()]
                     if new else None})
    ce_notices.renewal_decided(renewal, new)
    return new


def pending_renewals_query():
    return (sa.select(CeRenewal).where(CeRenewal.status == RenewalStatus.PENDING)
            .order_by(CeRenewal.applied_at, CeRenewal.id))
