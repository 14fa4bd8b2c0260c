"""Subject scores and results: recording a registration's score in a subject, marking
every score of a session against its pass lines, and recording the qualifications the
passes add up to under the official rules (question_bank.pass_rules)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext

from question_bank import pass_rules, specs
from question_bank.levels import Level
from question_bank.subjects import Subject

from ..extensions import db
from ..models.sittings import (
    ExamSession,
    Qualification,
    QualificationStatus,
    Registration,
    RegistrationStatus,
    ResultSource,
    SubjectResult,
    VerificationMode,
)
from . import ServiceError, sittings

BATCH = 5_000


def full_marks(subject: Subject) -> Decimal:
    return specs.load(subject).full_marks


def record_score(registration: Registration, subject: Subject, score: Decimal, *,
                 source: ResultSource, now: datetime, attempt_id: int | None = None
                 ) -> SubjectResult:
    """Store (or replace) the registration's score in *subject*; marking comes later."""
    if subject not in pass_rules.subjects_of(registration.level):
        raise ServiceError(gettext("这个科目不属于所报考的级别。"))
    full = full_marks(subject)
    if not Decimal(0) <= score <= full or score * 2 != int(score * 2):
        raise ServiceError(gettext("成绩应在 0 到 %(full)s 分之间，以 0.5 分为单位。",
                                   full=f"{full:g}"))
    if registration.session.results_published_at is not None:
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


@dataclass(frozen=True)
class ResultsSummary:
    subjects_marked: int
    subjects_passed: int
    qualifications_recorded: int


def compute_results(session: ExamSession, *, now: datetime) -> ResultsSummary:
    """Mark every subject score of the session and record the qualifications earned.

    Safe to run again: each score is marked afresh and a qualification that is
    already recorded is kept as it is."""
    lines = sittings.pass_lines(session)
    marked, passed = _mark_subjects(session, lines)
    recorded = _record_qualifications(session, now)
    return ResultsSummary(marked, passed, recorded)


def _mark_subjects(session: ExamSession, lines: pass_rules.PassLines) -> tuple[int, int]:
    rows = db.session.execute(
        sa.select(SubjectResult.id, SubjectResult.subject, SubjectResult.score_halves,
                  SubjectResult.full_halves, Registration.region, SubjectResult.passed,
                  SubjectResult.line_halves, SubjectResult.passed_region)
        .join(Registration, Registration.id == SubjectResult.registration_id)
        .where(Registration.session_id == session.id)).all()
    marked = passed = 0
    for start in range(0, len(rows), BATCH):
        changes = []
        for row_id, subject, score, full, region, *stored in rows[start:start + BATCH]:
            outcome = pass_rules.mark_subject(Decimal(score) / 2, Decimal(full) / 2, subject,
                                              region, lines)
            marking = [outcome.passed, int(outcome.line * 2), outcome.region]
            passed += outcome.passed
            if stored != marking:  # a re-run rewrites only what changed
                changes.append({"id": row_id, "passed": marking[0],
                                "line_halves": marking[1], "passed_region": marking[2]})
        if changes:
            db.session.execute(sa.update(SubjectResult), changes)
        marked += len(rows[start:start + BATCH])
    return marked, passed


def _record_qualifications(session: ExamSession, now: datetime) -> int:
    registrations = db.session.execute(
        sa.select(Registration.id, Registration.candidate_id, Registration.level,
                  Registration.status)
        .where(Registration.session_id == session.id,
               Registration.status != RegistrationStatus.REJECTED)).all()
    if not registrations:
        return 0
    widest = max(pass_rules.level_rule(level).window_years for level in Level)
    # One join each rather than batches of ids: the planner hashes them, at any size.
    sitting = sa.select(Registration.candidate_id).where(
        Registration.session_id == session.id).distinct().subquery()
    passes: dict[int, list[pass_rules.SubjectPass]] = defaultdict(list)
    for candidate_id, subject, year, region in db.session.execute(
            sa.select(SubjectResult.candidate_id, SubjectResult.subject, SubjectResult.year,
                      SubjectResult.passed_region)
            .join(sitting, sitting.c.candidate_id == SubjectResult.candidate_id)
            .where(SubjectResult.passed.is_(True),
                   SubjectResult.year > session.year - widest,
                   SubjectResult.year <= session.year)):
        passes[candidate_id].append(pass_rules.SubjectPass(subject, year, region))
    held = set(db.session.execute(
        sa.select(Qualification.candidate_id, Qualification.level)
        .join(sitting, sitting.c.candidate_id == Qualification.candidate_id)).all())
    new = []
    for registration_id, candidate_id, level, status in registrations:
        if (candidate_id, level) in held:
            continue
        earned = pass_rules.qualification(level, passes.get(candidate_id, ()), session.year)
        if earned is None:
            continue
        new.append({
            "candidate_id": candidate_id, "level": level, "year": session.year,
            "session_id": session.id, "registration_id": registration_id,
            "region": earned.region, "status": _status(session, level, status),
            "proof_valid_until": pass_rules.senior_proof_valid_until(session.year)
            if level is Level.SENIOR else None, "recorded_at": now})
        held.add((candidate_id, level))
    for start in range(0, len(new), BATCH):
        db.session.execute(sa.insert(Qualification), new[start:start + BATCH])
    return len(new)


def _status(session: ExamSession, level: Level, registration: RegistrationStatus
            ) -> QualificationStatus:
    if (session.verification_mode is VerificationMode.AFTER_EXAM
            and registration is not RegistrationStatus.VERIFIED):
        return QualificationStatus.PENDING_VERIFICATION
    if pass_rules.level_rule(level).needs_review:
        return QualificationStatus.AWAITING_REVIEW
    return QualificationStatus.ACHIEVED
