"""A certificate as a PDF: rendered from the stored record (Chinese, with an English
subtitle, Noto CJK fonts) with a QR code that opens the public verification page."""

from urllib.parse import urlencode

import segno
from flask import current_app, render_template
from flask_babel import force_locale
from markupsafe import Markup

from exam_portal.models.certificates import Certificate
from exam_portal.services.platform import labels, pdf
from exam_portal.services.platform.clock import LOCAL_ZONE


def verify_url(certificate: Certificate) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    query = urlencode({"n": certificate.number, "c": certificate.verification_code})
    return f"{base}/verify?{query}"


def _level_names(certificate: Certificate) -> tuple[str, str]:
    """The level in Chinese (the certificate's text) and in English (its subtitle), the
    same whoever downloads it, in whatever language, and in a job."""
    if certificate.level is None:
        return "", ""
    names = []
    for locale in ("zh_CN", "en"):
        with force_locale(locale):
            names.append(str(labels.LEVELS[certificate.level]))
    return names[0], names[1]


def render(certificate: Certificate) -> bytes:
    """The PDF bytes; about a quarter of a second (WeasyPrint), so a single one is made
    in the request and many only in a job."""
    url = verify_url(certificate)
    qr = Markup(segno.make(url, error="m").svg_inline(scale=3, border=2))  # noqa: S704 - our own SVG
    level_zh, level_en = _level_names(certificate)
    html = render_template("certificates/pdf.html", certificate=certificate, qr=qr,
                           verify_url=url, level_zh=level_zh, level_en=level_en,
                           region_name=labels.region_name, local_zone=LOCAL_ZONE)
    return pdf.html_to_pdf(html)
