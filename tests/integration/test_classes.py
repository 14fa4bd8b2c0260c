"""Classes through the portal: a trainer of an institution opens a class; candidates
join with its code after seeing what is shared, or accept an invitation from an
imported list (all or nothing); they leave; trainers set assignments that candidates
start from their list (one attempt per candidate and assignment, even when started
twice at once) and see completion; the due states; a trainer of another institution
gets 404 for everything of the class."""

import csv
import io
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.attempts import Attempt
from exam_portal.models.audit import AuditEvent
from exam_portal.models.classes import (
    AssignmentAttempt,
    ClassAssignment,
    ClassEnrolment,
    ClassInvitation,
    TrainingClass,
)
from exam_portal.models.institutions import Institution, InstitutionMember
from exam_portal.models.types import utcnow
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank.assignments import EnrolmentStatus
from question_bank.formats import xlsx_format
from question_bank.institutions import InstitutionKind
from question_bank.subjects import Subject

from ..factories import logged_in, make_user
from .practice_support import candidate, objective_bank

MINUTE = "%Y-%m-%dT%H:%M"


def _institution(app, name, head_id, *members) -> int:
    admin_id = make_user(app, Role.ADMIN)
    with app.app_context():
        institution = Institution(name=name, kind=InstitutionKind.TRAINING_ORG,
                                  created_by_id=admin_id)
        institution.members.append(InstitutionMember(user_id=head_id, is_admin=True))
        for member in members:
            institution.members.append(InstitutionMember(user_id=member))
        db.session.add(institution)
        db.session.commit()
        return institution.id


