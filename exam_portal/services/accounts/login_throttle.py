"""Login throttling: slow password guessing down without locking the owner out.

NIST SP 800-63B §5.2.2 limits consecutive failed attempts per account and warns that
a plain lock-out lets anyone lock a user out: with the old limits 20 wrong passwords
locked a candidate out of a sitting, and 56 failures from an exam centre's NAT address
(or from every user behind the TLS proxy) refused every correct login from it. This
follows OWASP's "Slow Down Online Guessing Attacks with Device Cookies":

- A browser that has logged in to an account carries a *device cookie* for it (signed
  with SECRET_KEY: the account id and a random nonce, renewed at each login; up to
  DEVICES_KEPT accounts per browser, for shared computers). Its holder's attempts at
  that account are counted under that device alone: anonymous failures, however many,
  never refuse it, and its own failures slow down only itself. A cookie for one
  account buys nothing at another.
- Everyone else is *anonymous*, counted per account (the normalised email, registered
  or not, so throttling never tells which accounts exist) and per client address
  (what TRUSTED_PROXIES makes of X-Forwarded-For).
- Re-authentication is counted per login session: a stolen session cannot guess for
  long, and the owner's next login starts a session with a count of its own.

Each counter lets some failures pass with no wait; each further failure opens a wait
that doubles from one second up to LOGIN_MAX_WAIT_SECONDS. Guessing slows to one
attempt per wait, while someone who mistyped, or who shares an address or an account
name with a guesser, waits seconds, told how many (the message and Retry-After),
never hours. A wait refuses the request rather than holding it: sleeping workers would
let a flood of guesses occupy the server. A counter is forgotten after an hour with no
failure. With the defaults an account allows about 75 anonymous failures an hour (ASVS
2.2.1: at most 100; settings above are refused at start) and an address 100 free
failures (an exam centre's typos) and then about one a minute.

An attempt is counted when it is admitted, before its password is checked, and taken
back when the password was right: the view commits the count first, so guesses sent in
parallel cannot slip past the limit while each one is hashed.
"""

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeTimedSerializer

from exam_portal.extensions import db
from exam_portal.models.accounts import LoginThrottle, ThrottleScope, User
from exam_portal.models.types import dialect_insert, utcnow
from exam_portal.services import ServiceError
from exam_portal.services.accounts import accounts
from exam_portal.services.platform import crypto

HOUR = 3600
FORGET_AFTER = timedelta(seconds=HOUR)
DEVICE_COOKIE = "portal_device"
DEVICE_COOKIE_MAX_AGE = 365 * 24 * 3600  # a year: exam preparation spans months
DEVICES_KEPT = 8
_PRUNE_BATCH = 500


@dataclass(frozen=True)
class Backoff:
    """How many failures pass with no wait, and the longest wait after more."""

    free: int
    max_wait: int  # seconds

    def wait_after(self, failures: int) -> int:
        """Seconds to wait after the *failures*-th failure: none within the free ones,
        then 1, 2, 4, … up to max_wait."""
        if failures < self.free:
            return 0
        return min(2 ** min(failures - self.free, 32), self.max_wait)

    def most_failures_per_hour(self) -> int:
        """The most failures counted in one hour, for a guesser who tries again the
        moment each wait ends (a counter is forgotten only after an hour without a
        failure, so an hour holds at most one fresh start)."""
        failures, elapsed = 0, 0
        while elapsed < HOUR:
            failures += 1
            elapsed += self.wait_after(failures)
        return failures


def backoff(scope: ThrottleScope, config=None) -> Backoff:
    """The policy of *scope*'s counters under the app's settings."""
    config = config if config is not None else current_app.config
    free = config["LOGIN_FREE_FAILURES_PER_ADDRESS" if scope == ThrottleScope.ADDRESS
                  else "LOGIN_FREE_FAILURES_PER_ACCOUNT"]
    return Backoff(free=free, max_wait=config["LOGIN_MAX_WAIT_SECONDS"])


# ASVS 2.2.1: "no more than 100 failed attempts per hour is possible on a single account".
MOST_FAILURES_PER_HOUR = 100


def check_settings(config) -> None:
    """Refuse settings that would let a guesser past ASVS 2.2.1 (the app factory calls
    this with the other checks of the configuration)."""
    for key in ("LOGIN_FREE_FAILURES_PER_ACCOUNT", "LOGIN_FREE_FAILURES_PER_ADDRESS",
                "LOGIN_MAX_WAIT_SECONDS"):
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise RuntimeError(f"{key} must be a whole number, 1 or more.")
    most = backoff(ThrottleScope.ACCOUNT, config).most_failures_per_hour()
    if most > MOST_FAILURES_PER_HOUR:
        raise RuntimeError(
            f"LOGIN_FREE_FAILURES_PER_ACCOUNT and LOGIN_MAX_WAIT_SECONDS would let one "
            f"account take {most} failed logins an hour; ASVS 2.2.1 allows at most "
            f"{MOST_FAILURES_PER_HOUR}: fewer free failures or a longer wait.")


class TooManyAttempts(ServiceError):
    """Refused before the password was checked; it may be tried after wait_seconds."""

    def __init__(self, wait_seconds: int):
        super().__init__(_("尝试次数过多，请 %(seconds)d 秒后再试。", seconds=wait_seconds))
        self.wait_seconds = wait_seconds


@dataclass(frozen=True)
class Hold:
    """One counter's part in an admitted attempt: enough to take it back."""

    scope: ThrottleScope
    key_hash: str
    counted_at: datetime
    failed_before: datetime | None
    armed_until: datetime | None
    locked_before: datetime | None


