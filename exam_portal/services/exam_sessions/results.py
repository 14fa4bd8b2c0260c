"""Subject scores and results: recording a registration's score in a subject, marking
every score of a session against its pass lines, and recording the qualifications the
passes add up to under the official rules (question_bank.pass_rules)."""

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.jobs import Job, JobStatus
from exam_portal.models.sittings import (
    ExamSession,
    Qualification,
    QualificationStatus,
    Registration,
    RegistrationStatus,
    SubjectResult,
    VerificationMode,
)
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.exam_sessions import exam_marking, form_analysis, online_exams, sittings
from exam_portal.services.platform import audit, jobs
from exam_portal.services.platform.clock import LOCAL_ZONE, date_text
from question_bank import pass_rules
from question_bank.levels import Level
from question_bank.subjects import Subject

BATCH = 5_000


@dataclass(frozen=True)
class ResultsSummary:
    subjects_marked: int
    subjects_passed: int
    qualifications_recorded: int
    qualifications_withdrawn: int = 0


def compute_results(session: ExamSession, *, now: datetime,
                    progress: jobs.Progress = jobs.no_progress) -> ResultsSummary:
    """Mark every subject score of the session and record the qualifications earned.

    Safe to run again: each score is marked afresh, and the session's qualifications
    follow the marks (one no longer earned after a corrected score is withdrawn)."""
    if session.results_published_at is not None:
        raise ServiceError(gettext("成绩已发布，不能再重新计算。"))
    if now < session.exam_closes_at:
        raise ServiceError(gettext("考试结束后才能计算成绩。"))
    online_exams.close_sittings(session, now=now)
    exam_marking.record_missing_scores(session, now=now)
    if sittings.hold_results(session.id):
        raise ServiceError(gettext("成绩已发布，不能再重新计算。"))
    lines = sittings.pass_lines(session)
    marked, passed = _mark_subjects(session, lines, progress)
    progress(PHASE_QUALIFICATIONS, 0, None)
    recorded, withdrawn = _record_qualifications(session, now)
    return ResultsSummary(marked, passed, recorded, withdrawn)


PHASE_MARKING = "marking"
PHASE_QUALIFICATIONS = "qualifications"


def _mark_subjects(session: ExamSession, lines: pass_rules.PassLines,
                   progress: jobs.Progress) -> tuple[int, int]:
    rows = db.session.execute(
        sa.select(SubjectResult.id, SubjectResult.subject, SubjectResult.score_halves,
                  SubjectResult.full_halves, Registration.region, SubjectResult.passed,
                  SubjectResult.line_halves, SubjectResult.passed_region)
        .join(Registration, Registration.id == SubjectResult.registration_id)
        .where(Registration.session_id == session.id)).all()
    marked = passed = 0
    progress(PHASE_MARKING, 0, len(rows))
    for start in range(0, len(rows), BATCH):
        changes = []
        for row_id, subject, score, full, region, *stored in rows[start:start + BATCH]:
            outcome = pass_rules.mark_subject(Decimal(score) / 2, Decimal(full) / 2, subject,
                                              region, lines)
            marking = [outcome.passed, int(outcome.line * 2), outcome.region]
            passed += outcome.passed
            if stored != marking:  # a re-run rewrites only what changed
                changes.append({"row": row_id, "read": score, "new_passed": marking[0],
                                "new_line": marking[1], "new_region": marking[2]})
        if changes:
            db.session.execute(_MARK_ROW, changes)
        marked += len(rows[start:start + BATCH])
        progress(PHASE_MARKING, marked, len(rows))
    return marked, passed


# Marks a row only if its score is still the one read: a score corrected meanwhile keeps
# passed = NULL, and publication waits for the next computation.
_table = SubjectResult.__table__
_MARK_ROW = (sa.update(_table)
             .where(_table.c.id == sa.bindparam("row"),
                    _table.c.score_halves == sa.bindparam("read"))
             .values(passed=sa.bindparam("new_passed"), line_halves=sa.bindparam("new_line"),
                     passed_region=sa.bindparam("new_region")))


