"""Trainers of a class mark the case analyses and plan designs written for its
assignments: the answers wait in the class's queue, one trainer marks each with points
and a comment per key point, and the candidate reads them in the paper's review."""

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.audit import AuditEvent
from exam_portal.models.class_marking import PracticeMark
from exam_portal.models.classes import ClassEnrolment
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.delivery import attempts
from exam_portal.services.exam_sessions import class_marking
from question_bank.assignments import EnrolmentStatus
from question_bank.practice import Mode
from question_bank.subjects import Subject

from ..factories import logged_in, make_user
from .class_support import (
    assign,
    class_world,
    enrol,
    hand_in_paper,
    practical_bank,
    start_assignment,
    subjective_positions,
)

pytestmark = pytest.mark.usefixtures("one_leg")

ANSWER = "甲的案例作答：先评估王奶奶的需要，再链接社区资源。"


@pytest.fixture
def marked_world(app):
    """A class of two enrolled candidates; the first handed in the class's mock paper
    with its first and last answers written, the second handed in a blank one."""
    practical_bank(app)
    world = class_world(app)
    writer, other = make_user(app), make_user(app)
    for user_id in (writer, other):
        enrol(app, world, user_id)
    assignment_id = assign(app, world, Subject.PRAC_MID)
    attempt_id = start_assignment(app, assignment_id, writer)
    positions = subjective_positions(app, attempt_id)
    hand_in_paper(app, attempt_id,
                  texts={positions[0]: ANSWER, positions[-1]: "方案：目标与评估。"})
    hand_in_paper(app, start_assignment(app, assignment_id, other))
    return world, writer, other, attempt_id, positions


def _url(world, attempt_id, position):
    return f"/trainer/classes/{world.class_id}/answers/{attempt_id}/{position}"


def _form(shape_points, comment="要点清楚", then="queue"):
    """Points for each key point of a case item (two sub-questions of one key point)."""
    data = {"then": then}
    for p, points in enumerate(shape_points):
        data[f"kp-{p}-0"] = points
        data[f"fb-{p}-0"] = f"{comment} {p + 1}"
    return data


def _marks(app):
    with app.app_context():
        marks = db.session.scalars(sa.select(PracticeMark)).all()
        db.session.expunge_all()
        return marks


def test_answers_wait_in_the_queue_and_the_mark_and_feedback_reach_the_candidate(
        app, marked_world):
    world, writer, _other, attempt_id, positions = marked_world
    trainer = logged_in(app, world.trainers[0])
    queue = trainer.get(f"/trainer/classes/{world.class_id}/marking").get_data(as_text=True)
    assert "待批改：2 份。" in queue  # the blank paper waits for nothing
    following = trainer.get(f"/trainer/classes/{world.class_id}/marking/next")
    assert following.headers["Location"].endswith(_url(world, attempt_id, positions[0]))
    page = trainer.get(_url(world, attempt_id, positions[0])).get_data(as_text=True)
    assert ANSWER in page and "评语（可选）" in page
    response = trainer.post(_url(world, attempt_id, positions[0]),
                            data=_form(["7.5", "9"], comment="分析到位"))
    assert response.status_code == 302
    [mark] = _marks(app)
    assert (mark.total_halves, mark.awarded, mark.marker_id) == (33, [[15], [18]],
                                                                 world.trainers[0])
    assert mark.feedback == [["分析到位 1"], ["分析到位 2"]]
    assert mark.class_id == world.class_id and mark.candidate_id == writer
    assert "待批改：1 份。" in trainer.get(
        f"/trainer/classes/{world.class_id}/marking").get_data(as_text=True)
    review = logged_in(app, writer).get(f"/practice/attempts/{attempt_id}/result")
    text = review.get_data(as_text=True)
    assert "培训师批改：16.5 / 20 分" in text and "分析到位 2" in text
    assert "培训师已批改 1 题，合计 16.5 分" in text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "practice_mark.submitted")) == 1


def test_the_candidate_is_notified_once_when_an_answer_is_marked(app, marked_world):
    from exam_portal.models.notifications import Notification

    world, writer, _other, attempt_id, positions = marked_world
    trainer = logged_in(app, world.trainers[0])
    trainer.post(_url(world, attempt_id, positions[0]), data=_form(["5", "5"]))
    trainer.post(_url(world, attempt_id, positions[0]), data=_form(["6", "5"]))  # corrected
    with app.app_context():
        notices = db.session.scalars(sa.select(Notification).where(
            Notification.user_id == writer)).all()
        assert [n.kind for n in notices] == [class_marking.MARKED]
        assert notices[0].params["attempt_id"] == attempt_id
    centre = logged_in(app, writer).get("/notifications/").get_data(as_text=True)
    assert "作业已批改：第一次模拟考试" in centre
    with app.app_context():
        db.session.get(User, writer).locale = "en"  # the reader's language, not the marker's
        db.session.commit()
    centre = logged_in(app, writer).get("/notifications/").get_data(as_text=True)
    assert "Assignment marked: 第一次模拟考试" in centre