@pytest.fixture
def school(app):
    """An institution with a head trainer, a second trainer, and a class; another
    institution with its own trainer."""
    head = make_user(app, Role.TRAINER, email="head@example.com")
    colleague = make_user(app, Role.TRAINER, email="colleague@example.com")
    outsider = make_user(app, Role.TRAINER, email="outsider@example.com")
    institution_id = _institution(app, "阳光社工培训中心", head, colleague)
    _institution(app, "别家机构", outsider)
    client = logged_in(app, head)
    today = utcnow().astimezone(LOCAL_ZONE).date()
    response = client.post("/trainer/classes/new", data={
        "institution": str(institution_id), "name": "2027 助理冲刺班", "level": "ASSISTANT",
        "exam_session": "", "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=90)).isoformat()})
    assert response.status_code == 302, response.get_data(as_text=True)
    class_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        code = db.session.get(TrainingClass, class_id).join_code
    return {"head": head, "colleague": colleague, "outsider": outsider, "class_id": class_id,
            "code": code, "client": client, "institution_id": institution_id}


def _join(client, code):
    return client.post(f"/classes/join?code={code}", data={"consent": "y"})


def _status(app, class_id, user_id):
    with app.app_context():
        enrolment = db.session.get(ClassEnrolment, (class_id, user_id))
        return enrolment.status if enrolment else None


@pytest.mark.usefixtures("one_leg")
def test_a_candidate_joins_with_the_code_after_reading_what_is_shared(app, school):
    user_id, client = candidate(app)
    page = client.get(f"/classes/join?code={school['code'].lower()}").get_data(as_text=True)
    assert "2027 助理冲刺班" in page and "阳光社工培训中心" in page
    for shared in ("练习进度", "模拟考试和班级作业的成绩", "预测的通过概率", "薄弱的知识点"):
        assert shared in page
    assert "身份证号" in page  # … listed among what the trainers never see
    # Not confirmed: nothing changes.
    assert client.post(f"/classes/join?code={school['code']}", data={}).status_code == 200
    assert _status(app, school["class_id"], user_id) is None
    assert _join(client, school["code"]).status_code == 302
    assert _status(app, school["class_id"], user_id) is EnrolmentStatus.ENROLLED
    assert _join(client, school["code"]).status_code in (200, 302)  # again: no change
    assert "2027 助理冲刺班" in client.get("/classes").get_data(as_text=True)
    # In English too.
    _english_user, english = candidate(app)
    english.post("/language", data={"locale": "en"})
    page = english.get(f"/classes/join?code={school['code']}").get_data(as_text=True)
    assert "Once you join, the class's trainers can see:" in page
    assert "Your resident ID number, ID photo or registration documents" in page
    # An unknown code says so.
    assert "没有找到" in client.get("/classes/join?code=ZZZZ2222").get_data(as_text=True)
    roster = school["client"].get(f"/trainer/classes/{school['class_id']}").get_data(
        as_text=True)
    with app.app_context():
        assert db.session.get(User, user_id).email in roster
    # Every trainer of the institution sees the class; another institution's does not.
    colleague = logged_in(app, school["colleague"])
    assert colleague.get(f"/trainer/classes/{school['class_id']}").status_code == 200
    assert "2027 助理冲刺班" in colleague.get("/trainer/classes").get_data(as_text=True)
    outsider = logged_in(app, school["outsider"])
    assert "2027 助理冲刺班" not in outsider.get("/trainer/classes").get_data(as_text=True)


@pytest.mark.usefixtures("one_leg")
def test_a_candidate_leaves_a_class_and_the_trainer_no_longer_sees_them(app, school):
    user_id, client = candidate(app)
    _join(client, school["code"])
    assert client.post(f"/classes/{school['class_id']}/leave").status_code == 302
    assert _status(app, school["class_id"], user_id) is EnrolmentStatus.LEFT
    with app.app_context():
        email = db.session.get(User, user_id).email
    assert email not in school["client"].get(
        f"/trainer/classes/{school['class_id']}").get_data(as_text=True)
    client.get("/classes")  # the flashes of joining and leaving name the class
    assert "2027 助理冲刺班" not in client.get("/classes").get_data(as_text=True)
    assert client.post(f"/classes/{school['class_id']}/leave").status_code == 404
    # A new code voids the old one; the class can be joined again with the new one.
    school["client"].post(f"/trainer/classes/{school['class_id']}/code")
    assert "没有找到" in client.get(f"/classes/join?code={school['code']}").get_data(
        as_text=True)
    with app.app_context():
        code = db.session.get(TrainingClass, school["class_id"]).join_code
    assert _join(client, code).status_code == 302
    assert _status(app, school["class_id"], user_id) is EnrolmentStatus.ENROLLED


def _csv(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def _upload(client, class_id, data, name="名单.csv"):
    return client.post(f"/trainer/classes/{class_id}/import",
                       data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


@pytest.mark.usefixtures("one_leg")
def test_an_imported_list_invites_candidates_all_or_nothing(app, school):
    known, client = candidate(app, email="known@example.com")
    enrolled, enrolled_client = candidate(app, email="enrolled@example.com")
    _join(enrolled_client, school["code"])
    url_class = school["class_id"]
    # A bad row: nothing is imported, and the page says which row and why.
    page = _upload(school["client"], url_class, _csv([
        ["姓名", "邮箱"], ["张三", "known@example.com"], ["李四", "not-an-address"],
        ["王五", "KNOWN@example.com"]])).get_data(as_text=True)
    assert "第 3 行" in page and "not-an-address" in page and "第 4 行" in page
    assert "没有导入任何人" in page
    assert _status(app, url_class, known) is None
    for data, name in ((b"\x00\x01garbage", "名单.xlsx"), (b"a,b", "名单.txt"),
                       (_csv([["姓名", "电话"], ["张三", "123"]]), "名单.csv")):
        assert _upload(school["client"], url_class, data, name).status_code == 200
    assert _status(app, url_class, known) is None
    # A good XLSX list: the known candidate invited; the page tells no address apart.
    data = xlsx_format.write_table(["邮箱", "姓名"], [
        ["known@example.com", "张三"], ["stranger@example.com", "陌生人"],
        ["enrolled@example.com", "已在班"]])
    page = _upload(school["client"], url_class, data, "名单.xlsx").get_data(as_text=True)
    assert "stranger@example.com" not in page and "已向 3 个邮箱发出邀请" in page
    # An invitation by address, no enrolment (test_class_invitations.py has the rest).
    assert _status(app, url_class, known) is None
    assert _status(app, url_class, enrolled) is EnrolmentStatus.ENROLLED
    # Invited is not enrolled: the candidate reads what is shared and confirms.
    assert "邀请待确认" in client.get("/classes").get_data(as_text=True)
    with app.app_context():
        accept = "/classes/invitations/{}/accept".format(db.session.scalar(
            sa.select(ClassInvitation.id).where(ClassInvitation.email == "known@example.com")))
    assert "预测的通过概率" in client.get(accept).get_data(as_text=True)
    assert client.post(accept, data={}).status_code == 200
    assert _status(app, url_class, known) is None
    assert client.post(accept, data={"consent": "y"}).status_code == 302
    assert _status(app, url_class, known) is EnrolmentStatus.ENROLLED
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "classes.list_imported")) == 1


def _assign(client, class_id, *, kind="practice", due=None, **fields):
    due = due or utcnow() + timedelta(days=3)
    data = {"title": fields.pop("title", "第一章练习"), "kind": kind, "subject": "COMP_JR",
            "due_at": due.astimezone(LOCAL_ZONE).strftime(MINUTE), **fields}
    return client.post(f"/trainer/classes/{class_id}/assignments/new", data=data)


def _assignment_ids(app, class_id) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(sa.select(ClassAssignment.id).where(
            ClassAssignment.class_id == class_id).order_by(ClassAssignment.id)))


@pytest.mark.usefixtures("one_leg")
def test_assignments_are_started_once_and_their_states_shown(app, school):
    objective_bank(app, Subject.COMP_JR, chapters=3)
    user_id, client = candidate(app)
    _join(client, school["code"])
    class_id = school["class_id"]
    # Refused: no chapter, a past due time, a subject of another level, no past paper.
    for fields in ({}, {"chapters": "COMP_JR.01", "item_count": "10",
                        "due": utcnow() - timedelta(minutes=5)},
                   {"chapters": "COMP_JR.01", "item_count": "10", "subject": "COMP_MID"},
                   {"kind": "past_paper"}):
        assert _assign(school["client"], class_id, **fields).status_code == 200
    assert _assignment_ids(app, class_id) == []
    assert _assign(school["client"], class_id, chapters="COMP_JR.01",
                   item_count="10").status_code == 302
    assert _assign(school["client"], class_id, kind="mock", title="模拟卷一").status_code == 302
    practice_id, mock_id = _assignment_ids(app, class_id)
    page = client.get("/classes/assignments").get_data(as_text=True)
    assert "第一章练习" in page and "模拟卷一" in page and "未开始" in page and "○" in page
    # Started twice: the same attempt.
    first = client.post(f"/classes/assignments/{practice_id}/start")
    assert first.status_code == 302 and "/practice/attempts/" in first.headers["Location"]
    again = client.post(f"/classes/assignments/{practice_id}/start")
    assert again.headers["Location"] == first.headers["Location"]
    attempt_id = int(first.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.chapters == ["COMP_JR.01"] and len(attempt.items) == 10
    assert "进行中" in client.get("/classes/assignments").get_data(as_text=True)
    assert client.post(f"/practice/attempts/{attempt_id}/submit").status_code == 302
    page = client.get("/classes/assignments").get_data(as_text=True)
    assert "已完成" in page and "得分" in page
    detail = school["client"].get(f"/trainer/classes/{class_id}").get_data(as_text=True)
    assert "1 / 1 已完成" in detail
    # Overdue: past due and not handed in, marked in words and a symbol.
    with app.app_context():
        db.session.get(ClassAssignment, mock_id).due_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    page = client.get("/classes/assignments").get_data(as_text=True)
    assert "已逾期" in page and "⚠" in page
    assert client.post(f"/classes/assignments/{mock_id}/start").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AssignmentAttempt.attempt_id)).where(
            AssignmentAttempt.assignment_id == mock_id)) == 0
    # Open tasks show on the dashboard and the plan, with their state in words.
    for path in ("/practice/", "/practice/plan"):
        page = client.get(path).get_data(as_text=True)
        assert "模拟卷一" in page and "已逾期" in page and "第一章练习" not in page
    # A withdrawn assignment leaves the candidate's list.
    school["client"].post(f"/trainer/assignments/{mock_id}/withdraw")
    assert "模拟卷一" not in client.get("/classes/assignments").get_data(as_text=True)


