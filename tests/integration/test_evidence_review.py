"""The review page of one registration: what the candidate declared beside the documents
and photo that prove it; the decision recorded through the review service (audited,
reason required to reject, a rejection confirmed first), then the next registration
waiting; a decision on documents that changed meanwhile is refused. And the retention
purge: documents of sessions whose exam ended longer ago than EVIDENCE_RETENTION_DAYS
go, files and rows, only with --yes."""

import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import EmploymentPeriod, HeldCertificate, Role, User
from exam_portal.models.audit import AuditEvent
from exam_portal.models.evidence import EvidenceDocument
from exam_portal.models.sittings import ExamSession, Registration, RegistrationStatus
from exam_portal.services.accounts import profiles
from question_bank.levels import CertificateMethod, Education, Level

from .. import evidence_files
from ..factories import make_user
from .practice_support import login
from .test_awarded_qualifications import _intermediate_by_the_portal
from .test_evidence import _documents, _email, _stored_files, _upload
from .test_sittings import NOW, _candidate, _register, _session

# Pages, forms and access rules: they read and write alike on both databases.
pytestmark = pytest.mark.usefixtures("one_leg")


@pytest.fixture
def admin(app) -> int:
    return make_user(app, Role.ADMIN, email="review-admin@example.com")


def _review_url(session_id, registration_id) -> str:
    return f"/admin/sessions/{session_id}/registrations/{registration_id}"


def _fingerprint(page: str) -> str:
    return re.search(r'name="evidence" type="hidden" value="([0-9a-f]+)"', page).group(1)


def _decide(client, session_id, registration_id, page, **form):
    return client.post(_review_url(session_id, registration_id) + "/decision",
                       data={"evidence": _fingerprint(page), **form})


def _status(app, registration_id) -> RegistrationStatus:
    with app.app_context():
        return db.session.get(Registration, registration_id).status


def _intermediate_candidate_with_proofs(app, admin) -> tuple[int, int, int]:
    """A 社会工作师 candidate from 高中 with a 助理 certificate (a certificate route),
    with a degree, a proof of work and the certificate uploaded, and a photo."""
    session_id = _session(app, admin, levels=(Level.INTERMEDIATE,))
    user_id = _candidate(app, education=Education.HIGH_SCHOOL, social_work_major=False,
                         work_since=date(2014, 1, 1), graduated=date(2010, 7, 1))
    with app.app_context():
        user = db.session.get(User, user_id)
        certificate = profiles.add_held_certificate(
            user, level=Level.ASSISTANT, obtained_on=date(2016, 6, 20),
            method=CertificateMethod.EXAM, region_limit=None, certificate_number="A-0001",
            today=NOW.date())
        db.session.commit()
        certificate_id = certificate.id
        period_id = db.session.scalar(sa.select(EmploymentPeriod.id).where(
            EmploymentPeriod.user_id == user_id))
    registration_id = _register(app, user_id, session_id, Level.INTERMEDIATE).id
    client = login(app, _email(app, user_id))
    for data, name, target, mimetype in (
            (evidence_files.pdf(), "高中毕业证.pdf", "DEGREE", "application/pdf"),
            (evidence_files.jpeg(), "在职证明.jpg", f"EMPLOYMENT-{period_id}", "image/jpeg"),
            (evidence_files.png(), "助理证书.png", f"CERTIFICATE-{certificate_id}", "image/png")):
        assert _upload(client, registration_id, data, name=name, target=target,
                       mimetype=mimetype).status_code == 302
    client.post("/account/photo", data={"photo-photo": (
        io.BytesIO(evidence_files.photo()), "p.jpg", "image/jpeg")},
        content_type="multipart/form-data")
    return session_id, user_id, registration_id


def test_the_review_page_shows_the_declaration_beside_its_proofs(app, admin):
    session_id, user_id, registration_id = _intermediate_candidate_with_proofs(app, admin)
    client = login(app, "review-admin@example.com")
    queue = client.get(f"/admin/sessions/{session_id}/registrations").get_data(as_text=True)
    assert _review_url(session_id, registration_id) in queue
    page = client.get(_review_url(session_id, registration_id)).get_data(as_text=True)
    for expected in ("林晓", "高中或中专", "社会工作", "2010-07-01", "某街道社会工作服务站",
                     "2014-01-01", "助理社会工作师", "A-0001", "取得证书后从事社会工作满 6 年",
                     "高中毕业证.pdf", "在职证明.jpg", "助理证书.png",
                     f"/evidence/photos/{user_id}"):
        assert expected in page, expected
    documents = _documents(app)
    for document in documents:
        assert f"/evidence/documents/{document.id}" in page
    assert '<iframe class="evidence-frame' in page and '<img class="evidence-image' in page
    assert "缺少" not in page  # all three proofs and the photo are there
    # Opening them from the page is audited, one event per view.
    for document in documents:
        assert client.get(f"/evidence/documents/{document.id}").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "evidence.viewed")) == 3