@dataclass(frozen=True)
class Ticket:
    """An admitted attempt; forgive() takes it back when the password was right."""

    holds: tuple[Hold, ...]


# --- Device cookies -------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="login-device")


def devices_in(cookie: str | None) -> dict[int, str]:
    """The accounts this browser has logged in to, each with its device nonce; nothing
    for a missing, expired or forged cookie."""
    if not cookie:
        return {}
    try:
        entries = _serializer().loads(cookie, max_age=DEVICE_COOKIE_MAX_AGE)
    except BadData:
        return {}
    if not isinstance(entries, list):
        return {}
    return {entry[0]: entry[1] for entry in entries
            if isinstance(entry, list) and len(entry) == 2
            and type(entry[0]) is int and isinstance(entry[1], str)}


def device_cookie_for(cookie: str | None, user_id: int) -> str:
    """The device cookie for a browser that has just logged in to *user_id*: a fresh
    nonce for that account first, the browser's other accounts after it."""
    others = [[known, nonce] for known, nonce in devices_in(cookie).items()
              if known != user_id]
    entries = [[user_id, secrets.token_urlsafe(16)], *others][:DEVICES_KEPT]
    return _serializer().dumps(entries)


# --- Counting -------------------------------------------------------------------


def _key(scope: ThrottleScope, text: str) -> tuple[ThrottleScope, str]:
    return scope, crypto.login_throttle_key(f"{scope.value}:{text}")


def admit_login(email: str, address: str, devices: dict[int, str]) -> Ticket:
    """Count a login attempt before its password is checked, or raise TooManyAttempts."""
    email = accounts.normalise_email(email)
    user_id = db.session.scalar(sa.select(User.id).where(User.email == email))
    nonce = devices.get(user_id) if user_id is not None else None
    if nonce is not None:
        return _admit([_key(ThrottleScope.DEVICE, f"{user_id}:{nonce}")])
    return _admit([_key(ThrottleScope.ACCOUNT, email), _key(ThrottleScope.ADDRESS, address)])


def admit_reauthentication(user: User) -> Ticket:
    """Count a re-authentication before its password is checked, or raise
    TooManyAttempts."""
    return _admit([_key(ThrottleScope.SESSION, f"{user.id}:{user.session_token}")])


def _admit(keys: list[tuple[ThrottleScope, str]]) -> Ticket:
    now = utcnow()
    keys = sorted(set(keys))  # one order for all, so no two wait for each other's rows
    rows, new = [], False
    for scope, key_hash in keys:
        row, inserted = _locked_row(scope, key_hash)
        rows.append(row)
        new = new or inserted
    if new:
        _prune(now, keep=keys)
    waits = [row.locked_until - now for row in rows
             if row.locked_until is not None and row.locked_until > now]
    if waits:
        raise TooManyAttempts(math.ceil(max(waits).total_seconds()))
    holds = []
    for row in rows:
        if row.last_failed_at is not None and row.last_failed_at <= now - FORGET_AFTER:
            row.failures = 0
        failed_before, locked_before = row.last_failed_at, row.locked_until
        row.failures += 1
        row.last_failed_at = now
        wait = backoff(row.scope).wait_after(row.failures)
        armed = now + timedelta(seconds=wait) if wait else None
        if armed is not None:
            row.locked_until = armed
        holds.append(Hold(row.scope, row.key_hash, now, failed_before, armed, locked_before))
    db.session.flush()
    return Ticket(tuple(holds))


def forgive(ticket: Ticket) -> None:
    """Take back an admitted attempt whose password was right."""
    now = utcnow()
    session = db.session
    for hold in ticket.holds:
        row = session.get(LoginThrottle, (hold.scope, hold.key_hash),
                          with_for_update=True, populate_existing=True)
        if row is None:
            continue
        row.failures = max(row.failures - 1, 0)
        # Undo only what no attempt since has changed again.
        if row.last_failed_at == hold.counted_at:
            row.last_failed_at = hold.failed_before
        if hold.armed_until is not None and row.locked_until == hold.armed_until:
            row.locked_until = hold.locked_before
        if row.failures == 0 and (row.locked_until is None or row.locked_until <= now):
            session.delete(row)  # nothing left to remember
    session.flush()


def _locked_row(scope: ThrottleScope, key_hash: str) -> tuple[LoginThrottle, bool]:
    session = db.session
    dialect = session.get_bind().dialect.name
    for _attempt in range(3):
        inserted = session.execute(
            dialect_insert(LoginThrottle.__table__, dialect)
            .values(scope=scope, key_hash=key_hash, failures=0)
            .on_conflict_do_nothing()
        ).rowcount
        row = session.get(LoginThrottle, (scope, key_hash), with_for_update=True,
                          populate_existing=True)
        if row is not None:
            return row, bool(inserted)
        # Deleted (forgiven or pruned) by another transaction in between: again.
    raise RuntimeError("login throttle row vanished three times")


def _prune(now: datetime, keep: list[tuple[ThrottleScope, str]]) -> None:
    # Run when a new key appears (one row per email ever tried would pile up):
    # counters nobody has failed under for an hour are forgotten anyway. Rows another
    # transaction holds are skipped (PostgreSQL), so pruning never waits for a login.
    key = sa.tuple_(LoginThrottle.scope, LoginThrottle.key_hash)
    stale = (
        sa.select(LoginThrottle.scope, LoginThrottle.key_hash)
        .where(LoginThrottle.last_failed_at < now - FORGET_AFTER,
               sa.or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
               key.not_in(keep))
        .limit(_PRUNE_BATCH)
        .with_for_update(skip_locked=True)
    )
    db.session.execute(
        sa.delete(LoginThrottle).where(key.in_(stale))
        .execution_options(synchronize_session=False)
    )