@pytest.mark.usefixtures("one_leg")
def test_a_trainer_of_another_institution_gets_404_for_everything(app, school):
    objective_bank(app, Subject.COMP_JR, chapters=3)
    _user_id, client = candidate(app)
    _join(client, school["code"])
    _assign(school["client"], school["class_id"], chapters="COMP_JR.01", item_count="10")
    [assignment_id] = _assignment_ids(app, school["class_id"])
    outsider = logged_in(app, school["outsider"])
    class_id = school["class_id"]
    for method, url in (
            ("GET", f"/trainer/classes/{class_id}"),
            ("GET", f"/trainer/classes/{class_id}/edit"),
            ("POST", f"/trainer/classes/{class_id}/edit"),
            ("POST", f"/trainer/classes/{class_id}/close"),
            ("POST", f"/trainer/classes/{class_id}/code"),
            ("GET", f"/trainer/classes/{class_id}/import"),
            ("POST", f"/trainer/classes/{class_id}/import"),
            ("GET", f"/trainer/classes/{class_id}/assignments/new"),
            ("POST", f"/trainer/classes/{class_id}/assignments/new"),
            ("POST", f"/trainer/assignments/{assignment_id}/withdraw"),
            ("GET", f"/trainer/institutions/{school['institution_id']}/trainers"),
            ("POST", f"/trainer/institutions/{school['institution_id']}/trainers"),
            ("POST", f"/trainer/institutions/{school['institution_id']}/trainers/"
                     f"{school['colleague']}/remove")):
        assert outsider.open(url, method=method).status_code == 404, (method, url)
    # A candidate not in the class: 404 for its invitation, leaving and assignments.
    _other, stranger = candidate(app)
    assert stranger.get(f"/classes/{class_id}/accept").status_code == 404
    assert stranger.post(f"/classes/{class_id}/leave").status_code == 404
    assert stranger.post(f"/classes/assignments/{assignment_id}/start").status_code == 404
    with app.app_context():
        klass = db.session.get(TrainingClass, class_id)
        assert klass.closed_at is None and klass.join_code == school["code"]
        assert db.session.get(ClassAssignment, assignment_id).withdrawn_at is None


