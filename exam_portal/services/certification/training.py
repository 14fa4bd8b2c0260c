"""Training programmes: administrators define them (audited); a candidate's progress
towards one is derived from their handed-in mock papers by question_bank.training.

Only MOCK attempts count (never practice sets or exam sittings), and only marked ones:
a mock paper of subjective items has no score, so programmes require objective
subjects only.
"""

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.attempts import Attempt, AttemptStatus
from exam_portal.models.certificates import Certificate, CertificateStatus
from exam_portal.models.training import TrainingProgramme, TrainingRequirement
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.platform import audit, labels, text_search
from question_bank import training as rules
from question_bank.levels import Level
from question_bank.practice import Mode
from question_bank.subjects import OBJECTIVE_SUBJECTS

MAX_NAME, MAX_DESCRIPTION = 100, 1000


@dataclass(frozen=True)
class ProgrammeFields:
    name: str
    description: str
    level: Level | None
    requirements: tuple[rules.Requirement, ...]


def _problem(fields: ProgrammeFields) -> str | None:
    if not fields.name.strip() or len(fields.name.strip()) > MAX_NAME:
        return gettext("项目名称应为 1 到 %(max)d 个字。", max=MAX_NAME)
    if len(fields.description.strip()) > MAX_DESCRIPTION:
        return gettext("说明最多 %(max)d 个字。", max=MAX_DESCRIPTION)
    try:
        rules.check_requirements(fields.requirements, fields.level)
    except rules.InvalidProgramme as error:
        subject = labels.SUBJECTS[error.subject] if error.subject else ""
        return {
            "empty": gettext("请至少为一个科目设定要求。"),
            "subject": gettext("%(subject)s的模拟试卷不自动评分，不能作为要求。",
                               subject=subject),
            "level": gettext("%(subject)s不属于项目的级别。", subject=subject),
            "duplicate": gettext("%(subject)s重复。", subject=subject),
            "papers": gettext("%(subject)s：试卷份数应在 1 到 %(max)d 之间。",
                              subject=subject, max=rules.MAX_PAPERS),
            "min_percent": gettext("%(subject)s：最低得分率应在 0 到 100 之间。",
                                   subject=subject),
        }[error.problem]
    return None


def _snapshot(programme: TrainingProgramme) -> dict:
    return {"name": programme.name, "description": programme.description,
            "level": programme.level.value if programme.level else None,
            "is_active": programme.is_active,
            "requirements": {r.subject.value: [r.papers, r.min_percent]
                             for r in programme.requirements}}


def _apply(programme: TrainingProgramme, fields: ProgrammeFields) -> None:
    programme.name, programme.level = fields.name.strip(), fields.level
    programme.description = fields.description.strip()
    wanted = {r.subject: r for r in fields.requirements}
    for row in list(programme.requirements):
        if row.subject not in wanted:
            programme.requirements.remove(row)
    existing = {row.subject: row for row in programme.requirements}
    for subject, requirement in wanted.items():
        row = existing.get(subject)
        if row is None:
            row = TrainingRequirement(subject=subject)
            programme.requirements.append(row)
        row.papers, row.min_percent = requirement.papers, requirement.min_percent


def _save(programme: TrainingProgramme) -> None:
    try:
        with db.session.begin_nested():
            db.session.add(programme)
            db.session.flush()
    except IntegrityError as error:
        raise ServiceError(gettext("已有同名的培训项目。")) from error


def create_programme(fields: ProgrammeFields, actor: User) -> TrainingProgramme:
    """Define a new training programme (audited)."""
    problem = _problem(fields)
    if problem:
        raise ServiceError(problem)
    programme = TrainingProgramme(created_by_id=actor.id, is_active=True)
    _apply(programme, fields)
    _save(programme)
    audit.record("training.programme_created", target=programme, actor=actor,
                 details={"after": _snapshot(programme)})
    return programme


def update_programme(programme: TrainingProgramme, fields: ProgrammeFields,
                     actor: User) -> None:
    """Change a programme (audited, before and after). Certificates already issued keep
    the name they were issued with; progress follows the new requirements."""
    problem = _problem(fields)
    if problem:
        raise ServiceError(problem)
    before = _snapshot(programme)
    _apply(programme, fields)
    programme.updated_at = utcnow()
    _save(programme)
    audit.record("training.programme_updated", target=programme, actor=actor,
                 details={"before": before, "after": _snapshot(programme)})


