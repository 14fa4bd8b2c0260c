"""Logging that never writes passwords, tokens or resident ID numbers."""

import logging
import re

# Reset links carry a token in the path; 18-character resident IDs may appear in
# a bad request line. Both are masked before any handler formats the record.
_PATTERNS = (
    (re.compile(r"(/auth/reset/)[A-Za-z0-9_\-]+"), r"\1[redacted]"),
    (re.compile(r"(?<![0-9])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9])"), r"\1********\2"),
    (re.compile(r"(password|token|csrf_token|session)=[^&\s\"']+", re.I), r"\1=[redacted]"),
)


def redact(text: str) -> str:
    """Mask secrets and ID numbers and encode CR/LF so a line cannot be forged."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text.replace("\r", "\\r").replace("\n", "\\n")


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure(app) -> None:
    """Attach the redacting filter to the app's and the servers' loggers."""
    redacting = RedactingFilter()
    for name in (app.logger.name, "werkzeug", "gunicorn.access", "gunicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(redacting)
