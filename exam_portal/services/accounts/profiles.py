"""Candidate profiles: identity, education, experience, certificates held."""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from exam_portal.extensions import db
from exam_portal.models.accounts import CandidateProfile, EmploymentPeriod, HeldCertificate, User
from exam_portal.models.certificates import Certificate, CertificateKind, CertificateStatus
from exam_portal.models.evidence import EvidenceDocument
from exam_portal.models.sittings import (
    ExamSession,
    Qualification,
    QualificationStatus,
    Registration,
)
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.platform import audit, crypto
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank import eligibility, regions
from question_bank.errors import InvalidResidentId
from question_bank.levels import CertificateMethod, Education, Level
from question_bank.resident_id import mask_resident_id, parse_resident_id

_ID_REASONS = {
    "length": _l("身份证号码应为 18 位。"),
    "characters": _l("身份证号码只能包含数字，最后一位可以是 X。"),
    "birth_date": _l("身份证号码中的出生日期无效。"),
    "check_character": _l("身份证号码校验位不正确，请核对。"),
}


@dataclass(frozen=True)
class ProfileChanges:
    """What the profile form submits; only these fields can be changed."""

    real_name: str
    resident_id: str | None  # None keeps the stored number
    id_consent: bool
    education: Education
    major: str
    is_social_work_major: bool
    graduation_date: date | None
    is_full_time: bool
    region: str


def get_or_create_profile(user: User) -> CandidateProfile:
    if user.profile is None:
        user.profile = CandidateProfile(user_id=user.id)
        db.session.add(user.profile)
        db.session.flush()
    return user.profile


def resident_id_error(text: str, today: date) -> str | None:
    """Return a message explaining why *text* is not a valid resident ID."""
    try:
        parse_resident_id(text, today=today)
    except InvalidResidentId as error:
        return str(_ID_REASONS.get(error.reason, _ID_REASONS["check_character"]))
    return None


def save_profile(user: User, changes: ProfileChanges, *, today: date) -> None:
    """Validate and store a profile; a duplicate resident ID changes nothing."""
    profile = get_or_create_profile(user)
    if changes.resident_id:
        if not changes.id_consent:
            raise ServiceError(_("保存身份证号码前，请先同意对其进行处理。"))
        try:
            parsed = parse_resident_id(changes.resident_id, today=today)
        except InvalidResidentId as error:
            raise ServiceError(resident_id_error(changes.resident_id, today)) from error
        index = crypto.resident_id_index(parsed.number)
        holder = db.session.scalar(
            sa.select(CandidateProfile.user_id).where(
                CandidateProfile.resident_id_index == index
            )
        )
        if holder is not None and holder != user.id:
            raise ServiceError(_("该身份证号码已被另一个账户使用。如有疑问请联系管理员。"))
        profile.resident_id_ciphertext = crypto.encrypt_resident_id(parsed.number)
        profile.resident_id_index = index
        profile.resident_id_masked = mask_resident_id(parsed.number)
        profile.birth_date = parsed.birth_date
        profile.gender = parsed.gender
        profile.id_consent_at = utcnow()
    profile.real_name = changes.real_name
    profile.education = changes.education
    profile.major = changes.major
    profile.is_social_work_major = changes.is_social_work_major
    profile.graduation_date = changes.graduation_date
    profile.is_full_time = changes.is_full_time
    profile.region = regions.normalise(changes.region) if changes.region else None
    audit.record("profile.updated", target=profile, actor=user)


def add_employment_period(
    user: User, *, employer: str, start_on: date, end_on: date | None,
    is_social_work: bool, today: date,
) -> EmploymentPeriod:
    """Record a period of employment."""
    if end_on is not None and end_on < start_on:
        raise ServiceError(_("结束日期不能早于开始日期。"))
    if start_on > today:
        raise ServiceError(_("开始日期不能晚于今天。"))
    period = EmploymentPeriod(
        user_id=user.id, employer=employer, start_on=start_on, end_on=end_on,
        is_social_work=is_social_work,
    )
    db.session.add(period)
    db.session.flush()
    audit.record("profile.employment_added", target=period, actor=user)
    return period


