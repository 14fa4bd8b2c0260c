"""The candidates of a session as administrators see them: their registrations, reviewed
in bulk, and their online sittings, extended or reopened one at a time."""

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from exam_portal.blueprints.sittings.forms import ReviewForm, SittingChangeForm
from exam_portal.blueprints.sittings.views import bp, page_context, session_or_404
from exam_portal.extensions import db
from exam_portal.models.attempts import Attempt
from exam_portal.models.sittings import Registration, RegistrationStatus
from exam_portal.models.types import utcnow
from exam_portal.services.delivery import attempts
from exam_portal.services.exam_sessions import online_exams, registration_review, sittings
from exam_portal.web import outcomes
from exam_portal.web.forms import error_messages, posted_ids, submitted
from exam_portal.web.pagination import Page, page_argument
from question_bank.levels import Level


@bp.get("/admin/sessions/<int:session_id>/registrations")
def registrations(session_id):
    session = session_or_404(session_id)
    status = request.args.get("status", "")
    level = request.args.get("level", "")
    search = request.args.get("q", "").strip()[:100]
    statuses = {member.value: member for member in RegistrationStatus}
    levels = {member.value: member for member in Level}
    query = sittings.registration_query(session, status=statuses.get(status),
                                        level=levels.get(level), search=search)
    page = db.paginate(query, page=page_argument(), per_page=current_app.config["PAGE_SIZE"],
                       error_out=False)
    return render_template("sittings/registrations.html", session=session, page=page,
                           status=status, level=level, search=search, form=ReviewForm(),
                           **page_context())


@bp.post("/admin/sessions/<int:session_id>/registrations/review")
def review_registrations(session_id):
    session = session_or_404(session_id)
    form = ReviewForm()
    back = redirect(request.form.get("next", "") if request.form.get("next", "").startswith(
        f"/admin/sessions/{session.id}/registrations") else url_for(
        "sittings.registrations", session_id=session.id))
    ids = posted_ids(request.form.getlist("registration"), sittings.MAX_BULK_REVIEW + 1)
    if not form.validate_on_submit() or not ids:
        for message in error_messages(form) or [_("请至少选择一条报名。")]:
            flash(message, "danger")
        return back
    chosen = list(db.session.scalars(sa.select(Registration).where(
        Registration.session_id == session.id, Registration.id.in_(ids))))
    done = outcomes.commit(
        lambda: registration_review.review(
            chosen, verify=form.action.data == "verify", reason=form.reason.data or "",
            actor=current_user, now=utcnow()),
        lambda reviewed: ngettext("已审核 %(num)d 条报名。", "已审核 %(num)d 条报名。",
                                  reviewed[0]))
    refused = done.result[1] if done.ok else []
    for registration, why in refused[:10]:
        flash(_("%(number)s：%(reason)s", number=registration.admission_number, reason=why),
              "warning")
    return back


@bp.get("/admin/sessions/<int:session_id>/sittings")
def session_sittings(session_id):
    session = session_or_404(session_id)
    search = request.args.get("q", "").strip()[:40]
    query, per_page = online_exams.sitting_query(session, search=search), \
        current_app.config["PAGE_SIZE"]
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    number = min(page_argument(), max(1, -(-total // per_page)))
    rows = db.session.execute(query.limit(per_page).offset((number - 1) * per_page)).all()
    return render_template("sittings/session_sittings.html", session=session,
                           page=Page(rows, number, per_page, total),
                           search=search, form=SittingChangeForm(), now=utcnow(),
                           is_overdue=attempts.is_overdue, **page_context())


@bp.post("/admin/sessions/<int:session_id>/sittings/<int:attempt_id>/extend",
         defaults={"change": "extend"})
@bp.post("/admin/sessions/<int:session_id>/sittings/<int:attempt_id>/reopen",
         defaults={"change": "reopen"})
def change_sitting(session_id, attempt_id, change):
    session = session_or_404(session_id)
    found = db.session.execute(online_exams.sitting_query(session).where(
        Attempt.id == attempt_id)).first()
    if found is None:
        abort(404)
    back = redirect(url_for("sittings.session_sittings", session_id=session.id,
                            q=found.Registration.admission_number))
    form = SittingChangeForm()
    if not submitted(form):
        return back
    action = online_exams.extend if change == "extend" else online_exams.reopen
    outcomes.commit(
        lambda: action(found.Attempt, form.minutes.data, form.reason.data, current_user,
                       now=utcnow()),
        _("已延长 %(n)d 分钟。", n=form.minutes.data) if change == "extend"
        else _("已重新开放 %(n)d 分钟，考生可以继续作答。", n=form.minutes.data))
    return back
