"""Registration evidence through the pages: documents checked by content (a refusal
stores nothing), listed, opened by their owner and administrators only (every
administrator's view audited), deleted until the review; the ID photo; what a route
needs; withdrawal takes the documents along."""

import io
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import CandidateProfile, EmploymentPeriod, Role, User
from exam_portal.models.audit import AuditEvent
from exam_portal.models.evidence import EvidenceDocument, EvidenceKind
from exam_portal.models.sittings import Registration, RegistrationStatus, VerificationMode
from exam_portal.services.accounts import photos
from exam_portal.services.exam_sessions import evidence, registration_review
from question_bank.levels import Level

from .. import evidence_files
from ..factories import make_user
from .practice_support import login
from .test_sittings import NOW, _actor, _candidate, _register, _session


@pytest.fixture
def admin(app) -> int:
    return make_user(app, Role.ADMIN, email="evidence-admin@example.com")


def _email(app, user_id) -> str:
    with app.app_context():
        return db.session.get(User, user_id).email


def _stored_files(app) -> set[str]:
    folder = Path(app.config["EVIDENCE_DIR"])
    return {path.name for path in folder.iterdir()} if folder.exists() else set()


def _upload(client, registration_id, data: bytes, *, name="degree.pdf", target="DEGREE",
            mimetype="application/pdf"):
    return client.post(f"/exams/registrations/{registration_id}/documents", data={
        "target": target, "file": (io.BytesIO(data), name, mimetype)},
        content_type="multipart/form-data")


def _documents(app) -> list[EvidenceDocument]:
    with app.app_context():
        found = list(db.session.scalars(sa.select(EvidenceDocument).order_by(
            EvidenceDocument.id)))
        db.session.expunge_all()
        return found


def _actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def _registered(app, admin, *, level=Level.ASSISTANT, mode=VerificationMode.BEFORE_EXAM,
                **candidate) -> tuple[int, int, int]:
    """A candidate registered for a session: (session id, candidate id, registration id)."""
    session_id = _session(app, admin, levels=(level,), verification_mode=mode)
    user_id = _candidate(app, **candidate)
    return session_id, user_id, _register(app, user_id, session_id, level).id


def test_a_candidate_uploads_sees_opens_and_deletes_a_document(app, admin):
    _, user_id, registration_id = _registered(app, admin)
    client = login(app, _email(app, user_id))
    page = client.get(f"/exams/registrations/{registration_id}/documents").get_data(
        as_text=True)
    assert "需要的材料" in page and "缺少" in page  # the degree, before the exam
    response = _upload(client, registration_id, evidence_files.pdf(), name="../../学位证书.pdf")
    assert response.status_code == 302, response.get_data(as_text=True)
    [document] = _documents(app)
    assert (document.kind, document.content_type, document.original_filename) == (
        EvidenceKind.DEGREE, "application/pdf", "学位证书.pdf")
    assert _stored_files(app) == {document.storage_key}
    page = client.get(f"/exams/registrations/{registration_id}/documents").get_data(
        as_text=True)
    assert "学位证书.pdf" in page and "已上传" in page
    opened = client.get(f"/evidence/documents/{document.id}")
    assert opened.status_code == 200 and opened.data == evidence_files.pdf()
    assert opened.headers["Content-Type"] == "application/pdf"
    assert opened.headers["Content-Disposition"].startswith("inline;")
    assert opened.headers["X-Content-Type-Options"] == "nosniff"
    assert opened.headers["Content-Security-Policy"].startswith("sandbox")
    assert "evidence.viewed" not in _actions(app)  # the owner's own view is not audited
    response = client.post(
        f"/exams/registrations/{registration_id}/documents/{document.id}/delete")
    assert response.status_code == 302
    assert _documents(app) == [] and _stored_files(app) == set()
    assert {"evidence.uploaded", "evidence.deleted"} <= set(_actions(app))


