"""Exam sessions through the pages: administrators create them, set pass lines and
review registrations; candidates register and open their admission ticket."""

import itertools
import re

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.sittings import ExamSession, Registration, RegistrationStatus

from ..conftest import PASSWORD
from ..factories import make_user
from .test_sittings import NOW, _candidate

# Pages, forms and access rules: they read and write alike on both databases.
pytestmark = pytest.mark.usefixtures("one_leg")

_numbers = itertools.count(1)
SESSION_FORM = {
    "year": "2026", "name": "2026 年度考试", "levels": ["ASSISTANT", "INTERMEDIATE"],
    "registration_opens_at": "2026-03-01T09:00", "registration_closes_at": "2026-03-31T17:00",
    "exam_opens_at": "2026-06-13T09:00", "exam_closes_at": "2026-06-14T17:00",
    "mode": "ONLINE", "syllabus_version": "2018", "law_cutoff": "2025-12-31",
    "experience_cutoff": "2026-12-31", "verification_mode": "before_exam",
}


def _signed_in(app, email):
    client = app.test_client()
    assert client.post("/auth/login", data={"email": email, "password": PASSWORD}
                       ).status_code == 302
    return client


def _admin_client(app):
    email = f"sessions-admin{next(_numbers)}@example.com"
    make_user(app, Role.ADMIN, email=email)
    return _signed_in(app, email)


def _create(client, **changes) -> int:
    response = client.post("/admin/sessions/new", data={**SESSION_FORM, **changes})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return int(re.search(r"/admin/sessions/(\d+)", response.headers["Location"]).group(1))


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_an_administrator_creates_a_session_and_sets_its_pass_lines(app):
    admin = _admin_client(app)
    session_id = _create(admin)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        # Entered in Beijing time, stored in UTC.
        assert session.registration_opens_at.hour == 1
    page = admin.get(f"/admin/sessions/{session_id}").get_data(as_text=True)
    assert "2026 年度考试" in page and "2026-03-01 09:00" in page
    assert admin.post(f"/admin/sessions/{session_id}/pass-lines", data={
        "subject": "COMP_JR", "region": "54", "line": "53"}).status_code == 302
    refused = admin.post(f"/admin/sessions/{session_id}/pass-lines", data={
        "subject": "COMP_JR", "region": "", "line": "60.3"}, follow_redirects=True)
    assert "0.5" in refused.get_data(as_text=True)
    page = admin.get(f"/admin/sessions/{session_id}").get_data(as_text=True)
    assert "西藏自治区" in page and ">53<" in page
    assert "2026 年度考试" in admin.get("/admin/sessions").get_data(as_text=True)


def test_a_session_with_crossed_windows_is_not_created(app):
    admin = _admin_client(app)
    response = admin.post("/admin/sessions/new", data={
        **SESSION_FORM, "registration_closes_at": "2026-06-20T17:00"})
    assert response.status_code == 200
    assert "报名应在考试开始前截止" in response.get_data(as_text=True)
    assert _count(app, ExamSession) == 0


def test_a_candidate_registers_and_opens_only_their_own_ticket(app):
    with freeze_time(NOW):
        admin = _admin_client(app)
        session_id = _create(admin)
        user_id = _candidate(app)
        with app.app_context():
            from exam_portal.models.accounts import User

            email = db.session.get(User, user_id).email
        client = _signed_in(app, email)
        page = client.get("/exams").get_data(as_text=True)
        assert "2026 年度考试" in page and "符合报考条件" in page
        refused = client.post(f"/exams/sessions/{session_id}/register", data={
            f"s{session_id}-level": "ASSISTANT", f"s{session_id}-region": "11"},
            follow_redirects=True)
        assert "报考承诺" in refused.get_data(as_text=True)
        assert _count(app, Registration) == 0
        done = client.post(f"/exams/sessions/{session_id}/register", data={
            f"s{session_id}-level": "ASSISTANT", f"s{session_id}-region": "11",
            f"s{session_id}-declared": "y"}, follow_redirects=True)
        assert "报名成功" in done.get_data(as_text=True)
        with app.app_context():
            registration = db.session.scalars(sa.select(Registration)).one()
            number, registration_id = registration.admission_number, registration.id
        ticket = client.get(f"/exams/registrations/{registration_id}/ticket")
        assert ticket.status_code == 200
        text = ticket.get_data(as_text=True)
        assert number in text and "林晓" in text and "还在审核中" in text
        assert 'data-action="print"' not in text  # nothing to print until it is verified
        other = _signed_in(app, _other_candidate(app))
        assert other.get(f"/exams/registrations/{registration_id}/ticket").status_code == 404
        assert admin.get(f"/exams/registrations/{registration_id}/ticket").status_code == 403


