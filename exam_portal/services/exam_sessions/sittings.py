"""Exam sessions and registration (报名): opening sittings, registering candidates at the
session's cutoffs, reviewing registrations, admission numbers."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import get_locale, gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.attempts import Attempt
from exam_portal.models.forms import ExamForm
from exam_portal.models.sittings import (
    ExamSession,
    PassLine,
    Registration,
    RegistrationStatus,
    SessionMode,
    SubjectResult,
    VerificationMode,
)
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.accounts import profiles
from exam_portal.services.exam_sessions import evidence, fees
from exam_portal.services.platform import audit, labels, text_search
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank import eligibility, regions, syllabus
from question_bank.levels import Level
from question_bank.pass_rules import PassLines, subjects_of
from question_bank.subjects import Subject

_LEVEL_DIGITS = {Level.ASSISTANT: "1", Level.INTERMEDIATE: "2", Level.SENIOR: "3"}
MAX_BULK_REVIEW = 500
# Any fixed number: the first key of a session's results lock (PostgreSQL advisory
# locks are keyed by integers; the second key is the session's id).
_RESULTS_LOCK = 7_311_043


def hold_results(session_id: int, *, exclusive: bool = False) -> bool:
    """Hold the session's results until this transaction ends, and say whether they
    are published, as committed now (not as loaded earlier in the request).

    Everything that writes a score, a mark, a pass line or a review outcome of a
    session holds them shared and writes only while they are unpublished; publication
    holds them exclusively, so it waits for such writes under way and they wait for
    it. Without this, on PostgreSQL (READ COMMITTED) a write that read "not published"
    committed after the publication. Advisory locks write no row, and shared holders
    never wait for each other. SQLite: a writing transaction already holds the only
    write lock."""
    if db.session.get_bind().dialect.name == "postgresql":
        lock = (sa.func.pg_advisory_xact_lock if exclusive
                else sa.func.pg_advisory_xact_lock_shared)
        db.session.execute(sa.select(lock(_RESULTS_LOCK, session_id)))
    return db.session.scalar(sa.select(ExamSession.results_published_at).where(
        ExamSession.id == session_id)) is not None


@dataclass(frozen=True)
class SessionFields:
    """What an administrator sets for a session."""

    year: int
    name: str
    levels: tuple[Level, ...]
    registration_opens_at: datetime
    registration_closes_at: datetime
    exam_opens_at: datetime
    exam_closes_at: datetime
    mode: SessionMode
    syllabus_version: str
    law_cutoff: date
    experience_cutoff: date
    verification_mode: VerificationMode


def _problem(fields: SessionFields) -> str | None:
    if not fields.levels:
        return gettext("至少选择一个级别。")
    if fields.registration_opens_at >= fields.registration_closes_at:
        return gettext("报名截止时间应晚于报名开始时间。")
    if fields.exam_opens_at >= fields.exam_closes_at:
        return gettext("考试结束时间应晚于考试开始时间。")
    if fields.registration_closes_at > fields.exam_opens_at:
        return gettext("报名应在考试开始前截止。")
    if fields.exam_opens_at.astimezone(LOCAL_ZONE).year != fields.year:
        return gettext("考试年度应与考试开始日期所在的年份一致。")
    if not syllabus.is_loaded(fields.syllabus_version):
        return gettext("没有 %(version)s 年版考试大纲的数据，不能选用。",
                       version=str(fields.syllabus_version)[:10])
    return None


def _snapshot(session: ExamSession) -> dict:
    return {
        "year": session.year, "name": session.name, "levels": list(session.levels),
        "registration": [session.registration_opens_at.isoformat(),
                         session.registration_closes_at.isoformat()],
        "exam": [session.exam_opens_at.isoformat(), session.exam_closes_at.isoformat()],
        "mode": session.mode.value, "syllabus_version": session.syllabus_version,
        "law_cutoff": session.law_cutoff.isoformat(),
        "experience_cutoff": session.experience_cutoff.isoformat(),
        "verification_mode": session.verification_mode.value,
    }


def _apply(session: ExamSession, fields: SessionFields) -> None:
    session.year, session.name = fields.year, fields.name.strip()
    session.levels = [level.value for level in fields.levels]
    session.registration_opens_at = fields.registration_opens_at
    session.registration_closes_at = fields.registration_closes_at
    session.exam_opens_at, session.exam_closes_at = fields.exam_opens_at, fields.exam_closes_at
    session.mode, session.syllabus_version = fields.mode, fields.syllabus_version
    session.law_cutoff, session.experience_cutoff = fields.law_cutoff, fields.experience_cutoff
    session.verification_mode = fields.verification_mode


def create_session(fields: SessionFields, actor: User) -> ExamSession:
    """Open a new exam session (audited)."""
    problem = _problem(fields)
    if problem:
        raise ServiceError(problem)
    session = ExamSession(created_by_id=actor.id)
    _apply(session, fields)
    db.session.add(session)
    db.session.flush()
    audit.record("session.created", target=session, actor=actor,
                 details={"after": _snapshot(session)})
    return session


def update_session(session: ExamSession, fields: SessionFields, actor: User) -> None:
    """Change a session's settings (audited with the values before and after)."""
    problem = _problem(fields)
    if problem:
        raise ServiceError(problem)
    if hold_results(session.id):
        raise ServiceError(gettext("成绩已发布的考试批次不能再修改。"))
    before = _snapshot(session)
    removed = {level.value for level in session.level_set} - {lv.value for lv in fields.levels}
    if removed and db.session.scalar(sa.select(sa.func.count(Registration.id)).where(
            Registration.session_id == session.id, Registration.level.in_(removed))):
        raise ServiceError(gettext("已有考生报名的级别不能删除。"))
    if fields.mode is not session.mode and db.session.scalar(
            sa.select(sa.func.count(Registration.id)).where(
                Registration.session_id == session.id,
                sa.or_(sa.exists().where(SubjectResult.registration_id == Registration.id),
                       sa.exists().where(Attempt.registration_id == Registration.id)))):
        raise ServiceError(gettext("已有成绩或考试作答的考试批次不能改变考试方式。"))
    # Forms built (and papers sat) are the session's version's: another version would
    # leave them on the wrong tree.
    if fields.syllabus_version != session.syllabus_version and db.session.scalar(
            sa.select(sa.exists().where(Attempt.registration_id == Registration.id,
                                        Registration.session_id == session.id)
                      | sa.exists().where(ExamForm.session_id == session.id))):
        raise ServiceError(gettext("已组卷或已有考生开始作答的考试批次不能改变考试大纲版本。"))
    # Papers in progress have deadlines inside the window: it may only grow at its end.
    if (fields.exam_opens_at != session.exam_opens_at
            or fields.exam_closes_at < session.exam_closes_at) and db.session.scalar(
            sa.select(sa.exists().where(Attempt.registration_id == Registration.id,
                                        Registration.session_id == session.id))):
        raise ServiceError(gettext(
            "已有考生开始作答：考试时间只能延后结束，不能改动开始时间或提前结束。"))
    _apply(session, fields)
    db.session.flush()
    audit.record("session.updated", target=session, actor=actor,
                 details={"before": before, "after": _snapshot(session)})