@pytest.mark.usefixtures("one_leg")
@pytest.mark.parametrize("path", [
    "/trainer/classes", "/trainer/classes/new", "/trainer/institutions",
    "/classes", "/classes/join", "/classes/assignments"])
def test_every_page_checks_the_role(app, school, path):
    admin = logged_in(app, make_user(app, Role.ADMIN))
    _user_id, candidate_client = candidate(app)
    trainer_page = path.startswith("/trainer")
    assert admin.get(path).status_code == 403
    assert candidate_client.get(path).status_code == (403 if trainer_page else 200)
    assert school["client"].get(path).status_code == (200 if trainer_page else 403)
    assert app.test_client().get(path).status_code == 302


@pytest.mark.db
def test_starting_an_assignment_twice_at_once_makes_one_attempt(app, school):
    from exam_portal.services.exam_sessions import classes

    objective_bank(app, Subject.COMP_JR, chapters=3)
    user_id, client = candidate(app)
    _join(client, school["code"])
    _assign(school["client"], school["class_id"], chapters="COMP_JR.01", item_count="10")
    [assignment_id] = _assignment_ids(app, school["class_id"])
    barrier, started, errors = threading.Barrier(4), [], []

    def start():
        with app.app_context(), app.test_request_context(method="POST"):
            try:
                barrier.wait(timeout=10)
                attempt = classes.start(db.session.get(User, user_id), assignment_id,
                                        now=utcnow())
                db.session.commit()
                started.append(attempt.id)
            except BaseException as error:  # noqa: BLE001 - the test reads it
                db.session.rollback()
                errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert len(set(started)) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Attempt.id)).where(
            Attempt.candidate_id == user_id)) == 1
        assert db.session.get(AssignmentAttempt, (assignment_id, user_id)).attempt_id \
            == started[0]


def _notices(app, kind) -> list[tuple[int, str]]:
    from exam_portal.models.notifications import Notification

    with app.app_context():
        return sorted(db.session.execute(sa.select(Notification.user_id, Notification.event)
                                         .where(Notification.kind == kind)).all())


