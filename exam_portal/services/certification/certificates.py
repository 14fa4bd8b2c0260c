"""Issuing, verifying, revoking and reissuing certificates.

A certificate is issued only from a recorded, achieved qualification of a published
session, once (a partial unique index holds under concurrent requests). Its record —
holder snapshot, level, session, approval date, valid region, title, issuer — is
signed with Ed25519 over its canonical JSON, under a key id, and stored with the exact
bytes signed. Revocation never deletes; a reissue gets a new number and code, and the
old certificate stays revoked. Every change is audited.
"""

import hmac
import re
from collections import Counter
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from exam_portal.extensions import db
from exam_portal.models.accounts import CandidateProfile, User
from exam_portal.models.certificates import Certificate, CertificateKind, CertificateStatus
from exam_portal.models.sittings import (
    ExamSession,
    Qualification,
    QualificationStatus,
    Registration,
)
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.certification import certificate_notices
from exam_portal.services.platform import audit, jobs, text_search
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank import certificates as signing

MAX_REASON = 500


def signing_keys() -> list[tuple[str, object]]:
    """The configured keys, the signing one first (parsed once per setting)."""
    setting = current_app.config.get("CERT_SIGNING_KEYS") or ""
    cached = current_app.extensions.get("cert_signing_keys")
    if cached is None or cached[0] != setting:
        if not setting:
            raise ServiceError(gettext("尚未配置证书签名密钥，不能签发证书。"))
        cached = (setting, signing.parse_keys(setting))
        current_app.extensions["cert_signing_keys"] = cached
    return cached[1]


def public_keys() -> dict[str, bytes]:
    return {key_id: signing.public_key_bytes(key) for key_id, key in signing_keys()}


def record_of(certificate: Certificate) -> dict:
    """What a certificate's signature covers, from its columns. A training certificate
    adds "programme" (the programme's name as at issue) and may have no level."""
    record = {
        "number": certificate.number, "kind": certificate.kind.value,
        "title": certificate.title, "issuer": certificate.issuer,
        "holder": {"name": certificate.holder_name, "id": certificate.holder_id_masked,
                   "gender": certificate.holder_gender,
                   "birth_date": certificate.holder_birth_date.isoformat()
                   if certificate.holder_birth_date else None},
        "level": certificate.level.value if certificate.level else None,
        "approved_on": certificate.approved_on.isoformat(),
        "valid_region": certificate.valid_region,
        "session": _session_label(certificate.session_id),
        "issued_at": certificate.issued_at.isoformat(timespec="seconds"),
        "replaces": _number_of(certificate.replaces_id),
    }
    if certificate.kind is CertificateKind.TRAINING:
        # Only here: qualification records (and their signatures) stay as they were.
        record["programme"] = certificate.programme_name
    return record


def _session_label(session_id: int | None) -> dict | None:
    session = db.session.get(ExamSession, session_id) if session_id else None
    return {"year": session.year, "name": session.name} if session else None


def _number_of(certificate_id: int | None) -> str | None:
    return db.session.scalar(sa.select(Certificate.number).where(
        Certificate.id == certificate_id)) if certificate_id else None


def _sign(certificate: Certificate) -> None:
    key_id, key = signing_keys()[0]
    payload = signing.canonical(record_of(certificate))
    certificate.payload = payload.decode("utf-8")
    certificate.key_id, certificate.signature = key_id, signing.sign(payload, key)


def signature_valid(certificate: Certificate) -> bool:
    """The stored bytes carry a good signature by a published key, and they are still
    what the certificate's columns say (an edited column breaks it too)."""
    payload = certificate.payload.encode("utf-8")
    return (signing.verify(payload, certificate.signature, certificate.key_id, public_keys())
            and payload == signing.canonical(record_of(certificate)))


# Issuing -----------------------------------------------------------------------------

def _approved_on(qualification: Qualification, session: ExamSession):
    moment = qualification.review_recorded_at or session.results_published_at
    return moment.astimezone(LOCAL_ZONE).date()


def new_certificate(kind: CertificateKind, *, candidate_id: int, profile, approved_on,
                    title: str, issuer: str, actor: User, now: datetime,
                    replaces: Certificate | None = None, **subject) -> Certificate:
    """A signed certificate of *kind* with the holder as at issue, not yet added;
    *subject* names what it attests (qualification and session, or programme).
    ServiceError (a reason to show) when the holder cannot be printed on one."""
    if profile is None or not profile.real_name or not profile.resident_id_masked:
        raise ServiceError(gettext("考生的个人资料缺少姓名或身份证号码，不能签发证书。"))
    certificate = Certificate(
        number=signing.new_number(), verification_code=signing.new_code(), kind=kind,
        candidate_id=candidate_id, holder_name=profile.real_name,
        holder_id_masked=profile.resident_id_masked,
        holder_gender=profile.gender.value if profile.gender else None,
        holder_birth_date=profile.birth_date, approved_on=approved_on, title=title,
        issuer=issuer, issued_by_id=actor.id,
        issued_at=now.astimezone(UTC).replace(microsecond=0), status=CertificateStatus.VALID,
        replaces_id=replaces.id if replaces else None, **subject)
    _sign(certificate)
    return certificate