def repeated_period(user: User, period: EmploymentPeriod, *, today: date
                    ) -> EmploymentPeriod | None:
    """Another of the user's periods that *period* repeats (identical, inside or holding)."""
    others = [p for p in user.employment_periods if p.id != period.id]
    index = eligibility.repeated_in(period.to_domain(), [p.to_domain() for p in others],
                                    today=today)
    return None if index is None else others[index]


def add_held_certificate(
    user: User, *, level: Level, obtained_on: date, method: CertificateMethod,
    region_limit: str | None, certificate_number: str | None, today: date,
) -> HeldCertificate:
    """Record a certificate the candidate already holds."""
    if obtained_on > today:
        raise ServiceError(_("取得日期不能晚于今天。"))
    certificate = HeldCertificate(
        user_id=user.id, level=level, obtained_on=obtained_on, method=method,
        region_limit=regions.normalise(region_limit) if region_limit else None,
        certificate_number=certificate_number or None,
    )
    db.session.add(certificate)
    db.session.flush()
    audit.record("profile.certificate_added", target=certificate, actor=user)
    return certificate


def own_record_or_none(model, user: User, record_id: int):
    """Return the user's own row of *model*, or None (also for other users' rows)."""
    return db.session.scalar(
        sa.select(model).where(model.id == record_id, model.user_id == user.id)
    )


def delete_own_record(user: User, record) -> None:
    audit.record(
        f"profile.{record.__tablename__}_deleted", target=record, actor=user
    )
    db.session.delete(record)
    db.session.flush()


@dataclass(frozen=True)
class Awarded:
    """A qualification this portal awarded the candidate, as a certificate they hold:
    read-only on the profile, and counted for eligibility like one they entered."""

    held: eligibility.HeldCertificate
    certificate_id: int | None  # the certificate issued for it, once there is one
    certificate_number: str | None


def awarded(user: User) -> list[Awarded]:
    """Qualifications the portal awarded the candidate: each with its valid certificate,
    or, before one is issued, as the published results made it. A qualification whose
    certificate was revoked and not reissued no longer counts."""
    valid = (sa.select(Certificate.id, Certificate.number, Certificate.approved_on,
                       Certificate.qualification_id)
             .where(Certificate.kind == CertificateKind.QUALIFICATION,
                    Certificate.status == CertificateStatus.VALID).subquery())
    any_issued = sa.exists().where(Certificate.qualification_id == Qualification.id)
    rows = db.session.execute(
        sa.select(Qualification.level, Qualification.region, Qualification.review_recorded_at,
                  ExamSession.results_published_at, valid.c.id, valid.c.number,
                  valid.c.approved_on)
        .join(ExamSession, ExamSession.id == Qualification.session_id)
        .outerjoin(valid, valid.c.qualification_id == Qualification.id)
        .where(Qualification.candidate_id == user.id,
               Qualification.status == QualificationStatus.ACHIEVED,
               ExamSession.results_published_at.is_not(None),
               sa.or_(valid.c.id.is_not(None), ~any_issued))
        .order_by(Qualification.level)).all()
    result = []
    for level, region, reviewed_at, published_at, certificate_id, number, approved_on in rows:
        obtained = approved_on or (reviewed_at or published_at).astimezone(LOCAL_ZONE).date()
        result.append(Awarded(
            eligibility.HeldCertificate(level=level, obtained_on=obtained,
                                        method=CertificateMethod.EXAM, region_limit=region),
            certificate_id, number))
    return result


def background(user: User) -> eligibility.CandidateBackground:
    """Build the eligibility input from what the candidate has entered and what the
    portal awarded them."""
    profile = user.profile
    return eligibility.CandidateBackground(
        education=profile.education if profile else None,
        is_social_work_major=bool(profile and profile.is_social_work_major),
        graduation_date=profile.graduation_date if profile else None,
        is_full_time=profile.is_full_time if profile else True,
        employment=tuple(p.to_domain() for p in user.employment_periods),
        certificates=tuple(c.to_domain() for c in user.held_certificates)
        + tuple(a.held for a in awarded(user)),
    )