@pytest.mark.usefixtures("one_leg")
def test_enrolled_candidates_are_told_of_an_assignment_and_of_one_due_tomorrow(app, school):
    from exam_portal.services.platform import notifications

    objective_bank(app, Subject.COMP_JR, chapters=3)
    enrolled, client = candidate(app)
    _join(client, school["code"])
    done, done_client = candidate(app)
    _join(done_client, school["code"])
    invited, _invited_client = candidate(app, email="invited-only@example.com")
    _upload(school["client"], school["class_id"], _csv([["邮箱"], ["invited-only@example.com"]]))
    now = utcnow()
    _assign(school["client"], school["class_id"], chapters="COMP_JR.01", item_count="10",
            due=now + timedelta(hours=20))
    _assign(school["client"], school["class_id"], kind="mock", title="下周模拟",
            due=now + timedelta(days=5))
    soon, later = _assignment_ids(app, school["class_id"])
    # Set: the enrolled candidates, once per assignment; the invited one shares nothing.
    assert _notices(app, "assignment_set") == sorted(
        (user, f"assignment:{a}") for user in (enrolled, done) for a in (soon, later))
    location = done_client.post(f"/classes/assignments/{soon}/start").headers["Location"]
    done_client.post(f"{location}/submit")
    # Due tomorrow: only who has not handed it in; a second sweep sends nothing again.
    for _ in range(2):
        with app.app_context(), app.test_request_context(method="POST"):
            notifications.sweep(utcnow())
            db.session.commit()
    assert _notices(app, "assignment_due_tomorrow") == [(enrolled, f"assignment_due:{soon}")]
    assert invited not in {user for user, _event in _notices(app, "assignment_set")}
    page = client.get("/notifications/").get_data(as_text=True)
    assert "作业即将截止" in page and "第一章练习" in page


@pytest.mark.usefixtures("one_leg")
def test_the_demo_seed_has_a_class_with_the_demo_candidate_and_an_overdue_assignment(seeded):
    from exam_portal.commands import demo

    app = seeded.app
    assert demo.DEMO_CLASS_NAME in seeded.output
    with app.app_context():
        member = dict(db.session.execute(
            sa.select(User.email, InstitutionMember.is_admin)
            .join(InstitutionMember, InstitutionMember.user_id == User.id)
            .join(Institution, Institution.id == InstitutionMember.institution_id)
            .where(Institution.name == demo.DEMO_INSTITUTION_NAME)).all())
        assert member == {demo.DEMO_REVIEWER: True, demo.DEMO_AUTHOR: False}
    client = app.test_client()
    assert client.post("/auth/login", data={"email": "assistant@demo.example.com",
                                            "password": demo.CANDIDATE_PASSWORD}
                       ).status_code == 302
    page = client.get("/classes/assignments").get_data(as_text=True)
    assert "第一章 章节练习" in page and "实务（初级）模拟卷一" in page and "已逾期" in page
    assert demo.DEMO_CLASS_NAME in client.get("/classes").get_data(as_text=True)
    # Seeding again adds nothing.
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0 and demo.DEMO_CLASS_NAME not in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(TrainingClass.id)).where(
            TrainingClass.name == demo.DEMO_CLASS_NAME)) == 1


@pytest.mark.usefixtures("one_leg")
def test_a_released_past_paper_can_be_assigned_and_a_secret_locked_form_cannot(app, school):
    from exam_portal.models.bank import ItemPool
    from exam_portal.models.forms import ExamForm
    from question_bank.levels import Level

    from .form_support import lock_forms
    from .test_sittings import _session

    objective_bank(app, Subject.COMP_JR, pool=ItemPool.SECURE)
    admin = make_user(app, Role.ADMIN, email="paper-admin@example.com")
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    [form_id] = lock_forms(app, session_id, admin, [Subject.COMP_JR])[Subject.COMP_JR]
    user_id, client = candidate(app)
    _join(client, school["code"])
    new = f"/trainer/classes/{school['class_id']}/assignments/new"
    assert f'value="{form_id}"' not in school["client"].get(new).get_data(as_text=True)
    assert _assign(school["client"], school["class_id"], kind="past_paper",
                   form_id=str(form_id)).status_code == 200
    assert _assignment_ids(app, school["class_id"]) == []
    with app.app_context():
        db.session.get(ExamForm, form_id).released_at = utcnow()
        db.session.commit()
    assert f'value="{form_id}"' in school["client"].get(new).get_data(as_text=True)
    assert _assign(school["client"], school["class_id"], kind="past_paper", title="真题一",
                   form_id=str(form_id)).status_code == 302
    [assignment_id] = _assignment_ids(app, school["class_id"])
    response = client.post(f"/classes/assignments/{assignment_id}/start")
    attempt_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.form_id == form_id and attempt.candidate_id == user_id
        assert attempt.mode.value == "MOCK"


