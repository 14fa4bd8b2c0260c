"""Online CE courses built from a class's assignments: the completion recorded when the
last assignment is handed in (dated that Beijing day, credited to its period), once;
withdrawn assignments not required; nothing for a candidate who left; the class chosen
only among the provider's own; the route's role and owner checks."""

import threading
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.attempts import Attempt
from exam_portal.models.classes import (
    AssignmentAttempt,
    ClassAssignment,
    ClassEnrolment,
    TrainingClass,
)
from exam_portal.models.continuing_education import (
    CeCompletion,
    CeCourse,
    CePeriod,
    CompletionSource,
)
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.certification import ce_courses, ce_registrations, online_courses
from exam_portal.services.delivery import attempts, hand_in
from exam_portal.services.platform import notifications
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank.assignments import AssignmentKind, EnrolmentStatus
from question_bank.continuing_education import CourseCategory, Delivery
from question_bank.practice import Mode
from question_bank.subjects import Subject

from ..factories import logged_in, make_user
from .class_support import assign, class_world, enrol, practical_bank, start_assignment
from .class_support import hand_in_paper as _hand_in
from .test_certificates import _achieved, admin  # noqa: F401  (admin: a fixture)

pytestmark = pytest.mark.db


def _course(app, world, *, delivery=Delivery.ONLINE, hours="6") -> int:
    today = datetime.now(LOCAL_ZONE).date()
    with app.app_context():
        course = ce_courses.create_course(ce_courses.CourseFields(
            world.institution_id, "线上：个案工作方法", Decimal(hours), CourseCategory.PRACTICE,
            delivery, today - timedelta(days=30), today + timedelta(days=30)),
            db.session.get(User, world.trainers[0]))
        db.session.commit()
        return course.id


def _link(app, course_id, class_id, actor_id) -> int:
    with app.app_context():
        found = online_courses.link_class(db.session.get(CeCourse, course_id), class_id,
                                          db.session.get(User, actor_id), now=utcnow())
        db.session.commit()
        return found


def _completions(app, course_id) -> list[tuple[int, object, CompletionSource]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            sa.select(CeCompletion.user_id, CeCompletion.completed_on, CeCompletion.source)
            .where(CeCompletion.course_id == course_id))]


def _do(app, assignment_id, user_id) -> None:
    _hand_in(app, start_assignment(app, assignment_id, user_id), right=0.5)


@pytest.fixture
def setup(app, admin):  # noqa: F811
    practical_bank(app)
    world = class_world(app)
    qualification_id, holder = _achieved(app, admin)
    enrol(app, world, holder)
    course = _course(app, world)
    _link(app, course, world.class_id, world.trainers[0])
    first = assign(app, world, Subject.PRAC_MID, title="作业一")
    second = assign(app, world, Subject.PRAC_MID, title="作业二")
    return {"world": world, "holder": holder, "course": course, "admin": admin,
            "qualification": qualification_id, "assignments": [first, second]}


def test_the_last_assignment_records_the_completion_dated_that_day_in_its_period(app, setup):
    world, holder, course = setup["world"], setup["holder"], setup["course"]
    with app.app_context():
        passed = ce_registrations.passed_on(*_qualification_and_session(setup))
        registration = ce_registrations.register_issued(
            db.session.get(User, holder), setup["qualification"], passed)
        db.session.commit()
        registration_id = registration.id
    _do(app, setup["assignments"][0], holder)
    assert _completions(app, course) == []  # one of two handed in
    _do(app, setup["assignments"][1], holder)
    today = datetime.now(LOCAL_ZONE).date()
    assert _completions(app, course) == [(holder, today, CompletionSource.ONLINE)]
    with app.app_context():
        period = db.session.scalar(sa.select(CePeriod).where(
            CePeriod.registration_id == registration_id, CePeriod.number == 1))
        assert period.starts_on <= today <= period.ends_on
        assert ce_registrations.standing_of(period).credited == Decimal(6)
    page = logged_in(app, world.trainers[0]).get(f"/ce/courses/{course}").get_data(as_text=True)
    assert "班级作业" in page


def _qualification_and_session(setup):
    from exam_portal.models.sittings import ExamSession, Qualification
    qualification = db.session.get(Qualification, setup["qualification"])
    return qualification, db.session.get(ExamSession, qualification.session_id)


def test_a_withdrawn_assignment_is_not_required(app, setup):
    with app.app_context():
        db.session.get(ClassAssignment, setup["assignments"][1]).withdrawn_at = utcnow()
        db.session.commit()
    _do(app, setup["assignments"][0], setup["holder"])
    assert [row[0] for row in _completions(app, setup["course"])] == [setup["holder"]]


def test_a_candidate_who_left_the_class_gets_nothing(app, setup):
    holder = setup["holder"]
    _do(app, setup["assignments"][0], holder)
    attempt_id = start_assignment(app, setup["assignments"][1], holder)
    with app.app_context():
        db.session.get(ClassEnrolment, (setup["world"].class_id, holder)).status = \
            EnrolmentStatus.LEFT
        db.session.commit()
    _hand_in(app, attempt_id)
    with app.app_context():
        notifications.sweep(utcnow())
        db.session.commit()
    assert _completions(app, setup["course"]) == []