@pytest.mark.parametrize(("points", "comment", "message"), [
    (["11", "0"], "", "要点得分不能为负，也不能超过该要点的分值。"),
    (["0.3", "0"], "", "得分以 0.5 分为单位。"),
    (["abc", "0"], "", "每个要点的得分应为数字。"),
    (["NaN", "0"], "", "每个要点的得分应为数字。"),
    (["-Infinity", "0"], "", "每个要点的得分应为数字。"),
    (["1", "1"], "长" * 501, "每条评语不能超过 500 个字。"),
])
def test_marks_that_do_not_fit_the_rubric_are_refused_and_nothing_is_stored(
        app, marked_world, points, comment, message):
    world, _writer, _other, attempt_id, positions = marked_world
    trainer = logged_in(app, world.trainers[0])
    response = trainer.post(_url(world, attempt_id, positions[0]),
                            data=_form(points, comment=comment))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _marks(app) == []


def test_one_mark_per_answer_only_its_marker_may_correct_it(app, marked_world):
    world, _writer, _other, attempt_id, positions = marked_world
    first, second = (logged_in(app, t) for t in world.trainers)
    first.post(_url(world, attempt_id, positions[0]), data=_form(["5", "5"]))
    page = second.get(_url(world, attempt_id, positions[0])).get_data(as_text=True)
    assert "只有批改人可以修改。" in page
    refused = second.post(_url(world, attempt_id, positions[0]), data=_form(["10", "10"]))
    assert "只有批改人可以修改" in refused.get_data(as_text=True)
    [mark] = _marks(app)
    assert mark.total_halves == 20 and mark.revised_at is None
    first.post(_url(world, attempt_id, positions[0]), data=_form(["6", "5"], comment="改"))
    [mark] = _marks(app)
    assert mark.total_halves == 22 and mark.revised_at is not None
    assert mark.feedback == [["改 1"], ["改 2"]]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "practice_mark.changed")) == 1


def test_only_the_class_trainers_reach_the_marking_pages(app, marked_world):
    world, writer, _other, attempt_id, positions = marked_world
    admin = make_user(app, Role.ADMIN, email="marking-walk-admin@example.com")
    urls = [f"/trainer/classes/{world.class_id}/marking",
            f"/trainer/classes/{world.class_id}/marking/next",
            _url(world, attempt_id, positions[0])]
    outsider, candidate = logged_in(app, world.outsider), logged_in(app, writer)
    for url in urls:
        assert outsider.get(url).status_code == 404, url
        assert candidate.get(url).status_code == 403, url
        assert logged_in(app, admin).get(url).status_code == 403, url
    assert outsider.post(urls[-1], data=_form(["5", "5"])).status_code == 404
    # A blank answer, a paper that is not the class's, a class that does not exist: 404.
    trainer = logged_in(app, world.trainers[1])
    assert trainer.get(_url(world, attempt_id, positions[1])).status_code == 404
    assert trainer.get(_url(world, attempt_id + 1000, positions[0])).status_code == 404
    assert trainer.get(f"/trainer/classes/{world.class_id + 1000}/marking").status_code == 404
    assert _marks(app) == []


def test_an_answer_of_a_candidate_who_left_no_longer_waits(app, marked_world):
    world, writer, _other, attempt_id, positions = marked_world
    with app.app_context():
        db.session.get(ClassEnrolment, (world.class_id, writer)).status = EnrolmentStatus.LEFT
        db.session.commit()
    trainer = logged_in(app, world.trainers[0])
    assert "待批改：0 份。" in trainer.get(
        f"/trainer/classes/{world.class_id}/marking").get_data(as_text=True)
    assert trainer.get(_url(world, attempt_id, positions[0])).status_code == 404


def test_a_blank_answer_and_a_paper_not_set_by_the_class_never_wait(app, marked_world):
    world, writer, _other, attempt_id, _positions = marked_world
    with app.app_context():
        own_id = attempts.start_attempt(writer, Subject.PRAC_MID, Mode.MOCK, now=utcnow()).id
        db.session.commit()
    hand_in_paper(app, own_id, texts={subjective_positions(app, own_id)[0]: "自己练的"})
    with app.app_context():
        count, rows = class_marking.waiting(world.class_id)
    assert count == 2 and {row.attempt_id for row in rows} == {attempt_id}


