"""Items in and out of the bank for trainers: an upload previewed then imported (with
defaults for other systems' files, and the questions not imported handed back as a
sheet to fix), the import template, and the filtered item list exported in any
supported format."""

import io
from pathlib import PurePath

from flask import Response, abort, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.authoring.forms import ConfirmImportForm, ImportForm
from exam_portal.blueprints.authoring.views import bp, item_filters, list_filters
from exam_portal.extensions import db, no_write_lock
from exam_portal.services import ServiceError
from exam_portal.services.item_bank import authoring, importing, item_list
from exam_portal.services.platform import syllabi
from exam_portal.web import outcomes, uploads
from exam_portal.web.forms import as_choices
from question_bank import syllabus
from question_bank.formats import xlsx_format
from question_bank.subjects import Subject

MIMETYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "gift": "text/plain; charset=utf-8",
    "xml": "application/xml",
    "zip": "application/zip",
}
# Rows the preview lists; the counts and the sheet of rejects cover the whole file.
PREVIEW_ROWS = 1000


def _with_node_choices(form):
    """*form* with the default node's choices: the chapters and sections of the tree in
    force (a knowledge point is chosen per item, in the editor or the completion list)."""
    tree = syllabus.load(syllabi.in_force())
    indent = {"chapter": "", "section": "\u3000"}
    form.node.choices = as_choices([("", _("不设默认值"))] + [
        (node.code, f"{indent[node.depth.value]}{node.code} {node.title}")
        for subject_tree in tree.trees.values() for node in subject_tree.nodes
        if node.depth.value in indent])
    return form


def _plan(filename: str, data: bytes, options) -> importing.ImportPlan:
    """Read *data* with the trainer's *options* and plan its import (no write lock held
    while the file is read)."""
    defaults = None
    if importing.is_foreign(filename):
        defaults = importing.file_defaults(
            subject=Subject(options.subject.data) if options.subject.data else None,
            difficulty=int(options.difficulty.data) if options.difficulty.data else None,
            node=options.node.data or None, explanation=options.explanation.data or "")
    with no_write_lock():
        records = importing.read_file(filename, data, max_items=importing.WEB_MAX_ITEMS,
                                      defaults=defaults, encoding=options.encoding.data)
    return importing.plan_import(records, author=current_user)


def _place(record) -> str:
    if record.place is not None:
        return record.place.render(_)
    return str(record.location)


def _keep_rejects(plan: importing.ImportPlan, filename: str) -> str | None:
    data = importing.rejects_file(plan)
    if data is None:
        return None
    return uploads.keep(current_user.id, f"{PurePath(filename).stem}-rejects.xlsx", data)


@bp.route("/import", methods=["GET", "POST"])
def import_items():
    form = _with_node_choices(ImportForm())
    if not form.validate_on_submit():
        return render_template("authoring/import.html", form=form)
    upload = form.file.data
    filename, data = upload.filename or "", upload.read()
    # A preview writes nothing: the upload is received, parsed and planned with no write
    # lock held, so candidates' saves never wait for it (RELIABILITY LD-5).
    with no_write_lock():
        try:
            plan = _plan(filename, data, form)
        except ServiceError as error:
            form.file.errors = [*form.file.errors, str(error)]
            return render_template("authoring/import.html", form=form)
        confirm = _with_node_choices(ConfirmImportForm())
        for name in ("encoding", "subject", "difficulty", "node", "explanation"):
            confirm[name].data = form[name].data
        confirm.mode.data = "partial" if importing.is_foreign(filename) else "all"
        if plan.changes:
            confirm.token.data = uploads.keep(current_user.id, filename, data)
        return render_template(
            "authoring/import_preview.html", plan=plan, confirm=confirm, filename=filename,
            actions=importing.Action, rows=plan.rows[:PREVIEW_ROWS], place=_place,
            shown=PREVIEW_ROWS, foreign=importing.is_foreign(filename),
            field_labels=authoring.DEFAULTED_LABELS,
            rejects=_keep_rejects(plan, filename))


@bp.post("/import/confirm")
def confirm_import():
    form = _with_node_choices(ConfirmImportForm())
    upload = uploads.confirmed(form)
    if upload is None:
        return redirect(url_for("authoring.import_items"))
    filename, data = upload
    partial = form.mode.data == "partial"
    planned = []

    def import_file() -> dict:
        planned.append(_plan(filename, data, form))
        return importing.apply_import(planned[0], current_user, filename=filename,
                                      partial=partial)

    done = outcomes.commit(import_file, lambda summary: _(
        "导入完成：新建 %(create)d 道，更新 %(update)d 道，未变 %(unchanged)d 道。", **summary))
    if not done.ok:
        return redirect(url_for("authoring.import_items"))
    importing.after_import(planned[0])
    summary = done.result
    return redirect(url_for(
        "authoring.import_result", skipped=summary["error"] if partial else 0,
        completing=summary["completing"],
        rejects=_keep_rejects(planned[0], filename) if partial else None))


def _count_argument(name: str) -> int:
    value = request.args.get(name, "0")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 7 else 0


@bp.get("/import/done")
def import_result():
    token = request.args.get("rejects", "")
    return render_template(
        "authoring/import_result.html", skipped=_count_argument("skipped"),
        completing=_count_argument("completing"),
        rejects=token if uploads.kept(current_user.id, token) else None)


@bp.get("/import/rejects.xlsx")
def download_rejects():
    kept = uploads.kept(current_user.id, request.args.get("token", ""))
    if kept is None:
        abort(404)
    name, data = kept
    return send_file(io.BytesIO(data), mimetype=MIMETYPES["xlsx"], as_attachment=True,
                     download_name=name, max_age=0)


@bp.get("/import/template.xlsx")
def import_template():
    return _download(xlsx_format.template(), "xlsx", "item-template.xlsx")


@bp.get("/export")
def export_items():
    fmt = request.args.get("format", "xlsx")
    if fmt not in MIMETYPES:
        abort(404)
    query = item_list.item_query(item_filters(list_filters()))
    data, refused = importing.export_items(fmt, query=query, viewer=current_user)
    db.session.commit()  # the audit of any secure item in the file
    response = _download(data, fmt, f"items.{fmt}")
    # GIFT, Moodle XML and QTI carry choice items only; say how many were left out.
    response.headers["X-Items-Refused"] = str(len(refused))
    return response


def _download(data: bytes, fmt: str, filename: str) -> Response:
    return Response(data, mimetype=MIMETYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