def eligibility_cutoff(today: date) -> date:
    """Return the configured cutoff date, or 31 Dec of the coming exam year."""
    configured = current_app.config.get("ELIGIBILITY_CUTOFF")
    if configured:
        return date.fromisoformat(str(configured))
    return eligibility.default_cutoff(today, current_app.config["EXAM_MONTH"])


def verdicts(user: User, *, today: date) -> tuple[eligibility.Verdict, ...]:
    """Evaluate every level for the candidate at the configured cutoff."""
    return eligibility.evaluate_all(background(user), eligibility_cutoff(today))


def reveal_resident_id(profile: CandidateProfile, *, actor: User) -> str | None:
    """Decrypt a resident ID for an administrator; every reveal is audited."""
    if profile.resident_id_ciphertext is None:
        return None
    audit.record("admin.reveal_resident_id", target=profile, actor=actor)
    return crypto.decrypt_resident_id(profile.resident_id_ciphertext)


def export_data(user: User) -> dict:
    """Return everything the portal holds about *user*, for their own download."""
    from exam_portal.models.audit import AuditEvent

    profile = user.profile
    audit.record("account.data_exported", target=user, actor=user)
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(
            sa.or_(
                AuditEvent.actor_id == user.id,
                sa.and_(AuditEvent.target_type == "User",
                        AuditEvent.target_id == str(user.id)),
            )
        )
        .order_by(AuditEvent.id)
    )
    return {
        "account": {
            "email": user.email,
            "role": user.role.value,
            "locale": user.locale,
            "created_at": user.created_at.isoformat(),
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
            "password_changed_at": user.password_changed_at.isoformat(),
        },
        "profile": None if profile is None else {
            "real_name": profile.real_name,
            "resident_id": (
                crypto.decrypt_resident_id(profile.resident_id_ciphertext)
                if profile.resident_id_ciphertext else None
            ),
            "id_consent_at": profile.id_consent_at.isoformat() if profile.id_consent_at else None,
            "gender": profile.gender.value if profile.gender else None,
            "birth_date": profile.birth_date.isoformat() if profile.birth_date else None,
            "education": profile.education.value if profile.education else None,
            "major": profile.major,
            "is_social_work_major": profile.is_social_work_major,
            "graduation_date": (
                profile.graduation_date.isoformat() if profile.graduation_date else None
            ),
            "is_full_time": profile.is_full_time,
            "region": profile.region,
        },
        "employment_periods": [
            {"employer": p.employer, "start_on": p.start_on.isoformat(),
             "end_on": p.end_on.isoformat() if p.end_on else None,
             "is_social_work": p.is_social_work}
            for p in user.employment_periods
        ],
        "held_certificates": [
            {"level": c.level.value, "obtained_on": c.obtained_on.isoformat(),
             "method": c.method.value, "region_limit": c.region_limit,
             "certificate_number": c.certificate_number}
            for c in user.held_certificates
        ],
        # What was attached, not the files: the candidate opens those on their pages.
        "id_photo_uploaded_at": (profile.photo_uploaded_at.isoformat()
                                 if profile and profile.photo_uploaded_at else None),
        "evidence_documents": [
            {"admission_number": number, "kind": d.kind.value, "filename": d.original_filename,
             "content_type": d.content_type, "size": d.size_bytes, "sha256": d.sha256,
             "uploaded_at": d.uploaded_at.isoformat()}
            for d, number in db.session.execute(
                sa.select(EvidenceDocument, Registration.admission_number)
                .join(Registration, Registration.id == EvidenceDocument.registration_id)
                .where(Registration.candidate_id == user.id).order_by(EvidenceDocument.id))
        ],
        # What others did to the account is listed, but only the user's own addresses:
        # a staff member's (or a stranger's failed login's) address is theirs.
        "activity": [
            {"at": e.at.isoformat(), "action": e.action,
             "ip": e.ip if e.actor_id == user.id else None} for e in events
        ],
    }
