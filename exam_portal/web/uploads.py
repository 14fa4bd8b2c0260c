"""Uploaded import files (items, scores, payments, seats) kept between the preview and the
confirmation."""

import re
import secrets
import time
from pathlib import Path

from flask import current_app, flash, render_template
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.services import ServiceError

_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
_UNSAFE = re.compile(r"[^\w.\-]")
# A preview nobody confirmed is dropped after a day.
MAX_AGE_SECONDS = 24 * 3600


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def keep(user_id: int, filename: str, data: bytes) -> str:
    """Store an upload for *user_id*; return the token that finds it again."""
    folder = _folder()
    cutoff = time.time() - MAX_AGE_SECONDS
    for stale in folder.iterdir():
        if stale.stat().st_mtime < cutoff:
            stale.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)
    # The user's file name is kept (made safe) for the audit log and the format.
    name = _UNSAFE.sub("_", Path(filename or "upload").name)[-80:]
    (folder / f"{user_id}-{token}-{name}").write_bytes(data)
    return token


def take(user_id: int, token: str) -> tuple[str, bytes] | None:
    """Return (filename, data) of this user's upload, or None; the upload is removed."""
    if not _TOKEN.fullmatch(token or ""):
        return None
    for path in _folder().glob(f"{user_id}-{token}-*"):
        data = path.read_bytes()
        path.unlink()
        return path.name.removeprefix(f"{user_id}-{token}-"), data
    return None


def kept(user_id: int, token: str) -> tuple[str, bytes] | None:
    """Return (filename, data) of a file kept for this user (a report to download
    again), or None; the file stays until it is a day old."""
    if not _TOKEN.fullmatch(token or ""):
        return None
    for path in _folder().glob(f"{user_id}-{token}-*"):
        return path.name.removeprefix(f"{user_id}-{token}-"), path.read_bytes()
    return None


def confirmed(form) -> tuple[str, bytes] | None:
    """The upload a preview's confirmation *form* names, taken for the signed-in user; or
    None, having said the preview expired (a stale or forged token, or a second post)."""
    upload = take(current_user.id, form.token.data) if form.validate_on_submit() else None
    if upload is None:
        flash(_("预览已过期，请重新上传文件。"), "warning")
    return upload


def preview(form, make_plan, *, confirm, ready, upload_page: str, preview_page: str,
            **context):
    """A sheet's upload page, or its preview: *make_plan(filename, data)* reads and checks
    the file (a ServiceError is shown under the file field), and when the plan is
    *ready* to import (no errors and something to change) the file is kept for the
    *confirm* form to take back. Both pages get *context*."""
    if not form.validate_on_submit():
        return render_template(upload_page, form=form, **context)
    upload = form.file.data
    data = upload.read()
    try:
        plan = make_plan(upload.filename, data)
    except ServiceError as error:
        form.file.errors = [*form.file.errors, str(error)]
        return render_template(upload_page, form=form, **context)
    if not plan.errors and ready(plan):
        confirm.token.data = keep(current_user.id, upload.filename, data)
    return render_template(preview_page, plan=plan, confirm=confirm, filename=upload.filename,
                           **context)