@pytest.mark.usefixtures("one_leg")
def test_a_mock_assignment_waits_for_an_open_mock_paper_of_the_subject(app, school):
    from .practice_support import start as start_practice

    objective_bank(app, Subject.COMP_JR, chapters=3)
    user_id, client = candidate(app)
    _join(client, school["code"])
    own_mock = start_practice(client, Subject.COMP_JR, mode="MOCK")
    _assign(school["client"], school["class_id"], kind="mock", title="模拟卷二")
    [assignment_id] = _assignment_ids(app, school["class_id"])
    refused = client.post(f"/classes/assignments/{assignment_id}/start", follow_redirects=True)
    assert "请先交卷" in refused.get_data(as_text=True)
    client.post(f"/practice/attempts/{own_mock}/submit")
    started = client.post(f"/classes/assignments/{assignment_id}/start")
    attempt_id = int(started.headers["Location"].rsplit("/", 1)[1])
    assert attempt_id != own_mock
    with app.app_context():
        assert db.session.get(AssignmentAttempt, (assignment_id, user_id)).attempt_id \
            == attempt_id


@pytest.mark.usefixtures("one_leg")
def test_a_class_is_edited_and_once_ended_takes_no_one_and_no_assignment(app, school):
    class_id, head = school["class_id"], school["client"]
    today = utcnow().astimezone(LOCAL_ZONE).date()
    fields = {"institution": str(school["institution_id"]), "name": "2027 助理周末班",
              "level": "ASSISTANT", "exam_session": "", "starts_on": today.isoformat(),
              "ends_on": (today - timedelta(days=1)).isoformat()}
    page = head.post(f"/trainer/classes/{class_id}/edit", data=fields).get_data(as_text=True)
    assert "结束日期不能早于开始日期" in page
    fields["ends_on"] = (today + timedelta(days=30)).isoformat()
    assert head.post(f"/trainer/classes/{class_id}/edit", data=fields).status_code == 302
    assert head.post(f"/trainer/classes/{class_id}/close").status_code == 302
    with app.app_context():
        klass = db.session.get(TrainingClass, class_id)
        assert klass.name == "2027 助理周末班" and klass.closed_at is not None
    user_id, client = candidate(app)
    assert "没有找到" in client.get(f"/classes/join?code={school['code']}").get_data(
        as_text=True)
    assert _join(client, school["code"]).status_code == 200
    assert _status(app, class_id, user_id) is None
    assert _assign(school["client"], class_id, kind="mock").status_code == 200
    assert _assignment_ids(app, class_id) == []
    with app.app_context():
        assert [action for action in db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.action.like("classes.%")).order_by(AuditEvent.id))] == [
            "classes.opened", "classes.edited", "classes.closed"]


# Review fixes ---------------------------------------------------------------------------

@pytest.mark.usefixtures("one_leg")
def test_an_imported_list_tells_the_trainer_nothing_of_anyone_s_account(app, school):
    from exam_portal.models.accounts import CandidateProfile

    victim, victim_client = candidate(app, email="victim@example.com")
    with app.app_context():
        db.session.add(CandidateProfile(user_id=victim, real_name="王秘密"))
        db.session.commit()
    make_user(app, Role.TRAINER, email="staffer@example.com")
    page = _upload(school["client"], school["class_id"], _csv([
        ["邮箱", "姓名"], ["victim@example.com", "小王"], ["staffer@example.com", "职员"],
        ["nobody@example.com", "无名"]])).get_data(as_text=True)
    # The same answer for a candidate, a staff account and an unknown address.
    assert "已向 3 个邮箱发出邀请" in page
    for email in ("victim@example.com", "staffer@example.com", "nobody@example.com"):
        assert email not in page
    assert _status(app, school["class_id"], victim) is None
    # While invited, the class page shows only what the trainer typed, never the profile.
    roster = school["client"].get(f"/trainer/classes/{school['class_id']}").get_data(
        as_text=True)
    assert "王秘密" not in roster and "小王" in roster
    # Once the candidate joins, the name they gave is shared (the join page said so).
    with app.app_context():
        invitation = db.session.scalar(sa.select(ClassInvitation.id).where(
            ClassInvitation.email == "victim@example.com"))
    victim_client.post(f"/classes/invitations/{invitation}/accept", data={"consent": "y"})
    assert "王秘密" in school["client"].get(
        f"/trainer/classes/{school['class_id']}").get_data(as_text=True)


@pytest.mark.usefixtures("one_leg")
def test_imports_are_rate_limited_like_the_join_page(app, school):
    statuses = [_upload(school["client"], school["class_id"], b"", "e.csv").status_code
                for _ in range(12)]
    assert statuses[:10] == [200] * 10 and statuses[10:] == [429, 429]