def set_active(programme: TrainingProgramme, active: bool, actor: User) -> None:
    """Deactivate (candidates no longer see it, nothing more is issued) or reactivate."""
    if programme.is_active is active:
        return
    programme.is_active, programme.updated_at = active, utcnow()
    db.session.flush()
    audit.record("training.programme_activated" if active else
                 "training.programme_deactivated", target=programme, actor=actor,
                 details={"name": programme.name})


# Progress ----------------------------------------------------------------------------

def _marked_mocks(subjects):
    return (sa.select(Attempt.candidate_id, Attempt.subject, Attempt.score_halves,
                      Attempt.full_halves, Attempt.submitted_at)
            .where(Attempt.mode == Mode.MOCK, Attempt.status == AttemptStatus.SUBMITTED,
                   Attempt.score_halves.is_not(None), Attempt.subject.in_(list(subjects))))


def mock_scores(candidate_ids: list[int], subjects) -> dict[int, list[rules.MockScore]]:
    """Each candidate's handed-in, marked mock papers of these subjects (one query)."""
    rows = db.session.execute(_marked_mocks(subjects).where(
        Attempt.candidate_id.in_(candidate_ids)))
    scores: dict[int, list[rules.MockScore]] = {}
    for row in rows:
        scores.setdefault(row.candidate_id, []).append(rules.MockScore(
            row.subject, row.score_halves, row.full_halves, row.submitted_at))
    return scores


def progress_of(programme: TrainingProgramme, candidate_id: int) -> rules.Progress:
    requirements = programme.to_domain()
    scores = mock_scores([candidate_id], [r.subject for r in requirements])
    return rules.progress(requirements, scores.get(candidate_id, []))


def active_programmes() -> list[TrainingProgramme]:
    return list(db.session.scalars(sa.select(TrainingProgramme).where(
        TrainingProgramme.is_active.is_(True)).order_by(TrainingProgramme.name)))


def candidate_progress(candidate_id: int) -> list[tuple[TrainingProgramme, rules.Progress]]:
    """Every active programme with the candidate's progress (one query for the papers)."""
    programmes = [p for p in active_programmes() if p.requirements]
    scores = mock_scores([candidate_id], OBJECTIVE_SUBJECTS).get(candidate_id, []) \
        if programmes else []
    return [(p, rules.progress(p.to_domain(), scores)) for p in programmes]


def held_programme_ids(candidate_id: int) -> set[int]:
    """The programmes whose certificate the candidate holds (valid ones)."""
    return set(db.session.scalars(sa.select(Certificate.programme_id).where(
        Certificate.candidate_id == candidate_id, Certificate.programme_id.is_not(None),
        Certificate.status == CertificateStatus.VALID)))


def completed_query(programme: TrainingProgramme, search: str = ""):
    """The candidates who completed the programme, by e-mail. The SQL form of
    question_bank.training.progress (the same integer comparison), so the list pages
    in the database; issuing checks each candidate with the rule itself."""
    requirement = TrainingRequirement
    passes = (
        sa.select(Attempt.candidate_id)
        .join(requirement, sa.and_(requirement.programme_id == programme.id,
                                   requirement.subject == Attempt.subject))
        .where(Attempt.mode == Mode.MOCK, Attempt.status == AttemptStatus.SUBMITTED,
               Attempt.score_halves.is_not(None), Attempt.full_halves > 0,
               Attempt.score_halves * 100 >= requirement.min_percent * Attempt.full_halves)
        .group_by(Attempt.candidate_id, requirement.subject, requirement.papers)
        .having(sa.func.count() >= requirement.papers)).subquery()
    needed = (sa.select(sa.func.count()).select_from(requirement)
              .where(requirement.programme_id == programme.id).scalar_subquery())
    met = (sa.select(passes.c.candidate_id).group_by(passes.c.candidate_id)
           .having(sa.func.count() == needed))
    # Only active candidates: not a closed account, nor one that has become staff.
    query = sa.select(User).where(User.id.in_(met), User.role == Role.CANDIDATE,
                                  User.is_active.is_(True)).order_by(User.email)
    if search:
        query = query.where(text_search.contains(User.email, search))
    return query