def _record_qualifications(session: ExamSession, now: datetime) -> tuple[int, int]:
    registrations = db.session.execute(
        sa.select(Registration.id, Registration.candidate_id, Registration.level,
                  Registration.status)
        .where(Registration.session_id == session.id,
               Registration.status != RegistrationStatus.REJECTED)
        # Qualifications (and so certificate numbers) follow registration order on every
        # database, run after run.
        .order_by(Registration.id)).all()
    widest = max(pass_rules.level_rule(level).window_years for level in Level)
    # One join each rather than batches of ids: the planner hashes them, at any size.
    sitting = sa.select(Registration.candidate_id).where(
        Registration.session_id == session.id).distinct().subquery()
    passes: dict[int, list[pass_rules.SubjectPass]] = defaultdict(list)
    for candidate_id, subject, year, region in db.session.execute(
            sa.select(SubjectResult.candidate_id, SubjectResult.subject, SubjectResult.year,
                      SubjectResult.passed_region)
            .join(sitting, sitting.c.candidate_id == SubjectResult.candidate_id)
            .join(Registration, Registration.id == SubjectResult.registration_id)
            .where(SubjectResult.passed.is_(True),
                   Registration.status != RegistrationStatus.REJECTED,
                   SubjectResult.year > session.year - widest,
                   SubjectResult.year <= session.year)):
        passes[candidate_id].append(pass_rules.SubjectPass(subject, year, region))
    held = {}  # (candidate, level) -> (id, session id, region, status, reviewed)
    for row in db.session.execute(
            sa.select(Qualification.candidate_id, Qualification.level, Qualification.id,
                      Qualification.session_id, Qualification.region, Qualification.status,
                      Qualification.review_recorded_at)
            .join(sitting, sitting.c.candidate_id == Qualification.candidate_id)):
        held[(row[0], row[1])] = row[2:]
    new, changed, earned_here = [], [], set()
    for registration_id, candidate_id, level, status in registrations:
        existing = held.get((candidate_id, level))
        if existing is not None and existing[1] != session.id:
            continue  # qualified at an earlier session: that record stands
        earned = pass_rules.qualification(level, passes.get(candidate_id, ()), session.year)
        if earned is None:
            continue
        derived = _status(session, level, status)
        if existing is not None:
            earned_here.add(existing[0])
            if existing[4] is None and (existing[2], existing[3]) != (earned.region, derived):
                changed.append({"id": existing[0], "region": earned.region, "status": derived})
            continue
        new.append({
            "candidate_id": candidate_id, "level": level, "year": session.year,
            "session_id": session.id, "registration_id": registration_id,
            "region": earned.region, "status": derived, "recorded_at": now})
        held[(candidate_id, level)] = (None, session.id, earned.region, derived, None)
    for start in range(0, len(new), BATCH):
        db.session.execute(sa.insert(Qualification), new[start:start + BATCH])
    if changed:
        db.session.execute(sa.update(Qualification), changed)
    # Recorded here before, no longer earned (a corrected score, a rejected registration):
    # results are not published yet, so the record is withdrawn rather than kept.
    stale = [row[0] for row in held.values()
             if row[0] is not None and row[1] == session.id and row[4] is None
             and row[0] not in earned_here]
    for start in range(0, len(stale), BATCH):
        db.session.execute(sa.delete(Qualification).where(
            Qualification.id.in_(stale[start:start + BATCH])))
    return len(new), len(stale)


def _status(session: ExamSession, level: Level, registration: RegistrationStatus
            ) -> QualificationStatus:
    if (session.verification_mode is VerificationMode.AFTER_EXAM
            and registration is not RegistrationStatus.VERIFIED):
        return QualificationStatus.PENDING_VERIFICATION
    if pass_rules.level_rule(level).needs_review:
        return QualificationStatus.AWAITING_REVIEW
    return QualificationStatus.ACHIEVED


# Jobs, publication --------------------------------------------------------------------

COMPUTE_JOB = "results.compute"


@jobs.job_kind(COMPUTE_JOB)
def _compute_job(params: dict, progress: jobs.Progress) -> dict:
    session = db.session.get(ExamSession, params["session_id"])
    if session is None:
        raise ServiceError(gettext("考试批次不存在。"))
    summary = compute_results(session, now=utcnow(), progress=progress)
    audit.record("session.results_computed", target=session,
                 actor=db.session.get(User, params["actor_id"]),
                 details=dataclasses.asdict(summary))
    db.session.commit()
    return dataclasses.asdict(summary)


def start_computing(session: ExamSession, actor: User) -> Job:
    """Compute the session's results as a background job (audited when it finishes)."""
    if session.results_published_at is not None:
        raise ServiceError(gettext("成绩已发布，不能再重新计算。"))
    if utcnow() < session.exam_closes_at:
        raise ServiceError(gettext("考试结束后才能计算成绩。"))
    if not (score_count(session) or online_exams.open_count(session)
            or online_exams.unmarked_count(session)):
        raise ServiceError(gettext("这个考试批次还没有成绩。"))
    return jobs.submit(COMPUTE_JOB, target_id=session.id,
                       params={"session_id": session.id, "actor_id": actor.id}, actor=actor)