@pytest.mark.db
def test_an_import_and_a_join_at_once_make_one_enrolment_and_no_error(database, app, school):
    from exam_portal.services.exam_sessions import classes

    if database[0] != "postgresql":
        pytest.skip("a race: PostgreSQL only")

    for n in range(4):
        user_id, _client = candidate(app, email=f"racer{n}@example.com")
        barrier, errors = threading.Barrier(2), []

        def run(call, barrier=barrier, errors=errors):
            with app.app_context(), app.test_request_context(method="POST"):
                try:
                    klass = db.session.get(TrainingClass, school["class_id"])
                    barrier.wait(timeout=10)
                    call(klass)
                    db.session.commit()
                except BaseException as error:  # noqa: BLE001 - the test reads it
                    db.session.rollback()
                    errors.append(error)

        def join(klass, user_id=user_id):
            classes.join(klass, db.session.get(User, user_id), now=utcnow())

        def invite(klass, n=n):
            classes.import_roster(klass, [["email"], [f"racer{n}@example.com"]],
                                  db.session.get(User, school["head"]), now=utcnow())

        threads = [threading.Thread(target=run, args=(call,)) for call in (join, invite)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors, errors
        assert _status(app, school["class_id"], user_id) is EnrolmentStatus.ENROLLED


@pytest.mark.usefixtures("one_leg")
@pytest.mark.parametrize("due", ["0001-01-01T00:00", "9999-12-31T23:59", "1999-12-31T23:59"])
def test_a_due_time_out_of_range_is_refused_with_a_message(app, school, due):
    response = school["client"].post(
        f"/trainer/classes/{school['class_id']}/assignments/new",
        data={"title": "t", "kind": "mock", "subject": "COMP_JR", "due_at": due})
    assert response.status_code == 200
    assert "2000" in response.get_data(as_text=True)
    assert _assignment_ids(app, school["class_id"]) == []


def _queries(app, call) -> int:
    with app.app_context():
        engine = db.engine
    count = [0]

    def seen(*_args, **_kwargs):
        count[0] += 1

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        call()
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    return count[0]


@pytest.mark.usefixtures("one_leg")
def test_the_class_page_and_the_due_soon_sweep_take_a_fixed_number_of_queries(app):
    from exam_portal.services.exam_sessions import classes
    from question_bank.levels import Level

    from .class_support import assign, class_world, enrol

    world = class_world(app, Level.ASSISTANT)
    for _ in range(3):
        enrol(app, world, make_user(app))
    client = logged_in(app, world.trainers[0])
    url = f"/trainer/classes/{world.class_id}"
    assign(app, world, Subject.COMP_JR, due_in=timedelta(hours=5))
    few = _queries(app, lambda: client.get(url))
    with app.app_context():
        few_sweep = _queries(app, lambda: classes.due_soon(utcnow()))
    for k in range(10):
        assign(app, world, Subject.COMP_JR, title=f"t{k}", due_in=timedelta(hours=5))
    assert _queries(app, lambda: client.get(url)) == few
    with app.app_context():
        assert _queries(app, lambda: classes.due_soon(utcnow())) == few_sweep
        found = classes.due_soon(utcnow())
    assert len(found) == 11 and all(len(ids) == 3 for _a, ids in found)
    new_page = f"/trainer/classes/{world.class_id}/assignments/new"
    assert client.get(new_page).status_code == 200


@pytest.mark.usefixtures("one_leg")
@pytest.mark.parametrize("field", ["registration_opens_at", "exam_closes_at"])
def test_the_exam_session_form_refuses_a_time_out_of_range_too(app, field):
    from exam_portal.models.sittings import ExamSession

    from .test_sittings_pages import SESSION_FORM

    admin = logged_in(app, make_user(app, Role.ADMIN))
    response = admin.post("/admin/sessions/new",
                          data={**SESSION_FORM, field: "0001-01-01T00:00"})
    assert response.status_code == 200 and "2000" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ExamSession.id))) == 0


