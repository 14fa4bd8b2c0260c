"""The requests a sitting is made of, served in front of Flask's request handling:
saving an answer (PUT), loading the delivery page (GET), the page's hand-in of an exam
paper when its time is up (POST, JSON) and the "handed in" page it then loads (GET).

A candidate's browser saves every answer at once, so saves are most of the portal's
traffic during a sitting, and every reload or reconnect loads the page; when an exam's
time is up, every candidate's page hands in within the same seconds. What these
need from the request is the login cookie (and for a save its CSRF token and body);
reading those here, without a request context, the user loader and the ORM, costs a
fraction of a full Flask request.

These paths only ever answer the ordinary case: "saved", the page of an attempt in
progress, "handed in" for an exam paper handed in now, or its "handed in" page. A
request they cannot verify completely goes on to the Flask view unchanged, which checks
everything again and says why (401, 404, 409, 400, 503, a redirect). So they can only be
stricter than the views, never more lenient.
"""

import hmac
import json
import time
from io import BytesIO
from urllib.parse import urlsplit

from flask import Flask
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException

from exam_portal.blueprints.candidate import fragments
from exam_portal.extensions import reading_only
from exam_portal.models.types import utcnow
from exam_portal.services.delivery import hand_in, pages, responses
from exam_portal.services.delivery.paper_cache import LRU
from exam_portal.services.exam_sessions import online_exams
from exam_portal.services.platform.clock import datetime_text
from exam_portal.web.headers import SECURITY_HEADERS
from exam_portal.web.locale import language_for

SAVE_ENDPOINT = "candidate.save_response"
PAGE_ENDPOINT = "candidate.take_attempt"
SUBMIT_ENDPOINT = "candidate.submit_attempt"
RESULT_ENDPOINT = "candidate.result"
VERIFIED_CACHE_SIZE = 50_000
_NO_CSRF = object()  # a read: no CSRF token to check
MAX_BODY = 128 * 1024  # a 20,000-character answer fits, escaped; larger goes to Flask