def set_pass_line(session: ExamSession, subject: Subject, region: str, line: Decimal,
                  actor: User) -> Decimal | None:
    """Set one pass line (audited); return the line it replaced, if any."""
    if region:
        region = regions.normalise(region)
        if region is None:
            raise ServiceError(gettext("未知的地区。"))
    if line < 0 or line > 100 or line * 2 != int(line * 2):
        raise ServiceError(gettext("合格线应在 0 到 100 分之间，以 0.5 分为单位。"))
    if hold_results(session.id):
        raise ServiceError(gettext("成绩已发布的考试批次不能再修改合格线。"))
    existing = next((p for p in session.pass_lines
                     if p.subject is subject and p.region == region), None)
    before = existing.line_halves if existing else None
    if existing is None:
        existing = PassLine(subject=subject, region=region, line_halves=int(line * 2))
        session.pass_lines.append(existing)
    existing.line_halves = int(line * 2)
    db.session.flush()
    _unmark(session, subject)
    audit.record("session.pass_line_set", target=session, actor=actor,
                 details={"subject": subject.value, "region": region or None,
                          "before": before, "after": existing.line_halves})
    return Decimal(before) / 2 if before is not None else None


def remove_pass_line(session: ExamSession, line_id: int, actor: User) -> None:
    line = next((p for p in session.pass_lines if p.id == line_id), None)
    if line is None:
        raise ServiceError(gettext("没有这条合格线。"))
    if hold_results(session.id):
        raise ServiceError(gettext("成绩已发布的考试批次不能再修改合格线。"))
    session.pass_lines.remove(line)
    db.session.flush()
    _unmark(session, line.subject)
    audit.record("session.pass_line_removed", target=session, actor=actor,
                 details={"subject": line.subject.value, "region": line.region or None,
                          "before": line.line_halves})