@pytest.mark.parametrize("name, data, message", [
    ("degree.pdf", b"<html><script>alert(1)</script></html>",
     "文件应为完整的 PDF、JPG 或 PNG 文件。"),
    ("scan.png", b"%PDF-1.7\n/OpenAction << /S /JavaScript /JS (app.alert(1)) >>\n%%EOF\n",
     "PDF 文件不能含有脚本或启动其他程序的动作。"),
    ("big.pdf", evidence_files.pdf() + b"\n" * 20_000, "文件不能超过 20 KB。"),
    ("empty.pdf", b"", "文件是空的。"),
])
def test_a_refused_upload_says_why_and_stores_nothing(make_app, admin, name, data, message):
    app = make_app(EVIDENCE_MAX_BYTES=20 * 1024)
    _, user_id, registration_id = _registered(app, admin)
    client = login(app, _email(app, user_id))
    response = _upload(client, registration_id, data, name=name)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _documents(app) == [] and _stored_files(app) == set()
    assert "evidence.uploaded" not in _actions(app)


def test_another_candidate_and_a_trainer_get_404_an_administrator_gets_it_audited(app, admin):
    _, user_id, registration_id = _registered(app, admin)
    owner = login(app, _email(app, user_id))
    assert _upload(owner, registration_id, evidence_files.png(), name="c.png",
                   mimetype="image/png").status_code == 302
    assert owner.post("/account/photo", data={"photo-photo": (
        io.BytesIO(evidence_files.photo()), "me.jpg", "image/jpeg")},
        content_type="multipart/form-data").status_code == 302
    [document] = _documents(app)
    urls = [f"/evidence/documents/{document.id}", f"/evidence/photos/{user_id}"]
    other = login(app, _email(app, _candidate(app)))
    trainer_id = make_user(app, Role.TRAINER, email="evidence-trainer@example.com")
    trainer = login(app, _email(app, trainer_id))
    for client in (other, trainer):
        for url in urls:
            assert client.get(url).status_code == 404, url
    assert other.get(f"/exams/registrations/{registration_id}/documents").status_code == 404
    assert other.post(f"/exams/registrations/{registration_id}/documents/{document.id}"
                      "/delete").status_code == 404
    assert len(_documents(app)) == 1
    administrator = login(app, "evidence-admin@example.com")
    image = administrator.get(urls[0])
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
    assert administrator.get(urls[1]).data == evidence_files.photo()
    actions = _actions(app)
    assert actions.count("evidence.viewed") == 1 and actions.count("evidence.photo_viewed") == 1


def test_once_reviewed_the_evidence_no_longer_changes(app, admin):
    _, user_id, registration_id = _registered(app, admin)
    client = login(app, _email(app, user_id))
    assert _upload(client, registration_id, evidence_files.pdf()).status_code == 302
    [document] = _documents(app)
    with app.app_context():
        registration_review.review([db.session.get(Registration, registration_id)],
                                   verify=True, reason="", actor=_actor(admin), now=NOW)
        db.session.commit()
    response = _upload(client, registration_id, evidence_files.jpeg(), name="more.jpg",
                       target="OTHER", mimetype="image/jpeg")
    assert response.status_code == 422
    assert "这条报名已经审核，材料不能再更改。" in response.get_data(as_text=True)
    client.post(f"/exams/registrations/{registration_id}/documents/{document.id}/delete")
    assert [d.id for d in _documents(app)] == [document.id]
    assert _stored_files(app) == {document.storage_key}  # the refused upload's file went
    page = client.get(f"/exams/registrations/{registration_id}/documents").get_data(
        as_text=True)
    assert "上传材料" not in page and "删除" not in page


def test_a_file_stored_for_a_row_that_never_commits_is_deleted(app, admin, monkeypatch):
    _, user_id, registration_id = _registered(app, admin)
    client = login(app, _email(app, user_id))
    real = evidence.attach

    def attach_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(evidence, "attach", attach_then_fail)
    with pytest.raises(RuntimeError):
        _upload(client, registration_id, evidence_files.pdf())
    assert _documents(app) == [] and _stored_files(app) == set()