def _other_candidate(app) -> str:
    from exam_portal.models.accounts import User

    user_id = _candidate(app)
    with app.app_context():
        return db.session.get(User, user_id).email


def test_an_administrator_reviews_registrations_in_bulk(app):
    with freeze_time(NOW):
        admin = _admin_client(app)
        session_id = _create(admin)
        for _ in range(3):
            client = _signed_in(app, _other_candidate(app))
            assert client.post(f"/exams/sessions/{session_id}/register", data={
                f"s{session_id}-level": "ASSISTANT", f"s{session_id}-region": "11",
                f"s{session_id}-declared": "y"}).status_code == 302
        with app.app_context():
            ids = [r.id for r in db.session.scalars(sa.select(Registration).order_by(
                Registration.id))]
        queue = admin.get(f"/admin/sessions/{session_id}/registrations?status=DECLARED")
        assert queue.get_data(as_text=True).count('name="registration"') == 3
        url = f"/admin/sessions/{session_id}/registrations/review"
        without_reason = admin.post(url, data={"registration": [str(ids[0])],
                                               "action": "reject", "reason": ""},
                                    follow_redirects=True)
        assert "原因" in without_reason.get_data(as_text=True)
        assert admin.post(url, data={"registration": [str(i) for i in ids[:2]],
                                     "action": "verify"}).status_code == 302
        assert admin.post(url, data={"registration": [str(ids[2])], "action": "reject",
                                     "reason": "学历证明不清晰"}).status_code == 302
        found = admin.get(f"/admin/sessions/{session_id}/registrations?status=REJECTED")
        assert "学历证明不清晰" in found.get_data(as_text=True)
    with app.app_context():
        statuses = [db.session.get(Registration, i).status for i in ids]
    assert statuses == [RegistrationStatus.VERIFIED, RegistrationStatus.VERIFIED,
                        RegistrationStatus.REJECTED]


def test_review_form_refusals_change_nothing_and_never_default_to_verify(app):
    with freeze_time(NOW):
        admin = _admin_client(app)
        session_id = _create(admin)
        client = _signed_in(app, _other_candidate(app))
        client.post(f"/exams/sessions/{session_id}/register", data={
            f"s{session_id}-level": "ASSISTANT", f"s{session_id}-region": "11",
            f"s{session_id}-declared": "y"})
        with app.app_context():
            registration_id = db.session.scalars(sa.select(Registration.id)).one()
        url = f"/admin/sessions/{session_id}/registrations/review"
        queue = admin.get(f"/admin/sessions/{session_id}/registrations").get_data(
            as_text=True)
        assert "<option selected" not in queue  # no outcome is chosen for the reviewer
        assert "社会工作专业" in queue and "A-SW-" not in queue  # the route in words
        cases = [
            ({"registration": ["99999999999999999999"], "action": "verify"}, "至少选择"),
            ({"registration": ["²"], "action": "verify"}, "至少选择"),
            ({"registration": [str(registration_id)]}, "请选择审核结果"),
            ({"registration": [str(registration_id)], "action": "reject", "reason": " "},
             "退回报名须填写原因"),
            ({"registration": [str(registration_id)], "action": "reject",
              "reason": "长" * 5000}, "原因最多 500 个字"),
        ]
        for data, message in cases:
            response = admin.post(url, data=data, follow_redirects=True)
            assert response.status_code == 200
            assert message in response.get_data(as_text=True), data
        with app.app_context():
            assert db.session.get(Registration, registration_id).status is \
                RegistrationStatus.DECLARED
        done = admin.post(url, data={"registration": [str(registration_id)],
                                     "action": "verify"}, follow_redirects=True)
        assert "已审核 1 条报名" in done.get_data(as_text=True)


