"""Exam sessions through the pages: administrators create them, set pass lines and
review registrations; candidates register and open their admission ticket."""

import itertools
import re

import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.sittings import ExamSession, Registration, RegistrationStatus

from ..conftest import PASSWORD
from ..factories import make_user
from .test_sittings import NOW, _candidate

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
        assert number in text and "林晓" in text and "尚未审核通过" in text
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
