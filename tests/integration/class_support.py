"""A class to test the dashboard and trainer marking on: an institution with its
trainers, a class, enrolled candidates, assignments and handed-in papers. Built with
rows and the delivery services, so these tests do not hang on the classes pages."""

import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.attempts import Attempt, AttemptItem, Response
from exam_portal.models.classes import (
    AssignmentAttempt,
    ClassAssignment,
    ClassEnrolment,
    TrainingClass,
)
from exam_portal.models.institutions import Institution, InstitutionMember
from exam_portal.models.types import utcnow
from exam_portal.services.delivery import attempts, hand_in, paper_cache
from question_bank.assignments import AssignmentKind, EnrolmentStatus
from question_bank.institutions import InstitutionKind
from question_bank.levels import Level
from question_bank.practice import Mode
from question_bank.subjects import Subject

from ..factories import make_user
from .practice_support import case_item, plan_item, publish

_numbers = itertools.count(1)


@dataclass
class ClassWorld:
    institution_id: int
    class_id: int
    trainers: list[int]  # trainers of the class's institution
    outsider: int  # a trainer of another institution
    members: list[int] = field(default_factory=list)


def practical_bank(app, subject: Subject = Subject.PRAC_MID) -> None:
    """Enough open-pool case analyses and plan designs for mock papers of *subject*."""
    chapters = [f"{subject.value}.{n:02d}" for n in (1, 2)]
    publish(app, [case_item(subject, chapters[n % 2]) for n in range(6)]
            + [plan_item(subject, chapters[n % 2]) for n in range(2)])


def class_world(app, level: Level = Level.INTERMEDIATE, *, trainers: int = 2) -> ClassWorld:
    n = next(_numbers)
    admin = make_user(app, Role.ADMIN, email=f"class-admin{n}@example.com")
    trainer_ids = [make_user(app, Role.TRAINER, email=f"class{n}-trainer{k}@example.com")
                   for k in range(trainers)]
    outsider = make_user(app, Role.TRAINER, email=f"class{n}-outsider@example.com")
    with app.app_context():
        institution = Institution(name=f"测试培训学校{n}", kind=InstitutionKind.TRAINING_ORG,
                                  created_by_id=admin)
        other = Institution(name=f"另一所学校{n}", kind=InstitutionKind.TRAINING_ORG,
                            created_by_id=admin)
        db.session.add_all([institution, other])
        db.session.flush()
        for k, trainer_id in enumerate(trainer_ids):
            db.session.add(InstitutionMember(institution_id=institution.id, user_id=trainer_id,
                                             is_admin=k == 0))
        db.session.add(InstitutionMember(institution_id=other.id, user_id=outsider,
                                         is_admin=True))
        klass = TrainingClass(institution_id=institution.id, name=f"2027 冲刺班 {n}",
                              level=level, starts_on=date(2026, 9, 1),
                              ends_on=date(2027, 6, 30), join_code=f"CODE{n:04d}",
                              created_by_id=trainer_ids[0])
        db.session.add(klass)
        db.session.commit()
        return ClassWorld(institution.id, klass.id, trainer_ids, outsider)


def enrol(app, world: ClassWorld, user_id: int,
          status: EnrolmentStatus = EnrolmentStatus.ENROLLED) -> None:
    with app.app_context():
        db.session.merge(ClassEnrolment(class_id=world.class_id, candidate_id=user_id,
                                        status=status, consented_at=utcnow()))
        db.session.commit()
    if status is EnrolmentStatus.ENROLLED and user_id not in world.members:
        world.members.append(user_id)


def assign(app, world: ClassWorld, subject: Subject, *, title="第一次模拟考试",
           kind=AssignmentKind.MOCK, due_in=timedelta(days=7)) -> int:
    with app.app_context():
        assignment = ClassAssignment(class_id=world.class_id, kind=kind, title=title,
                                     subject=subject, chapters=[], due_at=utcnow() + due_in,
                                     created_by_id=world.trainers[0])
        db.session.add(assignment)
        db.session.commit()
        return assignment.id


def start_assignment(app, assignment_id: int, user_id: int) -> int:
    """The candidate's paper for the assignment, drawn and linked as the classes
    service does."""
    with app.app_context():
        assignment = db.session.get(ClassAssignment, assignment_id)
        now = utcnow()
        attempt = attempts.start_attempt(user_id, assignment.subject, Mode.MOCK, now=now)
        db.session.add(AssignmentAttempt(assignment_id=assignment_id, candidate_id=user_id,
                                         attempt_id=attempt.id, started_at=now))
        db.session.commit()
        return attempt.id


def hand_in_paper(app, attempt_id: int, *, texts: dict[int, str] | None = None,
                  right: float | None = None) -> None:
    """Answer and hand in a paper: *texts* by position for subjective items; for choice
    items, the first *right* share of them right and the rest wrong."""
    with app.app_context():
        items = db.session.scalars(sa.select(AttemptItem).where(
            AttemptItem.attempt_id == attempt_id).order_by(AttemptItem.position)).all()
        now = utcnow()
        choice = [item for item in items
                  if paper_cache.content(item.item_version_id).item_type.is_choice]
        cut = round(len(choice) * (right or 0))
        for index, item in enumerate(choice):
            content = paper_cache.content(item.item_version_id)
            keys = "".join(sorted(content.keys))
            wrong = next(letter for letter in "ABCD" if letter not in keys)
            db.session.add(Response(attempt_id=attempt_id, position=item.position,
                                    selected=keys if index < cut else wrong, seq=1,
                                    saved_at=now))
        for position, text in (texts or {}).items():
            db.session.add(Response(attempt_id=attempt_id, position=position, text=text,
                                    seq=1, saved_at=now))
        db.session.flush()
        hand_in.submit_attempt(db.session.get(Attempt, attempt_id), now=now)
        db.session.commit()


def subjective_positions(app, attempt_id: int) -> list[int]:
    with app.app_context():
        return [item.position for item in db.session.scalars(
            sa.select(AttemptItem).where(AttemptItem.attempt_id == attempt_id)
            .order_by(AttemptItem.position))
            if not paper_cache.content(item.item_version_id).item_type.is_choice]


def user_email(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).email
