"""Bind the extensions and the per-request hooks to an app."""

from pathlib import Path

import sqlalchemy as sa
from flask import Flask, abort, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import get_locale
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from exam_portal.config import limits_per_process
from exam_portal.extensions import (
    babel,
    csrf,
    db,
    limiter,
    login_manager,
    migrate,
    use_sqlite_synchronous,
)
from exam_portal.models.accounts import User
from exam_portal.services.delivery import pages
from exam_portal.services.platform import clock, labels, mail_delivery
from exam_portal.web import errors, headers, locale, permissions, security
from exam_portal.web.forms import MAX_ROW_ID


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that a body nested too deeply for the parser (50,000
    brackets fit in 100 KB) is invalid JSON like any other: request.get_json answers
    400 (or None when silent) instead of letting a RecursionError become a 500. The save
    hot path parses with this too, so every JSON body the portal reads goes through it."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError as error:
            raise ValueError("JSON nested too deeply") from error


def register_extensions(app: Flask) -> None:
    from exam_portal import models  # noqa: F401 - registers the tables with the metadata

    app.json = JSONProvider(app)
    app.url_map.converters["int"] = _IdConverter
    db.init_app(app)
    with app.app_context():
        use_sqlite_synchronous(db.engine, app.config["SQLITE_SYNCHRONOUS"])
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True,
                     compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    if app.config["PRODUCTION"] and limits_per_process(app.config):
        app.logger.warning(
            "RATELIMIT_PER_PROCESS: rate limits are kept per process (%s); with more "
            "than one worker process each allows the full limit", ", ".join(
                f"{key}={app.config[key]}" for key in sorted(app.config)
                if key.endswith("_LIMIT_PER_ADDRESS") or key.endswith("_LIMIT_PER_ACCOUNT")))
    babel.init_app(app, locale_selector=locale.select_locale)
    locale.install_template_gettext(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)
    mail_delivery.deliver_after_commits()

    app.before_request(_refuse_nul_in_query)
    app.before_request(permissions.enforce_access)
    app.after_request(headers.security_headers)
    app.context_processor(_template_globals)


def _refuse_nul_in_query():
    # A NUL in a search or filter would reach PostgreSQL, which refuses it in text (a
    # 500); no query parameter of this portal can hold one. Forms check theirs.
    if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        abort(400)


def _template_globals() -> dict:
    return {
        "show_halves": pages.show_halves,
        "current_locale": str(get_locale()),
        "labels": labels,
        "show_date": clock.date_text,
        "show_datetime": clock.datetime_text,
    }


def _migrations_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "migrations"


def _load_user(user_id: str) -> User | None:
    # The cookie holds "<id>:<session token>"; a rotated token (logout, password
    # change, new login) makes the old cookie worthless.
    ident, _, token = user_id.partition(":")
    if not ident.isdigit() or not token:
        return None
    user = db.session.scalar(sa.select(User).where(User.id == int(ident)))
    if user is None or not user.is_active or user.session_token != token:
        return None
    return user


def _unauthorized():
    """Pages send the visitor to the login form; JSON calls (the delivery page's saves)
    get a JSON refusal, never a redirect a script could mistake for success."""
    from flask import jsonify, redirect, url_for
    from flask_babel import gettext

    if not errors.wants_json():
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    identity = security.session_identity()
    user = db.session.get(User, identity[0]) if identity is not None else None
    if user is not None and user.is_active and user.session_token != identity[1]:
        # The cookie was good until the same account signed in elsewhere (or out).
        return jsonify(code="superseded", message=gettext(
            "你的账户已在另一台设备或另一个浏览器登录，这里的答案不再保存。")), 409
    return jsonify(code="signed_out", message=gettext("请先登录。")), 401


class _IdConverter(IntegerConverter):
    """`<int:…>` in a URL is a row id: one that no INTEGER column can hold (PostgreSQL's
    are 32-bit) matches no route, so it is a 404 rather than a database error."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(url_map, *args, **kwargs)


def trust_proxies(app: Flask) -> None:
    """Believe X-Forwarded-For and X-Forwarded-Proto for exactly TRUSTED_PROXIES hops.

    Outermost, so every layer (the hot paths, the rate limits, the audit log) sees the
    client's address. A proxy appends the address it received from, so with n trusted
    proxies the client is the n-th value from the right; anything further left was
    written by the client and is ignored. Host, port and prefix come from
    PUBLIC_BASE_URL, so those headers are never believed.
    """
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0,
                                x_port=0, x_prefix=0)