def add(certificate: Certificate, already_issued: str) -> None:
    """Add a new certificate; ServiceError(*already_issued*) when its subject has a valid
    one already (the partial unique indexes decide, also for concurrent requests)."""
    try:
        with db.session.begin_nested():
            db.session.add(certificate)
    except IntegrityError as error:
        raise ServiceError(already_issued) from error
    certificate_notices.issued([certificate])


PHASE_ISSUING = "issuing"


def issue_in_batches(waiting: list[int], build, *, target, actor: User, already_issued: str,
                     batch_size: int, progress=jobs.no_progress) -> dict:
    """Issue certificates for *waiting* ids, *batch_size* at a time: *build(ids)* gives
    the batch's certificates and the reasons some ids were skipped. One audit row per
    batch lists its numbers. Returns how many were issued and why others were not."""
    issued, skipped = 0, Counter()
    progress(PHASE_ISSUING, 0, len(waiting))
    for start in range(0, len(waiting), batch_size):
        batch, reasons = build(waiting[start:start + batch_size])
        skipped.update(reasons)
        try:
            with db.session.begin_nested():
                db.session.add_all(batch)
        except IntegrityError:
            # One was issued singly meanwhile: this batch goes one by one.
            kept = []
            for certificate in batch:
                try:
                    add(certificate, already_issued)
                    kept.append(certificate)
                except ServiceError as error:
                    skipped[str(error)] += 1
            batch = kept
        if batch:
            certificate_notices.issued(batch)
            audit.record("certificate.issued_bulk", target=target, actor=actor, details={
                "key_id": batch[0].key_id, "numbers": [c.number for c in batch]})
        issued += len(batch)
        progress(PHASE_ISSUING, min(start + batch_size, len(waiting)), len(waiting))
    return {"issued": issued, "skipped": sum(skipped.values()), "skipped_reasons": dict(skipped)}


# Qualification certificates -------------------------------------------------------------

def _already_issued() -> str:
    return gettext("这项资格已经签发过证书。")


def _for_qualification(qualification: Qualification, session: ExamSession, profile,
                       actor: User, now: datetime, replaces: Certificate | None = None
                       ) -> Certificate:
    if session.results_published_at is None:
        raise ServiceError(gettext("成绩发布后才能签发证书。"))
    if qualification.status is not QualificationStatus.ACHIEVED:
        raise ServiceError(gettext("只有已取得的资格才能签发证书。"))
    return new_certificate(
        CertificateKind.QUALIFICATION, candidate_id=qualification.candidate_id,
        profile=profile, approved_on=_approved_on(qualification, session),
        title=current_app.config["CERT_TITLE_QUALIFICATION"],
        issuer=current_app.config["CERT_ISSUER"], actor=actor, now=now, replaces=replaces,
        qualification_id=qualification.id, level=qualification.level,
        session_id=session.id, valid_region=qualification.region)


def issue_for_qualification(qualification: Qualification, actor: User, *, now: datetime,
                            replaces: Certificate | None = None) -> Certificate:
    """Issue the certificate of an achieved qualification (audited)."""
    session = db.session.get(ExamSession, qualification.session_id)
    profile = db.session.get(User, qualification.candidate_id).profile
    certificate = _for_qualification(qualification, session, profile, actor, now, replaces)
    add(certificate, _already_issued())
    audit.record("certificate.issued", target=certificate, actor=actor, details={
        "number": certificate.number, "qualification": qualification.id,
        "level": qualification.level.value, "key_id": certificate.key_id,
        "replaces": replaces.number if replaces else None})
    return certificate


BULK_JOB = "certificates.issue_session"
BULK_BATCH = 1_000


def issue_session(session: ExamSession, actor: User, *, now: datetime,
                  progress=jobs.no_progress) -> dict:
    """Issue every achieved qualification of the session that has no valid certificate
    yet; say how many were issued and why the others were skipped. Safe to run again."""
    if session.results_published_at is None:
        raise ServiceError(gettext("成绩发布后才能签发证书。"))
    waiting = list(db.session.scalars(
        sa.select(Qualification.id).where(
            Qualification.session_id == session.id,
            Qualification.status == QualificationStatus.ACHIEVED,
            ~sa.exists().where(Certificate.qualification_id == Qualification.id,
                               Certificate.status == CertificateStatus.VALID))
        .order_by(Qualification.id)))

    def build(ids: list[int]) -> tuple[list[Certificate], list[str]]:
        batch, reasons = [], []
        for qualification, profile in db.session.execute(
                sa.select(Qualification, CandidateProfile)
                .outerjoin(CandidateProfile,
                           CandidateProfile.user_id == Qualification.candidate_id)
                .where(Qualification.id.in_(ids)).order_by(Qualification.id)):
            try:
                batch.append(_for_qualification(qualification, session, profile, actor, now))
            except ServiceError as error:
                reasons.append(str(error))
        return batch, reasons

    return issue_in_batches(waiting, build, target=session, actor=actor,
                            already_issued=_already_issued(), batch_size=BULK_BATCH,
                            progress=progress)