def test_a_rejected_candidate_registers_again_and_may_withdraw_while_open(app):
    with freeze_time(NOW):
        admin = _admin_client(app)
        session_id = _create(admin)
        email = _other_candidate(app)
        client = _signed_in(app, email)
        form = {f"s{session_id}-level": "ASSISTANT", f"s{session_id}-region": "11",
                f"s{session_id}-declared": "y"}
        client.post(f"/exams/sessions/{session_id}/register", data=form)
        with app.app_context():
            first = db.session.scalars(sa.select(Registration)).one()
            first_id, first_number = first.id, first.admission_number
        admin.post(f"/admin/sessions/{session_id}/registrations/review", data={
            "registration": [str(first_id)], "action": "reject", "reason": "学历证明不清晰"})
        ticket = client.get(f"/exams/registrations/{first_id}/ticket").get_data(as_text=True)
        assert "已被退回" in ticket and "学历证明不清晰" in ticket
        assert 'data-action="print"' not in ticket
        page = client.get("/exams").get_data(as_text=True)
        assert "重新报名" in page and 'value="ASSISTANT"' in page
        again = client.post(f"/exams/sessions/{session_id}/register", data=form,
                            follow_redirects=True)
        assert "报名成功" in again.get_data(as_text=True)
        with app.app_context():
            registration = db.session.get(Registration, first_id)
            assert registration.status is RegistrationStatus.DECLARED
            assert registration.admission_number != first_number
            assert registration.review_note is None
        # Already registered: the level is no longer offered.
        assert 'value="ASSISTANT"' not in client.get("/exams").get_data(as_text=True)
        assert client.post(f"/exams/registrations/{first_id}/withdraw").status_code == 302
        assert _count(app, Registration) == 0
        client.post(f"/exams/sessions/{session_id}/register", data=form)
        with app.app_context():
            kept_id = db.session.scalars(sa.select(Registration.id)).one()
    with freeze_time("2026-04-02"):  # registration has closed
        client = _signed_in(app, email)
        refused = client.post(f"/exams/registrations/{kept_id}/withdraw",
                              follow_redirects=True)
        assert "报名已截止" in refused.get_data(as_text=True)
    assert _count(app, Registration) == 1


def test_registration_offers_only_eligible_levels_and_keeps_a_refused_choice(app):
    with freeze_time(NOW):
        admin = _admin_client(app)
        session_id = _create(admin)
        client = _signed_in(app, _other_candidate(app))  # no work experience yet
        page = client.get("/exams").get_data(as_text=True)
        assert 'value="ASSISTANT"' in page and 'value="INTERMEDIATE"' not in page
        refused = client.post(f"/exams/sessions/{session_id}/register", data={
            f"s{session_id}-level": "INTERMEDIATE", f"s{session_id}-region": "54",
            f"s{session_id}-declared": "y"})
        assert refused.status_code == 422
        text = refused.get_data(as_text=True)
        assert "暂不符合" in text and re.search(r'<option selected value="540000">', text)
    assert _count(app, Registration) == 0


def test_pass_line_refusals_say_why_and_a_line_can_be_replaced_or_removed(app):
    admin = _admin_client(app)
    session_id = _create(admin)
    url = f"/admin/sessions/{session_id}/pass-lines"
    for line in ("101", "-1"):
        refused = admin.post(url, data={"subject": "COMP_JR", "region": "", "line": line},
                             follow_redirects=True)
        assert "合格线应在 0 到 100 分之间" in refused.get_data(as_text=True)
    admin.post(url, data={"subject": "COMP_JR", "region": "54", "line": "53"})
    replaced = admin.post(url, data={"subject": "COMP_JR", "region": "54", "line": "54"},
                          follow_redirects=True)
    assert "由 53 分改为 54 分" in replaced.get_data(as_text=True)
    with app.app_context():
        line_id = db.session.get(ExamSession, session_id).pass_lines[0].id
    assert admin.post(f"{url}/{line_id}/remove").status_code == 302
    with app.app_context():
        assert db.session.get(ExamSession, session_id).pass_lines == []


def test_a_session_whose_year_differs_from_its_exam_date_is_refused(app):
    admin = _admin_client(app)
    response = admin.post("/admin/sessions/new", data={**SESSION_FORM, "year": "2027"})
    assert "考试年度应与考试开始日期所在的年份一致" in response.get_data(as_text=True)
    assert _count(app, ExamSession) == 0


def test_english_pages_name_regions_in_english(app):
    admin = _admin_client(app)
    session_id = _create(admin)
    admin.post("/language", data={"locale": "en", "next": "/"})
    admin.post(f"/admin/sessions/{session_id}/pass-lines",
               data={"subject": "COMP_JR", "region": "54", "line": "53"})
    page = admin.get(f"/admin/sessions/{session_id}").get_data(as_text=True)
    assert "Xizang" in page and "西藏" not in page
    assert "、" not in page and "；" not in page


def test_a_not_a_number_line_is_refused_with_a_message(app):
    admin = _admin_client(app)
    session_id = _create(admin)
    for line in ("sNaN", "NaN", "Infinity"):
        response = admin.post(f"/admin/sessions/{session_id}/pass-lines",
                              data={"subject": "COMP_JR", "region": "", "line": line},
                              follow_redirects=True)
        assert response.status_code == 200 and "请输入数字" in response.get_data(as_text=True)