@pytest.mark.usefixtures("one_leg")
def test_a_candidate_leaves_a_class_even_while_its_institution_is_deactivated(app, school):
    user_id, client = candidate(app)
    _join(client, school["code"])
    with app.app_context():
        db.session.get(Institution, school["institution_id"]).is_active = False
        db.session.commit()
    page = client.get("/classes").get_data(as_text=True)
    assert "2027 助理冲刺班" in page and "机构已停用" in page
    assert client.post(f"/classes/{school['class_id']}/leave").status_code == 302
    assert _status(app, school["class_id"], user_id) is EnrolmentStatus.LEFT
    # Nothing else of a deactivated institution's class is open to them.
    assert client.get(f"/classes/{school['class_id']}/accept").status_code == 404


@pytest.mark.usefixtures("one_leg")
def test_a_class_tied_to_an_older_exam_session_can_still_be_saved(app, school):
    from exam_portal.models.sittings import ExamSession

    from .test_sittings_pages import _create

    admin = logged_in(app, make_user(app, Role.ADMIN))
    old = _create(admin, name="最早的批次")
    for n in range(20):
        _create(admin, name=f"新批次 {n}")
    with app.app_context():
        session = db.session.get(ExamSession, old)
        session.exam_opens_at = session.exam_opens_at - timedelta(days=3 * 365)
        db.session.get(TrainingClass, school["class_id"]).exam_session_id = old
        db.session.commit()
    url = f"/trainer/classes/{school['class_id']}/edit"
    assert "最早的批次" in school["client"].get(url).get_data(as_text=True)
    today = utcnow().astimezone(LOCAL_ZONE).date()
    response = school["client"].post(url, data={
        "institution": str(school["institution_id"]), "name": "改名了", "level": "ASSISTANT",
        "exam_session": str(old), "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=30)).isoformat()})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.mark.usefixtures("one_leg")
def test_a_withdrawn_assignment_is_never_overdue(app):
    from exam_portal.services.exam_sessions import classes
    from question_bank.levels import Level

    from .class_support import assign, class_world, enrol

    world = class_world(app, Level.ASSISTANT)
    enrol(app, world, make_user(app))
    late = assign(app, world, Subject.COMP_JR, due_in=-timedelta(days=1))
    with app.app_context():
        assignment = db.session.get(ClassAssignment, late)
        assert classes.completion(assignment, now=utcnow()).overdue == 1
        assignment.withdrawn_at = utcnow()
        db.session.commit()
        assert classes.completion(assignment, now=utcnow()).overdue == 0


@pytest.mark.usefixtures("one_leg")
def test_due_tomorrow_means_tomorrow_in_beijing_not_within_24_hours(app):
    from datetime import datetime

    from exam_portal.services.exam_sessions import classes
    from question_bank.levels import Level

    from .class_support import assign, class_world, enrol

    world = class_world(app, Level.ASSISTANT)
    enrol(app, world, make_user(app))
    sweep = datetime(2030, 3, 1, 9, 0, tzinfo=LOCAL_ZONE)
    dues = {"tomorrow night": datetime(2030, 3, 2, 23, 0, tzinfo=LOCAL_ZONE),
            "the day after": datetime(2030, 3, 3, 0, 30, tzinfo=LOCAL_ZONE),
            "tonight": datetime(2030, 3, 1, 20, 0, tzinfo=LOCAL_ZONE)}
    ids = {title: assign(app, world, Subject.COMP_JR, title=title) for title in dues}
    with app.app_context():
        for title, due in dues.items():
            db.session.get(ClassAssignment, ids[title]).due_at = due
        db.session.commit()
        found = {a.title for a, _ids in classes.due_soon(sweep)}
    assert found == {"tomorrow night", "tonight"}


@pytest.mark.usefixtures("one_leg")
def test_the_roster_of_a_big_class_is_paginated(app):
    from question_bank.levels import Level

    from .class_support import class_world, enrol

    world = class_world(app, Level.ASSISTANT)
    size = app.config["PAGE_SIZE"]
    emails = [f"member{n:03d}@example.com" for n in range(size + 2)]
    for email in emails:
        enrol(app, world, make_user(app, email=email))
    client = logged_in(app, world.trainers[0])
    url = f"/trainer/classes/{world.class_id}"
    first = client.get(url).get_data(as_text=True)
    second = client.get(f"{url}?page=2").get_data(as_text=True)
    assert [e for e in emails if e in first] == emails[:size]
    assert [e for e in emails if e in second] == emails[size:]
    assert "下一页" in first
    assert _queries(app, lambda: client.get(url)) == _queries(app, lambda: client.get(
        f"{url}?page=2"))
