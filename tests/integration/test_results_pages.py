"""A session's results through the pages: computed as a job, published after the exam,
read by each candidate in a score report (their own only), pass rates for admins."""

import json
import re
from decimal import Decimal

import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.sittings import ExamSession, Registration, ResultSource
from exam_portal.services.exam_sessions import scores
from question_bank.subjects import Subject

from .test_sittings import NOW
from .test_sittings_pages import _admin_client, _create, _other_candidate, _signed_in

AFTER_EXAM = "2026-06-15T03:00:00Z"


def _register(app, session_id, region="11") -> tuple[str, int]:
    email = _other_candidate(app)
    client = _signed_in(app, email)
    assert client.post(f"/exams/sessions/{session_id}/register", data={
        f"s{session_id}-level": "ASSISTANT", f"s{session_id}-region": region,
        f"s{session_id}-declared": "y"}).status_code == 302
    with app.app_context():
        registration_id = db.session.scalars(sa.select(Registration.id).order_by(
            Registration.id.desc())).first()
    return email, registration_id


def _score(app, registration_id, **subject_scores) -> None:
    """Record scores as after the exam (the session of SESSION_FORM ends 2026-06-14)."""
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        for subject, score in subject_scores.items():
            scores.record_score(registration, Subject(subject), Decimal(score),
                                 source=ResultSource.PAPER,
                                 now=registration.session.exam_closes_at)
        db.session.commit()


def _verify(admin, session_id, *registration_ids) -> None:
    assert admin.post(f"/admin/sessions/{session_id}/registrations/review", data={
        "registration": [str(i) for i in registration_ids], "action": "verify"}
    ).status_code == 302


def test_results_are_computed_as_a_job_then_published_and_read_by_their_owner(app):
    with freeze_time(NOW):
        admin = _admin_client(app)
        session_id = _create(admin)
        passer, passed_id = _register(app, session_id)
        _failer, failed_id = _register(app, session_id, region="31")
        _verify(admin, session_id, passed_id, failed_id)
        _score(app, passed_id, COMP_JR="72", PRAC_JR="65.5")
        _score(app, failed_id, COMP_JR="59.5", PRAC_JR="80")
        refused = admin.post(f"/admin/sessions/{session_id}/results/compute",
                             follow_redirects=True)
        assert "考试结束后才能计算成绩" in refused.get_data(as_text=True)
        owner = _signed_in(app, passer)
        early = owner.get(f"/exams/registrations/{passed_id}/results", follow_redirects=True)
        assert "还没有发布" in early.get_data(as_text=True)
    with freeze_time(AFTER_EXAM):
        admin = _admin_client(app)
        page = admin.get(f"/admin/sessions/{session_id}/results").get_data(as_text=True)
        assert "还没有计算过" in page
        computed = admin.post(f"/admin/sessions/{session_id}/results/compute")
        job_url = computed.headers["Location"]
        assert re.fullmatch(r"/admin/jobs/\d+", job_url)
        job_page = admin.get(job_url).get_data(as_text=True)
        assert "已完成" in job_page and "判定的科目成绩" in job_page
        assert admin.get(f"{job_url}/progress").get_json()["finished"] is True
        published = admin.post(f"/admin/sessions/{session_id}/results/publish",
                               follow_redirects=True).get_data(as_text=True)
        assert "成绩已发布" in published
        assert "50.0%" in published  # one of the two qualified
        owner = _signed_in(app, passer)
        assert f"/exams/registrations/{passed_id}/results" in owner.get("/exams").get_data(
            as_text=True)
        report = owner.get(f"/exams/registrations/{passed_id}/results").get_data(
            as_text=True)
        assert "72 / 100" in report and "65.5 / 100" in report and "已取得资格" in report
        assert owner.get(f"/exams/registrations/{failed_id}/results").status_code == 404
        assert admin.get(f"/exams/registrations/{passed_id}/results").status_code == 403
    with app.app_context():
        assert db.session.get(ExamSession, session_id).results_published_at is not None