class HotPaths:
    """WSGI middleware: answers the saves that land and the pages of attempts in
    progress; passes everything else to Flask."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        config = app.config
        self.csrf_serializer = URLSafeTimedSerializer(
            config.get("WTF_CSRF_SECRET_KEY") or config["SECRET_KEY"], salt="wtf-csrf-token")
        self.csrf_field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        self.ssl_strict = config.get("WTF_CSRF_SSL_STRICT", True)
        self._serializer = None
        self._verified = LRU(VERIFIED_CACHE_SIZE)
        self.prefixes = tuple({rule.rule.split("<")[0] for rule in app.url_map.iter_rules()
                               if rule.endpoint in (SAVE_ENDPOINT, PAGE_ENDPOINT,
                                                    SUBMIT_ENDPOINT, RESULT_ENDPOINT)})
        self.language_for = language_for

        security = [("Cache-Control", "no-store"), *SECURITY_HEADERS.items()]
        self.json_headers = [("Content-Type", "application/json"), *security]
        self.html_headers = [("Content-Type", "text/html; charset=utf-8"), *security]
        self._served = {"PUT": self._save, "GET": self._read, "POST": self._hand_in}

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        serve = self._served.get(method)
        if serve is not None and environ.get("PATH_INFO", "").startswith(self.prefixes):
            try:
                with reading_only():
                    answer = serve(environ)
            except Exception:  # noqa: BLE001 - the view answers, with the app's handlers
                self.app.logger.exception("hot path failed on %s %s; the view answers",
                                          method, environ.get("PATH_INFO"))
                answer = None
            if answer is not None:
                headers, body = answer
                start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
                return [body]
        return self.wsgi_app(environ, start_response)

    def _route(self, environ, endpoint: str) -> dict | None:
        found, arguments = self._match(environ)
        return arguments if found == endpoint else None

    def _match(self, environ) -> tuple[str | None, dict]:
        try:
            return self.app.url_map.bind_to_environ(environ).match()
        except HTTPException:
            return None, {}

    def _read(self, environ):
        found, arguments = self._match(environ)
        if found == PAGE_ENDPOINT:
            return self._page(environ, arguments)
        if found == RESULT_ENDPOINT:
            return self._submitted(environ, arguments)
        return None

    # Save --------------------------------------------------------------------------

    def _save(self, environ):
        body = _read_small_json_body(environ)
        if body is None:
            return None
        arguments = self._route(environ, SAVE_ENDPOINT)
        if arguments is None:
            return None
        request = self.app.request_class(environ)
        signed_in = self._signed_in(request, with_csrf=True)
        if signed_in is None or not self._same_origin(request):
            return None
        try:
            payload = self.app.json.loads(body)  # the app's parser, with its depth guard
        except ValueError:
            return None
        with self.app.app_context():
            save = responses.try_save(arguments["attempt_id"], *signed_in[0],
                                     arguments["position"], payload, now=utcnow())
        if save is None:
            return None
        answer = {"saved": True, "position": save.position, "seq": save.seq}
        return self.json_headers, json.dumps(answer, separators=(",", ":")).encode()

    # Hand-in of an exam paper ------------------------------------------------------

    def _hand_in(self, environ):
        """attempt.js timeUp(): POST {} as JSON. An exam paper is only recorded as handed
        in (hand_in.try_hand_in); anything else (a practice paper to mark, a paper
        already handed in or past its grace) goes to the view."""
        arguments = self._route(environ, SUBMIT_ENDPOINT)
        if arguments is None or _read_small_json_body(environ) is None:
            return None
        request = self.app.request_class(environ)
        signed_in = self._signed_in(request, with_csrf=True)
        if signed_in is None or not self._same_origin(request):
            return None
        (user_id, token), _session = signed_in
        attempt_id = arguments["attempt_id"]
        with self.app.app_context():
            if not hand_in.try_hand_in(attempt_id, user_id, token, now=utcnow()):
                return None
        result = self.app.url_map.bind_to_environ(environ).build(
            RESULT_ENDPOINT, {"attempt_id": attempt_id})
        answer = {"submitted": True, "result_url": result}
        return self.json_headers, json.dumps(answer, separators=(",", ":")).encode()

    # Delivery page -----------------------------------------------------------------

    def _signed_in_reader(self, environ):
        """(request, (user id, session token), session) of a page read by a signed-in
        user with nothing flashed and a CSRF token in the session; None otherwise."""
        request = self.app.request_class(environ)
        signed_in = self._signed_in(request, with_csrf=False)
        if signed_in is None:
            return None
        identity, session = signed_in
        if session.get("_flashes") or not isinstance(session.get(self.csrf_field), str):
            return None  # messages to show, or no CSRF token yet: the view sets them up
        return request, identity, session

    def _page(self, environ, arguments):
        reader = self._signed_in_reader(environ)
        if reader is None:
            return None
        request, (user_id, token), session = reader
        languages = self.app.config["LANGUAGES"]
        with self.app.app_context():
            data = pages.delivery_page_data(arguments["attempt_id"], user_id, token,
                                               now=utcnow())
            if data is None:
                return None
            chosen = session.get("locale")
            shell = fragments.cached_delivery_shell(
                self.language_for(data.locale if chosen is None else chosen, languages),
                arguments["attempt_id"], data.seed)
        if shell is None:
            return None  # the view renders the page and keeps it for next time
        html = fragments.fill_delivery_shell(
            shell, csrf=self.csrf_serializer.dumps(session[self.csrf_field]),
            email=data.email, next_path=request.full_path, flashes="",
            state=data.state, bookmarked=data.bookmarked)
        return self.html_headers, html.encode()

    # The "handed in" page of an exam paper ------------------------------------------

    def _submitted(self, environ, arguments):
        """Where attempt.js goes after the hand-in at time-up: an exam paper's "handed
        in" page, until the results are published; anything else goes to the view."""
        reader = self._signed_in_reader(environ)
        if reader is None:
            return None
        request, (user_id, token), session = reader
        with self.app.app_context():
            data = online_exams.submitted_page_data(arguments["attempt_id"], user_id, token)
            if data is None:
                return None
            chosen = session.get("locale")
            language = self.language_for(data.locale if chosen is None else chosen,
                                         self.app.config["LANGUAGES"])
            shell = fragments.cached_submitted_shell(language, data.subject.value)
        if shell is None:
            return None  # the view renders the page and keeps it for next time
        html = fragments.fill_submitted_shell(
            shell, csrf=self.csrf_serializer.dumps(session[self.csrf_field]),
            email=data.email, next_path=request.full_path, flashes="",
            submitted_at=datetime_text(data.submitted_at), unread=data.unread)
        return self.html_headers, html.encode()

    # Who is signed in --------------------------------------------------------------

    def _signed_in(self, request, *, with_csrf: bool):
        """((user id, session token), session) of a valid login cookie (for a write,
        sent with its valid CSRF token), as Flask's session and Flask-WTF's
        CSRFProtect would read them; None for anything else.

        Checking the signatures was a third of a save, and the browser sends the same
        values every time, so what verified is remembered by its exact bytes, with the
        cookie's signing time, so that it still expires on time."""
        cookie = request.cookies.get(self.app.config["SESSION_COOKIE_NAME"])
        if not cookie:
            return None
        config = self.app.config
        sent = None
        if with_csrf:
            sent = next((request.headers[name] for name in config.get(
                "WTF_CSRF_HEADERS", ("X-CSRFToken", "X-CSRF-Token"))
                if request.headers.get(name)), None)
        key = (cookie, with_csrf, sent)
        lifetime = self.app.permanent_session_lifetime.total_seconds()
        known = self._verified.get(key)
        if known is None:
            known = self._verify(cookie, lifetime, sent if with_csrf else _NO_CSRF)
            if known is None:
                return None
            self._verified.put(key, known)
        identity, signed_at, token_signed_at, session = known
        now = time.time()
        if now - signed_at > lifetime:
            return None
        csrf_limit = config.get("WTF_CSRF_TIME_LIMIT", 3600)
        if with_csrf and csrf_limit is not None and (
                token_signed_at is None or now - token_signed_at > csrf_limit):
            return None  # an expired token: CSRFProtect refuses it in the view
        return identity, session

    def _verify(self, cookie: str, lifetime: float, sent):
        """(identity, cookie signed at, CSRF token signed at, session) or None."""
        try:
            session, signed_at = self._session_serializer().loads(
                cookie, max_age=int(lifetime), return_timestamp=True)
        except BadData:
            return None
        if not isinstance(session, dict):
            return None
        token_signed_at = None
        if sent is not _NO_CSRF:
            token_signed_at = self._csrf_signed_at(sent, session)
            if token_signed_at is None:
                return None
        ident, _, token = str(session.get("_user_id", "")).partition(":")
        if not ident.isdigit() or not token:
            return None
        return (int(ident), token), signed_at.timestamp(), token_signed_at, session

    def _session_serializer(self):
        if self._serializer is None:
            self._serializer = self.app.session_interface.get_signing_serializer(self.app)
        return self._serializer

    def _csrf_signed_at(self, sent: str | None, session: dict) -> float | None:
        """When the header's CSRF token was signed, if it is this session's valid token
        (Flask-WTF's CSRFProtect check, without a request context; its time limit is
        applied by the caller on every request); None otherwise."""
        config = self.app.config
        if not (config.get("WTF_CSRF_ENABLED", True) and config.get("WTF_CSRF_CHECK_DEFAULT",
                                                                     True)):
            return float("inf")  # as CSRFProtect: the tests' configuration turns it off
        expected = session.get(self.csrf_field)
        if not sent or not isinstance(expected, str):
            return None
        try:
            token, signed_at = self.csrf_serializer.loads(sent, return_timestamp=True)
        except BadData:
            return None
        if not isinstance(token, str) or not hmac.compare_digest(expected, token):
            return None
        return signed_at.timestamp()

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