def test_the_route_lists_each_counted_period_and_proofs_fill_it(app, admin):
    _, user_id, registration_id = _registered(
        app, admin, level=Level.INTERMEDIATE, work_since=date(2020, 8, 1))
    with app.app_context():
        period_id = db.session.scalar(sa.select(EmploymentPeriod.id).where(
            EmploymentPeriod.user_id == user_id))
    client = login(app, _email(app, user_id))
    url = f"/exams/registrations/{registration_id}/documents"
    page = client.get(url).get_data(as_text=True)
    assert "工作证明：某街道社会工作服务站" in page
    assert _upload(client, registration_id, evidence_files.jpeg(), name="work.jpg",
                   target=f"EMPLOYMENT-{period_id}", mimetype="image/jpeg").status_code == 302
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        needs = evidence.needs(registration)
        assert [(n.kind, n.met) for n in needs] == [
            (EvidenceKind.DEGREE, False), (EvidenceKind.EMPLOYMENT, True)]
    # A period of someone else cannot be named.
    stranger = _candidate(app, work_since=date(2019, 1, 1))
    with app.app_context():
        foreign = db.session.scalar(sa.select(EmploymentPeriod.id).where(
            EmploymentPeriod.user_id == stranger))
    assert _upload(client, registration_id, evidence_files.jpeg(),
                   target=f"EMPLOYMENT-{foreign}").status_code == 422
    assert len(_documents(app)) == 1


def test_under_the_declaration_scheme_documents_are_optional(app, admin):
    _, user_id, registration_id = _registered(app, admin, mode=VerificationMode.AFTER_EXAM)
    page = login(app, _email(app, user_id)).get(
        f"/exams/registrations/{registration_id}/documents").get_data(as_text=True)
    assert "告知承诺制" in page and "可提交的材料" in page and "缺少" not in page


def test_the_photo_is_checked_per_rule_and_replacing_it_deletes_the_old_file(app, admin):
    user_id = _candidate(app)
    client = login(app, _email(app, user_id))

    def send(data):
        return client.post("/account/photo", data={"photo-photo": (
            io.BytesIO(data), "photo.jpg", "image/jpeg")}, content_type="multipart/form-data")

    refused = send(evidence_files.photo(background=(120, 170, 230), size=(300, 400)))
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "照片尺寸应为 295×413 像素，当前为 300×400。" in text and "照片背景应为白色。" in text
    assert _stored_files(app) == set()
    assert send(evidence_files.photo()).status_code == 302
    with app.app_context():
        first = db.session.scalar(sa.select(CandidateProfile.photo_key))
    assert _stored_files(app) == {first}
    assert send(evidence_files.photo()).status_code == 302
    with app.app_context():
        user = db.session.get(User, user_id)
        second = user.profile.photo_key
        assert second != first and photos.photo_bytes(user) == evidence_files.photo()
    assert _stored_files(app) == {second}
    page = client.get("/account/profile").get_data(as_text=True)
    assert f"/evidence/photos/{user_id}" in page
    assert {"profile.photo_added", "profile.photo_replaced"} <= set(_actions(app))
    assert client.post("/account/export").get_json()["id_photo_uploaded_at"]


def test_the_data_export_lists_the_documents_attached(app, admin):
    _, user_id, registration_id = _registered(app, admin)
    client = login(app, _email(app, user_id))
    _upload(client, registration_id, evidence_files.pdf(), name="毕业证.pdf")
    [listed] = client.post("/account/export").get_json()["evidence_documents"]
    assert (listed["kind"], listed["filename"], listed["content_type"]) == (
        "DEGREE", "毕业证.pdf", "application/pdf")


def test_withdrawing_a_registration_deletes_its_documents(app, admin):
    _, user_id, registration_id = _registered(app, admin)
    with freeze_time(NOW):  # registration is open
        client = login(app, _email(app, user_id))
        assert _upload(client, registration_id, evidence_files.pdf()).status_code == 302
        response = client.post(f"/exams/registrations/{registration_id}/withdraw")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Registration, registration_id) is None
    assert _documents(app) == [] and _stored_files(app) == set()


def test_a_reviewed_registration_keeps_its_documents_when_a_period_is_deleted(app, admin):
    _, user_id, registration_id = _registered(
        app, admin, level=Level.INTERMEDIATE, work_since=date(2020, 8, 1))
    with app.app_context():
        period_id = db.session.scalar(sa.select(EmploymentPeriod.id))
    client = login(app, _email(app, user_id))
    _upload(client, registration_id, evidence_files.jpeg(), target=f"EMPLOYMENT-{period_id}")
    assert client.post(f"/account/employment-periods/{period_id}/delete").status_code == 302
    [document] = _documents(app)
    assert document.kind is EvidenceKind.EMPLOYMENT and document.employment_period_id is None
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        assert registration.status is RegistrationStatus.DECLARED
