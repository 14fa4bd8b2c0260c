"""One registration's review page (资格审核): what the candidate declared beside the
documents that prove it, and the decision, recorded through the same review as the
queue's bulk one, then on to the next registration waiting for review.

A rejection is confirmed on a second step served by the page itself, so it works
without JavaScript; a decision on documents that changed after the page was shown is
refused (registration_review.decide).
"""

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.sittings.evidence_views import evidence_context
from exam_portal.blueprints.sittings.forms import DecisionForm
from exam_portal.blueprints.sittings.views import bp
from exam_portal.extensions import db
from exam_portal.models.evidence import EvidenceKind
from exam_portal.models.sittings import Registration, RegistrationStatus
from exam_portal.models.types import utcnow
from exam_portal.services.accounts import profiles
from exam_portal.services.exam_sessions import evidence, registration_review, sittings
from exam_portal.web import outcomes


def _registration_or_404(session_id: int, registration_id: int) -> Registration:
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.session_id != session_id:
        abort(404)
    return registration


def _next_pending(registration: Registration) -> Registration | None:
    """The registration waiting for review after this one in the queue's order, else the
    first one still waiting."""
    waiting = sittings.registration_query(registration.session,
                                          status=RegistrationStatus.DECLARED).where(
        Registration.id != registration.id)
    after = waiting.where(sa.or_(
        Registration.declared_at > registration.declared_at,
        sa.and_(Registration.declared_at == registration.declared_at,
                Registration.id > registration.id)))
    return db.session.scalars(after.limit(1)).first() or db.session.scalars(
        waiting.limit(1)).first()


def _review_page(registration: Registration, form: DecisionForm, *, confirm: bool = False,
                 status: int = 200):
    attached = evidence.documents_of(registration)
    if not form.evidence.data:
        form.evidence.data = evidence.fingerprint(registration.id)
    candidate = registration.candidate
    by_period, by_certificate, general = {}, {}, []
    for document in attached:
        if document.kind is EvidenceKind.EMPLOYMENT and document.employment_period_id:
            by_period.setdefault(document.employment_period_id, []).append(document)
        elif document.kind is EvidenceKind.CERTIFICATE and document.held_certificate_id:
            by_certificate.setdefault(document.held_certificate_id, []).append(document)
        else:
            general.append(document)
    profile = candidate.profile
    return render_template(
        "sittings/review_registration.html", registration=registration, candidate=candidate,
        profile=profile, documents=attached, by_period=by_period,
        by_certificate=by_certificate, general=general, awarded=profiles.awarded(candidate),
        needs=evidence.needs(registration, attached), required=evidence.required(registration),
        has_photo=bool(profile and profile.photo_key), form=form, confirm=confirm,
        next_registration=_next_pending(registration), **evidence_context()), status


@bp.get("/admin/sessions/<int:session_id>/registrations/<int:registration_id>")
def review_registration(session_id, registration_id):
    return _review_page(_registration_or_404(session_id, registration_id), DecisionForm())


@bp.post("/admin/sessions/<int:session_id>/registrations/<int:registration_id>/decision")
def decide_registration(session_id, registration_id):
    registration = _registration_or_404(session_id, registration_id)
    form = DecisionForm()
    if not form.validate_on_submit() or not (form.verify.data or form.reject.data):
        return _review_page(registration, form, status=422)
    verify = bool(form.verify.data)
    if not verify and form.confirmed.data != "1":
        return _review_page(registration, form, confirm=True)
    done = outcomes.commit(lambda: registration_review.decide(
        registration, verify=verify, reason=form.reason.data or "",
        evidence_seen=form.evidence.data, actor=current_user, now=utcnow()))
    here = url_for("sittings.review_registration", session_id=session_id,
                   registration_id=registration_id)
    if not done.ok:
        return redirect(here)
    changed, refused = done.result
    for _registration, why in refused:
        flash(why, "warning")
    if not changed:
        return redirect(here)
    registration = db.session.get(Registration, registration_id)
    flash(_("%(number)s：已审核通过。", number=registration.admission_number) if verify
          else _("%(number)s：已退回。", number=registration.admission_number), "success")
    following = _next_pending(registration)
    if following is None:
        flash(_("这个考试批次没有待审核的报名了。"), "info")
        return redirect(url_for("sittings.registrations", session_id=session_id))
    return redirect(url_for("sittings.review_registration", session_id=session_id,
                            registration_id=following.id))
