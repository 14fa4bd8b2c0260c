"""Online continuing-education courses built from a class's assignments.

What it promises:
- an online course is linked to one class of its own provider institution, by a trainer
  of that institution or an administrator (audited); a class of another institution, or
  an in-person course, is refused with a message and nothing changes;
- a candidate enrolled in the class who has handed in every assignment of it (withdrawn
  ones are not required; due dates do not matter) gets the course's completion recorded,
  dated the Beijing day the last of them was handed in, once: at hand-in (delivery's
  after-marking hook, wired in services/wiring.py), when the class is linked, and by the
  daily sweep, which catches up whatever was missed (a rerun records nothing twice);
- a candidate who left the class (or never consented) gets nothing; a completion whose
  day falls outside the course's dates is not recorded (the provider's rule for every
  completion);
- the unique key (course, person) decides between two recordings at once; two last
  hand-ins at once queue on the candidate's enrolment row, so the second sees the first.
"""

from collections import defaultdict
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.attempts import Attempt
from exam_portal.models.classes import AssignmentAttempt, ClassEnrolment, TrainingClass
from exam_portal.models.continuing_education import CeCompletion, CeCourse, CompletionSource
from exam_portal.services import ServiceError
from exam_portal.services.exam_sessions import classes
from exam_portal.services.platform import audit, notifications
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank import continuing_education as rules
from question_bank.assignments import EnrolmentStatus
from question_bank.continuing_education import Delivery

SWEEP_NAME = "ce_online_completions"


# Linking a class ---------------------------------------------------------------------------

def linkable_classes(course: CeCourse) -> list[TrainingClass]:
    """The classes of the course's provider institution, open ones first, newest first."""
    return list(db.session.scalars(
        sa.select(TrainingClass).where(TrainingClass.institution_id == course.institution_id)
        .order_by(TrainingClass.closed_at.is_not(None), TrainingClass.starts_on.desc(),
                  TrainingClass.id.desc())))


def linked_class(course: CeCourse) -> TrainingClass | None:
    return db.session.get(TrainingClass, course.class_id) if course.class_id else None


def link_class(course: CeCourse, class_id: int | None, actor: User, *, now: datetime) -> int:
    """Build the online course from *class_id*'s assignments (None: from no class any
    more); audited. Returns how many completions the class's candidates already earned
    were recorded at once."""
    if class_id is None:
        if course.class_id is None:
            return 0
        previous, course.class_id = course.class_id, None
        db.session.flush()
        audit.record("ce.course_class_unlinked", target=course, actor=actor,
                     details={"course": course.id, "class": previous})
        return 0
    if course.delivery is not Delivery.ONLINE:
        raise ServiceError(gettext("只有线上课程可以由班级作业组成。"))
    klass = db.session.get(TrainingClass, class_id)
    if klass is None or klass.institution_id != course.institution_id:
        raise ServiceError(gettext("只能选择本课程提供机构（%(name)s）的班级。",
                                   name=course.institution.name))
    if course.class_id != klass.id:
        course.class_id = klass.id
        db.session.flush()
        audit.record("ce.course_class_linked", target=course, actor=actor,
                     details={"course": course.id, "class": klass.id})
    return record_for_course(course, now=now)


# Who completed the class -------------------------------------------------------------------

def _completed_days(class_id: int, candidate_ids: list[int] | None = None) -> dict[int, date]:
    """For the class's enrolled candidates (or those of *candidate_ids*) who handed in
    every assignment that is not withdrawn: the Beijing day of the last hand-in."""
    required = {a.id for a in classes.class_assignments(class_id, include_withdrawn=False)}
    if not required:
        return {}
    query = (sa.select(AssignmentAttempt.candidate_id, AssignmentAttempt.assignment_id,
                       Attempt.submitted_at)
             .join(Attempt, Attempt.id == AssignmentAttempt.attempt_id)
             .join(ClassEnrolment, sa.and_(
                 ClassEnrolment.class_id == class_id,
                 ClassEnrolment.candidate_id == AssignmentAttempt.candidate_id))
             .where(AssignmentAttempt.assignment_id.in_(sorted(required)),
                    ClassEnrolment.status == EnrolmentStatus.ENROLLED,
                    Attempt.submitted_at.is_not(None)))
    if candidate_ids is not None:
        query = query.where(AssignmentAttempt.candidate_id.in_(candidate_ids))
    handed_in: dict[int, dict[int, datetime]] = defaultdict(dict)
    for candidate_id, assignment_id, submitted_at in db.session.execute(query):
        handed_in[candidate_id][assignment_id] = submitted_at
    return {candidate_id: max(done.values()).astimezone(LOCAL_ZONE).date()
            for candidate_id, done in handed_in.items() if set(done) == required}


def _record(course: CeCourse, days: dict[int, date]) -> int:
    """Record the course's completion for each candidate of *days* who has none yet."""
    if not days:
        return 0
    done = set(db.session.scalars(sa.select(CeCompletion.user_id).where(
        CeCompletion.course_id == course.id, CeCompletion.user_id.in_(list(days)))))
    recorded = 0
    for candidate_id, day in sorted(days.items()):
        if candidate_id in done or rules.completion_date_problem(
                day, course.starts_on, course.ends_on):
            continue
        try:
            with db.session.begin_nested():
                db.session.add(CeCompletion(
                    course_id=course.id, user_id=candidate_id, completed_on=day,
                    source=CompletionSource.ONLINE, recorded_by_id=course.created_by_id))
        except IntegrityError:  # recorded meanwhile (by hand, or by another hand-in)
            continue
        recorded += 1
    return recorded


def _linked_courses(class_id: int | None = None) -> list[CeCourse]:
    query = sa.select(CeCourse).where(CeCourse.class_id.is_not(None),
                                      CeCourse.delivery == Delivery.ONLINE)
    if class_id is not None:
        query = query.where(CeCourse.class_id == class_id)
    return list(db.session.scalars(query.order_by(CeCourse.id)))


def record_for_course(course: CeCourse, *, now: datetime | None = None) -> int:
    """Record every completion the linked class's candidates earned and do not have yet
    (idempotent)."""
    if course.class_id is None or course.delivery is not Delivery.ONLINE:
        return 0
    return _record(course, _completed_days(course.class_id))


def after_hand_in(attempt: Attempt, now: datetime) -> None:
    """Delivery's after-marking hook: a handed-in assignment may complete online courses
    built from its class (called inside the hand-in's transaction)."""
    assignment = classes.assignment_of_attempt(attempt.id)
    if assignment is None:
        return
    courses = _linked_courses(assignment.class_id)
    if not courses:
        return
    # Two last hand-ins of one candidate at once queue here: the second reads the
    # first's hand-in once it commits (READ COMMITTED reads anew per statement).
    enrolled = db.session.scalar(
        sa.select(ClassEnrolment.candidate_id)
        .where(ClassEnrolment.class_id == assignment.class_id,
               ClassEnrolment.candidate_id == attempt.candidate_id,
               ClassEnrolment.status == EnrolmentStatus.ENROLLED)
        .with_for_update())
    if enrolled is None:
        return
    days = _completed_days(assignment.class_id, [attempt.candidate_id])
    for course in courses:
        _record(course, days)


@notifications.sweep_source(SWEEP_NAME)
def catch_up(now: datetime) -> None:
    """The daily sweep: record the completions a hand-in did not (idempotent)."""
    for course in _linked_courses():
        record_for_course(course, now=now)