@jobs.job_kind(BULK_JOB)
def _issue_session_job(params: dict, progress: jobs.Progress) -> dict:
    session = db.session.get(ExamSession, params["session_id"])
    if session is None:
        raise ServiceError(gettext("考试批次不存在。"))
    summary = issue_session(session, db.session.get(User, params["actor_id"]), now=utcnow(),
                            progress=progress)
    db.session.commit()
    return summary


def start_issuing(session: ExamSession, actor: User):
    """Issue the session's certificates as a background job."""
    if session.results_published_at is None:
        raise ServiceError(gettext("成绩发布后才能签发证书。"))
    return jobs.submit(BULK_JOB, target_id=session.id,
                       params={"session_id": session.id, "actor_id": actor.id}, actor=actor)


def revoke(certificate: Certificate, reason: str, actor: User, *, now: datetime) -> None:
    """Revoke with a reason; the certificate stays, and verifying it says so (audited)."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(gettext("吊销证书须填写原因。"))
    if certificate.status is CertificateStatus.REVOKED:
        raise ServiceError(gettext("这张证书已经吊销。"))
    # Only a certificate still valid when this writes: of two revocations (or a
    # revocation and a reissue) at the same moment one wins, and the other is told
    # rather than writing its reason over the first one's.
    won = db.session.execute(
        sa.update(Certificate)
        .where(Certificate.id == certificate.id, Certificate.status == CertificateStatus.VALID)
        .values(status=CertificateStatus.REVOKED, revoked_at=now,
                revoked_reason=reason[:MAX_REASON], revoked_by_id=actor.id)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(certificate)
    if won != 1:
        raise ServiceError(gettext("这张证书刚刚已被吊销。"))
    audit.record("certificate.revoked", target=certificate, actor=actor,
                 details={"number": certificate.number, "reason": reason[:MAX_REASON]})
    certificate_notices.revoked(certificate, reason[:MAX_REASON])


# Verifying ---------------------------------------------------------------------------

def find(number: str, code: str) -> Certificate | None:
    """The certificate with this number and code, or None; one answer for a wrong
    number and a wrong code alike."""
    number, code = (number or "").strip().upper(), (code or "").strip()
    if not number or not code or len(number) > 24 or len(code) > 40:
        return None
    certificate = db.session.scalar(sa.select(Certificate).where(Certificate.number == number))
    given = code.encode("utf-8")
    if certificate is None:
        hmac.compare_digest(given, given)  # the same work as a match
        return None
    stored = certificate.verification_code.encode("utf-8")
    return certificate if hmac.compare_digest(stored, given) else None


_NUMBER = re.compile(r"SW-[0-9A-Z]{16}")


def search_query(text: str):
    """Certificates, newest first: by exact number, or else by the holder's name or the
    candidate's e-mail containing *text*."""
    query = sa.select(Certificate).order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    text = text.strip()[:100]
    if not text:
        return query
    if _NUMBER.fullmatch(text.upper()):
        return query.where(Certificate.number == text.upper())
    return query.join(User, User.id == Certificate.candidate_id).where(sa.or_(
        text_search.contains(Certificate.holder_name, text),
        text_search.contains(User.email, text)))


def achieved_query(session: ExamSession):
    """The session's achieved qualifications, the ones a certificate can be issued for."""
    return (sa.select(Qualification).where(
        Qualification.session_id == session.id,
        Qualification.status == QualificationStatus.ACHIEVED).order_by(Qualification.id))


def issue_state(qualifications: list[Qualification]) -> tuple[dict, dict]:
    """For a page of qualifications: their valid certificates, and the admission numbers
    of their registrations (each by one query)."""
    issued = {c.qualification_id: c for c in db.session.scalars(sa.select(Certificate).where(
        Certificate.qualification_id.in_([q.id for q in qualifications]),
        Certificate.status == CertificateStatus.VALID))}
    numbers = dict(db.session.execute(
        sa.select(Registration.id, Registration.admission_number)
        .where(Registration.id.in_([q.registration_id for q in qualifications]))).all())
    return issued, numbers


def own_certificates(candidate: User) -> list[Certificate]:
    return list(db.session.scalars(sa.select(Certificate).where(
        Certificate.candidate_id == candidate.id).order_by(Certificate.issued_at.desc())))
