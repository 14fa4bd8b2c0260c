"""Reissuing a certificate of either kind: revoke the old one, issue its replacement.

Above both kinds' modules, so neither needs the other: a qualification certificate is
reissued from its qualification, a training certificate from its completion."""

from datetime import datetime

from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.certificates import Certificate, CertificateKind, CertificateStatus
from exam_portal.models.sittings import Qualification
from exam_portal.services import ServiceError
from exam_portal.services.certification import certificates, training_certificates


def reissue(certificate: Certificate, reason: str, actor: User, *,
            now: datetime) -> Certificate:
    """Replace a certificate (e.g. after a corrected name): the old one is revoked with
    the reason, the new one has a new number and code (audited)."""
    if certificate.qualification_id is None and certificate.programme_id is None:
        raise ServiceError(gettext("这张证书不能重新签发。"))
    if certificate.status is CertificateStatus.VALID:
        certificates.revoke(certificate, reason, actor, now=now)
    elif not (reason or "").strip():
        raise ServiceError(gettext("重新签发须填写原因。"))
    if certificate.kind is CertificateKind.TRAINING:
        return training_certificates.reissue(certificate, actor, now=now)
    qualification = db.session.get(Qualification, certificate.qualification_id)
    return certificates.issue_for_qualification(qualification, actor, now=now,
                                                replaces=certificate)
