"""Error pages in both languages; no stack trace ever reaches a browser."""

import uuid

import sqlalchemy as sa
from flask import current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from exam_portal.extensions import db, login_manager


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("请求无效"), _("提交的内容无法处理，请返回重试。")),
        403: (_("没有权限"), _("你的账户无权访问此页面。")),
        404: (_("页面不存在"), _("找不到你要访问的页面，或者它不属于你。")),
        405: (_("请求方式不被允许"), _("此页面不接受这种请求方式。")),
        413: (_("内容过大"), _("提交的内容超过了允许的大小。")),
        503: (_("服务暂时不可用"), _("数据库连接刚刚中断，请稍后重试；已保存的内容不受影响。")),
        429: (_("请求过于频繁"), _("尝试次数过多，请稍后再试。")),
        500: (_("服务器出错"), _("服务器遇到意外错误，我们已记录此问题。")),
    }


def wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


def _render(code: int, detail: str | None = None, error_id: str | None = None):
    title, message = _messages().get(code, _messages()[500])
    if wants_json():
        body = {"error": title, "message": detail or message}
        if error_id:
            body["error_id"] = error_id
        return jsonify(body), code
    return (
        render_template(
            "errors/error.html", code=code, title=title,
            message=detail or message, error_id=error_id,
        ),
        code,
    )


def handle_http_error(error: HTTPException):
    if error.code is None or error.code >= 500:
        return handle_unexpected_error(error)
    return _render(error.code)


def handle_csrf_error(error: CSRFError):
    return _render(400, _("表单已过期或缺少安全令牌，请刷新页面后重试。"))


def handle_unexpected_error(error: Exception):
    if isinstance(error, HTTPException) and not isinstance(error, InternalServerError):
        return _render(error.code or 500)
    if current_app.testing:
        raise error  # tests see the real traceback instead of a friendly page
    db.session.rollback()
    error_id = uuid.uuid4().hex[:12]
    current_app.logger.error(
        "unhandled error %s on %s %s", error_id, request.method, request.path,
        exc_info=getattr(error, "original_exception", None) or error,
    )
    return _render(500, error_id=error_id)


def handle_database_error(error: sa.exc.DBAPIError):
    if error.connection_invalidated:
        # The connection died (database restarted): nothing of this request was
        # committed; the pool has already dropped its connections, so a retry gets a
        # fresh one.
        db.session.rollback()
        current_app.logger.warning("database connection lost on %s %s", request.method,
                                   request.path)
        return _render_without_database(503)
    if isinstance(error, sa.exc.OperationalError):
        # The database cannot be reached or cannot take the work just now (a server
        # restarting refuses connections; SQLite's lock outlasted busy_timeout): the
        # same answer, and a retry works once it is back (RELIABILITY FT-1).
        db.session.rollback()
        current_app.logger.warning("database unavailable on %s %s: %s", request.method,
                                   request.path, str(error.orig).strip()[:200])
        return _render_without_database(503)
    return handle_unexpected_error(error)


def _render_without_database(code: int):
    """Render an error page while the database is gone: the page's language would
    load the signed-in user from it (and fail again, answering 500), so the page is
    rendered as for a visitor (language from the session or the default)."""
    g._login_user = login_manager.anonymous_user()
    return _render(code)


def register_error_handlers(app) -> None:
    app.register_error_handler(sa.exc.DBAPIError, handle_database_error)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)