def _unmark(session: ExamSession, subject: Subject) -> None:
    # The subject's scores were marked against the old line: they wait for the results
    # to be computed again, and publication waits for that.
    db.session.execute(
        sa.update(SubjectResult).where(
            SubjectResult.subject == subject, SubjectResult.registration_id.in_(
                sa.select(Registration.id).where(Registration.session_id == session.id)))
        .values(passed=None, line_halves=None, passed_region=None)
        .execution_options(synchronize_session=False))


def pass_lines(session: ExamSession) -> PassLines:
    """The session's pass lines for the pass rules (region None = national)."""
    return PassLines({(line.subject, line.region or None): Decimal(line.line_halves) / 2
                      for line in session.pass_lines})


# Registration ------------------------------------------------------------------------

def open_for_registration(now: datetime) -> list[ExamSession]:
    return list(db.session.scalars(
        sa.select(ExamSession).where(ExamSession.registration_opens_at <= now,
                                     ExamSession.registration_closes_at > now)
        .order_by(ExamSession.exam_opens_at)))


def is_registration_open(session: ExamSession, now: datetime) -> bool:
    return session.registration_opens_at <= now < session.registration_closes_at


def verdict_for(candidate: User, session: ExamSession, level: Level) -> eligibility.Verdict:
    """The candidate's eligibility for *level* at the session's experience cutoff."""
    return eligibility.evaluate(profiles.background(candidate), level, session.experience_cutoff)


def register(candidate: User, session: ExamSession, level: Level, region: str, *,
             declared: bool, now: datetime) -> Registration:
    """Register the candidate for one level, after checking the window and eligibility."""
    if not is_registration_open(session, now):
        raise ServiceError(gettext("这个考试批次现在不在报名时间内。"))
    if level not in session.level_set:
        raise ServiceError(gettext("这个考试批次不设这个级别。"))
    region = regions.normalise(region)
    if region is None:
        raise ServiceError(gettext("请选择报考地区。"))
    if not declared:
        raise ServiceError(gettext("请阅读并确认报考承诺。"))
    profile = candidate.profile
    if profile is None or not profile.real_name or not profile.resident_id_index:
        raise ServiceError(gettext("请先在个人资料中填写真实姓名和身份证号码。"))
    verdict = verdict_for(candidate, session, level)
    if not verdict.eligible:
        raise ServiceError(gettext("按本批次的截止日期，你暂不符合这个级别的报考条件。"))
    if verdict.region_limit and not regions.contains(verdict.region_limit, region):
        raise ServiceError(gettext("你的社会工作师证书限定在 %(region)s 使用，只能在该地区报考。",
                                   region=labels.region_name(verdict.region_limit,
                                                             str(get_locale()))))
    registration = db.session.scalar(sa.select(Registration).where(
        Registration.session_id == session.id, Registration.candidate_id == candidate.id,
        Registration.level == level))
    again = registration is not None
    if again and registration.status is not RegistrationStatus.REJECTED:
        raise ServiceError(gettext("你已经报名了这个级别。"))
    if again and _has_results(registration):
        raise ServiceError(gettext("这条报名已有成绩或考试作答，不能重新报名。"))
    # Taking the number locks the session's row, so a registration for another level
    # made at the same moment has committed (and is seen) before this one checks.
    number = _next_admission_number(session, level, region)
    other = _other_level(candidate, session, level)
    if other is not None:
        raise ServiceError(gettext(
            "每次考试只能报考一个级别：你已报名%(level)s（准考证号 %(number)s）。如要改报，"
            "请先撤销那条报名。", level=labels.LEVELS[other.level],
            number=other.admission_number))
    if not again:
        registration = Registration(session_id=session.id, candidate_id=candidate.id,
                                    level=level)
        db.session.add(registration)
    # A rejected registration is submitted again (after the candidate put right what
    # the reviewer named) as a fresh declaration with a new admission number.
    registration.region, registration.route_code = region, verdict.route.code
    registration.declared_at, registration.status = now, RegistrationStatus.DECLARED
    registration.reviewed_by_id = registration.reviewed_at = registration.review_note = None
    registration.admission_number = number
    db.session.flush()
    audit.record("registration.declared", target=registration, actor=candidate,
                 details={"session": session.id, "level": level.value, "region": region,
                          "route": verdict.route.code, "again": again})
    return registration


def _other_level(candidate: User, session: ExamSession, level: Level) -> Registration | None:
    """The candidate's registration for another level of the session, if one stands (a
    rejected one does not: the candidate may choose again)."""
    return db.session.scalar(sa.select(Registration).where(
        Registration.session_id == session.id, Registration.candidate_id == candidate.id,
        Registration.level != level, Registration.status != RegistrationStatus.REJECTED))


