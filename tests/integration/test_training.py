"""Training programmes and training certificates: completion derived from marked mock
papers only, issued once (also under concurrent requests, and in bulk as a job),
verified, revoked and reissued like qualification certificates; the administrator's
pages and the candidate's own progress."""

import json
import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.attempts import Attempt, AttemptStatus
from exam_portal.models.audit import AuditEvent
from exam_portal.models.certificates import Certificate, CertificateKind, CertificateStatus
from exam_portal.models.training import TrainingProgramme
from exam_portal.services import ServiceError
from exam_portal.services.certification import certificates, training, training_certificates
from question_bank.levels import Level
from question_bank.practice import Mode
from question_bank.subjects import Subject
from question_bank.training import Requirement

from ..conftest import PASSWORD
from ..factories import email_of, make_user
from .test_certificates import _pdf_text
from .test_sittings import NOW, _actor, _candidate

ADMIN_EMAIL = "training-admin@example.com"


@pytest.fixture
def admin(app) -> int:
    return make_user(app, Role.ADMIN, email=ADMIN_EMAIL)


def _programme(app, admin, *, name="综合能力（初级）冲刺班", level=Level.ASSISTANT,
               requirements=((Subject.COMP_JR, 2, 60),)) -> int:
    with app.app_context():
        programme = training.create_programme(training.ProgrammeFields(
            name=name, description="两份模拟试卷", level=level,
            requirements=tuple(Requirement(*r) for r in requirements)), _actor(admin))
        db.session.commit()
        return programme.id


def _paper(app, user_id, subject=Subject.COMP_JR, score=80.0, *, full=100, day=0,
           mode=Mode.MOCK, submitted=True) -> None:
    """A handed-in (or open) paper with a score, as marking leaves it."""
    with app.app_context():
        started = NOW + timedelta(days=day)
        db.session.add(Attempt(
            candidate_id=user_id, mode=mode, subject=subject, spec_version="2018", seed=1,
            device_token="t" * 32, full_halves=full * 2, pass_halves=full * 6 // 5,
            score_halves=int(score * 2), started_at=started,
            status=AttemptStatus.SUBMITTED if submitted else AttemptStatus.IN_PROGRESS,
            submitted_at=started + timedelta(hours=1) if submitted else None))
        db.session.commit()


def _completed(app, admin=None, **programme) -> tuple[int, int]:
    """A programme (2 COMP_JR papers at 60 %) and a candidate who completed it."""
    programme_id = _programme(app, admin, **programme)
    user_id = _candidate(app)
    _paper(app, user_id, score=60, day=1)
    _paper(app, user_id, score=91.5, day=3)
    return programme_id, user_id


def _issue(app, admin, programme_id, user_id) -> Certificate:
    with app.app_context():
        certificate = training_certificates.issue_for_programme(
            db.session.get(TrainingProgramme, programme_id), db.session.get(User, user_id),
            _actor(admin), now=NOW + timedelta(days=5))
        db.session.commit()
        db.session.refresh(certificate)
        db.session.expunge(certificate)
        return certificate


def _login(app, email):
    client = app.test_client()
    assert client.post("/auth/login", data={"email": email, "password": PASSWORD}
                       ).status_code == 302
    return client


def _completed_ids(app, programme_id) -> list[int]:
    with app.app_context():
        query = training.completed_query(db.session.get(TrainingProgramme, programme_id))
        return [user.id for user in db.session.scalars(query)]


def test_only_marked_mock_papers_at_the_minimum_count_towards_completion(app, admin):
    programme_id = _programme(app, admin)
    user_id = _candidate(app)
    _paper(app, user_id, score=95, mode=Mode.RANDOM)  # practice: not a mock paper
    _paper(app, user_id, score=95, mode=Mode.EXAM)  # an exam sitting neither
    _paper(app, user_id, score=95, submitted=False)  # not handed in
    _paper(app, user_id, Subject.PRAC_JR, score=95)  # another subject
    _paper(app, user_id, score=59.5)  # half a point short
    _paper(app, user_id, score=60, day=1)
    with app.app_context():
        programme = db.session.get(TrainingProgramme, programme_id)
        progress = training.progress_of(programme, user_id)
        assert not progress.is_complete and progress.shortfall == {Subject.COMP_JR: 1}
    assert _completed_ids(app, programme_id) == []  # the list query agrees with the rule
    _paper(app, user_id, score=72, full=120, day=2)  # exactly 60 % of its full marks
    with app.app_context():
        programme = db.session.get(TrainingProgramme, programme_id)
        progress = training.progress_of(programme, user_id)
        assert progress.is_complete
        assert progress.completed_at == NOW + timedelta(days=2, hours=1)
    assert _completed_ids(app, programme_id) == [user_id]


