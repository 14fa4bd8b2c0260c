"""Training certificates: issued to a candidate who completed a training programme,
singly or for the whole programme as a background job, once per programme and
candidate (a partial unique index holds under concurrent requests). Signed, verified,
revoked and reissued like qualification certificates (services/certificates.py); the
title and issuer come from CERT_TITLE_TRAINING and CERT_ISSUER_TRAINING (by default
CERT_ISSUER, the portal's operator)."""

from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from question_bank import certificates as signing
from question_bank import training as rules

from ..clock import LOCAL_ZONE
from ..extensions import db
from ..models.accounts import CandidateProfile, User
from ..models.attempts import Attempt
from ..models.certificates import Certificate, CertificateKind, CertificateStatus
from ..models.training import TrainingProgramme
from ..models.types import utcnow
from . import ServiceError, audit, certificates, jobs, training


def issuer() -> str:
    return current_app.config.get("CERT_ISSUER_TRAINING") or current_app.config["CERT_ISSUER"]


def _already_issued() -> str:
    return gettext("这位考生已经取得这个培训项目的证书。")


def _not_completed() -> str:
    return gettext("考生尚未完成这个培训项目。")


def _new_certificate(programme: TrainingProgramme, candidate_id: int, profile,
                     approved_on: date, actor: User, now: datetime,
                     replaces: Certificate | None = None) -> Certificate:
    """A signed training certificate, not yet added; ServiceError (a reason to show)
    when the holder cannot be printed on one."""
    if profile is None or not profile.real_name or not profile.resident_id_masked:
        raise ServiceError(gettext("考生的个人资料缺少姓名或身份证号码，不能签发证书。"))
    certificate = Certificate(
        number=signing.new_number(), verification_code=signing.new_code(),
        kind=CertificateKind.TRAINING, programme_id=programme.id,
        programme_name=programme.name, candidate_id=candidate_id, level=programme.level,
        holder_name=profile.real_name, holder_id_masked=profile.resident_id_masked,
        holder_gender=profile.gender.value if profile.gender else None,
        holder_birth_date=profile.birth_date, approved_on=approved_on,
        title=current_app.config["CERT_TITLE_TRAINING"], issuer=issuer(),
        issued_by_id=actor.id, issued_at=now.astimezone(UTC).replace(microsecond=0),
        status=CertificateStatus.VALID, replaces_id=replaces.id if replaces else None)
    certificates._sign(certificate)
    return certificate


def _completed_on(progress: rules.Progress) -> date:
    return progress.completed_at.astimezone(LOCAL_ZONE).date()


def _add(certificate: Certificate) -> None:
    try:
        with db.session.begin_nested():
            db.session.add(certificate)
    except IntegrityError as error:
        raise ServiceError(_already_issued()) from error


def issue_for_programme(programme: TrainingProgramme, candidate: User, actor: User, *,
                        now: datetime) -> Certificate:
    """Issue the training certificate of a candidate who completed an active programme
    (audited)."""
    if not programme.is_active:
        raise ServiceError(gettext("已停用的培训项目不能签发证书。"))
    progress = training.progress_of(programme, candidate.id)
    if not progress.is_complete:
        raise ServiceError(_not_completed())
    certificate = _new_certificate(programme, candidate.id, candidate.profile,
                                   _completed_on(progress), actor, now)
    _add(certificate)
    audit.record("certificate.issued", target=certificate, actor=actor, details={
        "number": certificate.number, "programme": programme.id,
        "candidate": candidate.id, "key_id": certificate.key_id, "replaces": None})
    return certificate


def reissue(old: Certificate, actor: User, *, now: datetime) -> Certificate:
    """The replacement of a revoked training certificate: same completion date, the
    holder's and the programme's current names (audited). The completion is not checked
    again: it was when the certificate was first issued."""
    if old.status is not CertificateStatus.REVOKED:
        raise ServiceError(gettext("只有已吊销的证书才能被取代。"))
    programme = db.session.get(TrainingProgramme, old.programme_id)
    candidate = db.session.get(User, old.candidate_id)
    certificate = _new_certificate(programme, candidate.id, candidate.profile,
                                   old.approved_on, actor, now, replaces=old)
    _add(certificate)
    audit.record("certificate.issued", target=certificate, actor=actor, details={
        "number": certificate.number, "programme": programme.id,
        "candidate": candidate.id, "key_id": certificate.key_id, "replaces": old.number})
    return certificate