def _has_results(registration: Registration) -> bool:
    return bool(db.session.scalar(sa.select(sa.func.count(SubjectResult.id)).where(
        SubjectResult.registration_id == registration.id)) or db.session.scalar(
        sa.select(sa.func.count(Attempt.id)).where(
            Attempt.registration_id == registration.id)))


def withdraw(registration: Registration, candidate: User, *, now: datetime) -> None:
    """The candidate withdraws a registration while registration is still open."""
    if registration.candidate_id != candidate.id:
        raise ServiceError(gettext("没有这条报名。"))
    if not is_registration_open(registration.session, now):
        raise ServiceError(gettext("报名已截止，不能再撤销报名。"))
    if _has_results(registration):
        raise ServiceError(gettext("这条报名已有成绩或考试作答，不能撤销。"))
    if fees.has_payments(registration.id):
        raise ServiceError(gettext("这条报名已缴费，不能自行撤销，请联系考试管理机构。"))
    # Its documents go with it (their files once this commits).
    documents = evidence.discard_all(registration)
    audit.record("registration.withdrawn", target=registration, actor=candidate,
                 details={"session": registration.session_id,
                          "level": registration.level.value,
                          "admission_number": registration.admission_number,
                          "status": registration.status.value, "documents": documents})
    db.session.delete(registration)
    db.session.flush()


def _next_admission_number(session: ExamSession, level: Level, region: str) -> str:
    # One UPDATE … RETURNING both takes the next serial and locks the session row, so
    # two registrations at the same moment never get the same number.
    serial = db.session.scalar(
        sa.update(ExamSession).where(ExamSession.id == session.id)
        .values(admission_serial=ExamSession.admission_serial + 1)
        .returning(ExamSession.admission_serial)
        .execution_options(synchronize_session=False))
    province = region[:2]  # the number keeps its 16 digits: the province, not the county
    return f"{session.year:04d}{session.id % 1000:03d}{province}{_LEVEL_DIGITS[level]}{serial:06d}"


def may_sit(registration: Registration) -> bool:
    """Whether the registration lets the candidate sit the exam: its status, and its
    exam fee paid on time (a lapsed registration never sits). Once true it stays so
    unless the registration is rejected: payments are never taken back."""
    if registration.status is RegistrationStatus.REJECTED:
        return False
    if (registration.session.verification_mode is VerificationMode.BEFORE_EXAM
            and registration.status is not RegistrationStatus.VERIFIED):
        return False
    return fees.is_paid(registration)


def own_registrations(candidate: User) -> list[Registration]:
    return list(db.session.scalars(
        sa.select(Registration).where(Registration.candidate_id == candidate.id)
        .order_by(Registration.declared_at.desc())))


def _next_exam(column, candidate_id: int, now: datetime):
    """*column* of the earliest session the candidate is registered for (registration
    not refused) whose exam has not ended."""
    return (sa.select(column).join(Registration, Registration.session_id == ExamSession.id)
            .where(Registration.candidate_id == candidate_id,
                   Registration.status != RegistrationStatus.REJECTED,
                   ExamSession.exam_closes_at > now)
            .order_by(ExamSession.exam_opens_at, ExamSession.id).limit(1))


def prepared_version(candidate_id: int, now: datetime) -> str | None:
    """The syllabus version of the next exam the candidate is registered for (the
    earliest whose exam has not ended, registration not refused), or None."""
    return db.session.scalar(_next_exam(ExamSession.syllabus_version, candidate_id, now))


def next_exam_day(candidate_id: int, now: datetime) -> date | None:
    """The first day (in China) of the next exam the candidate is registered for."""
    opens = db.session.scalar(_next_exam(ExamSession.exam_opens_at, candidate_id, now))
    return opens.astimezone(LOCAL_ZONE).date() if opens else None


def registration_query(session: ExamSession, *, status: RegistrationStatus | None = None,
                       level: Level | None = None, search: str = ""):
    """The review queue of a session, oldest first, with the candidates' profiles."""
    query = (sa.select(Registration).where(Registration.session_id == session.id)
             .order_by(Registration.declared_at, Registration.id))
    if status:
        query = query.where(Registration.status == status)
    if level:
        query = query.where(Registration.level == level)
    if search:
        query = query.join(User, User.id == Registration.candidate_id).where(sa.or_(
            Registration.admission_number == search.strip(),
            text_search.contains(User.email, search.strip())))
    return query


def subjects_for(registration: Registration) -> tuple[Subject, ...]:
    return subjects_of(registration.level)


def now_utc() -> datetime:
    return utcnow()
