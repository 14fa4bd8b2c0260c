"""Uploaded import files (items, scores, payments, seats) kept between the preview and the
confirmation."""

import re
import secrets
import time
from pathlib import Path

from flask import current_app, flash
from flask_babel import gettext as _
from flask_login import current_user

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


def confirmed(form) -> tuple[str, bytes] | None:
    """The upload a preview's confirmation *form* names, taken for the signed-in user; or
    None, having said the preview expired (a stale or forged token, or a second post)."""
    upload = take(current_user.id, form.token.data) if form.validate_on_submit() else None
    if upload is None:
        flash(_("预览已过期，请重新上传文件。"), "warning")
    return upload