# The whole programme as a job ----------------------------------------------------------

BULK_JOB = "training.issue_programme"
BULK_BATCH = 500


def _waiting(programme: TrainingProgramme) -> list[int]:
    completed = training.completed_query(programme).with_only_columns(User.id)
    return list(db.session.scalars(completed.where(~sa.exists().where(
        Certificate.programme_id == programme.id, Certificate.candidate_id == User.id,
        Certificate.status == CertificateStatus.VALID)).order_by(User.id)))


def issue_programme(programme: TrainingProgramme, actor: User, *, now: datetime,
                    progress=certificates._no_progress) -> dict:
    """Issue a certificate to every candidate who completed the programme and has none
    yet, in batches (each batch one audit row listing its numbers); say how many were
    issued and why the others were skipped. Safe to run again."""
    if not programme.is_active:
        raise ServiceError(gettext("已停用的培训项目不能签发证书。"))
    waiting = _waiting(programme)
    requirements = programme.to_domain()
    subjects = [r.subject for r in requirements]
    issued, skipped = 0, {}

    def skip(reason: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1

    progress(certificates.PHASE_ISSUING, 0, len(waiting))
    for start in range(0, len(waiting), BULK_BATCH):
        ids = waiting[start:start + BULK_BATCH]
        profiles = {p.user_id: p for p in db.session.scalars(
            sa.select(CandidateProfile).where(CandidateProfile.user_id.in_(ids)))}
        scores: dict[int, list[rules.MockScore]] = {}
        for row in db.session.execute(training._marked_mocks(subjects).where(
                Attempt.candidate_id.in_(ids))):
            scores.setdefault(row.candidate_id, []).append(rules.MockScore(
                row.subject, row.score_halves, row.full_halves, row.submitted_at))
        batch = []
        for candidate_id in ids:
            outcome = rules.progress(requirements, scores.get(candidate_id, ()))
            if not outcome.is_complete:
                skip(_not_completed())  # the rule, not the list query, decides
                continue
            try:
                batch.append(_new_certificate(programme, candidate_id,
                                              profiles.get(candidate_id),
                                              _completed_on(outcome), actor, now))
            except ServiceError as error:
                skip(str(error))
        try:
            with db.session.begin_nested():
                db.session.add_all(batch)
        except IntegrityError:
            # One was issued singly meanwhile: this batch goes one by one.
            kept = []
            for certificate in batch:
                try:
                    _add(certificate)
                    kept.append(certificate)
                except ServiceError as error:
                    skip(str(error))
            batch = kept
        if batch:
            audit.record("certificate.issued_bulk", target=programme, actor=actor, details={
                "key_id": batch[0].key_id, "numbers": [c.number for c in batch]})
        issued += len(batch)
        progress(certificates.PHASE_ISSUING, min(start + BULK_BATCH, len(waiting)),
                 len(waiting))
    return {"issued": issued, "skipped": sum(skipped.values()), "skipped_reasons": skipped}


@jobs.job_kind(BULK_JOB)
def _issue_programme_job(params: dict, progress: jobs.Progress) -> dict:
    programme = db.session.get(TrainingProgramme, params["programme_id"])
    if programme is None:
        raise ServiceError(gettext("培训项目不存在。"))
    summary = issue_programme(programme, db.session.get(User, params["actor_id"]),
                              now=utcnow(), progress=progress)
    db.session.commit()
    return summary


def start_issuing(programme: TrainingProgramme, actor: User):
    """Issue the programme's certificates as a background job."""
    if not programme.is_active:
        raise ServiceError(gettext("已停用的培训项目不能签发证书。"))
    return jobs.submit(BULK_JOB, target_id=programme.id,
                       params={"programme_id": programme.id, "actor_id": actor.id},
                       actor=actor)


def issued_to(programme: TrainingProgramme, candidate_ids: list[int]) -> dict[int, Certificate]:
    """The valid certificates of the programme held by these candidates."""
    return {c.candidate_id: c for c in db.session.scalars(sa.select(Certificate).where(
        Certificate.programme_id == programme.id, Certificate.candidate_id.in_(candidate_ids),
        Certificate.status == CertificateStatus.VALID))}