def test_no_certificate_without_completion_nor_twice_and_each_issue_is_audited(app, admin):
    programme_id = _programme(app, admin)
    user_id = _candidate(app)
    _paper(app, user_id, score=80)
    with app.app_context():
        with pytest.raises(ServiceError, match="尚未完成"):
            training_certificates.issue_for_programme(
                db.session.get(TrainingProgramme, programme_id),
                db.session.get(User, user_id), _actor(admin), now=NOW)
        db.session.rollback()
    _paper(app, user_id, score=80, day=1)
    certificate = _issue(app, admin, programme_id, user_id)
    assert certificate.kind is CertificateKind.TRAINING
    with app.app_context():
        with pytest.raises(ServiceError, match="已经取得"):
            training_certificates.issue_for_programme(
                db.session.get(TrainingProgramme, programme_id),
                db.session.get(User, user_id), _actor(admin), now=NOW)
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 1
        details = [json.loads(d) for d in db.session.scalars(sa.select(AuditEvent.details)
                   .where(AuditEvent.action == "certificate.issued"))]
        assert details == [{"number": certificate.number, "programme": programme_id,
                            "candidate": user_id, "key_id": "test-1", "replaces": None}]


def test_a_deactivated_programme_issues_nothing(app, admin):
    programme_id, user_id = _completed(app, admin)
    with app.app_context():
        programme = db.session.get(TrainingProgramme, programme_id)
        training.set_active(programme, False, _actor(admin))
        db.session.commit()
        with pytest.raises(ServiceError, match="已停用"):
            training_certificates.issue_for_programme(programme, db.session.get(User, user_id),
                                                      _actor(admin), now=NOW)
        with pytest.raises(ServiceError, match="已停用"):
            training_certificates.start_issuing(programme, _actor(admin))
        assert training.candidate_progress(user_id) == []  # candidates no longer see it


def test_closed_accounts_and_staff_are_neither_listed_nor_issued(app, admin):
    programme_id, closed = _completed(app, admin)
    promoted = _candidate(app)
    _paper(app, promoted, score=60, day=1)
    _paper(app, promoted, score=60, day=2)
    assert sorted(_completed_ids(app, programme_id)) == sorted([closed, promoted])
    with app.app_context():
        db.session.get(User, closed).is_active = False
        db.session.get(User, promoted).role = Role.TRAINER
        db.session.commit()
    assert _completed_ids(app, programme_id) == []
    with app.app_context():
        programme = db.session.get(TrainingProgramme, programme_id)
        for user_id in (closed, promoted):
            with pytest.raises(ServiceError, match="仍在使用的考生账户"):
                training_certificates.issue_for_programme(
                    programme, db.session.get(User, user_id), _actor(admin), now=NOW)
        assert training_certificates.issue_programme(programme, _actor(admin),
                                                     now=NOW)["issued"] == 0


def test_a_programme_deactivated_while_its_job_runs_issues_no_more(app, admin, monkeypatch):
    programme_id, _user_id = _completed(app, admin)
    second = _candidate(app)
    _paper(app, second, score=80, day=1)
    _paper(app, second, score=80, day=2)
    monkeypatch.setattr(training_certificates, "BULK_BATCH", 1)
    with app.app_context():
        programme = db.session.get(TrainingProgramme, programme_id)
        reports = []

        def deactivate_after_first_batch(phase, done, total):
            reports.append(done)
            db.session.commit()  # as a job's progress report does
            if done == 1:  # another administrator deactivates it meanwhile
                with db.engine.begin() as other:
                    other.execute(sa.update(TrainingProgramme).where(
                        TrainingProgramme.id == programme_id).values(is_active=False))

        summary = training_certificates.issue_programme(
            programme, _actor(admin), now=NOW, progress=deactivate_after_first_batch)
        assert reports == [0, 1, 2]
        assert summary["issued"] == 1 and summary["skipped"] == 1
        assert any("已停用" in reason for reason in summary["skipped_reasons"])


