"""A certificate as a PDF: rendered from the stored record (Chinese, with an English
subtitle, Noto CJK fonts) with a QR code that opens the public verification page."""

from urllib.parse import urlencode

import segno
from flask import current_app, render_template
from markupsafe import Markup

from .. import labels
from ..models.certificates import Certificate


def verify_url(certificate: Certificate) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    query = urlencode({"n": certificate.number, "c": certificate.verification_code})
    return f"{base}/verify?{query}"


def render(certificate: Certificate) -> bytes:
    """The PDF bytes; about a third of a second (WeasyPrint), so a single one is made in
    the request and many only in a job."""
    import weasyprint  # heavy: loaded the first time a PDF is asked for

    url = verify_url(certificate)
    qr = Markup(segno.make(url, error="m").svg_inline(scale=3, border=2))  # noqa: S704 - our own SVG
    html = render_template("certificates/pdf.html", certificate=certificate, qr=qr,
                           verify_url=url, level_labels=labels.LEVELS,
                           region_name=labels.region_name)
    return weasyprint.HTML(string=html).write_pdf()
