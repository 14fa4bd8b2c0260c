"""Certificates: issued once from an achieved qualification, signed (Ed25519, key id),
verified publicly from what the database holds, revoked and reissued, never deleted
(CE-1 to CE-6, first part)."""

import itertools
import json
import re
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.audit import AuditEvent
from exam_portal.models.certificates import Certificate, CertificateStatus
from exam_portal.models.sittings import (
    ExamSession,
    Qualification,
    RegistrationStatus,
    ResultSource,
)
from exam_portal.services import ServiceError
from exam_portal.services.certification import certificates, reissuing
from exam_portal.services.exam_sessions import results, scores, sittings
from question_bank import certificates as signing
from question_bank.levels import Level
from question_bank.subjects import Subject

from ..conftest import PASSWORD
from ..factories import make_user
from .test_sittings import NOW, _actor, _candidate, _session

_emails = itertools.count(1)


@pytest.fixture
def admin(app) -> int:
    return make_user(app, Role.ADMIN, email="cert-admin@example.com")


def _achieved(app, admin, *, region="11", marks=("70", "70")) -> tuple[int, int]:
    """A published session in which a candidate qualified for 助理 (西藏, region 54, has
    its own line of 53 in COMP_JR); returns (qualification id, candidate id)."""
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    user_id = _candidate(app)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        sittings.set_pass_line(session, Subject.COMP_JR, "54", Decimal(53), _actor(admin))
        registration = sittings.register(db.session.get(User, user_id), session,
                                         Level.ASSISTANT, region, declared=True, now=NOW)
        registration.status = RegistrationStatus.VERIFIED
        for subject, score in zip((Subject.COMP_JR, Subject.PRAC_JR), marks, strict=True):
            scores.record_score(registration, subject, Decimal(score),
                                 source=ResultSource.PAPER, now=session.exam_closes_at)
        results.compute_results(session, now=session.exam_closes_at)
        results.publish(session, _actor(admin), now=session.exam_closes_at)
        db.session.commit()
        return db.session.scalars(sa.select(Qualification.id).where(
            Qualification.candidate_id == user_id)).one(), user_id


def _issue(app, admin, qualification_id) -> Certificate:
    with app.app_context():
        certificate = certificates.issue_for_qualification(
            db.session.get(Qualification, qualification_id), _actor(admin),
            now=NOW + timedelta(days=70))
        db.session.commit()
        db.session.refresh(certificate)
        db.session.expunge(certificate)
        return certificate


def test_a_certificate_is_issued_once_signed_and_audited(app, admin):
    qualification_id, user_id = _achieved(app, admin)
    certificate = _issue(app, admin, qualification_id)
    assert re.fullmatch(r"SW-[0-9A-HJKMNP-TV-Z]{16}", certificate.number)
    assert len(signing.from_b64url(certificate.verification_code)) == 20
    with app.app_context():
        stored = db.session.get(Certificate, certificate.id)
        assert certificates.signature_valid(stored)
        record = json.loads(stored.payload)
        assert record["holder"]["name"] == "林晓" and record["level"] == "ASSISTANT"
        assert "*" in record["holder"]["id"]  # masked, never the full ID
        assert stored.key_id == "test-1" and stored.issuer == app.config["CERT_ISSUER"]
        with pytest.raises(ServiceError, match="已经签发过"):
            certificates.issue_for_qualification(db.session.get(Qualification,
                                                                qualification_id),
                                                 _actor(admin), now=NOW)
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "certificate.issued")) == 1


def test_no_certificate_without_an_achieved_published_qualification(app, admin):
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    user_id = _candidate(app)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        registration = sittings.register(db.session.get(User, user_id), session,
                                         Level.ASSISTANT, "11", declared=True, now=NOW)
        registration.status = RegistrationStatus.VERIFIED
        for subject in (Subject.COMP_JR, Subject.PRAC_JR):
            scores.record_score(registration, subject, Decimal(70),
                                 source=ResultSource.PAPER, now=session.exam_closes_at)
        results.compute_results(session, now=session.exam_closes_at)
        qualification = db.session.scalars(sa.select(Qualification)).one()
        with pytest.raises(ServiceError, match="成绩发布后"):
            certificates.issue_for_qualification(qualification, _actor(admin), now=NOW)
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 0


