"""Trainer pages: the item list, an item's versions, editing and review.

Import and export register on the same blueprint from transfer_views."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.account.forms import ConfirmForm
from exam_portal.blueprints.authoring import editor
from exam_portal.blueprints.authoring.forms import (
    ApproveAllForm,
    BulkApproveForm,
    ItemForm,
    ResolveReportForm,
    ReviewForm,
)
from exam_portal.extensions import db
from exam_portal.models.bank import Item, ItemPool
from exam_portal.services.item_bank import (
    approvals,
    authoring,
    error_reports,
    item_list,
    relinking,
    secure_pool,
)
from exam_portal.services.platform import labels, syllabi
from exam_portal.web import outcomes
from exam_portal.web.forms import posted_ids
from exam_portal.web.pagination import Page, page_argument
from question_bank import syllabus
from question_bank.crosswalk import FIT_LABELS
from question_bank.diff import diff_contents
from question_bank.items import ItemType
from question_bank.subjects import Subject
from question_bank.workflow import ItemStatus

bp = Blueprint("authoring", __name__, url_prefix="/authoring")


def list_filters() -> dict[str, str]:
    args = request.args
    chosen = {
        "subject": args.get("subject", "") if args.get("subject") in Subject.__members__ else "",
        "item_type": args.get("item_type", "")
        if args.get("item_type") in ItemType.__members__ else "",
        "status": args.get("status", "") if args.get("status") in ItemStatus.__members__ else "",
        "difficulty": args.get("difficulty", "") if args.get("difficulty", "") in "12345" else "",
        "syllabus": args.get("syllabus", "") if args.get("syllabus") in syllabi.loaded() else "",
        "chapter": args.get("chapter", "")[:40],
        "q": args.get("q", "").strip()[:100],
        "pool": args.get("pool", "") if args.get("pool") in ItemPool.__members__
        and current_user.sees_secure_items else "",
        "completing": "1" if args.get("completing") == "1" else "",
        "flagged": "1" if args.get("flagged") == "1" else "",
        "mine": "1" if args.get("mine") == "1" else "",
        "sort": args.get("sort", "") if args.get("sort") in item_list.SORTS else "",
    }
    return chosen


def item_filters(filters: dict[str, str]) -> item_list.ItemFilters:
    return item_list.filters_from(filters, current_user)


@bp.get("/items")
def list_items():
    filters = list_filters()
    chosen = item_filters(filters)
    per_page = current_app.config["PAGE_SIZE"]
    total = item_list.count_items(chosen)
    page = min(page_argument(), max(1, -(-total // per_page)))
    rows = db.session.scalars(
        item_list.item_query(chosen).limit(per_page).offset((page - 1) * per_page)
    ).all()
    shown(rows, "list")
    chapter_version = filters["syllabus"] or syllabi.in_force()
    return render_template("authoring/list_items.html",
                           items=Page(rows, page, per_page, total), filters=filters,
                           statistics=item_list.open_statistics(rows),
                           analysis_flags=labels.ANALYSIS_FLAGS,
                           syllabus=syllabus.load(chapter_version),
                           chapter_version=syllabi.short_label(chapter_version),
                           versions=[(code, syllabi.short_label(code))
                                     for code in syllabi.loaded()],
                           in_force=syllabi.in_force(), bulk_form=BulkApproveForm(),
                           approve_all_form=ApproveAllForm())


def _item_or_404(item_id: int) -> Item:
    item = db.get_or_404(Item, item_id)
    if not secure_pool.may_see(item, current_user):
        abort(404)
    return item


def shown(items, via: str) -> None:
    """Audit what secure items the page shows (committed before it is rendered)."""
    if not secure_pool.record_views(items, current_user, via=via):
        return
    # The rows shown are the ones just read: not read again, one query each, to render.
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def _to_item(item: Item):
    return redirect(url_for("authoring.item_detail", item_id=item.id))


@bp.get("/items/<int:item_id>")
def item_detail(item_id):
    item = _item_or_404(item_id)
    shown([item], "detail")
    versions = list(item.versions)
    changes = []
    compare = request.args.get("compare", "")
    if compare.isascii() and compare.isdigit() and 1 < int(compare) <= len(versions):
        newer = versions[int(compare) - 1]
        changes = diff_contents(versions[int(compare) - 2].to_domain(), newer.to_domain())
    return render_template(
        "authoring/item_detail.html", item=item, version=item.current_version,
        content=item.current_version.to_domain(), versions=versions, changes=changes,
        compare=compare, syllabus=syllabus.load(item.current_version.syllabus_version),
        syllabus_label=syllabi.label(item.current_version.syllabus_version),
        review_form=ReviewForm(), confirm_form=ConfirmForm(),
        relink=relinking.proposal_for(item), relink_form=ConfirmForm(),
        relink_fit_labels=FIT_LABELS, defaulted_labels=authoring.DEFAULTED_LABELS,
        practice_statistics=item_list.version_statistics(item),
        analysis_flags=labels.ANALYSIS_FLAGS,
        reports=error_reports.for_item(item), resolve_form=ResolveReportForm(),
    )


def _editor_version(item: Item | None = None) -> str:
    """The syllabus version the editor is writing against: the one asked for (the
    page's hidden field on a post, ?syllabus= when opening it) if loaded, else the
    item's own, else the version in force."""
    default = item.current_version.syllabus_version if item is not None else syllabi.in_force()
    asked = request.form.get("syllabus_version") if request.method == "POST" \
        else request.args.get("syllabus")
    return syllabi.chosen(asked, default)


def _editor_form(subject: Subject, version: str) -> ItemForm:
    form = ItemForm()
    form.syllabus.choices = editor.syllabus_choices(subject, version)
    form.syllabus_version.data = version
    form.pool.choices = editor.pool_choices(current_user)
    return form


def _editor_page(form, *, item, subject, item_type, version, proposed=False):
    others = [(code, syllabi.short_label(code)) for code in syllabi.loaded() if code != version]
    return render_template("authoring/edit_item.html", form=form, item=item, subject=subject,
                           item_type=item_type, syllabus_version=version,
                           syllabus_label=syllabi.label(version), other_versions=others,
                           proposed=proposed)


def _show_problems(form: ItemForm, problems) -> None:
    for problem in problems:
        field = form._fields.get(editor.field_for(problem), form.stem)
        field.errors = [*field.errors, _(problem.message, **problem.params)]


def _chosen_kind() -> tuple[Subject, ItemType] | None:
    subject, item_type = request.args.get("subject", ""), request.args.get("item_type", "")
    if subject not in Subject.__members__ or item_type not in ItemType.__members__:
        return None
    return Subject(subject), ItemType(item_type)


@bp.route("/items/new", methods=["GET", "POST"])
def create_item():
    kind = _chosen_kind()
    if kind is None:
        return render_template("authoring/choose_kind.html", subjects=Subject, types=ItemType)
    subject, item_type = kind
    version = _editor_version()
    form = _editor_form(subject, version)
    if form.validate_on_submit():
        content, problems = editor.read(form, subject, item_type)
        if content is not None:
            pool = ItemPool(form.pool.data)
            done = outcomes.commit(
                lambda: authoring.create_item(content, current_user, syllabus_version=version,
                                              pool=pool),
                _("题目已保存为草稿。"), quiet=authoring.InvalidItem)
            if done.ok:
                return _to_item(done.result)
            problems = done.refusal.problems
        _show_problems(form, problems)
    return _editor_page(form, item=None, subject=subject, item_type=item_type, version=version)


@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
def edit_item(item_id):
    item = _item_or_404(item_id)
    version = _editor_version(item)
    form = _editor_form(item.subject, version)
    proposed = False
    if request.method == "GET":
        shown([item], "editor")
        content = item.current_version.to_domain()
        editor.fill(form, content)
        written_against = item.current_version.syllabus_version
        if version != written_against:
            # Another tree: offer the crosswalk's links (to check), never the old codes.
            links = editor.proposed_links(content.syllabus, written_against, version)
            form.syllabus.data = links or []
            proposed = links is not None
    elif form.validate_on_submit():
        content, problems = editor.read(form, item.subject, item.item_type)
        if content is not None:
            done = outcomes.commit(
                lambda: authoring.revise_item(item, content, current_user,
                                              syllabus_version=version),
                lambda saved: _("已保存第 %(n)d 版。", n=saved.number),
                quiet=authoring.InvalidItem)
            if not isinstance(done.refusal, authoring.InvalidItem):
                return _to_item(item)
            problems = done.refusal.problems
        _show_problems(form, problems)
    return _editor_page(form, item=item, subject=item.subject, item_type=item.item_type,
                        version=version, proposed=proposed)


@bp.post("/items/preview")
def preview_item():
    """The item as a candidate would see it, from the editor's current input."""
    kind = _chosen_kind()
    if kind is None:
        abort(400)
    version = _editor_version()
    form = _editor_form(kind[0], version)
    form.validate()  # fills .data; problems are shown in the preview instead
    refused = editor.choice_problems(form)
    if refused:  # not the editor's own form: a forged or broken request
        return render_template("authoring/_preview.html", content=None, problems=refused), 400
    content, problems = editor.read(form, *kind)
    if content is not None:
        problems = authoring.content_problems(content, version)
    return render_template("authoring/_preview.html", content=content, problems=problems)


@bp.post("/items/<int:item_id>/submit")
def submit_item(item_id):
    return _change_item(item_id, authoring.submit_item, _("已提交审核。"))


@bp.post("/items/<int:item_id>/retire")
def retire_item(item_id):
    return _change_item(item_id, authoring.retire_item, _("题目已停用。"))


def _change_item(item_id: int, change, message: str):
    item = _item_or_404(item_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    outcomes.commit(lambda: change(item, current_user), message)
    return _to_item(item)


@bp.post("/items/<int:item_id>/review")
def review_item(item_id):
    item = _item_or_404(item_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        flash(_("请填写审核意见。"), "danger")
    elif form.reject.data:
        outcomes.commit(lambda: authoring.reject_item(item, current_user, form.comment.data),
                        _("已退回作者修改。"))
    else:
        outcomes.commit(lambda: authoring.approve_item(item, current_user, form.comment.data),
                        _("已通过并发布。"))
    return _to_item(item)


@bp.post("/items/approve")
def approve_items():
    form = BulkApproveForm()
    ids = posted_ids(request.form.getlist("item_id"), 500)
    if not form.validate_on_submit() or not ids:
        flash(_("请选择题目并填写审核意见。"), "danger")
        return redirect(url_for("authoring.list_items", status="REVIEW"))
    done = outcomes.commit(lambda: approvals.approve_items(ids, current_user, form.comment.data),
                           lambda approved: _("已通过 %(n)d 道题目。", n=approved[0]))
    refused = done.result[1] if done.ok else []
    for item_id, reason in refused[:20]:
        flash(_("题目 %(id)d 未通过：%(reason)s", id=item_id, reason=reason), "warning")
    return redirect(url_for("authoring.list_items", status="REVIEW"))
