"""Training certificates: issued to a candidate who completed a training programme,
singly or for the whole programme as a background job, once per programme and
candidate (a partial unique index holds under concurrent requests). Signed, verified,
revoked and reissued like qualification certificates (services/certificates.py); the
title and issuer come from CERT_TITLE_TRAINING and CERT_ISSUER_TRAINING (by default
CERT_ISSUER, the portal's operator)."""

from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import CandidateProfile, Role, User
from exam_portal.models.certificates import Certificate, CertificateKind, CertificateStatus
from exam_portal.models.training import TrainingProgramme
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.certification import certificates, training
from exam_portal.services.platform import audit, jobs
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank import training as rules


def issuer() -> str:
    return current_app.config.get("CERT_ISSUER_TRAINING") or current_app.config["CERT_ISSUER"]


def _already_issued() -> str:
    return gettext("这位考生已经取得这个培训项目的证书。")


def _not_completed() -> str:
    return gettext("考生尚未完成这个培训项目。")


def _for_programme(programme: TrainingProgramme, candidate_id: int, profile,
                   approved_on: date, actor: User, now: datetime,
                   replaces: Certificate | None = None) -> Certificate:
    return certificates.new_certificate(
        CertificateKind.TRAINING, candidate_id=candidate_id, profile=profile,
        approved_on=approved_on, title=current_app.config["CERT_TITLE_TRAINING"],
        issuer=issuer(), actor=actor, now=now, replaces=replaces,
        programme_id=programme.id, programme_name=programme.name, level=programme.level)


def _completed_on(progress: rules.Progress) -> date:
    return progress.completed_at.astimezone(LOCAL_ZONE).date()


def _check_candidate(programme: TrainingProgramme, candidate: User) -> None:
    if not programme.is_active:
        raise ServiceError(gettext("已停用的培训项目不能签发证书。"))
    if candidate.role is not Role.CANDIDATE or not candidate.is_active:
        raise ServiceError(gettext("只能为仍在使用的考生账户签发证书。"))


def issue_for_programme(programme: TrainingProgramme, candidate: User, actor: User, *,
                        now: datetime) -> Certificate:
    """Issue the training certificate of a candidate who completed an active programme
    (audited)."""
    _check_candidate(programme, candidate)
    progress = training.progress_of(programme, candidate.id)
    if not progress.is_complete:
        raise ServiceError(_not_completed())
    certificate = _for_programme(programme, candidate.id, candidate.profile,
                                 _completed_on(progress), actor, now)
    certificates.add(certificate, _already_issued())
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
    certificate = _for_programme(programme, candidate.id, candidate.profile,
                                 old.approved_on, actor, now, replaces=old)
    certificates.add(certificate, _already_issued())
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
                    progress=jobs.no_progress) -> dict:
    """Issue a certificate to every candidate who completed the programme and has none
    yet; say how many were issued and why the others were skipped. Safe to run again."""
    if not programme.is_active:
        raise ServiceError(gettext("已停用的培训项目不能签发证书。"))
    requirements = programme.to_domain()
    subjects = [r.subject for r in requirements]

    def build(ids: list[int]) -> tuple[list[Certificate], list[str]]:
        db.session.refresh(programme)  # deactivated while the job runs: stop issuing
        if not programme.is_active:
            return [], [gettext("已停用的培训项目不能签发证书。")] * len(ids)
        profiles = {p.user_id: p for p in db.session.scalars(
            sa.select(CandidateProfile).where(CandidateProfile.user_id.in_(ids)))}
        scores = training.mock_scores(ids, subjects)
        batch, reasons = [], []
        for candidate_id in ids:
            outcome = rules.progress(requirements, scores.get(candidate_id, ()))
            if not outcome.is_complete:
                reasons.append(_not_completed())  # the rule, not the list query, decides
                continue
            try:
                batch.append(_for_programme(programme, candidate_id, profiles.get(candidate_id),
                                            _completed_on(outcome), actor, now))
            except ServiceError as error:
                reasons.append(str(error))
        return batch, reasons

    return certificates.issue_in_batches(
        _waiting(programme), build, target=programme, actor=actor,
        already_issued=_already_issued(), batch_size=BULK_BATCH, progress=progress)


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
