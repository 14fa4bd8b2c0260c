"""Registration evidence (报名材料): the documents a candidate attaches to a registration,
which of them the route needs, opening them, and deleting them when they expire.

What it promises:
- a file is what its bytes say (question_bank.documents), never what its name or the
  browser claims; it is checked and stored with no transaction open (`check_document`,
  `store`), and its row follows in one short transaction (`attach`); the file is
  deleted again if that transaction does not commit, and a deleted row's file only
  once its transaction has;
- evidence changes only while the registration waits for review (DECLARED): attaching
  and deleting lock the registration's row and read its status under that lock, as a
  review does, so once a decision is recorded nothing changes what it was based on;
  `fingerprint` lets a decision taken on one registration's page be refused when the
  documents changed after the page was read;
- a document is opened for its owner and for administrators only, and every opening
  by an administrator is audited.
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import EmploymentPeriod, HeldCertificate, Role, User
from exam_portal.models.evidence import EvidenceDocument, EvidenceKind
from exam_portal.models.sittings import (
    ExamSession,
    Registration,
    RegistrationStatus,
    VerificationMode,
)
from exam_portal.services import ServiceError
from exam_portal.services.accounts import profiles
from exam_portal.services.platform import audit, file_store
from question_bank import documents, eligibility
from question_bank import evidence as evidence_rules

# Documents one registration may hold: a degree, a proof for each period and
# certificate, and a few others fit easily.
MAX_DOCUMENTS = 20
_FILENAME_LENGTH = 120
# Control characters and the bidirectional overrides that make "exe.pdf" look like
# "fdp.exe": the name is shown to reviewers, so it must read as what it is.
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed the content checks, not yet stored."""

    data: bytes
    content_type: str
    filename: str  # for display only


@dataclass(frozen=True)
class StoredFile:
    key: str
    content_type: str
    size: int
    sha256: str
    filename: str


@dataclass(frozen=True)
class Target:
    """What a document proves: its kind, and the period or certificate it is for."""

    kind: EvidenceKind
    period_id: int | None = None
    certificate_id: int | None = None


