"""Certificates: administrators issue, revoke and reissue; candidates see their own;
anyone verifies one by its number and code (or the QR code's link)."""


import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.account.forms import ConfirmForm
from exam_portal.blueprints.certificates.forms import RevokeForm
from exam_portal.extensions import db, limiter
from exam_portal.models.certificates import Certificate
from exam_portal.models.sittings import ExamSession, Qualification
from exam_portal.models.types import utcnow
from exam_portal.services.certification import (
    ce_transcripts,
    certificate_exports,
    certificate_pdf,
    certificates,
    reissuing,
)
from exam_portal.services.platform import labels
from exam_portal.services.platform.clock import LOCAL_ZONE
from exam_portal.web import outcomes
from exam_portal.web.forms import submitted
from exam_portal.web.pagination import page_argument

bp = Blueprint("certificates", __name__)

def _context() -> dict:
    return {"level_labels": labels.LEVELS, "region_name": labels.region_name,
            "local_zone": LOCAL_ZONE}


# Anyone --------------------------------------------------------------------------------

@bp.get("/verify")
@limiter.limit(lambda: current_app.config["VERIFY_LIMIT_PER_ADDRESS"])
def verify():
    number, code = request.args.get("n", "")[:40], request.args.get("c", "")[:60]
    if ce_transcripts.is_transcript_number(number):
        # A CE transcript: its own record type, on the same page.
        transcript = ce_transcripts.find(number, code)
        return render_template(
            "certificates/verify.html", number=number, code=code, asked=True,
            certificate=None, transcript=transcript,
            transcript_record=transcript and ce_transcripts.record_of(transcript),
            transcript_ok=transcript is not None and ce_transcripts.signature_valid(transcript),
            **_context())
    certificate = certificates.find(number, code) if number or code else None
    return render_template("certificates/verify.html", number=number, code=code,
                           asked=bool(number or code), certificate=certificate,
                           signature_ok=certificate is not None
                           and certificates.signature_valid(certificate), **_context())


# Candidates ----------------------------------------------------------------------------

@bp.get("/account/certificates")
def my_certificates():
    return render_template("certificates/mine.html",
                           certificates=certificates.own_certificates(current_user),
                           **_context())


@bp.get("/account/certificates/<int:certificate_id>/certificate.pdf")
def download_my_certificate(certificate_id):
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or certificate.candidate_id != current_user.id:
        abort(404)  # another candidate's certificate is not even acknowledged
    return _pdf(certificate)


def _pdf(certificate: Certificate) -> Response:
    return Response(certificate_pdf.render(certificate), mimetype="application/pdf",
                    headers={"Content-Disposition":
                             f'attachment; filename="{certificate.number}.pdf"'})


# Administrators ------------------------------------------------------------------------

@bp.get("/admin/certificates/<int:certificate_id>/certificate.pdf")
def download_certificate(certificate_id):
    return _pdf(db.get_or_404(Certificate, certificate_id))

@bp.get("/admin/sessions/<int:session_id>/certificates")
def session_certificates(session_id):
    session = db.get_or_404(ExamSession, session_id)
    rows = db.paginate(certificates.achieved_query(session), page=page_argument(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    issued, numbers = certificates.issue_state(rows.items)
    return render_template("certificates/session.html", session=session, rows=rows,
                           issued=issued, numbers=numbers, form=ConfirmForm(), **_context())


@bp.post("/admin/sessions/<int:session_id>/certificates/issue-all")
def issue_all(session_id):
    return _start_session_job(session_id, certificates.start_issuing)


@bp.post("/admin/sessions/<int:session_id>/certificates/export")
def export_pdfs(session_id):
    return _start_session_job(session_id, certificate_exports.start_export)


def _start_session_job(session_id: int, start) -> Response:
    session = db.get_or_404(ExamSession, session_id)
    return outcomes.start_job(ConfirmForm(), lambda: start(session, current_user), redirect(
        url_for("certificates.session_certificates", session_id=session.id)))


@bp.post("/admin/qualifications/<int:qualification_id>/certificate")
def issue_certificate(qualification_id):
    qualification = db.get_or_404(Qualification, qualification_id)
    back = redirect(url_for("certificates.session_certificates",
                            session_id=qualification.session_id))
    if not submitted(ConfirmForm()):
        return back
    outcomes.commit(
        lambda: certificates.issue_for_qualification(qualification, current_user, now=utcnow()),
        lambda certificate: _("证书已签发，编号 %(number)s。", number=certificate.number))
    return back


@bp.get("/admin/certificates")
def list_certificates():
    search = request.args.get("q", "").strip()[:100]
    page = db.paginate(certificates.search_query(search), page=page_argument(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("certificates/list.html", page=page, search=search, **_context())


@bp.get("/admin/certificates/<int:certificate_id>")
def certificate_detail(certificate_id):
    certificate = db.get_or_404(Certificate, certificate_id)
    # The certificates issued in its place: a replaced one is reissued from its
    # replacement, not again from here.
    replaced_by = list(db.session.scalars(sa.select(Certificate).where(
        Certificate.replaces_id == certificate.id).order_by(Certificate.id)))
    return render_template("certificates/detail.html", certificate=certificate,
                           signature_ok=certificates.signature_valid(certificate),
                           replaced_by=replaced_by, form=RevokeForm(), **_context())


@bp.post("/admin/certificates/<int:certificate_id>/revoke", defaults={"change": "revoke"})
@bp.post("/admin/certificates/<int:certificate_id>/reissue", defaults={"change": "reissue"})
def change_certificate(certificate_id, change):
    certificate = db.get_or_404(Certificate, certificate_id)
    back = redirect(url_for("certificates.certificate_detail", certificate_id=certificate.id))
    form = RevokeForm()
    if not submitted(form):
        return back
    if change == "revoke":
        outcomes.commit(lambda: certificates.revoke(certificate, form.reason.data,
                                                    current_user, now=utcnow()),
                        _("证书已吊销。"))
        return back
    done = outcomes.commit(
        lambda: reissuing.reissue(certificate, form.reason.data, current_user, now=utcnow()),
        lambda new: _("已重新签发，新编号 %(number)s；原证书已吊销。", number=new.number))
    if not done.ok:
        return back
    return redirect(url_for("certificates.certificate_detail", certificate_id=done.result.id))

