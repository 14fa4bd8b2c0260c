"""A candidate's notes on items (笔记) and error reports (纠错): saving a note, filing a
report, one item's page of both, and the list of their reports with the replies.

Every route takes an item the candidate was shown in practice (item_notes.shown_version);
any other id answers 404, as if the item did not exist."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.candidate.forms import NoteForm, ReportForm
from exam_portal.blueprints.candidate.study_views import page_of
from exam_portal.blueprints.candidate.views import bp
from exam_portal.extensions import db
from exam_portal.models.types import utcnow
from exam_portal.services.delivery import item_notes, paper_cache
from exam_portal.services.item_bank import error_reports
from exam_portal.web import outcomes
from exam_portal.web.forms import error_messages
from exam_portal.web.security import safe_next
from question_bank import item_feedback


@bp.context_processor
def _feedback_labels() -> dict:
    """What the note and report forms on the candidate's pages need."""
    return {"report_kinds": error_reports.KINDS, "report_statuses": error_reports.STATUSES,
            "note_max": item_feedback.NOTE_MAX_CHARS,
            "report_min": item_feedback.REPORT_MIN_CHARS,
            "report_max": item_feedback.REPORT_MAX_CHARS}


def _shown_or_404(item_id: int, asked: int | None = None):
    try:
        return item_notes.shown_version(current_user.id, item_id, asked)
    except item_notes.ItemNotShown:
        abort(404)


def _back(form, item_id: int):
    return redirect(safe_next(form.next.data, url_for("candidate.item_notes", item_id=item_id)))


def _flash_invalid(form) -> None:
    for message in error_messages(form) or [_("请求已过期，请重试。")]:
        flash(message, "danger")


@bp.post("/items/<int:item_id>/note")
def save_note(item_id):
    _shown_or_404(item_id)
    if "text" not in request.form:
        abort(400)  # not the note form: an empty note would delete the note
    form = NoteForm()
    if form.validate_on_submit():
        outcomes.commit(
            lambda: item_notes.save_note(current_user.id, item_id, form.text.data, now=utcnow()),
            lambda kept: _("笔记已保存。") if kept else _("笔记已删除。"))
    else:
        _flash_invalid(form)
    return _back(form, item_id)


@bp.post("/items/<int:item_id>/report")
def report_error(item_id):
    form = ReportForm()
    _shown_or_404(item_id)
    if form.validate_on_submit():
        outcomes.commit(
            lambda: item_notes.report_error(current_user.id, item_id, form.asked_version(),
                                            form.kind.data, form.text.data, now=utcnow()),
            _("纠错已提交。培训师处理后，你会在“我的纠错”和邮件里收到回复。"), category="warning")
    else:
        _flash_invalid(form)
    return _back(form, item_id)


@bp.get("/items/<int:item_id>/notes", endpoint="item_notes")
def item_notes_page(item_id):
    """One item as the candidate was shown it (no key), with their note and reports."""
    version = _shown_or_404(item_id, request.args.get("version", type=int))
    reports = list(db.session.scalars(error_reports.own_query(current_user.id, item_id)))
    return render_template(
        "candidate/item_notes.html", item_id=item_id, version=version,
        content=paper_cache.content(version.id),
        note=item_notes.notes_for(current_user.id, [item_id]).get(item_id),
        reports=reports, reported=any(not r.status.is_resolved for r in reports))


@bp.get("/reports")
def my_reports():
    """我的纠错: the candidate's reports, newest first, the new replies marked."""
    fresh = error_reports.unseen_reply_ids(current_user.id)
    if fresh:
        outcomes.commit(lambda: error_reports.mark_replies_seen(current_user.id, now=utcnow()))
    pagination = page_of(error_reports.own_query(current_user.id))
    return render_template("candidate/my_reports.html", pagination=pagination, fresh=fresh,
                           excerpt=error_reports.excerpt)
