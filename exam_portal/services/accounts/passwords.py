"""Password rules and hashing: what a password must not be, how it is stored."""

import functools

from flask import current_app
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn.frequency_lists import FREQUENCY_LISTS

# Long passwords that lists of short ones miss but that people in China pick often.
_EXTRA_COMMON = {
    "woaini1314520",
    "woaini5201314",
    "qwertyuiop123",
    "1qaz2wsx3edc",
    "1q2w3e4r5t6y",
    "zxcvbnm123456",
    "abcdefghijkl",
    "abc123456789",
    "password1234",
    "passwordpassword",
    "iloveyou1314",
    "admin1234567",
    "qq1234567890",
}


@functools.cache
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"]) | _EXTRA_COMMON


def _is_trivial_pattern(password: str) -> bool:
    """A run such as "1234567890123" or "abcdefghijkl", or a repeated weak unit
    ("aaaa…", "ababab…", "passwordpassword")."""
    if _is_run(password):
        return True
    length = len(password)
    for size in range(1, length // 2 + 1):
        unit = password[:size]
        if length % size == 0 and password == unit * (length // size):
            return size <= 2 or unit in _common_passwords() or _is_run(unit)
    return False


def _is_run(text: str) -> bool:
    steps = {(ord(b) - ord(a)) % 10 if text.isdigit() else ord(b) - ord(a)
             for a, b in zip(text, text[1:], strict=False)}
    return len(steps) == 1 and steps <= {1, -1, 9}


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """Return why *password* is refused, or None when it is acceptable.

    NIST SP 800-63B: a minimum length and a blocklist, no composition rules.
    """
    config = current_app.config
    if len(password) < config["PASSWORD_MIN_LENGTH"]:
        return _(
            "密码至少需要 %(n)d 个字符。", n=config["PASSWORD_MIN_LENGTH"]
        )
    if len(password) > config["PASSWORD_MAX_LENGTH"]:
        return _("密码不能超过 %(n)d 个字符。", n=config["PASSWORD_MAX_LENGTH"])
    lowered = password.lower()
    if lowered in _common_passwords() or _is_trivial_pattern(lowered):
        return _("这个密码太常见，容易被猜到，请换一个。")
    if email and lowered == email.lower():
        return _("密码不能与电子邮箱相同。")
    return None


def hash_password(password: str) -> str:
    """Return a salted scrypt hash of *password*."""
    return generate_password_hash(
        password, method=current_app.config["PASSWORD_HASH_METHOD"]
    )


def verify_password(password_hash: str, password: str) -> bool:
    """Check *password* against a stored hash."""
    return check_password_hash(password_hash, password)
