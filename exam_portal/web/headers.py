"""The security headers every response carries, and the cache rule for pages."""

from flask import request

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}

# A view may answer with its own policy and framing: an evidence document is sandboxed
# and may be shown in a frame of the portal's own review page.
_VIEW_MAY_SET = frozenset({"Content-Security-Policy", "X-Frame-Options"})


def security_headers(response):
    headers = response.headers
    for name, value in SECURITY_HEADERS.items():
        if name in _VIEW_MAY_SET:
            headers.setdefault(name, value)
        else:
            headers[name] = value
    if request.endpoint != "static":
        # Pages carry personal data or per-user state: never cache them, unless the
        # view said otherwise (a drawn paper, which never changes).
        headers.setdefault("Cache-Control", "no-store")
    return response
