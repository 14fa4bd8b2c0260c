"""Uploaded import files (items, scores) kept between the preview and the confirmation."""

import re
import secrets
import time
from pathlib import Path

from flask import current_app

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