def test_concurrent_issues_give_one_training_certificate(app, admin, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite serialises writers: the race needs two server connections")
    programme_id, user_id = _completed(app, admin)
    outcomes, barrier = [], threading.Barrier(4)

    def issue():
        with app.app_context():
            barrier.wait()
            try:
                training_certificates.issue_for_programme(
                    db.session.get(TrainingProgramme, programme_id),
                    db.session.get(User, user_id), _actor(admin), now=NOW)
                db.session.commit()
                outcomes.append("issued")
            except (ServiceError, sa.exc.IntegrityError):
                db.session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=issue) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["issued", "refused", "refused", "refused"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 1


def test_the_verify_page_shows_a_training_certificate_its_kind_and_issuer(make_app, admin):
    app = make_app(CERT_ISSUER_TRAINING="某某社会工作培训中心")
    programme_id, user_id = _completed(app, admin, level=None)
    certificate = _issue(app, admin, programme_id, user_id)
    assert certificate.level is None and certificate.issuer == "某某社会工作培训中心"
    assert certificate.approved_on.isoformat() == "2026-03-13"  # the second paper, Beijing
    with app.app_context():
        stored = db.session.get(Certificate, certificate.id)
        assert certificates.signature_valid(stored)
        record = json.loads(stored.payload)
        assert record["kind"] == "TRAINING" and record["programme"] == "综合能力（初级）冲刺班"
        assert record["level"] is None and record["title"] == app.config["CERT_TITLE_TRAINING"]
        # A later rename of the programme leaves the signed record as it was.
        db.session.get(TrainingProgramme, programme_id).name = "改名后的项目"
        db.session.commit()
        assert certificates.signature_valid(db.session.get(Certificate, certificate.id))
    page = app.test_client().get("/verify", query_string={
        "n": certificate.number, "c": certificate.verification_code}).get_data(as_text=True)
    assert "真实有效" in page and "培训证书" in page and "某某社会工作培训中心" in page
    assert "综合能力（初级）冲刺班" in page and "完成日期" in page and "级别" not in page


def test_the_default_training_issuer_is_the_operator(app, admin):
    programme_id, user_id = _completed(app, admin)
    certificate = _issue(app, admin, programme_id, user_id)
    assert certificate.issuer == app.config["CERT_ISSUER"] == "社会工作者考试门户运营单位"
    assert certificate.level is Level.ASSISTANT


def test_revoke_and_reissue_a_training_certificate_on_the_detail_page(app, admin):
    programme_id, user_id = _completed(app, admin)
    certificate = _issue(app, admin, programme_id, user_id)
    client = _login(app, ADMIN_EMAIL)
    detail = client.get(f"/admin/certificates/{certificate.id}").get_data(as_text=True)
    assert "重新签发" in detail and "培训证书" in detail
    page = client.post(f"/admin/certificates/{certificate.id}/reissue",
                       data={"reason": "姓名更正"}, follow_redirects=True).get_data(as_text=True)
    assert "已重新签发" in page
    with app.app_context():
        old = db.session.get(Certificate, certificate.id)
        new = db.session.scalars(sa.select(Certificate).where(
            Certificate.status == CertificateStatus.VALID)).one()
        assert old.status is CertificateStatus.REVOKED and old.revoked_reason == "姓名更正"
        assert new.replaces_id == old.id and new.number != old.number
        assert new.kind is CertificateKind.TRAINING and new.approved_on == old.approved_on
        assert certificates.signature_valid(new) and certificates.signature_valid(old)
        new_id = new.id
        actions = list(db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.action.like("certificate.%")).order_by(AuditEvent.id)))
        assert actions == ["certificate.issued", "certificate.revoked", "certificate.issued"]
    client.post(f"/admin/certificates/{new_id}/revoke", data={"reason": "培训记录有误"})
    with app.app_context():
        assert db.session.get(Certificate, new_id).status is CertificateStatus.REVOKED
    verify = app.test_client().get("/verify", query_string={
        "n": certificate.number, "c": certificate.verification_code}).get_data(as_text=True)
    assert "已被吊销" in verify and "姓名更正" in verify