def test_twice_or_a_rerun_records_once_and_the_sweep_catches_up(app, setup):
    holder, course = setup["holder"], setup["course"]
    _link(app, course, None, setup["world"].trainers[0])  # unlinked: the hook does nothing
    for assignment_id in setup["assignments"]:
        _do(app, assignment_id, holder)
    assert _completions(app, course) == []
    with app.app_context():
        db.session.get(CeCourse, course).class_id = setup["world"].class_id
        db.session.commit()
        for _ in range(2):
            notifications.sweep(utcnow())
            db.session.commit()
        online_courses.catch_up(utcnow())
        db.session.commit()
    assert len(_completions(app, course)) == 1
    assert _link(app, course, setup["world"].class_id, setup["admin"]) == 0  # again: none


def test_linking_records_what_was_already_completed(app, setup):
    holder, course, world = setup["holder"], setup["course"], setup["world"]
    _link(app, course, None, world.trainers[0])
    for assignment_id in setup["assignments"]:
        _do(app, assignment_id, holder)
    assert _link(app, course, world.class_id, world.trainers[1]) == 1
    assert len(_completions(app, course)) == 1


def test_a_class_of_another_institution_or_an_in_person_course_is_refused(app, setup):
    world, course = setup["world"], setup["course"]
    with app.app_context():
        other_id = db.session.scalar(sa.select(TrainingClass.institution_id).where(
            TrainingClass.id == world.class_id))  # the provider itself
        outsider_institution = db.session.scalar(sa.text(
            "SELECT institution_id FROM institution_members WHERE user_id = :u"),
            {"u": world.outsider})
        foreign = TrainingClass(institution_id=outsider_institution, name="别校班级",
                                level=db.session.get(TrainingClass, world.class_id).level,
                                starts_on=utcnow().date(), ends_on=utcnow().date(),
                                join_code="FOREIGN1", created_by_id=world.outsider)
        db.session.add(foreign)
        db.session.commit()
        foreign_id = foreign.id
        assert other_id == world.institution_id
    client = logged_in(app, world.trainers[0])
    answer = client.post(f"/ce/courses/{course}/class", data={"training_class": foreign_id})
    assert answer.status_code == 422
    assert "只能选择本课程提供机构" in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(CeCourse, course).class_id == world.class_id
    in_person = _course(app, world, delivery=Delivery.IN_PERSON)
    with app.app_context(), pytest.raises(ServiceError, match="只有线上课程"):
        online_courses.link_class(db.session.get(CeCourse, in_person), world.class_id,
                                  db.session.get(User, world.trainers[0]), now=utcnow())


def test_the_route_checks_the_role_and_the_provider(app, setup):
    world, course = setup["world"], setup["course"]
    url = f"/ce/courses/{course}/class"
    assert logged_in(app, setup["holder"]).post(url, data={"training_class": 0}) \
        .status_code == 403
    assert logged_in(app, world.outsider).post(url, data={"training_class": 0}) \
        .status_code == 404
    assert logged_in(app, world.outsider).get(f"/ce/courses/{course}").status_code == 404
    with app.app_context():
        assert db.session.get(CeCourse, course).class_id == world.class_id
    answer = logged_in(app, setup["admin"]).post(url, data={"training_class": 0})
    assert answer.status_code == 302
    with app.app_context():
        assert db.session.get(CeCourse, course).class_id is None
    page = logged_in(app, world.trainers[1]).get(f"/ce/courses/{course}")
    assert page.status_code == 200 and "2027 冲刺班" in page.get_data(as_text=True)


def test_two_last_hand_ins_at_once_record_one_completion(app, setup, database_url,
                                                          monkeypatch):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite serialises writers: the race needs two server connections")
    holder, course = setup["holder"], setup["course"]
    # A mock paper and a chapter practice set of one subject can be open at once.
    with app.app_context():
        practice = db.session.get(ClassAssignment, setup["assignments"][1])
        practice.kind, practice.chapters, practice.item_count = \
            AssignmentKind.PRACTICE, ["PRAC_MID.01"], 2
        now = utcnow()
        attempt = attempts.start_attempt(holder, Subject.PRAC_MID, Mode.CHAPTER, now=now,
                                         chapters=("PRAC_MID.01",), count=2)
        db.session.add(AssignmentAttempt(assignment_id=practice.id, candidate_id=holder,
                                         attempt_id=attempt.id, started_at=now))
        db.session.commit()
        practice_attempt = attempt.id
    attempt_ids = [start_assignment(app, setup["assignments"][0], holder), practice_attempt]
    # Both hand-ins have marked their paper before either looks for the completion.
    both_marked, find = threading.Barrier(2), online_courses.classes.assignment_of_attempt

    def meet_then_find(attempt_id):
        both_marked.wait(timeout=10)
        return find(attempt_id)

    monkeypatch.setattr(online_courses.classes, "assignment_of_attempt", meet_then_find)
    barrier, errors = threading.Barrier(2), []

    def run(attempt_id):
        with app.app_context(), app.test_request_context(method="POST"):
            try:
                barrier.wait(timeout=10)
                hand_in.submit_attempt(db.session.get(Attempt, attempt_id), now=utcnow())
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 - the test reads it
                db.session.rollback()
                errors.append(error)

    threads = [threading.Thread(target=run, args=(a,)) for a in attempt_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert len(_completions(app, course)) == 1


def test_staff_without_a_provider_is_not_offered_other_classes(app, setup):
    other = make_user(app, Role.TRAINER, email="online-ce-lonely@example.com")
    assert logged_in(app, other).get(f"/ce/courses/{setup['course']}").status_code == 404