def unmarked_count(session: ExamSession) -> int:
    """Scores recorded (or lines changed) since the results were last computed."""
    return db.session.scalar(
        sa.select(sa.func.count(SubjectResult.id))
        .join(Registration, Registration.id == SubjectResult.registration_id)
        .where(Registration.session_id == session.id, SubjectResult.passed.is_(None)))


def score_count(session: ExamSession) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(SubjectResult.id))
        .join(Registration, Registration.id == SubjectResult.registration_id)
        .where(Registration.session_id == session.id))


def publish(session: ExamSession, actor: User, *, now: datetime) -> None:
    """Publish the session's results to its candidates; after this nothing in the
    session's scores, lines or qualifications changes (audited)."""
    if session.results_published_at is not None:
        raise ServiceError(gettext("成绩已经发布。"))
    if now < session.exam_closes_at:
        raise ServiceError(gettext("考试结束后才能发布成绩。"))
    job = jobs.latest(COMPUTE_JOB, session.id)
    if job is not None and not job.finished:
        raise ServiceError(gettext("成绩正在计算，请等它完成。"))
    if job is not None and job.status is JobStatus.FAILED:
        # Its marks may be half written and its qualifications stale.
        raise ServiceError(gettext("上次计算成绩没有完成，请重新计算后再发布。"))
    online_exams.close_sittings(session, now=now)
    # From here no score, mark or line of the session changes until this commits, and
    # the checks below read what such writes under way committed. Taken after the
    # overdue hand-ins and the marking, which hold their papers first and the results
    # (shared) second.
    if sittings.hold_results(session.id, exclusive=True):
        raise ServiceError(gettext("成绩已经发布。"))
    if online_exams.open_count(session):
        raise ServiceError(gettext("还有 %(n)d 份网上作答没有交卷。",
                                   n=online_exams.open_count(session)))
    unmarked = online_exams.unmarked_count(session)
    if unmarked:
        # Handed in after the marking above: publishing again marks them.
        raise ServiceError(gettext("还有 %(n)d 份答卷刚交卷、还没有计分，请再发布一次。",
                                   n=unmarked))
    marked = exam_marking.progress(session)[0]
    if marked.final < marked.answers:
        raise ServiceError(gettext("还有 %(n)d 份主观题答卷没有评完。",
                                   n=marked.answers - marked.final))
    if score_count(session) == 0:
        raise ServiceError(gettext("这个考试批次还没有成绩。"))
    if unmarked_count(session):
        raise ServiceError(gettext("有成绩在上次计算后录入或改动了合格线，请先重新计算成绩。"))
    problem = form_analysis.publication_problem(session)
    if problem:
        raise ServiceError(problem)
    session.results_published_at = now
    # The publication is the 高级 pass proof's issue: its three years run from this day.
    db.session.execute(
        sa.update(Qualification)
        .where(Qualification.session_id == session.id, Qualification.level == Level.SENIOR)
        .values(proof_issued_on=now.astimezone(LOCAL_ZONE).date()))
    db.session.flush()
    audit.record("session.results_published", target=session, actor=actor,
                 details={"scores": score_count(session)})


def after_review(registrations: list[Registration]) -> None:
    """Bring the qualifications of just-reviewed registrations in line: verifying lifts
    "pending verification"; rejecting withdraws a qualification that was only pending."""
    for registration in registrations:
        qualification = db.session.scalar(sa.select(Qualification).where(
            Qualification.registration_id == registration.id))
        if qualification is None or qualification.review_recorded_at is not None:
            continue
        if registration.status is RegistrationStatus.REJECTED:
            if (qualification.status is QualificationStatus.PENDING_VERIFICATION
                    or registration.session.results_published_at is None):
                db.session.delete(qualification)
        elif qualification.status is QualificationStatus.PENDING_VERIFICATION:
            qualification.status = _status(registration.session, registration.level,
                                           registration.status)
    db.session.flush()


# 高级: the review (评审) after the exam ----------------------------------------------