def test_a_certificate_the_portal_awarded_needs_no_document(app, admin):
    user_id, _qualification_id = _intermediate_by_the_portal(app, admin)
    session_id = _session(app, admin, levels=(Level.SENIOR,))
    registration_id = _register(app, user_id, session_id, Level.SENIOR).id
    client = login(app, "review-admin@example.com")
    page = client.get(_review_url(session_id, registration_id)).get_data(as_text=True)
    assert "本平台签发" in page and "证明：本平台的记录" in page
    with app.app_context():
        assert not db.session.scalar(sa.select(sa.func.count(HeldCertificate.id)))
    assert "证书：" not in page.split("材料核对")[1].split("证明材料")[0]


def test_a_decision_is_recorded_then_the_next_registration_waiting_opens(app, admin):
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    first = _register(app, _candidate(app), session_id).id
    second = _register(app, _candidate(app), session_id).id
    client = login(app, "review-admin@example.com")
    page = client.get(_review_url(session_id, first)).get_data(as_text=True)
    response = _decide(client, session_id, first, page, verify="1", reason="材料齐全")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(_review_url(session_id, second))
    assert _status(app, first) is RegistrationStatus.VERIFIED
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "registration.verified")).one()
        assert f'"registrations":[{first}]' in event.details
    # Rejecting needs a reason, then a confirmation.
    page = client.get(_review_url(session_id, second)).get_data(as_text=True)
    refused = _decide(client, session_id, second, page, reject="1", reason=" ")
    assert refused.status_code == 422 and "退回报名须填写原因。" in refused.get_data(as_text=True)
    asked = _decide(client, session_id, second, page, reject="1", reason="学历证书看不清")
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "确认退回这条报名？" in text and "学历证书看不清" in text
    assert _status(app, second) is RegistrationStatus.DECLARED
    done = _decide(client, session_id, second, page, reject="1", reason="学历证书看不清",
                   confirmed="1")
    assert done.headers["Location"].endswith(f"/admin/sessions/{session_id}/registrations")
    assert _status(app, second) is RegistrationStatus.REJECTED
    queue = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "没有待审核的报名了" in queue


def test_a_decision_on_documents_that_changed_meanwhile_is_refused(app, admin):
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    user_id = _candidate(app)
    registration_id = _register(app, user_id, session_id).id
    client = login(app, "review-admin@example.com")
    page = client.get(_review_url(session_id, registration_id)).get_data(as_text=True)
    candidate = login(app, _email(app, user_id))
    assert _upload(candidate, registration_id, evidence_files.pdf()).status_code == 302
    response = _decide(client, session_id, registration_id, page, verify="1")
    assert response.headers["Location"].endswith(_review_url(session_id, registration_id))
    assert "考生刚刚修改了报名材料" in client.get(response.headers["Location"]).get_data(
        as_text=True)
    assert _status(app, registration_id) is RegistrationStatus.DECLARED
    fresh = client.get(_review_url(session_id, registration_id)).get_data(as_text=True)
    assert _decide(client, session_id, registration_id, fresh, verify="1").status_code == 302
    assert _status(app, registration_id) is RegistrationStatus.VERIFIED


def test_a_registration_of_another_session_is_not_found(app, admin):
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    other_session = _session(app, admin, levels=(Level.ASSISTANT,), name="另一个批次")
    registration_id = _register(app, _candidate(app), session_id).id
    client = login(app, "review-admin@example.com")
    assert client.get(_review_url(other_session, registration_id)).status_code == 404


# Retention ------------------------------------------------------------------------------

def _age(app, session_id, days):
    """Move the session's exam *days* days into the past."""
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        closes = NOW - timedelta(days=days)
        session.exam_closes_at, session.exam_opens_at = closes, closes - timedelta(days=1)
        session.registration_closes_at = closes - timedelta(days=30)
        session.registration_opens_at = closes - timedelta(days=60)
        db.session.commit()


def test_the_purge_deletes_only_expired_documents_and_only_with_yes(app, admin):
    old_session = _session(app, admin, levels=(Level.ASSISTANT,), name="五年前的批次")
    new_session = _session(app, admin, levels=(Level.ASSISTANT,), name="去年的批次")
    for session_id in (old_session, new_session):
        user_id = _candidate(app)
        registration_id = _register(app, user_id, session_id).id
        client = login(app, _email(app, user_id))
        assert _upload(client, registration_id, evidence_files.pdf()).status_code == 302
        assert _upload(client, registration_id, evidence_files.png(), target="OTHER",
                       name="x.png", mimetype="image/png").status_code == 302
    _age(app, old_session, 1828)
    _age(app, new_session, 400)
    kept = {d.storage_key for d in _documents(app) if d.registration_id != 1}
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["evidence", "purge"])
    assert dry.exit_code == 0, dry.output
    assert "五年前的批次" in dry.output and "2 documents would be deleted" in dry.output
    assert "去年的批次" not in dry.output and len(_documents(app)) == 4
    done = runner.invoke(args=["evidence", "purge", "--yes", "--batch", "1"])
    assert done.exit_code == 0, done.output
    assert "2/2 documents deleted" in done.output
    assert {d.storage_key for d in _documents(app)} == kept == _stored_files(app)
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "evidence.purged")).all()
        assert len(events) == 2 and all(e.target_id == str(old_session) for e in events)
        assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 2
        assert db.session.scalar(sa.select(sa.func.count(EvidenceDocument.id))) == 2
    again = runner.invoke(args=["evidence", "purge", "--yes"])
    assert "no documents kept longer than 1827 days" in again.output
