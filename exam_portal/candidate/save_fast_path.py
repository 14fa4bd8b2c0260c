"""The save-answer hot path, served in front of Flask's request handling.

A candidate's browser saves every answer at once, so this request is most of the
portal's traffic during a sitting. The answer lands in one SQL statement that checks
the signed-in user, the attempt's owner, device, deadline and sequence number
(`practice.try_save`); what that needs from the request is the login cookie, the CSRF
token and the body. Reading those here, without the request context, the user loader
and the ORM, costs a fraction of a full Flask request.

This path only ever answers "saved". A request it cannot verify completely, or a save
that did not land, goes on to the Flask view unchanged, which checks everything again
and says why (401, 404, 409, 400, 503). So this path can only be stricter than the
view, never more lenient.
"""

import hmac
import json
import time
from io import BytesIO
from urllib.parse import urlsplit

from flask import Flask
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException

from ..models.types import utcnow
from ..services import practice

ENDPOINT = "candidate.save_response"
VERIFIED_CACHE_SIZE = 50_000
MAX_BODY = 128 * 1024  # a 20,000-character answer fits, escaped; larger goes to Flask
_CSRF_HEADERS = ("HTTP_X_CSRFTOKEN", "HTTP_X_CSRF_TOKEN")


class SaveFastPath:
    """WSGI middleware: answers PUT save requests that land; passes on everything else."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        config = app.config
        self.csrf_serializer = URLSafeTimedSerializer(
            config.get("WTF_CSRF_SECRET_KEY") or config["SECRET_KEY"], salt="wtf-csrf-token")
        self.csrf_field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        self.csrf_time_limit = config.get("WTF_CSRF_TIME_LIMIT", 3600)
        self.ssl_strict = config.get("WTF_CSRF_SSL_STRICT", True)
        from ..web import SECURITY_HEADERS

        self._serializer = None
        self._verified: dict[tuple[str, str | None], tuple[tuple[int, str], float]] = {}
        self.headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                        *SECURITY_HEADERS.items()]

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "PUT":
            body = _read_small_json_body(environ)
            if body is not None:
                saved = self._save(environ, body)
                if saved is not None:
                    payload = json.dumps(saved, separators=(",", ":")).encode()
                    start_response("200 OK", [*self.headers,
                                              ("Content-Length", str(len(payload)))])
                    return [payload]
        return self.wsgi_app(environ, start_response)

    def _save(self, environ, body: bytes) -> dict | None:
        app = self.app
        try:
            endpoint, arguments = app.url_map.bind_to_environ(environ).match()
        except HTTPException:
            return None
        if endpoint != ENDPOINT:
            return None
        request = app.request_class(environ)
        identity = self._identity(request)
        if identity is None or not self._same_origin(request):
            return None
        try:
            payload = json.loads(body)
        except ValueError:
            return None
        with app.app_context():
            save = practice.try_save(arguments["attempt_id"], *identity,
                                     arguments["position"], payload, now=utcnow())
        if save is None:
            return None
        return {"saved": True, "position": save.position, "seq": save.seq}

    def _identity(self, request) -> tuple[int, str] | None:
        """The user id and session token of a valid login cookie sent with its valid
        CSRF token, as Flask's session and Flask-WTF's CSRFProtect would read them.

        Checking both signatures was a third of a save, and the browser sends the same
        two values with every save, so a pair that verified is remembered (the exact
        bytes, with the cookie's signing time, so it still expires on time)."""
        config = self.app.config
        cookie = request.cookies.get(config["SESSION_COOKIE_NAME"])
        sent = request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token")
        if not cookie:
            return None
        key = (cookie, sent)
        lifetime = self.app.permanent_session_lifetime.total_seconds()
        known = self._verified.get(key)
        if known is not None:
            identity, signed_at = known
            return identity if time.time() - signed_at <= lifetime else None
        try:
            session, signed_at = self._session_serializer().loads(
                cookie, max_age=int(lifetime), return_timestamp=True)
        except BadData:
            return None
        if not isinstance(session, dict) or not self._csrf_ok(sent, session):
            return None
        ident, _, token = str(session.get("_user_id", "")).partition(":")
        if not ident.isdigit() or not token:
            return None
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[key] = (int(ident), token), signed_at.timestamp()
        return int(ident), token

    def _session_serializer(self):
        if self._serializer is None:
            self._serializer = self.app.session_interface.get_signing_serializer(self.app)
        return self._serializer

    def _csrf_ok(self, sent: str | None, session: dict) -> bool:
        """Flask-WTF's check (CSRFProtect) of a header token, without a request context."""
        config = self.app.config
        if not (config.get("WTF_CSRF_ENABLED", True) and config.get("WTF_CSRF_CHECK_DEFAULT",
                                                                     True)):
            return True  # as CSRFProtect: the tests' configuration turns it off
        expected = session.get(self.csrf_field)
        if not sent or not isinstance(expected, str):
            return False
        try:
            token = self.csrf_serializer.loads(sent, max_age=self.csrf_time_limit)
        except BadData:
            return False
        return isinstance(token, str) and hmac.compare_digest(expected, token)

    def _same_origin(self, request) -> bool:
        """Over HTTPS, CSRFProtect also wants a Referer from this origin."""
        config = self.app.config
        if request.scheme != "https" or not self.ssl_strict or not config.get(
                "WTF_CSRF_ENABLED", True):
            return True
        referrer = urlsplit(request.referrer or "")
        here = urlsplit(request.host_url)
        return (referrer.scheme, referrer.netloc) == (here.scheme, here.netloc)


def _read_small_json_body(environ) -> bytes | None:
    """Read a JSON body of known, small length and leave a copy for the Flask view."""
    if environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower() != "application/json":
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if not 0 < length <= MAX_BODY:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = BytesIO(body)
    return body if len(body) == length else None
