"""What the certificates tell their holders (通知): a certificate issued, or revoked with
the reason. Event keys are the certificate's number, so issuing in batches again (or a
batch retried one by one) tells nobody twice."""

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from exam_portal.models.certificates import Certificate
from exam_portal.services.platform import notifications

ISSUED = "certificate_issued"
REVOKED = "certificate_revoked"
MY_CERTIFICATES = ("certificates.my_certificates", {})


@notifications.kind(ISSUED, label=_l("证书签发"))
def _issued(params: dict) -> notifications.Notice:
    return notifications.Notice(
        gettext("证书已签发：%(title)s", title=params["title"]),
        gettext("你的证书“%(title)s”（编号 %(number)s）已经签发，可以下载电子证书。",
                title=params["title"], number=params["number"]), MY_CERTIFICATES)


@notifications.kind(REVOKED, label=_l("证书吊销"))
def _revoked(params: dict) -> notifications.Notice:
    return notifications.Notice(
        gettext("证书已吊销：%(title)s", title=params["title"]),
        gettext("你的证书“%(title)s”（编号 %(number)s）已被吊销。原因：%(reason)s",
                title=params["title"], number=params["number"], reason=params["reason"]),
        MY_CERTIFICATES)


def issued(certificates: list[Certificate]) -> int:
    """Tell each holder of these new certificates."""
    return notifications.notify_each(ISSUED, [
        (certificate.candidate_id, f"certificate:{certificate.number}:issued",
         {"title": certificate.title, "number": certificate.number})
        for certificate in certificates])


def revoked(certificate: Certificate, reason: str) -> int:
    """Tell the holder their certificate was revoked, and why."""
    return notifications.notify(
        certificate.candidate_id, REVOKED,
        {"title": certificate.title, "number": certificate.number, "reason": reason},
        event=f"certificate:{certificate.number}:revoked")