def test_concurrent_issues_give_one_certificate(app, admin, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite serialises writers: the race needs two server connections")
    qualification_id, _user_id = _achieved(app, admin)
    outcomes, barrier = [], threading.Barrier(4)

    def issue():
        with app.app_context():
            barrier.wait()
            try:
                certificates.issue_for_qualification(
                    db.session.get(Qualification, qualification_id), _actor(admin), now=NOW)
                db.session.commit()
                outcomes.append("issued")
            except ServiceError:
                db.session.rollback()
                outcomes.append("refused")
            except sa.exc.IntegrityError:
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


def test_an_edited_column_or_payload_fails_the_signature(app, admin):
    qualification_id, _user_id = _achieved(app, admin)
    certificate = _issue(app, admin, qualification_id)
    with app.app_context():
        stored = db.session.get(Certificate, certificate.id)
        stored.holder_name = "王芳"  # a database edit behind the portal's back
        assert not certificates.signature_valid(stored)
        db.session.rollback()
        stored = db.session.get(Certificate, certificate.id)
        stored.payload = stored.payload.replace("ASSISTANT", "SENIOR")
        assert not certificates.signature_valid(stored)


def test_the_verify_page_shows_the_database_record_and_finds_nothing_else(app, admin):
    qualification_id, _user_id = _achieved(app, admin, region="54", marks=("55", "70"))
    certificate = _issue(app, admin, qualification_id)
    client = app.test_client()  # nobody signed in
    page = client.get(f"/verify?n={certificate.number.lower()}&c="
                      f"{certificate.verification_code}").get_data(as_text=True)
    assert "真实有效" in page and "林晓" in page and certificate.holder_id_masked in page
    assert "西藏" in page  # the valid region of a regional-line qualification
    for number, code in ((certificate.number, "x" * 27), ("SW-0000000000000000",
                                                          certificate.verification_code),
                         (certificate.number, ""), ("", ""), ("林" * 30, "码" * 50)):
        response = client.get("/verify", query_string={"n": number, "c": code})
        assert response.status_code == 200
        assert "林晓" not in response.get_data(as_text=True)


def test_revoked_stays_revoked_and_a_reissue_gets_a_new_number(app, admin):
    qualification_id, _user_id = _achieved(app, admin)
    certificate = _issue(app, admin, qualification_id)
    with app.app_context():
        stored = db.session.get(Certificate, certificate.id)
        with pytest.raises(ServiceError, match="原因"):
            certificates.revoke(stored, " ", _actor(admin), now=NOW)
        new = reissuing.reissue(stored, "姓名更正", _actor(admin), now=NOW)
        db.session.commit()
        assert new.number != stored.number and new.verification_code != \
            stored.verification_code
        assert stored.status is CertificateStatus.REVOKED and new.replaces_id == stored.id
        assert certificates.signature_valid(new)
        assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 2
        new_number, new_code = new.number, new.verification_code
    client = app.test_client()
    old_page = client.get("/verify", query_string={
        "n": certificate.number, "c": certificate.verification_code}).get_data(as_text=True)
    assert "已被吊销" in old_page and "姓名更正" in old_page
    assert "真实有效" in client.get("/verify", query_string={
        "n": new_number, "c": new_code}).get_data(as_text=True)


def test_old_certificates_verify_after_a_key_rotation(make_app, admin, app):
    qualification_id, _user_id = _achieved(app, admin)
    certificate = _issue(app, admin, qualification_id)
    old = app.config["CERT_SIGNING_KEYS"]
    rotated = make_app(CERT_SIGNING_KEYS=f"test-2:{signing.new_key_seed()},{old}")
    with rotated.app_context():
        stored = db.session.get(Certificate, certificate.id)
        assert certificates.signature_valid(stored)
        assert certificates.signing_keys()[0][0] == "test-2"  # new ones use the new key
    forgotten = make_app(CERT_SIGNING_KEYS=f"test-2:{signing.new_key_seed()}")
    with forgotten.app_context():
        assert not certificates.signature_valid(db.session.get(Certificate, certificate.id))


def test_a_candidate_sees_only_their_own_certificates(app, admin):
    qualification_id, user_id = _achieved(app, admin)
    certificate = _issue(app, admin, qualification_id)
    with app.app_context():
        email = db.session.get(User, user_id).email
    owner = app.test_client()
    owner.post("/auth/login", data={"email": email, "password": PASSWORD})
    page = owner.get("/account/certificates").get_data(as_text=True)
    assert certificate.number in page and certificate.verification_code in page
    other_id = _candidate(app)
    with app.app_context():
        other_email = db.session.get(User, other_id).email
    other = app.test_client()
    other.post("/auth/login", data={"email": other_email, "password": PASSWORD})
    assert certificate.number not in other.get("/account/certificates").get_data(as_text=True)
    assert other.get(f"/admin/certificates/{certificate.id}").status_code == 403


def test_the_admin_pages_issue_revoke_and_reissue(app, admin):
    qualification_id, _user_id = _achieved(app, admin)
    client = app.test_client()
    client.post("/auth/login", data={"email": "cert-admin@example.com", "password": PASSWORD})
    with app.app_context():
        session_id = db.session.get(Qualification, qualification_id).session_id
    listing = client.get(f"/admin/sessions/{session_id}/certificates").get_data(as_text=True)
    assert "签发" in listing
    issued = client.post(f"/admin/qualifications/{qualification_id}/certificate",
                         follow_redirects=True).get_data(as_text=True)
    assert "证书已签发" in issued
    again = client.post(f"/admin/qualifications/{qualification_id}/certificate",
                        follow_redirects=True).get_data(as_text=True)
    assert "已经签发过" in again
    with app.app_context():
        certificate_id = db.session.scalars(sa.select(Certificate.id)).one()
    refused = client.post(f"/admin/certificates/{certificate_id}/revoke", data={"reason": ""},
                          follow_redirects=True)
    assert "请填写原因" in refused.get_data(as_text=True)
    client.post(f"/admin/certificates/{certificate_id}/reissue", data={"reason": "照片更正"})
    with app.app_context():
        statuses = sorted(c.status.value for c in db.session.scalars(sa.select(Certificate)))
    assert statuses == ["REVOKED", "VALID"]


def test_production_refuses_to_start_without_signing_keys(database_url):
    from exam_portal import create_app

    with pytest.raises(RuntimeError, match="CERT_SIGNING_KEYS"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "PRODUCTION": True,
                    "SECRET_KEY": "a-real-production-secret-value"})
    with pytest.raises(RuntimeError, match="CERT_SIGNING_KEYS"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url,
                    "CERT_SIGNING_KEYS": "not-a-key"})