def test_issue_all_is_a_job_whose_summary_says_why_some_were_skipped(app, admin):
    programme_id = _programme(app, admin)
    users = [_candidate(app) for _ in range(4)]
    for user_id in users:
        _paper(app, user_id, score=70)
        _paper(app, user_id, score=75, day=1)
    _paper(app, _candidate(app), score=90)  # half-way: not listed, not counted
    _issue(app, admin, programme_id, users[0])
    with app.app_context():
        db.session.get(User, users[1]).profile.real_name = None  # cannot be printed
        db.session.commit()
    client = _login(app, ADMIN_EMAIL)
    response = client.post(f"/admin/training/{programme_id}/issue-all")
    assert response.status_code == 302 and "/admin/jobs/" in response.location
    job_page = client.get(response.location).get_data(as_text=True)
    assert "批量签发培训证书" in job_page and "缺少姓名" in job_page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Certificate.id)).where(
            Certificate.status == CertificateStatus.VALID)) == 3
        programme = db.session.get(TrainingProgramme, programme_id)
        summary = training_certificates.issue_programme(programme, _actor(admin), now=NOW)
        assert summary["issued"] == 0 and summary["skipped"] == 1  # nothing twice
        numbers = json.loads(db.session.scalars(sa.select(AuditEvent.details).where(
            AuditEvent.action == "certificate.issued_bulk")).one())["numbers"]
        assert len(numbers) == 2
        assert all(certificates.signature_valid(c)
                   for c in db.session.scalars(sa.select(Certificate)))
    from exam_portal.models.jobs import Job

    with app.app_context():
        job = db.session.scalars(sa.select(Job)).one()
        assert job.summary["issued"] == 2 and job.summary["skipped"] == 1


def test_the_admin_pages_create_edit_deactivate_and_issue(app, admin):
    client = _login(app, ADMIN_EMAIL)
    form = {"name": "法规冲刺", "description": "", "level": "", "papers_LAW_MID": "3",
            "percent_LAW_MID": "70"}
    empty = client.post("/admin/training/new", data={**form, "papers_LAW_MID": ""})
    assert "请至少为一个科目设定要求" in empty.get_data(as_text=True)
    bad = client.post("/admin/training/new", data={**form, "percent_LAW_MID": "101"})
    assert bad.status_code == 200
    other_level = client.post("/admin/training/new", data={**form, "level": "ASSISTANT"})
    assert "不属于项目的级别" in other_level.get_data(as_text=True)
    created = client.post("/admin/training/new", data=form)
    assert created.status_code == 302
    with app.app_context():
        programme = db.session.scalars(sa.select(TrainingProgramme)).one()
        programme_id = programme.id
        assert [(r.subject, r.papers, r.min_percent) for r in programme.requirements] == \
            [(Subject.LAW_MID, 3, 70)]
    assert "法规冲刺" in client.get("/admin/training").get_data(as_text=True)
    duplicate = client.post("/admin/training/new", data=form)
    assert "已有同名" in duplicate.get_data(as_text=True)
    edit = client.get(f"/admin/training/{programme_id}/edit").get_data(as_text=True)
    assert 'value="法规冲刺"' in edit
    client.post(f"/admin/training/{programme_id}/edit",
                data={**form, "papers_LAW_MID": "", "papers_COMP_JR": "1"})
    user_id = _candidate(app)
    _paper(app, user_id, score=61)
    detail = client.get(f"/admin/training/{programme_id}?q={email_of(app, user_id)[:8]}")
    assert email_of(app, user_id) in detail.get_data(as_text=True)
    assert email_of(app, user_id) not in client.get(
        f"/admin/training/{programme_id}?q=nobody").get_data(as_text=True)
    issued = client.post(f"/admin/training/{programme_id}/candidates/{user_id}/certificate",
                         follow_redirects=True).get_data(as_text=True)
    assert "证书已签发" in issued
    assert client.get("/admin/training/999/edit").status_code == 404
    client.post(f"/admin/training/{programme_id}/active/off")
    with app.app_context():
        programme = db.session.get(TrainingProgramme, programme_id)
        assert not programme.is_active
        assert [r.subject for r in programme.requirements] == [Subject.COMP_JR]
        actions = set(db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.action.like("training.%"))))
        assert actions == {"training.programme_created", "training.programme_updated",
                           "training.programme_deactivated"}


