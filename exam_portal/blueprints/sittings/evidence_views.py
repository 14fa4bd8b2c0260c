"""Registration evidence: a candidate's documents page for one registration (upload,
list, delete while it waits for review), and the files themselves, served to their
owner and to administrators only.

An upload is read, checked by its content and stored with no write lock held
(RELIABILITY LD-5); its row is written in one short transaction after, and the file is
deleted again if that does not commit. A file is never served from the static folder:
it is sent with the content type sniffed at upload, inline, sandboxed by its own
Content-Security-Policy, with nosniff; anyone but its owner or an administrator gets
404, as for a document that does not exist.
"""

from flask import Response, abort, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from exam_portal.blueprints.account.forms import ConfirmForm
from exam_portal.blueprints.sittings.forms import DocumentForm
from exam_portal.blueprints.sittings.views import bp, own_registration_or_404, page_context
from exam_portal.extensions import db, no_write_lock
from exam_portal.models.accounts import User
from exam_portal.models.evidence import EvidenceKind
from exam_portal.models.sittings import Registration
from exam_portal.services.accounts import photos
from exam_portal.services.exam_sessions import evidence
from exam_portal.services.platform import labels
from exam_portal.services.platform.clock import date_text
from exam_portal.web import outcomes
from exam_portal.web.forms import as_choices, submitted

KIND_LABELS = {
    EvidenceKind.DEGREE: _l("学历证书"),
    EvidenceKind.EMPLOYMENT: _l("工作证明"),
    EvidenceKind.CERTIFICATE: _l("证书"),
    EvidenceKind.OTHER: _l("其他材料"),
}
# The file is shown as what it is and nothing more: no script, no form, no plugin, its
# own origin; only the portal's own pages may frame it.
FILE_POLICY = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; " \
              "frame-ancestors 'self'"
_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def evidence_context() -> dict:
    return {"kind_labels": KIND_LABELS, "show_size": show_size, "period_text": period_text,
            "certificate_text": certificate_text, "certificates_text": certificates_text,
            **page_context()}


def show_size(size: int) -> str:
    mib = 1024 * 1024
    if size >= mib:
        return f"{size // mib} MB" if size % mib == 0 else f"{size / mib:.1f} MB"
    return f"{-(-size // 1024)} KB"


def period_text(period) -> str:
    return _("%(employer)s（%(start)s — %(end)s）", employer=period.employer,
             start=date_text(period.start_on),
             end=date_text(period.end_on) if period.end_on else _("至今"))


def certificate_text(certificate) -> str:
    return _("%(level)s（%(date)s，%(method)s）", level=labels.LEVELS[certificate.level],
             date=date_text(certificate.obtained_on), method=labels.METHODS[certificate.method])


def certificates_text(certificates) -> str:
    """Certificates any one of which would do."""
    return _("，或 ").join(certificate_text(c) for c in certificates)


# The candidate's documents page ----------------------------------------------------------

def _document_form(registration: Registration) -> DocumentForm:
    form = DocumentForm()
    candidate = registration.candidate
    form.target.choices = as_choices(
        [("", _("请选择")), (EvidenceKind.DEGREE.value, KIND_LABELS[EvidenceKind.DEGREE])]
        + [(f"{EvidenceKind.EMPLOYMENT.value}-{p.id}",
            _("工作证明：%(period)s", period=period_text(p)))
           for p in candidate.employment_periods if p.is_social_work]
        + [(f"{EvidenceKind.CERTIFICATE.value}-{c.id}",
            _("证书：%(certificate)s", certificate=certificate_text(c)))
           for c in candidate.held_certificates]
        + [(EvidenceKind.OTHER.value, KIND_LABELS[EvidenceKind.OTHER])])
    return form


def _target(value: str) -> evidence.Target:
    kind, _dash, row = value.partition("-")
    kind = EvidenceKind(kind)
    row_id = int(row) if row.isdigit() else None
    return evidence.Target(
        kind, period_id=row_id if kind is EvidenceKind.EMPLOYMENT else None,
        certificate_id=row_id if kind is EvidenceKind.CERTIFICATE else None)


def _documents_page(registration: Registration, form: DocumentForm, status: int = 200):
    attached = evidence.documents_of(registration)
    profile = registration.candidate.profile
    return render_template(
        "sittings/documents.html", registration=registration, form=form,
        documents=attached, needs=evidence.needs(registration, attached),
        required=evidence.required(registration), may_change=evidence.may_change(registration),
        has_photo=bool(profile and profile.photo_key), max_documents=evidence.MAX_DOCUMENTS,
        delete_form=ConfirmForm(), **evidence_context()), status


@bp.get("/exams/registrations/<int:registration_id>/documents")
def registration_documents(registration_id):
    registration = own_registration_or_404(registration_id)
    return _documents_page(registration, _document_form(registration))


@bp.post("/exams/registrations/<int:registration_id>/documents")
def upload_document(registration_id):
    # Checked and stored first, with no write lock held; the row after, in one short
    # transaction.
    with no_write_lock():
        registration = own_registration_or_404(registration_id)
        form = _document_form(registration)
        if not form.validate_on_submit():
            return _documents_page(registration, form, 422)
        upload = form.file.data
        checked, problems = evidence.check_document(upload.read(), upload.filename)
        if problems:
            form.file.errors = [*form.file.errors, *problems]
            return _documents_page(registration, form, 422)
        stored = evidence.store(checked)
    target = _target(form.target.data)
    done = outcomes.commit(
        lambda: evidence.attach(registration_id, current_user, target, stored),
        _("材料已上传。"), field=form.file)
    if not done.ok:
        return _documents_page(own_registration_or_404(registration_id), form, 422)
    return redirect(url_for("sittings.registration_documents", registration_id=registration_id))


@bp.post("/exams/registrations/<int:registration_id>/documents/<int:document_id>/delete")
def delete_document(registration_id, document_id):
    registration = own_registration_or_404(registration_id)
    if not any(d.id == document_id for d in evidence.documents_of(registration)):
        abort(404)
    if submitted(ConfirmForm()):
        outcomes.commit(lambda: evidence.remove(document_id, registration.id, current_user),
                        _("材料已删除。"))
    return redirect(url_for("sittings.registration_documents", registration_id=registration.id))


# The files -------------------------------------------------------------------------------

def _file(data: bytes, content_type: str, name: str) -> Response:
    response = Response(data, mimetype=content_type)
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["Content-Security-Policy"] = FILE_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.get("/evidence/documents/<int:document_id>")
def open_document(document_id):
    """A document, for its owner or an administrator (each administrator's view audited)."""
    found = outcomes.commit(lambda: evidence.open_document(document_id, current_user)).result
    if found is None:
        abort(404)
    document, data = found
    return _file(data, document.content_type,
                 f"document-{document.id}.{_EXTENSIONS[document.content_type]}")


@bp.get("/evidence/photos/<int:user_id>")
def open_photo(user_id):
    """A candidate's ID photo, for the candidate or an administrator (audited)."""
    data = outcomes.commit(
        lambda: photos.open_photo(db.session.get(User, user_id), current_user)).result
    if data is None:
        abort(404)
    return _file(data, "image/jpeg", f"photo-{user_id}.jpg")
