"""Offline credentials: the holder (or an administrator) downloads a certificate as a
signed Open Badges 3.0 credential (`.jwt`), and anyone fetches the public keys that
check it, at a well-known URL."""

from flask import Response, abort, flash, jsonify, redirect, request, url_for
from flask_login import current_user

from exam_portal.blueprints.certificates.views import bp
from exam_portal.extensions import db
from exam_portal.models.certificates import Certificate
from exam_portal.services import ServiceError
from exam_portal.services.certification import credentials

KEYS_MAX_AGE = 3600  # seconds a verifier may cache the key set (a rotation keeps old keys)


@bp.get(credentials.KEYS_PATH)
def published_keys():
    response = jsonify(credentials.published_keys())
    response.mimetype = "application/jwk-set+json"
    response.cache_control.public = True
    response.cache_control.max_age = KEYS_MAX_AGE
    response.headers["Access-Control-Allow-Origin"] = "*"  # public keys, for any verifier
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/account/certificates/<int:certificate_id>/credential.jwt")
def download_my_credential(certificate_id):
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or certificate.candidate_id != current_user.id:
        abort(404)  # another candidate's certificate is not even acknowledged
    return _credential(certificate, url_for("certificates.my_certificates"))


@bp.get("/admin/certificates/<int:certificate_id>/credential.jwt")
def download_credential(certificate_id):
    certificate = db.get_or_404(Certificate, certificate_id)
    return _credential(certificate, url_for("certificates.certificate_detail",
                                            certificate_id=certificate.id))


def _credential(certificate: Certificate, back: str) -> Response:
    try:
        token = credentials.credential_of(certificate)
    except ServiceError as error:
        flash(str(error), "danger")
        return redirect(back)
    return Response(token, mimetype="application/jwt", headers={
        "Content-Disposition": f'attachment; filename="{certificate.number}.jwt"',
        "Cache-Control": "private, no-store"})
