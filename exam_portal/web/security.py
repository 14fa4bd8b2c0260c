"""Sessions and redirects: who the cookie names, safe "next" targets, recent sign-in."""

import functools
import time
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _


def session_identity() -> tuple[int, str] | None:
    """The user id and session token the signed login cookie names, unchecked: the
    caller must verify the token against the database (as the user loader does)."""
    ident, _, token = str(session.get("_user_id", "")).partition(":")
    return (int(ident), token) if ident.isdigit() and token else None


def safe_next(target: str | None, fallback: str) -> str:
    """Return *target* when it is a relative path on this site, else *fallback*."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return fallback
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


def mark_authenticated() -> None:
    """Record that the user has just proved their password."""
    session["auth_at"] = int(time.time())


def is_recently_authenticated() -> bool:
    auth_at = session.get("auth_at", 0)
    window = current_app.config["REAUTH_WINDOW_SECONDS"]
    return time.time() - auth_at <= window


def require_recent_auth(view):
    """Send the user to confirm their password when the last proof is too old."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if is_recently_authenticated():
            return view(*args, **kwargs)
        flash(_("这是敏感操作，请再次输入密码确认身份。"), "warning")
        back = request.path if request.method == "GET" else request.referrer
        if back and "://" in back:
            back = urlsplit(back).path
        return redirect(
            url_for("auth.reauthenticate", next=safe_next(back, url_for("main.index")))
        )

    return wrapper
