"""Which documents prove a registration's route (非告知承诺制: checked before the exam).

Under review before the exam the candidate sends proof of what the route rests on: the
degree (学历证书), a proof of employment (工作证明) for each social-work period the route
counts towards its years, and the certificate the route needs (for the 社会工作师 route
from 高中 and for 高级). The periods are those the eligibility rules count: social work
that reaches into the counted window, which opens at graduation for a full-time
student (work before it does not count) and at the certificate's date on a certificate
route, and closes at the session's cutoff. A route without years needs no proof of
employment. Which indices of the candidate's periods and certificates are meant is
returned, so the portal can match them to its rows.
"""

from dataclasses import dataclass
from datetime import date

from .eligibility import (
    COUNTED_FROM_CERTIFICATE,
    CandidateBackground,
    EmploymentPeriod,
    HeldCertificate,
    Route,
)
from .levels import CertificateMethod, Education


@dataclass(frozen=True)
class EvidenceNeeds:
    degree: bool  # the degree (or school) certificate
    periods: tuple[int, ...]  # indices into background.employment, each needing proof
    # Indices into background.certificates that carry the route: proof of any one does.
    certificates: tuple[int, ...]


def _qualifies(certificate: HeldCertificate, route: Route, cutoff: date) -> bool:
    return (certificate.level == route.required_certificate
            and certificate.obtained_on <= cutoff
            and (certificate.method == CertificateMethod.EXAM
                 or not route.certificate_by_exam_only))


def _window_start(background: CandidateBackground, route: Route,
                  certificates: tuple[int, ...]) -> date | None:
    """The first day the route counts social work from (None: no limit), the earliest
    that any qualifying certificate allows."""
    floor = background.graduation_date if background.is_full_time else None
    if route.counted_from != COUNTED_FROM_CERTIFICATE:
        return floor
    starts = [background.certificates[index].obtained_on for index in certificates]
    if not starts:
        return floor
    start = min(starts)
    return max(start, floor) if floor is not None else start


def _counted(period: EmploymentPeriod, start: date | None, cutoff: date) -> bool:
    if not period.is_social_work or period.start > cutoff:
        return False
    return start is None or period.end is None or period.end >= start


def needs(background: CandidateBackground, route: Route, cutoff: date) -> EvidenceNeeds:
    """The documents that prove *route* for *background* at the session's *cutoff*."""
    certificates = ()
    if route.required_certificate is not None:
        certificates = tuple(index for index, certificate in enumerate(background.certificates)
                             if _qualifies(certificate, route, cutoff))
    periods = ()
    if route.years > 0:
        start = _window_start(background, route, certificates)
        periods = tuple(index for index, period in enumerate(background.employment)
                        if _counted(period, start, cutoff))
    return EvidenceNeeds(degree=route.min_education.rank > Education.BELOW_HIGH_SCHOOL.rank,
                         periods=periods, certificates=certificates)
