"""Candidates' error reports (纠错) for trainers: the list beside the bank, and resolving
one with a reply (the item's page lists its own)."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.authoring.forms import ResolveReportForm
from exam_portal.blueprints.authoring.views import bp, shown
from exam_portal.extensions import db
from exam_portal.models.types import utcnow
from exam_portal.services.item_bank import error_reports
from exam_portal.web import outcomes
from exam_portal.web.forms import error_messages
from exam_portal.web.pagination import Page, page_argument
from exam_portal.web.security import safe_next
from question_bank.item_feedback import REPLY_MAX_CHARS, ReportStatus

FILTERS = ("OPEN", "ACCEPTED", "REJECTED", "all")


@bp.context_processor
def _report_labels() -> dict:
    return {"report_kinds": error_reports.KINDS, "report_statuses": error_reports.STATUSES,
            "reply_max": REPLY_MAX_CHARS}


@bp.get("/reports")
def list_reports():
    chosen = request.args.get("status", "OPEN")
    chosen = chosen if chosen in FILTERS else "OPEN"
    query = error_reports.staff_query(
        current_user, None if chosen == "all" else ReportStatus(chosen))
    per_page = current_app.config["PAGE_SIZE"]
    total = db.session.scalar(query.with_only_columns(db.func.count()).order_by(None))
    page = min(page_argument(), max(1, -(-total // per_page)))
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    shown([item for _report, item, _version in rows], "reports")
    return render_template("authoring/list_reports.html",
                           pagination=Page(rows, page, per_page, total), chosen=chosen,
                           filters=FILTERS, form=ResolveReportForm(),
                           open_count=error_reports.open_count(current_user))


@bp.post("/reports/<int:report_id>/resolve")
def resolve_report(report_id):
    try:
        report = error_reports.get_for_staff(report_id, current_user)
    except error_reports.ReportNotFound:
        abort(404)
    form = ResolveReportForm()
    if form.validate_on_submit():
        outcomes.commit(
            lambda: error_reports.resolve(report, current_user, form.outcome.data,
                                          form.reply.data, now=utcnow()),
            lambda status: _("已采纳，回复已发给考生。") if status is ReportStatus.ACCEPTED
            else _("已标记为不采纳，回复已发给考生。"), category="warning")
    else:
        for message in error_messages(form) or [_("请求已过期，请重试。")]:
            flash(message, "danger")
    return redirect(safe_next(form.next.data, url_for("authoring.list_reports")))
