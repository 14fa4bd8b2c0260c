"""Items in and out of the bank for trainers: an upload previewed then imported, the
import template, and the filtered item list exported in any supported format."""

from flask import Response, abort, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.authoring.forms import ConfirmImportForm, ImportForm
from exam_portal.blueprints.authoring.views import bp, item_filters, list_filters
from exam_portal.extensions import db, no_write_lock
from exam_portal.services.item_bank import authoring, importing
from exam_portal.web import outcomes, uploads
from question_bank.formats import xlsx_format

MIMETYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "gift": "text/plain; charset=utf-8",
    "xml": "application/xml",
    "zip": "application/zip",
}


@bp.route("/import", methods=["GET", "POST"])
def import_items():
    # A preview writes nothing: the upload is received, parsed and planned with no write
    # lock held, so candidates' saves never wait for it (RELIABILITY LD-5).
    with no_write_lock():
        return uploads.preview(
            ImportForm(),
            lambda name, data: importing.plan_import(
                importing.read_file(name, data, max_items=importing.WEB_MAX_ITEMS),
                author=current_user),
            confirm=ConfirmImportForm(), ready=lambda plan: True,
            upload_page="authoring/import.html", preview_page="authoring/import_preview.html",
            actions=importing.Action)


@bp.post("/import/confirm")
def confirm_import():
    form = ConfirmImportForm()
    upload = uploads.confirmed(form)
    if upload is None:
        return redirect(url_for("authoring.import_items"))
    done = outcomes.commit(
        lambda: _import_file(*upload),
        lambda summary: _("导入完成：新建 %(create)d 道，更新 %(update)d 道，"
                          "未变 %(unchanged)d 道。", **summary))
    if not done.ok:
        return redirect(url_for("authoring.import_items"))
    return redirect(url_for("authoring.list_items", status="DRAFT"))


def _import_file(filename: str, data: bytes) -> dict:
    # Parsed with no write lock held; planned and written in one transaction after.
    with no_write_lock():
        records = importing.read_file(filename, data, max_items=importing.WEB_MAX_ITEMS)
    return importing.apply_import(importing.plan_import(records, author=current_user),
                                  current_user, filename=filename)


@bp.get("/import/template.xlsx")
def import_template():
    return _download(xlsx_format.template(), "xlsx", "item-template.xlsx")


@bp.get("/export")
def export_items():
    fmt = request.args.get("format", "xlsx")
    if fmt not in MIMETYPES:
        abort(404)
    query = authoring.item_query(item_filters(list_filters()))
    data, refused = importing.export_items(fmt, query=query, viewer=current_user)
    db.session.commit()  # the audit of any secure item in the file
    response = _download(data, fmt, f"items.{fmt}")
    # GIFT, Moodle XML and QTI carry choice items only; say how many were left out.
    response.headers["X-Items-Refused"] = str(len(refused))
    return response


def _download(data: bytes, fmt: str, filename: str) -> Response:
    return Response(data, mimetype=MIMETYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
