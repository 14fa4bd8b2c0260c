"""Trainer pages for moving items to the 2025 syllabus: the published items still linked
to 2018 with the crosswalk's proposal, accepted per item or for a selection."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.account.forms import ConfirmForm
from exam_portal.blueprints.authoring.forms import RelinkForm
from exam_portal.blueprints.authoring.views import bp
from exam_portal.extensions import db
from exam_portal.models.bank import Item
from exam_portal.services.item_bank import relinking
from exam_portal.services.platform import syllabi
from exam_portal.web import outcomes
from exam_portal.web.forms import posted_ids
from exam_portal.web.pagination import Page, page_argument
from question_bank import crosswalk
from question_bank.crosswalk import FIT_LABELS
from question_bank.subjects import Subject


def _subject_filter() -> Subject | None:
    code = request.args.get("subject", "")
    return Subject(code) if code in Subject.__members__ else None


def _back(subject: str = "", page: str = ""):
    subject = subject if subject in Subject.__members__ else ""
    page = page if page.isascii() and page.isdigit() and 0 < int(page) < 100_000 else ""
    return redirect(url_for("authoring.relink_items", subject=subject or None,
                            page=page or None))


@bp.get("/relink")
def relink_items():
    subject = _subject_filter()
    per_page = current_app.config["PAGE_SIZE"]
    total = relinking.count_pending(subject)
    page = min(page_argument(), max(1, -(-total // per_page)))
    items = db.session.scalars(relinking.pending_query(subject).limit(per_page)
                               .offset((page - 1) * per_page)).all()
    table = crosswalk.load(relinking.SOURCE, relinking.TARGET)
    return render_template(
        "authoring/relink_items.html",
        pagination=Page([relinking.propose(item) for item in items], page, per_page, total),
        subject=subject, subjects=list(Subject), in_progress=relinking.count_in_progress(subject),
        crosswalk=table, fit_labels=FIT_LABELS, form=RelinkForm(),
        # The shipped crosswalk names this project as its author.
        reviewed_by=_("本项目") if table.reviewed_by == "project" else table.reviewed_by,
        source_label=syllabi.label(relinking.SOURCE), target_label=syllabi.label(relinking.TARGET))


@bp.post("/relink")
def accept_relinks():
    form = RelinkForm()
    ids = posted_ids(request.form.getlist("selected"), relinking.MAX_BULK)
    back = _back(request.form.get("subject", ""), request.form.get("page", ""))
    if not form.validate_on_submit() or not ids:
        flash(_("请勾选题目，并确认已核对建议关联。"), "danger")
        return back
    done = outcomes.commit(lambda: relinking.accept_many(ids, current_user),
                           lambda result: _("已为 %(n)d 道题目接受建议关联。", n=result[0]))
    for item_id, reason in (done.result[1] if done.ok else [])[:20]:
        flash(_("题目 %(id)d 未改关联：%(reason)s", id=item_id, reason=reason), "warning")
    return back


@bp.post("/items/<int:item_id>/relink")
def accept_relink(item_id):
    item = db.get_or_404(Item, item_id)
    version_ids = posted_ids([request.form.get("version_id", "")], 1)
    if not ConfirmForm().validate_on_submit() or not version_ids:
        abort(400)
    version_id = version_ids[0]
    outcomes.commit(lambda: relinking.accept(item, version_id, current_user),
                    _("题目 %(id)d 已改为 2025 年版大纲关联，并发布为新版本。", id=item.id))
    if request.form.get("from") == "list":
        return _back(request.form.get("subject", ""), request.form.get("page", ""))
    return redirect(url_for("authoring.item_detail", item_id=item.id))