def display_name(filename: str | None) -> str:
    """The name an upload was sent under, harmless to show: its last path part, no
    control or direction characters, at most 120 characters."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[/\\]", name)[-1]
    name = " ".join(_UNSAFE_NAME.sub("", name).split())
    if len(name) > _FILENAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        keep = extension if dot and len(extension) <= 10 else ""
        name = name[:_FILENAME_LENGTH - len(keep) - 2] + "…" + ("." + keep if keep else "")
    return name or gettext("未命名文件")


# Uploading -------------------------------------------------------------------------------

def check_document(data: bytes, filename: str | None) -> tuple[CheckedFile | None, list[str]]:
    """Judge an upload by its content; return it ready to store, or the reasons it is
    refused. Pure work that may take a moment: call it with no transaction open."""
    problems = documents.check_document(data, current_app.config["EVIDENCE_MAX_BYTES"])
    if problems:
        return None, [problem.render(gettext) for problem in problems]
    kind = documents.sniff(data)
    return CheckedFile(data, kind.content_type, display_name(filename)), []


def store(checked: CheckedFile) -> StoredFile:
    """Put a checked file in the evidence store under a new random key (before its row
    is written: see `attach`)."""
    key = file_store.new_key("doc")
    file_store.current().put(key, checked.data, checked.content_type)
    return StoredFile(key, checked.content_type, len(checked.data),
                      hashlib.sha256(checked.data).hexdigest(), checked.filename)


def attach(registration_id: int, candidate: User, target: Target, stored: StoredFile
           ) -> EvidenceDocument:
    """Record a stored file as evidence of the candidate's registration, while it waits
    for review (audited); the file is deleted if this transaction does not commit."""
    file_store.delete_unless_committed(stored.key)
    registration = _locked_own(registration_id, candidate)
    period_id = certificate_id = None
    if target.kind is EvidenceKind.EMPLOYMENT:
        period_id = _own_row_id(EmploymentPeriod, target.period_id, candidate,
                                gettext("请选择这份工作证明对应的工作经历。"))
    elif target.kind is EvidenceKind.CERTIFICATE:
        certificate_id = _own_row_id(HeldCertificate, target.certificate_id, candidate,
                                     gettext("请选择这份材料对应的证书。"))
    held = db.session.scalar(sa.select(sa.func.count(EvidenceDocument.id)).where(
        EvidenceDocument.registration_id == registration.id))
    if held >= MAX_DOCUMENTS:
        raise ServiceError(gettext("每条报名最多上传 %(n)d 份材料，请先删除不需要的材料。",
                                   n=MAX_DOCUMENTS))
    document = EvidenceDocument(
        registration_id=registration.id, kind=target.kind, employment_period_id=period_id,
        held_certificate_id=certificate_id, storage_key=stored.key,
        content_type=stored.content_type, size_bytes=stored.size,
        original_filename=stored.filename, sha256=stored.sha256)
    db.session.add(document)
    db.session.flush()
    audit.record("evidence.uploaded", target=document, actor=candidate, details={
        "registration": registration.id, "kind": target.kind.value,
        "content_type": stored.content_type, "size": stored.size, "sha256": stored.sha256})
    return document


def remove(document_id: int, registration_id: int, candidate: User) -> None:
    """Delete one of the candidate's documents while its registration waits for review
    (audited); the file goes once this transaction commits."""
    registration = _locked_own(registration_id, candidate)
    document = db.session.scalar(sa.select(EvidenceDocument).where(
        EvidenceDocument.id == document_id,
        EvidenceDocument.registration_id == registration.id))
    if document is None:
        raise ServiceError(gettext("没有这份材料。"))
    audit.record("evidence.deleted", target=document, actor=candidate, details={
        "registration": registration.id, "kind": document.kind.value,
        "sha256": document.sha256})
    file_store.delete_after_commit(document.storage_key)
    db.session.delete(document)
    db.session.flush()


def discard_all(registration: Registration) -> int:
    """Delete every document of a registration that is being withdrawn (the caller
    audits the withdrawal); the files go once the transaction commits. The row is locked
    first, so an upload under way lands before and goes too, or finds it gone."""
    db.session.scalar(sa.select(Registration.id).where(Registration.id == registration.id)
                      .with_for_update())
    found = list(db.session.scalars(sa.select(EvidenceDocument).where(
        EvidenceDocument.registration_id == registration.id)))
    for document in found:
        file_store.delete_after_commit(document.storage_key)
        db.session.delete(document)
    db.session.flush()
    return len(found)


def _locked_own(registration_id: int, candidate: User) -> Registration:
    """The candidate's registration, locked and read as committed now, if it still waits
    for review; otherwise the refusal that says why."""
    registration = db.session.scalar(
        sa.select(Registration).where(Registration.id == registration_id)
        .with_for_update().execution_options(populate_existing=True))
    if registration is None or registration.candidate_id != candidate.id:
        raise ServiceError(gettext("没有这条报名，可能已经撤销。"))
    if registration.status is not RegistrationStatus.DECLARED:
        raise ServiceError(gettext("这条报名已经审核，材料不能再更改。"))
    return registration


def _own_row_id(model, row_id: int | None, candidate: User, missing: str) -> int:
    if row_id is None or profiles.own_record_or_none(model, candidate, row_id) is None:
        raise ServiceError(missing)
    return row_id


# Reading ---------------------------------------------------------------------------------

def may_change(registration: Registration) -> bool:
    """Whether the candidate may still add or delete documents (as read by this request;
    `attach` and `remove` check again under the row's lock)."""
    return registration.status is RegistrationStatus.DECLARED


def documents_of(registration: Registration) -> list[EvidenceDocument]:
    return list(db.session.scalars(
        sa.select(EvidenceDocument).where(EvidenceDocument.registration_id == registration.id)
        .order_by(EvidenceDocument.uploaded_at, EvidenceDocument.id)))


def fingerprint(registration_id: int) -> str:
    """A short token of which documents the registration holds now (changes with every
    upload and deletion)."""
    ids = db.session.scalars(sa.select(EvidenceDocument.id).where(
        EvidenceDocument.registration_id == registration_id).order_by(EvidenceDocument.id))
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Need:
    """One document the route needs, and whether one is attached."""

    kind: EvidenceKind
    met: bool
    period: EmploymentPeriod | None = None
    certificates: tuple[HeldCertificate, ...] = ()  # proof of any one of them


def required(registration: Registration) -> bool:
    """Documents are required when the session reviews registrations before the exam
    (非告知承诺制); under 告知承诺制 they are optional."""
    return registration.session.verification_mode is VerificationMode.BEFORE_EXAM


def needs(registration: Registration,
          attached: list[EvidenceDocument] | None = None) -> list[Need]:
    """The documents that prove the registration's route, from the candidate's profile
    as it stands: the degree, each social-work period the route counts, the certificate
    it rests on (none when the portal itself awarded it)."""
    attached = documents_of(registration) if attached is None else attached
    user = registration.candidate
    route = next((r for r in eligibility.ROUTES if r.code == registration.route_code), None)
    kinds = {document.kind for document in attached}
    result = [Need(EvidenceKind.DEGREE, EvidenceKind.DEGREE in kinds)]
    if route is None:
        return result
    found = evidence_rules.needs(profiles.background(user), route,
                                 registration.session.experience_cutoff)
    proved_periods = {d.employment_period_id for d in attached
                      if d.kind is EvidenceKind.EMPLOYMENT}
    periods = user.employment_periods
    result += [Need(EvidenceKind.EMPLOYMENT, periods[index].id in proved_periods,
                    period=periods[index]) for index in found.periods]
    entered = user.held_certificates
    # Indices past the entered certificates are the portal's own awards: its records
    # prove them, and one of them is enough.
    if found.certificates and all(index < len(entered) for index in found.certificates):
        candidates = tuple(entered[index] for index in found.certificates)
        proved = {d.held_certificate_id for d in attached if d.kind is EvidenceKind.CERTIFICATE}
        result.append(Need(EvidenceKind.CERTIFICATE,
                           any(c.id in proved for c in candidates), certificates=candidates))
    return result


def open_document(document_id: int, viewer: User) -> tuple[EvidenceDocument, bytes] | None:
    """The document and its bytes for its owner or an administrator (audited for the
    administrator); None for anyone else, or when there is no such document."""
    document = db.session.get(EvidenceDocument, document_id)
    if document is None:
        return None
    owner_id = db.session.scalar(sa.select(Registration.candidate_id).where(
        Registration.id == document.registration_id))
    is_owner = viewer.role is Role.CANDIDATE and viewer.id == owner_id
    if not (is_owner or viewer.role is Role.ADMIN):
        return None
    try:
        data = file_store.current().get(document.storage_key)
    except file_store.MissingFile:
        current_app.logger.error("evidence document %s: its file is missing", document.id)
        return None
    if not is_owner:
        audit.record("evidence.viewed", target=document, actor=viewer,
                     details={"registration": document.registration_id,
                              "candidate": owner_id})
    return document, data


# Retention -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expired:
    """A session whose documents are past retention: how many and how large."""

    session: ExamSession
    documents: int
    size_bytes: int


def expired(now: datetime, days: int) -> list[Expired]:
    """Sessions whose exam ended more than *days* days before *now* and which still hold
    documents, oldest first."""
    rows = db.session.execute(
        sa.select(ExamSession, sa.func.count(EvidenceDocument.id),
                  sa.func.coalesce(sa.func.sum(EvidenceDocument.size_bytes), 0))
        .join(Registration, Registration.session_id == ExamSession.id)
        .join(EvidenceDocument, EvidenceDocument.registration_id == Registration.id)
        .where(ExamSession.exam_closes_at < now - timedelta(days=days))
        .group_by(ExamSession.id).order_by(ExamSession.exam_closes_at, ExamSession.id)).all()
    return [Expired(session, count, int(size)) for session, count, size in rows]


def purge_batch(session: ExamSession, *, days: int, limit: int = 200) -> list[str]:
    """Delete up to *limit* of the session's documents (audited) and return their keys:
    the caller commits, then deletes the files, so no row is left without its file."""
    found = list(db.session.scalars(
        sa.select(EvidenceDocument).join(Registration)
        .where(Registration.session_id == session.id)
        .order_by(EvidenceDocument.id).limit(limit)))
    if not found:
        return []
    audit.record("evidence.purged", target=session, details={
        "documents": len(found), "size": sum(d.size_bytes for d in found),
        "retention_days": days, "exam_closed_at": session.exam_closes_at.isoformat()})
    db.session.execute(sa.delete(EvidenceDocument).where(
        EvidenceDocument.id.in_([d.id for d in found])))
    return [d.storage_key for d in found]
