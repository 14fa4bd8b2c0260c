"""Bind extensions, blueprints and the per-request hooks to an app."""

from pathlib import Path

import sqlalchemy as sa
from flask import Flask, abort, current_app, has_request_context, request, session
from flask.json.provider import DefaultJSONProvider
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import clock, labels, permissions
from .config import limits_per_process
from .extensions import (
    babel,
    csrf,
    db,
    limiter,
    login_manager,
    migrate,
    use_sqlite_synchronous,
)
from .forms import MAX_ROW_ID
from .models.accounts import User
from .services import mail_delivery

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands speak the default language
        return languages[0]
    chosen = session.get("locale")
    if chosen is None and current_user and current_user.is_authenticated:
        chosen = current_user.locale
    return language_for(chosen, languages)


def language_for(chosen: str | None, languages) -> str:
    """The language code to use: the chosen one if the portal speaks it."""
    return chosen if chosen in languages else languages[0]


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
    from . import models  # noqa: F401 - registers the tables with the metadata

    app.json = JSONProvider(app)
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
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)
    mail_delivery.deliver_after_commits()

    app.before_request(_refuse_nul_in_query)
    app.before_request(permissions.enforce_access)
    app.after_request(_security_headers)
    app.context_processor(_template_globals)


def _refuse_nul_in_query():
    # A NUL in a search or filter would reach PostgreSQL, which refuses it in text (a
    # 500); no query parameter of this portal can hold one. Forms check theirs.
    if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        abort(400)


def _template_globals() -> dict:
    from .services.practice import show_halves

    return {
        "show_halves": show_halves,
        "current_locale": str(get_locale()),
        "labels": labels,
        "show_date": clock.date_text,
        "show_datetime": clock.datetime_text,
    }


def _migrations_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "migrations"


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

    from .errors import wants_json
    from .security import session_identity

    if not wants_json():
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    identity = session_identity()
    user = db.session.get(User, identity[0]) if identity is not None else None
    if user is not None and user.is_active and user.session_token != identity[1]:
        # The cookie was good until the same account signed in elsewhere (or out).
        return jsonify(code="superseded", message=gettext(
            "你的账户已在另一台设备或另一个浏览器登录，这里的答案不再保存。")), 409
    return jsonify(code="signed_out", message=gettext("请先登录。")), 401


SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}


def _security_headers(response):
    headers = response.headers
    for name, value in SECURITY_HEADERS.items():
        if name == "Content-Security-Policy":
            headers.setdefault(name, value)
        else:
            headers[name] = value
    if request.endpoint != "static":
        # Pages carry personal data or per-user state: never cache them, unless the
        # view said otherwise (a drawn paper, which never changes).
        headers.setdefault("Cache-Control", "no-store")
    return response


class _IdConverter(IntegerConverter):
    """`<int:…>` in a URL is a row id: one that no INTEGER column can hold (PostgreSQL's
    are 32-bit) matches no route, so it is a 404 rather than a database error."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(url_map, *args, **kwargs)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = _IdConverter
    from .account import bp as account_bp
    from .admin import bp as admin_bp
    from .auth import bp as auth_bp
    from .authoring import bp as authoring_bp
    from .candidate import bp as candidate_bp
    from .certificates import bp as certificates_bp
    from .jobs import bp as jobs_bp
    from .main import bp as main_bp
    from .marking import bp as marking_bp
    from .sittings import bp as sittings_bp
    from .training import bp as training_bp

    for blueprint in (main_bp, auth_bp, account_bp, candidate_bp, authoring_bp, admin_bp,
                      sittings_bp, jobs_bp, marking_bp, certificates_bp, training_bp):
        app.register_blueprint(blueprint)

    from .candidate.hot_paths import HotPaths

    app.wsgi_app = HotPaths(app, app.wsgi_app)


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