def _pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def _qr_texts(pdf: bytes, tmp_path) -> list[str]:
    import zxingcpp
    from PIL import Image

    path = tmp_path / "page.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(path),
                    str(tmp_path / "page")], check=True)
    return [found.text for found in zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))]


def test_the_pdf_carries_the_chinese_text_and_a_qr_code_to_the_verify_page(app, admin,
                                                                           tmp_path):
    qualification_id, user_id = _achieved(app, admin)
    certificate = _issue(app, admin, qualification_id)
    with app.app_context():
        email = db.session.get(User, user_id).email
    owner = app.test_client()
    owner.post("/auth/login", data={"email": email, "password": PASSWORD})
    response = owner.get(f"/account/certificates/{certificate.id}/certificate.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = _pdf_text(response.data, tmp_path)
    assert app.config["CERT_TITLE_QUALIFICATION"].replace(" ", "") in text.replace(" ", "")
    assert "林晓" in text.replace(" ", "") and certificate.number in text
    # The masked ID hides exactly the birth date: printing it would give the ID away.
    assert certificate.holder_birth_date and certificate.holder_birth_date.isoformat() not in text
    expected = (f"{app.config['PUBLIC_BASE_URL']}/verify?n={certificate.number}"
                f"&c={certificate.verification_code}")
    assert _qr_texts(response.data, tmp_path) == [expected]
    other_id = _candidate(app)
    with app.app_context():
        other_email = db.session.get(User, other_id).email
    other = app.test_client()
    other.post("/auth/login", data={"email": other_email, "password": PASSWORD})
    assert other.get(f"/account/certificates/{certificate.id}/certificate.pdf"
                     ).status_code == 404


def _session_with(app, admin, count) -> int:
    """A published session in which *count* candidates qualified for 助理."""
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    users = [_candidate(app) for _ in range(count)]
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        for user_id in users:
            registration = sittings.register(db.session.get(User, user_id), session,
                                             Level.ASSISTANT, "11", declared=True, now=NOW)
            registration.status = RegistrationStatus.VERIFIED
            for subject in (Subject.COMP_JR, Subject.PRAC_JR):
                scores.record_score(registration, subject, Decimal(70),
                                     source=ResultSource.PAPER, now=session.exam_closes_at)
        results.compute_results(session, now=session.exam_closes_at)
        results.publish(session, _actor(admin), now=session.exam_closes_at)
        db.session.commit()
    return session_id


def test_a_whole_session_is_issued_as_a_job_with_reasons_for_the_skipped(app, admin):
    session_id = _session_with(app, admin, 4)
    with app.app_context():
        qualifications = list(db.session.scalars(sa.select(Qualification).order_by(
            Qualification.id)))
        certificates.issue_for_qualification(qualifications[0], _actor(admin), now=NOW)
        profile = db.session.get(User, qualifications[1].candidate_id).profile
        profile.real_name = None  # cannot be printed on a certificate
        db.session.commit()
        session = db.session.get(ExamSession, session_id)
        job = certificates.start_issuing(session, _actor(admin))
        db.session.expire_all()
        summary = job.summary
        assert job.status.value == "SUCCEEDED", job.error
        assert summary["issued"] == 2 and summary["skipped"] == 1
        assert any("缺少姓名" in reason for reason in summary["skipped_reasons"])
        assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 3
        again = certificates.start_issuing(session, _actor(admin))
        db.session.expire_all()
        assert again.summary["issued"] == 0  # nothing issued twice
        numbers = json.loads(db.session.scalars(sa.select(AuditEvent.details).where(
            AuditEvent.action == "certificate.issued_bulk")).one())["numbers"]
        assert len(numbers) == 2
        assert all(certificates.signature_valid(c)
                   for c in db.session.scalars(sa.select(Certificate)))


def test_guessing_codes_finds_nothing_and_the_limit_answers_429_ce_4(make_app, admin, app):
    qualification_id, _user_id = _achieved(app, admin)
    certificate = _issue(app, admin, qualification_id)
    with app.app_context():
        hits = sum(certificates.find(certificate.number, signing.new_code()) is not None
                   for _ in range(1000))
    assert hits == 0
    limited = make_app(VERIFY_LIMIT_PER_ADDRESS="5 per minute")
    client = limited.test_client()
    answers = [client.get("/verify", query_string={"n": certificate.number,
                                                   "c": signing.new_code()}).status_code
               for _ in range(7)]
    assert answers[:5] == [200] * 5 and answers[5:] == [429, 429]


def _admin_client(app):
    client = app.test_client()
    client.post("/auth/login", data={"email": "cert-admin@example.com", "password": PASSWORD})
    return client


def test_hostile_numbers_find_nothing_and_never_fail(app, admin):
    # A NUL reached the database as the number, and PostgreSQL refused it: a 500. Now
    # any query parameter holding one is a 400 (web.py); the rest simply find nothing.
    certificate = _issue(app, admin, _achieved(app, admin)[0])
    anonymous = app.test_client()
    for number in ("SW-\x00", "\x00"):
        assert anonymous.get("/verify", query_string={
            "n": number, "c": certificate.verification_code}).status_code == 400
    for number in ("' OR 1=1 --", "ＳＷ－１２３", "😀" * 12):
        response = anonymous.get("/verify", query_string={
            "n": number, "c": certificate.verification_code})
        assert response.status_code == 200
        assert "没有找到" in response.get_data(as_text=True)
    client = _admin_client(app)
    for search in ("' OR 1=1 --", "😀", "SW-%"):
        response = client.get("/admin/certificates", query_string={"q": search})
        assert response.status_code == 200
        assert certificate.number not in response.get_data(as_text=True)
    assert client.get("/admin/certificates", query_string={"q": "\x00"}).status_code == 400
    found = client.get("/admin/certificates", query_string={"q": certificate.number.lower()})
    assert certificate.number in found.get_data(as_text=True)


def test_the_pdf_dates_the_issue_in_beijing_time(app, admin, tmp_path):
    # 17:30 UTC is already the next day in Beijing; the PDF printed the UTC date.
    qualification_id, _user_id = _achieved(app, admin)
    issued_at = datetime(2026, 9, 30, 17, 30, tzinfo=UTC)
    with app.app_context():
        certificate = certificates.issue_for_qualification(
            db.session.get(Qualification, qualification_id), _actor(admin), now=issued_at)
        db.session.commit()
        certificate_id = certificate.id
    response = _admin_client(app).get(f"/admin/certificates/{certificate_id}/certificate.pdf")
    text = _pdf_text(response.data, tmp_path)
    assert re.search(r"Issued：\s*2026-10-01", text), text
    assert "2026-09-30" not in text


def test_a_replaced_certificate_links_its_replacement_and_is_not_reissued_again(app, admin):
    certificate = _issue(app, admin, _achieved(app, admin)[0])
    client = _admin_client(app)
    client.post(f"/admin/certificates/{certificate.id}/reissue", data={"reason": "姓名更正"})
    with app.app_context():
        newer = db.session.scalars(sa.select(Certificate).where(
            Certificate.replaces_id == certificate.id)).one()
    page = client.get(f"/admin/certificates/{certificate.id}").get_data(as_text=True)
    assert newer.number in page and f"/admin/certificates/{newer.id}\"" in page
    assert f"/admin/certificates/{certificate.id}/reissue" not in page
    current = client.get(f"/admin/certificates/{newer.id}").get_data(as_text=True)
    assert f"/admin/certificates/{newer.id}/reissue" in current


def test_the_job_page_gives_skip_reasons_in_the_readers_language(app, admin):
    # The job runs without a request, so it records its reasons in Chinese.
    session_id = _session_with(app, admin, 2)
    with app.app_context():
        candidate_id = db.session.scalars(sa.select(Qualification.candidate_id)).first()
        db.session.get(User, candidate_id).profile.real_name = None
        db.session.commit()
        job = certificates.start_issuing(db.session.get(ExamSession, session_id), _actor(admin))
        job_id = job.id
    client = _admin_client(app)
    assert "缺少姓名" in client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    client.post("/language", data={"locale": "en", "next": "/"})
    page = client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert "lacks the name" in page and "缺少姓名" not in page


def test_the_holders_page_labels_the_code_in_english(app, admin):
    qualification_id, user_id = _achieved(app, admin)
    _issue(app, admin, qualification_id)
    with app.app_context():
        email = db.session.get(User, user_id).email
    owner = app.test_client()
    owner.post("/auth/login", data={"email": email, "password": PASSWORD})
    owner.post("/language", data={"locale": "en", "next": "/"})
    page = owner.get("/account/certificates").get_data(as_text=True)
    assert "Verification code: " in page and "Verification code：" not in page


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_the_pdf_names_the_level_in_chinese_and_in_english_whoever_downloads_it(
        app, admin, tmp_path, locale):
    # The level followed the downloader's language: an English-speaking holder got
    # "Assistant Social Worker" in the Chinese text, a Chinese one 助理 in the subtitle.
    qualification_id, user_id = _achieved(app, admin)
    certificate = _issue(app, admin, qualification_id)
    with app.app_context():
        email = db.session.get(User, user_id).email
    owner = app.test_client()
    owner.post("/auth/login", data={"email": email, "password": PASSWORD})
    owner.post("/language", data={"locale": locale, "next": "/"})
    text = _pdf_text(owner.get(f"/account/certificates/{certificate.id}/certificate.pdf"
                               ).data, tmp_path)
    assert re.search(r"级别\s*Level\s+助\s*理\s*社\s*会\s*工\s*作\s*师", text), text
    assert "examination · Assistant Social Worker" in text, text


def test_administrators_find_a_certificate_by_number_holder_or_email(app, admin):
    qualification_id, user_id = _achieved(app, admin)
    certificate = _issue(app, admin, qualification_id)
    with app.app_context():
        email = db.session.get(User, user_id).email
    client = app.test_client()
    client.post("/auth/login", data={"email": "cert-admin@example.com", "password": PASSWORD})

    def found(query):
        page = client.get("/admin/certificates", query_string={"q": query})
        assert page.status_code == 200
        return certificate.number in page.get_data(as_text=True)

    assert found(certificate.number.lower()) and found("林晓") and found(email.upper()[:8])
    assert not found("王芳") and not found("%") and not found("SW-0000000000000000")
