"""Uploaded import files kept between the preview and the confirmation."""

import re
import secrets
from pathlib import Path

from flask import current_app

_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def keep(user_id: int, filename: str, data: bytes) -> str:
    """Store an upload for *user_id*; return the token that finds it again."""
    token = secrets.token_urlsafe(24)
    suffix = Path(filename).suffix.lower()[:6]
    (_folder() / f"{user_id}-{token}{suffix}").write_bytes(data)
    return token


def take(user_id: int, token: str) -> tuple[str, bytes] | None:
    """Return (filename, data) of this user's upload, or None; the upload is removed."""
    if not _TOKEN.fullmatch(token or ""):
        return None
    for path in _folder().glob(f"{user_id}-{token}.*"):
        data = path.read_bytes()
        path.unlink()
        return path.name, data
    return None