def test_a_candidate_sees_only_their_own_progress(app, admin):
    programme_id = _programme(app, admin, requirements=((Subject.COMP_JR, 3, 60),))
    mine, other = _candidate(app), _candidate(app)
    _paper(app, mine, score=80)
    _paper(app, mine, score=70, day=1)
    for day in range(3):
        _paper(app, other, score=90, day=day)
    page = _login(app, email_of(app, mine)).get("/practice/").get_data(as_text=True)
    assert "综合能力（初级）冲刺班" in page
    assert "已通过 2 / 3 份模拟试卷" in page and "已完成" not in page
    page = _login(app, email_of(app, other)).get("/practice/").get_data(as_text=True)
    assert "已通过 3 / 3 份模拟试卷" in page and "管理员签发后" in page
    _issue(app, admin, programme_id, other)
    page = _login(app, email_of(app, other)).get("/practice/").get_data(as_text=True)
    assert "证书已签发" in page and "管理员签发后" not in page


def test_trainers_and_candidates_are_refused_the_programme_pages(app, admin):
    programme_id, user_id = _completed(app, admin)
    trainer = make_user(app, Role.TRAINER, email="training-trainer@example.com")
    for client in (_login(app, email_of(app, trainer)), _login(app, email_of(app, user_id))):
        for url in ("/admin/training", "/admin/training/new",
                    f"/admin/training/{programme_id}", f"/admin/training/{programme_id}/edit"):
            assert client.get(url).status_code == 403, url
        for url in (f"/admin/training/{programme_id}/issue-all",
                    f"/admin/training/{programme_id}/active/off",
                    f"/admin/training/{programme_id}/candidates/{user_id}/certificate"):
            assert client.post(url).status_code == 403, url
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 0
        assert db.session.get(TrainingProgramme, programme_id).is_active


def test_the_training_certificate_pdf_names_the_programme(app, admin, tmp_path):
    programme_id, user_id = _completed(app, admin)
    certificate = _issue(app, admin, programme_id, user_id)
    owner = _login(app, email_of(app, user_id))
    response = owner.get(f"/account/certificates/{certificate.id}/certificate.pdf")
    assert response.status_code == 200
    text = _pdf_text(response.data, tmp_path).replace(" ", "")
    assert app.config["CERT_TITLE_TRAINING"] in text and "综合能力（初级）冲刺班" in text
    assert "Trainingcertificate" in text and "完成日期" in text
    mine = owner.get("/account/certificates").get_data(as_text=True)
    assert certificate.number in mine and "培训证书" in mine


def test_hostile_searches_of_who_completed_never_fail(app, admin):
    # A NUL went into the e-mail search, and PostgreSQL refused it: a 500 (now a 400
    # for any query parameter, web.py).
    programme_id, user_id = _completed(app, admin)
    email = email_of(app, user_id)
    client = _login(app, ADMIN_EMAIL)
    assert client.get(f"/admin/training/{programme_id}",
                      query_string={"q": email[:4] + "\x00"}).status_code == 400
    for search in ("' OR 1=1 --", "😀" * 40, "%", "\t"):
        response = client.get(f"/admin/training/{programme_id}", query_string={"q": search})
        assert response.status_code == 200
    found = client.get(f"/admin/training/{programme_id}", query_string={"q": email[:4]})
    assert email in found.get_data(as_text=True)


def test_a_long_programme_name_wraps_on_a_narrow_screen(app, admin):
    programme_id = _programme(app, admin, name="x" * 100)
    page = _login(app, ADMIN_EMAIL).get(f"/admin/training/{programme_id}").get_data(as_text=True)
    assert re.search(r'<h1 class="[^"]*text-break[^"]*">x{100}', page)