def test_another_candidate_never_sees_a_mark_or_its_comments(app, marked_world):
    """The IDOR walk walks every teaching route with A's class and paper ids; here, the
    comment text itself: B (a member of the same class) finds it nowhere."""
    world, writer, other, attempt_id, positions = marked_world
    logged_in(app, world.trainers[0]).post(_url(world, attempt_id, positions[0]),
                                          data=_form(["5", "5"], comment="甲的评语"))
    assert "甲的评语 1" in logged_in(app, writer).get(
        f"/practice/attempts/{attempt_id}/result").get_data(as_text=True)
    b = logged_in(app, other)
    with app.app_context():
        own = db.session.scalar(sa.select(PracticeMark.attempt_id).where(
            PracticeMark.candidate_id == other))
    assert own is None
    assert b.get(f"/practice/attempts/{attempt_id}/result").status_code == 404
    for url in (f"/trainer/classes/{world.class_id}/dashboard",
                f"/trainer/classes/{world.class_id}/marking", _url(world, attempt_id,
                                                                    positions[0])):
        assert b.get(url).status_code == 403
    for url in ("/practice/", "/practice/attempts", "/notifications/", "/classes"):
        response = b.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        assert "甲的评语" not in response.get_data(as_text=True), url


@pytest.mark.both_databases
def test_two_trainers_marking_one_answer_at_once_store_one_mark(app, marked_world):
    world, _writer, _other, attempt_id, positions = marked_world
    outcomes, errors, barrier = [], [], threading.Barrier(2)

    def mark(trainer_id, points):
        with app.app_context(), app.test_request_context(method="POST"):
            postgresql = db.session.get_bind().dialect.name == "postgresql"
            if not postgresql:
                barrier.wait(timeout=30)
            trainer = db.session.get(User, trainer_id)
            shown = class_marking.answer_for_trainer(trainer, world.class_id, attempt_id,
                                                     positions[0])
            assert shown.mark is None or not postgresql
            if postgresql:
                barrier.wait(timeout=30)  # both have seen the answer unmarked
            try:
                class_marking.submit(shown, trainer, [[Decimal(points)], [Decimal(points)]],
                                     [["甲"], ["乙"]], now=utcnow())
                db.session.commit()
                outcomes.append(points)
            except ServiceError:
                db.session.rollback()
                outcomes.append("refused")
            except Exception as error:  # a deadlock would land here
                db.session.rollback()
                errors.append(error)

    threads = [threading.Thread(target=mark, args=args)
               for args in ((world.trainers[0], "3"), (world.trainers[1], "4"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(outcomes) in (["3", "refused"], ["4", "refused"])
    [stored] = _marks(app)
    won = next(outcome for outcome in outcomes if outcome != "refused")
    assert stored.total_halves == 4 * int(won)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "practice_mark.submitted")) == 1


@pytest.mark.both_databases
def test_the_marks_of_a_candidate_who_left_leave_the_recently_marked_list(app, marked_world):
    """An ended enrolment shares nothing more: not even the marks already given."""
    world, writer, _other, attempt_id, positions = marked_world
    trainer = logged_in(app, world.trainers[0])
    trainer.post(_url(world, attempt_id, positions[0]), data=_form(["5", "5"]))
    with app.app_context():
        email = db.session.get(User, writer).email
        assert [m.mark.candidate_id for m in class_marking.recent_marks(world.class_id)] \
            == [writer]
    assert email in trainer.get(
        f"/trainer/classes/{world.class_id}/marking").get_data(as_text=True)
    with app.app_context():
        db.session.get(ClassEnrolment, (world.class_id, writer)).status = EnrolmentStatus.LEFT
        db.session.commit()
        assert class_marking.recent_marks(world.class_id) == []
    assert email not in trainer.get(
        f"/trainer/classes/{world.class_id}/marking").get_data(as_text=True)


@pytest.mark.parametrize("comment", ["好\x00", "好\x1b[31m", "好\u2028"])
def test_a_comment_with_a_control_character_is_refused_and_nothing_is_stored(
        app, marked_world, comment):
    world, _writer, _other, attempt_id, positions = marked_world
    trainer = logged_in(app, world.trainers[0])
    response = trainer.post(_url(world, attempt_id, positions[0]),
                            data=_form(["5", "5"], comment=comment))
    assert response.status_code == 200
    assert "”的评语：不能包含控制字符。" in response.get_data(as_text=True)
    assert _marks(app) == []
    # Lines and tabs are fine in a comment.
    trainer.post(_url(world, attempt_id, positions[0]),
                 data=_form(["5", "5"], comment="第一行\r\n\t第二行"))
    [mark] = _marks(app)
    assert mark.feedback[0] == ["第一行\r\n\t第二行 1"]