def test_candidates_and_trainers_cannot_reach_jobs_or_results(app):
    from exam_portal.models.accounts import Role

    from ..factories import make_user

    with freeze_time(NOW):
        admin = _admin_client(app)
        session_id = _create(admin)
        make_user(app, Role.TRAINER, email="results-trainer@example.com")
        for client in (_signed_in(app, _other_candidate(app)),
                       _signed_in(app, "results-trainer@example.com")):
            assert client.get("/admin/jobs").status_code == 403
            assert client.get(f"/admin/sessions/{session_id}/results").status_code == 403
            assert client.post(f"/admin/sessions/{session_id}/results/compute"
                               ).status_code == 403


def test_a_corrected_score_needs_a_reason_and_leaves_an_audit_row_ex_14(app):
    from exam_portal.models.accounts import Role
    from exam_portal.models.audit import AuditEvent
    from exam_portal.models.sittings import SubjectResult

    from ..factories import make_user

    with freeze_time(NOW):
        admin = _admin_client(app)
        session_id = _create(admin)
        candidate_email, registration_id = _register(app, session_id)
        _verify(admin, session_id, registration_id)
        _score(app, registration_id, COMP_JR="58")
    with freeze_time(AFTER_EXAM):
        admin = _admin_client(app)
        with app.app_context():
            number = db.session.get(Registration, registration_id).admission_number
        url = f"/admin/sessions/{session_id}/scores/correct"
        form = {"admission_number": number, "subject": "COMP_JR", "score": "61"}
        refused = admin.post(url, data={**form, "reason": " "}, follow_redirects=True)
        assert "更正成绩须填写原因" in refused.get_data(as_text=True)
        unknown = admin.post(url, data={**form, "admission_number": "2099", "reason": "x"},
                             follow_redirects=True)
        assert "没有这个准考证号" in unknown.get_data(as_text=True)
        make_user(app, Role.TRAINER, email="ex14-trainer@example.com")
        for outsider in (_signed_in(app, candidate_email),
                         _signed_in(app, "ex14-trainer@example.com")):
            assert outsider.post(url, data={**form, "reason": "x"}).status_code == 403
        with app.app_context():
            assert db.session.scalars(sa.select(SubjectResult.score_halves)).one() == 116
        done = admin.post(url, data={**form, "reason": "复核发现漏计一题"},
                          follow_redirects=True)
        assert "已将" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(sa.select(SubjectResult.score_halves)).one() == 122
        event = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "score.corrected")).one()
        details = json.loads(event.details)
        assert details["before"] == 116 and details["after"] == 122
        assert details["reason"] == "复核发现漏计一题" and event.actor_id is not None


def test_the_senior_review_page_records_an_outcome(app):
    from exam_portal.models.accounts import Role, User
    from exam_portal.models.sittings import Qualification, QualificationStatus

    from ..factories import make_user
    from .test_results import _senior_pass

    admin_id = make_user(app, Role.ADMIN, email="senior-admin@example.com")
    session_id, _user_id = _senior_pass(app, admin_id)
    with app.app_context():
        email = db.session.get(User, admin_id).email
        qualification_id = db.session.scalars(sa.select(Qualification.id)).one()
    admin = _signed_in(app, email)
    page = admin.get(f"/admin/sessions/{session_id}/senior-reviews").get_data(as_text=True)
    assert "2026001113000001" in page and "考试合格，待评审" in page
    url = f"/admin/sessions/{session_id}/senior-reviews/{qualification_id}"
    refused = admin.post(url, data={"outcome": "", "note": "x"}, follow_redirects=True)
    assert "请选择评审结果" in refused.get_data(as_text=True)
    admin.post(url, data={"outcome": "passed", "note": "评审委员会决定"})
    with app.app_context():
        assert db.session.get(Qualification, qualification_id).status is \
            QualificationStatus.ACHIEVED
    assert admin.post(f"/admin/sessions/{session_id}/senior-reviews/99999",
                      data={"outcome": "passed", "note": "x"}).status_code == 404