def senior_qualifications(session: ExamSession) -> list[tuple[Qualification, Registration]]:
    """The 高级 exam passes recorded by the session, with their registrations."""
    return list(db.session.execute(
        sa.select(Qualification, Registration)
        .join(Registration, Registration.id == Qualification.registration_id)
        .where(Qualification.session_id == session.id, Qualification.level == Level.SENIOR)
        .order_by(Registration.admission_number)).all())


def record_senior_review(qualification: Qualification, *, passed: bool, note: str,
                         actor: User, now: datetime) -> None:
    """Record the outcome of a 高级 review: the certificate follows only a passed one.
    A failed review may be followed by another while the pass proof is valid."""
    note = note.strip()
    if qualification.level is not Level.SENIOR:
        raise ServiceError(gettext("只有高级社会工作师需要评审。"))
    if not note:
        raise ServiceError(gettext("请填写评审说明（例如评审委员会的决定文号）。"))
    session = db.session.get(ExamSession, qualification.session_id)
    if session.results_published_at is None:
        raise ServiceError(gettext("成绩发布后才能记录评审结果。"))
    if qualification.status not in (QualificationStatus.AWAITING_REVIEW,
                                    QualificationStatus.REVIEW_FAILED):
        raise ServiceError(gettext("这项资格不在待评审状态。"))
    last_day = qualification.proof_last_day
    if last_day is None or now.astimezone(LOCAL_ZONE).date() > last_day:
        raise ServiceError(gettext("考试合格证明的有效期已于 %(date)s 结束，不能再评审。",
                                   date=date_text(last_day) if last_day else "—"))
    before = qualification.status
    qualification.status = (QualificationStatus.ACHIEVED if passed
                            else QualificationStatus.REVIEW_FAILED)
    qualification.review_recorded_by_id, qualification.review_recorded_at = actor.id, now
    db.session.flush()
    audit.record("qualification.reviewed", target=qualification, actor=actor, details={
        "before": before.value, "after": qualification.status.value, "note": note[:500]})


# Reports ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Rate:
    key: object
    sat: int
    passed: int

    @property
    def percent(self) -> float:
        return round(self.passed * 100 / self.sat, 1) if self.sat else 0.0


def pass_rates(session: ExamSession) -> dict[str, list[Rate]]:
    """Pass rates of a session: qualified per level and per exam region (among the
    registrations with at least one score), and passed per subject."""
    scored = (sa.select(Registration.id, Registration.level, Registration.region)
              .where(Registration.session_id == session.id,
                     sa.exists().where(SubjectResult.registration_id == Registration.id))
              .subquery())
    qualified = sa.exists().where(Qualification.registration_id == scored.c.id,
                                  Qualification.session_id == session.id)
    flag = sa.func.sum(sa.case((qualified, 1), else_=0))

    def grouped(column):
        return [Rate(key, sat, int(passed or 0)) for key, sat, passed in db.session.execute(
            sa.select(column, sa.func.count(), flag).group_by(column).order_by(column))]

    by_subject = [Rate(subject, sat, int(passed or 0)) for subject, sat, passed in
                  db.session.execute(
                      sa.select(SubjectResult.subject, sa.func.count(),
                                sa.func.sum(sa.case((SubjectResult.passed.is_(True), 1),
                                                    else_=0)))
                      .join(Registration, Registration.id == SubjectResult.registration_id)
                      .where(Registration.session_id == session.id)
                      .group_by(SubjectResult.subject).order_by(SubjectResult.subject))]
    return {"level": grouped(scored.c.level), "region": grouped(scored.c.region),
            "subject": by_subject}


@dataclass(frozen=True)
class ScoreReport:
    results: list[SubjectResult]
    missing: list[Subject]  # subjects of the level without a score in this session
    qualification: Qualification | None


def score_report(registration: Registration) -> ScoreReport | None:
    """The candidate's report for one registration, once results are published."""
    if registration.session.results_published_at is None:
        return None
    results = list(db.session.scalars(sa.select(SubjectResult).where(
        SubjectResult.registration_id == registration.id).order_by(SubjectResult.subject)))
    present = {result.subject for result in results}
    # Only a qualification whose own session is published (a later sitting's may be
    # computed but not yet announced).
    qualification = db.session.scalar(
        sa.select(Qualification).join(ExamSession, ExamSession.id == Qualification.session_id)
        .where(Qualification.candidate_id == registration.candidate_id,
               Qualification.level == registration.level,
               ExamSession.results_published_at.is_not(None)))
    return ScoreReport(results, [s for s in pass_rules.subjects_of(registration.level)
                                 if s not in present], qualification)
