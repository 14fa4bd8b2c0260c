"""The notification service: tell users what happened, once per event, in their own
language, on the channels they chose.

A *kind* of notice is registered once, at import, with its renderer; notify() records
a notice per (user, kind, event) — the unique key makes a repeat, a rerun job or two
requests at once add nothing — and queues an e-mail through the outbox for each user
who wants one. No text is stored: the renderer writes it from the notice's parameters
in the reader's language, when the centre shows it (the reader's request) or when the
deliverer composes the mail (the recipient's locale, queued with it).

Time-driven notices (reminders, due dates) come from *sweep sources* the daily sweep
calls; whole audiences (a session's candidates) from the fan-out job, in batches of
set-based INSERT … SELECT … ON CONFLICT DO NOTHING, with their mail spread out at
NOTIFICATION_MAIL_PER_MINUTE. An operator may plug in further channels (SMS, WeChat
templates) with NOTIFICATION_CHANNELS; none is plugged in by default.
"""

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import force_locale, gettext
from sqlalchemy.dialects import postgresql

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.mail import MailStatus, OutboxMail
from exam_portal.models.notifications import Notification, NotificationPreference
from exam_portal.models.types import dialect_insert, utcnow
from exam_portal.services.platform import bulk, jobs, mail

log = logging.getLogger(__name__)

IN_APP = "in_app"
EMAIL = "email"
MAIL_KIND = "notification"
# Users per statement of a fan-out: one batch's rows and mail commit together.
BATCH = 20_000


@dataclass(frozen=True)
class Notice:
    """A notice as one reader sees it: a title, a body and where it leads."""

    title: str
    body: str = ""
    # An endpoint and its values (the subject of the notice), or None.
    link: tuple[str, dict] | None = None

    def url(self, *, external: bool = False) -> str | None:
        if self.link is None:
            return None
        endpoint, values = self.link
        if external:
            return mail.public_url(endpoint, **values)
        return url_for(endpoint, **values)


Renderer = Callable[[dict], Notice]


@dataclass(frozen=True)
class Kind:
    name: str
    render: Renderer
    opt_in: bool
    label: object  # a lazy string: the kind's name on the preferences page
    roles: frozenset[Role]


KINDS: dict[str, Kind] = {}
SWEEP_SOURCES: dict[str, Callable[[datetime], None]] = {}


def kind(name: str, *, opt_in: bool = False, label=None,
         roles: Iterable[Role] = (Role.CANDIDATE,)):
    """Register the renderer of notices of kind *name*. It runs in the reader's locale
    and returns the Notice. *opt_in*: off unless the user turns it on. *label* names
    the kind on the preferences page, which lists it to users of *roles*."""
    if len(name) > 40:
        raise ValueError(f"notification kind {name!r} is longer than 40 characters")

    def register(function: Renderer) -> Renderer:
        KINDS[name] = Kind(name, function, opt_in, label or name, frozenset(roles))
        return function
    return register


def sweep_source(name: str):
    """Register a function the daily sweep calls with `now`; it notifies with stable
    event keys, so a rerun (or a second sweep the same day) sends nothing twice."""
    def register(function: Callable[[datetime], None]):
        SWEEP_SOURCES[name] = function
        return function
    return register


# Channels -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Recipient:
    """Who a plugged-in channel sends to (a snapshot: channels run after the commit)."""

    id: int
    email: str
    locale: str


class Channel(ABC):
    """A further way to reach users (SMS, WeChat templates), plugged in by the operator
    with NOTIFICATION_CHANNELS = "package.module:ClassName, …". It is called after the
    transaction that made the notices commits, once per notice of a user who turned the
    channel on for the kind (off by default), with the notice already written in the
    user's language. It should hand the message to its own queue and return quickly;
    an exception is logged and the notice stays in the centre."""

    #: stored in the preferences (at most 20 characters); unique among channels.
    name: str = ""
    #: the column heading on the preferences page.
    label: str = ""

    @abstractmethod
    def send(self, user: Recipient, notice: Notice) -> None:
        """Deliver *notice* to *user*."""


def channels() -> list[Channel]:
    """The channels the operator plugged in (none by default)."""
    app = current_app._get_current_object()
    found = app.extensions.get("notification_channels")
    if found is None:
        found = []
        setting = app.config.get("NOTIFICATION_CHANNELS") or ()
        if isinstance(setting, str):
            setting = [part.strip() for part in setting.split(",") if part.strip()]
        for entry in setting:
            if isinstance(entry, str):
                module, _, attribute = entry.partition(":")
                entry = getattr(import_module(module), attribute)
            channel = entry() if isinstance(entry, type) else entry
            if not isinstance(channel, Channel) or not channel.name or len(channel.name) > 20:
                raise RuntimeError(f"NOTIFICATION_CHANNELS: {entry!r} is not a Channel")
            found.append(channel)
        app.extensions["notification_channels"] = found
    return found


_CHANNEL_QUEUE = "notification_channel_sends"


def _after_commit(session) -> None:
    sends = session.info.pop(_CHANNEL_QUEUE, None)
    for channel, recipient, notice in sends or ():
        try:
            channel.send(recipient, notice)
        except Exception:  # noqa: BLE001 - the operator's code: the notice is in the centre
            log.exception("notification channel %s failed for user %s", channel.name,
                          recipient.id)


def _after_rollback(session) -> None:
    session.info.pop(_CHANNEL_QUEUE, None)


def connect_channels() -> None:
    """Send to plugged-in channels after every commit that made notices (the app
    factory calls it through wiring; the listeners are the session's, so once is
    enough)."""
    if not sa.event.contains(db.session, "after_commit", _after_commit):
        sa.event.listen(db.session, "after_commit", _after_commit)
        sa.event.listen(db.session, "after_rollback", _after_rollback)


# Preferences --------------------------------------------------------------------------

def default(kind_name: str, channel: str) -> bool:
    """A kind's setting on a channel when the user chose nothing: in-app and e-mail on
    unless the kind is opt-in; plugged-in channels off."""
    spec = KINDS.get(kind_name)
    if spec is None or channel not in (IN_APP, EMAIL):
        return False
    return not spec.opt_in


def _choice(user_id, kind_name: str, channel: str):
    """Whether the user wants *kind_name* on *channel*, as an SQL expression."""
    chosen = (sa.select(NotificationPreference.is_on)
              .where(NotificationPreference.user_id == user_id,
                     NotificationPreference.kind == kind_name,
                     NotificationPreference.channel == channel)
              .scalar_subquery())
    return sa.func.coalesce(chosen, sa.true() if default(kind_name, channel) else sa.false())


def is_on(user_id: int, kind_name: str, channel: str) -> bool:
    """Whether the user wants *kind_name* on *channel*."""
    return bool(db.session.scalar(sa.select(_choice(user_id, kind_name, channel))))


def preferences(user: User) -> dict[tuple[str, str], bool]:
    """The user's setting of every kind their role sees, on every channel."""
    chosen = {(row.kind, row.channel): row.is_on for row in db.session.scalars(
        sa.select(NotificationPreference).where(NotificationPreference.user_id == user.id))}
    names = [IN_APP, EMAIL] + [channel.name for channel in channels()]
    return {(spec.name, channel): chosen.get((spec.name, channel), default(spec.name, channel))
            for spec in kinds_for(user) for channel in names}


def kinds_for(user: User) -> list[Kind]:
    """The kinds a user of this role can receive, in registration order."""
    return [spec for spec in KINDS.values() if user.role in spec.roles]


def set_preferences(user: User, wanted: dict[tuple[str, str], bool], *,
                    now: datetime) -> None:
    """Store the user's choices (kinds their role does not see are ignored)."""
    current = preferences(user)
    table = NotificationPreference.__table__
    for (kind_name, channel), is_wanted in wanted.items():
        if (kind_name, channel) not in current:
            continue
        statement = dialect_insert(table, db.session.get_bind().dialect.name).values(
            user_id=user.id, kind=kind_name, channel=channel, is_on=bool(is_wanted),
            updated_at=now)
        db.session.execute(statement.on_conflict_do_update(
            index_elements=[table.c.user_id, table.c.kind, table.c.channel],
            set_={"is_on": statement.excluded.is_on, "updated_at": now}))


# Notifying ----------------------------------------------------------------------------

def notify(user_ids: int | Iterable[int] | sa.Select, kind_name: str, params: dict, *,
           event: str, now: datetime | None = None) -> int:
    """Notify users (an id, ids, or a SELECT of user ids) of *event*, once each; call
    it in the transaction of the change it reports. Returns the notices created (none
    for a repeat). Users who turned the kind off on both channels get nothing; mail
    goes through the outbox after the commit."""
    if kind_name not in KINDS:
        raise ValueError(f"unknown notification kind {kind_name!r}")
    if len(event) > 120:
        raise ValueError("a notification event key is at most 120 characters")
    params = json.loads(json.dumps(params))  # JSON only: refused here, not at the flush
    now = now or utcnow()
    if isinstance(user_ids, sa.Select):
        return _notify(user_ids, kind_name, params, event, now, paced=True)
    ids = sorted({user_ids} if isinstance(user_ids, int) else set(user_ids))
    created = 0
    for start in range(0, len(ids), 5000):
        created += _notify(ids[start:start + 5000], kind_name, params, event, now,
                           paced=len(ids) > 1)
    return created


def _notify(audience, kind_name: str, params: dict, event: str, now: datetime, *,
            paced: bool) -> int:
    if isinstance(audience, list) and not audience:
        return 0
    session = db.session
    dialect = session.get_bind().dialect.name
    table = Notification.__table__
    in_app = _choice(User.id, kind_name, IN_APP)
    email = _choice(User.id, kind_name, EMAIL)
    wanted = (User.id.in_(audience), User.is_active.is_(True))
    source = sa.select(
        User.id, sa.literal(kind_name, sa.String), sa.literal(event, sa.String),
        sa.literal(params, sa.JSON), in_app, sa.literal(now, table.c.created_at.type),
    ).where(*wanted, sa.or_(in_app, email))
    statement = (dialect_insert(table, dialect)
                 .from_select(["user_id", "kind", "event", "params", "in_app", "created_at"],
                              source)
                 .on_conflict_do_nothing(index_elements=["user_id", "kind", "event"])
                 .returning(table.c.id, table.c.user_id))
    created = dict((user_id, notice_id) for notice_id, user_id
                   in session.execute(statement).all())
    if not created:
        return 0
    if dialect == "postgresql":
        _queue_mail_in_sql(list(created.values()), kind_name, now, paced=paced)
    else:
        mailed = session.execute(sa.select(User.id, User.email, User.locale)
                                 .where(*wanted, email)).all()
        _queue_mail([(created[row.id], row.email, row.locale) for row in mailed
                     if row.id in created], now, paced=paced)
    if channels():
        _queue_channels(created, kind_name, params)
    return len(created)


def notify_each(kind_name: str, items: Iterable[tuple[int, str, dict]], *,
                now: datetime | None = None) -> int:
    """Notify many users each of their own event ((user id, event, params) triples: a
    certificate each); once per (user, kind, event) as notify() does. Returns the notices
    created; their mail is paced as an audience's."""
    if kind_name not in KINDS:
        raise ValueError(f"unknown notification kind {kind_name!r}")
    now = now or utcnow()
    items = [(user_id, event, json.loads(json.dumps(params)))
             for user_id, event, params in items]
    created = 0
    for start in range(0, len(items), 1000):
        created += _notify_each(kind_name, items[start:start + 1000], now,
                                paced=len(items) > 1)
    return created


def _notify_each(kind_name: str, items: list[tuple[int, str, dict]], now: datetime, *,
                 paced: bool) -> int:
    session = db.session
    user_ids = sorted({user_id for user_id, _event, _params in items})
    wanted = {row.id: row for row in session.execute(
        sa.select(User.id, User.email, User.locale,
                  _choice(User.id, kind_name, IN_APP).label("in_app"),
                  _choice(User.id, kind_name, EMAIL).label("email"))
        .where(User.id.in_(user_ids), User.is_active.is_(True)))}
    rows = [{"user_id": user_id, "kind": kind_name, "event": event, "params": params,
             "in_app": bool(wanted[user_id].in_app), "created_at": now}
            for user_id, event, params in items
            if user_id in wanted and (wanted[user_id].in_app or wanted[user_id].email)]
    if not rows:
        return 0
    table = Notification.__table__
    statement = (dialect_insert(table, session.get_bind().dialect.name)
                 .on_conflict_do_nothing(index_elements=["user_id", "kind", "event"])
                 .returning(table.c.id, table.c.user_id, table.c.params))
    created = session.execute(statement, rows).all()
    _queue_mail([(notice_id, wanted[user_id].email, wanted[user_id].locale)
                 for notice_id, user_id, _params in created if wanted[user_id].email],
                now, paced=paced)
    if channels():
        for notice_id, user_id, params in created:
            _queue_channels({user_id: notice_id}, kind_name, params)
    return len(created)


def _queue_mail(mails: list[tuple[int, str, str | None]], now: datetime, *,
                paced: bool) -> None:
    """Queue a mail per notice. A notice to one user goes at once; to an audience (a
    SELECT or several ids) the mail is spread out after any still waiting, at
    NOTIFICATION_MAIL_PER_MINUTE."""
    if not mails:
        return
    start, gap = _mail_slots(now, paced=paced)
    bulk.insert_rows(OutboxMail.__table__, [
        {"to_address": address, "kind": MAIL_KIND,
         "params": {"notification_id": notice_id, "locale": locale or ""},
         "status": MailStatus.PENDING, "attempts": 0,
         "next_attempt_at": start + gap * index, "created_at": now}
        for index, (notice_id, address, locale) in enumerate(mails)])
    db.session.info[mail.QUEUED] = True


def _mail_slots(now: datetime, *, paced: bool) -> tuple[datetime, timedelta]:
    """When the first of a batch of mail goes, and the gap between them: at once; or,
    paced, after the notice mail still waiting, NOTIFICATION_MAIL_PER_MINUTE apart."""
    per_minute = current_app.config.get("NOTIFICATION_MAIL_PER_MINUTE") or 0
    if not paced or per_minute <= 0:
        return now, timedelta(0)
    session = db.session
    gap = timedelta(minutes=1) / per_minute
    if session.get_bind().dialect.name == "postgresql":
        # Two audiences at once take their slots one after the other.
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(0x6E07_1F1C)))
    latest = session.scalar(
        sa.select(OutboxMail.next_attempt_at)
        .where(OutboxMail.status == MailStatus.PENDING, OutboxMail.kind == MAIL_KIND)
        .order_by(OutboxMail.next_attempt_at.desc()).limit(1))
    if latest is not None and latest + gap > now:
        return latest + gap, gap
    return now, gap


def _queue_mail_in_sql(notice_ids: list[int], kind_name: str, now: datetime, *,
                       paced: bool) -> None:
    """PostgreSQL: the mail of these new notices, for the users who want it, written by
    one INSERT … SELECT (an audience's 20,000 rows never pass through Python)."""
    start, gap = _mail_slots(now, paced=paced)
    notices = Notification.__table__
    outbox = OutboxMail.__table__
    slot = sa.func.row_number().over(order_by=notices.c.id) - 1
    source = (
        sa.select(User.email, sa.literal(MAIL_KIND, sa.String),
                  sa.func.json_build_object("notification_id", notices.c.id, "locale",
                                            sa.func.coalesce(User.locale, ""),
                                            type_=sa.JSON),
                  sa.literal(MailStatus.PENDING.value, sa.String), sa.literal(0),
                  sa.literal(start, outbox.c.next_attempt_at.type) + sa.func.make_interval(
                      0, 0, 0, 0, 0, 0, slot * gap.total_seconds(), type_=sa.Interval),
                  sa.literal(now, outbox.c.created_at.type))
        .join(User, User.id == notices.c.user_id)
        .where(notices.c.id == sa.any_(sa.bindparam(
                   "notice_ids", notice_ids, type_=postgresql.ARRAY(sa.Integer))),
               _choice(User.id, kind_name, EMAIL)))
    queued = db.session.execute(outbox.insert().from_select(
        ["to_address", "kind", "params", "status", "attempts", "next_attempt_at",
         "created_at"], source)).rowcount
    if queued:
        db.session.info[mail.QUEUED] = True


def _queue_channels(created: dict[int, int], kind_name: str, params: dict) -> None:
    session = db.session
    languages = current_app.config["LANGUAGES"]
    users = session.execute(sa.select(User.id, User.email, User.locale)
                            .where(User.id.in_(list(created)))).all()
    queue = session.info.setdefault(_CHANNEL_QUEUE, [])
    for channel in channels():
        wanted = {user_id for (user_id,) in session.execute(
            sa.select(User.id).where(User.id.in_(list(created)),
                                     _choice(User.id, kind_name, channel.name)))}
        for row in users:
            if row.id in wanted:
                locale = row.locale if row.locale in languages else languages[0]
                with force_locale(locale):
                    notice = KINDS[kind_name].render(params)
                queue.append((channel, Recipient(row.id, row.email, locale), notice))


@mail.composer(MAIL_KIND)
def _compose(address: str, params: dict) -> mail.Draft | None:
    """The mail of one notice, in the recipient's locale (the deliverer forces it);
    nothing if the notice is gone, the account closed or the mail turned off since."""
    notice_row = db.session.get(Notification, params.get("notification_id"))
    if notice_row is None or notice_row.kind not in KINDS:
        return None
    user = db.session.get(User, notice_row.user_id)
    if user is None or not user.is_active or user.email != address:
        return None
    if not is_on(user.id, notice_row.kind, EMAIL):
        return None
    notice = KINDS[notice_row.kind].render(notice_row.params)
    parts = [notice.body] if notice.body else []
    if notice.link is not None:
        parts.append(gettext("查看：%(link)s", link=notice.url(external=True)))
    parts.append(gettext("在“通知设置”中可以选择接收哪些通知：%(link)s",
                         link=mail.public_url("notifications.preferences")))
    return mail.Draft(notice.title[:200], "\n\n".join(parts))


# Reading ------------------------------------------------------------------------------

def render(notice_row: Notification) -> Notice:
    """The notice in the current locale (a kind no longer registered, or parameters its
    renderer cannot read: a plain title)."""
    spec = KINDS.get(notice_row.kind)
    if spec is not None:
        try:
            return spec.render(notice_row.params)
        except Exception:  # noqa: BLE001 - one bad notice must not take the centre down
            log.exception("notification %s (%s) could not be rendered", notice_row.id,
                          notice_row.kind)
    return Notice(gettext("通知"))


def list_query(user_id: int) -> sa.Select:
    """The user's notices in the centre, newest first."""
    return (sa.select(Notification)
            .where(Notification.user_id == user_id, Notification.in_app.is_(True))
            .order_by(Notification.id.desc()))


def unread_count(user_id: int) -> int:
    """The badge: the user's unread notices (one count on a partial index)."""
    return db.session.scalar(unread_count_of(user_id))


def unread_count_of(user_id) -> sa.Select:
    """The badge's count for *user_id*, a value or a column of an enclosing query."""
    return (sa.select(sa.func.count()).select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None),
                   Notification.in_app.is_(True)))


def mark_read(user_id: int, notification_id: int, *, now: datetime) -> bool:
    """Mark one of the user's notices read; False if it is not the user's."""
    owned = db.session.scalar(sa.select(Notification.id).where(
        Notification.id == notification_id, Notification.user_id == user_id))
    if owned is None:
        return False
    db.session.execute(
        sa.update(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user_id,
               Notification.read_at.is_(None))
        .values(read_at=now).execution_options(synchronize_session=False))
    return True


def mark_all_read(user_id: int, *, now: datetime) -> int:
    """Mark every unread notice of the user read; how many were."""
    return db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now).execution_options(synchronize_session=False)).rowcount


def get_own(user_id: int, notification_id: int) -> Notification | None:
    return db.session.scalar(sa.select(Notification).where(
        Notification.id == notification_id, Notification.user_id == user_id))


# The sweep and the fan-out ------------------------------------------------------------

SWEEP_JOB = "notifications.sweep"


def sweep(now: datetime) -> dict[str, str]:
    """Call every sweep source with *now*, each in a savepoint (one failing leaves the
    others' notices); the caller commits. Returns each source's outcome."""
    outcome = {}
    for name, source in SWEEP_SOURCES.items():
        try:
            with db.session.begin_nested():
                source(now)
        except Exception:  # noqa: BLE001 - a broken source must not stop the others
            log.exception("notification sweep source %s failed", name)
            outcome[name] = "failed"
        else:
            outcome[name] = "ok"
    return outcome


@jobs.job_kind(SWEEP_JOB)
def _sweep_job(params: dict, progress: jobs.Progress) -> dict:
    outcome = sweep(utcnow())
    db.session.commit()
    return outcome


Audience = Callable[[dict], sa.Select]
AUDIENCES: dict[str, Audience] = {}
FAN_OUT_JOB = "notifications.fan_out"
PHASE_NOTIFYING = "notify"


def audience(name: str):
    """Register a function that, given the fan-out's parameters, returns a SELECT of
    the user ids to notify (one column, named user_id). Its fan-outs are jobs of their
    own kind (fan_out_job(name)), so targets of different audiences never collide."""
    def register(function: Audience) -> Audience:
        AUDIENCES[name] = function
        jobs.job_kind(fan_out_job(name))(_fan_out_job)
        return function
    return register


def fan_out_job(audience_name: str) -> str:
    """The job kind of fan-outs to *audience_name*."""
    return f"{FAN_OUT_JOB}:{audience_name}"[:60]


def fan_out(audience_name: str, audience_params: dict, kind_name: str, params: dict, *,
            event: str, target_id: int, actor: User) -> "jobs.Job":
    """Notify a whole audience (a session's candidates) as a background job. Commits (a
    job does). Safe to run again: nobody is told the same event twice."""
    if audience_name not in AUDIENCES or kind_name not in KINDS:
        raise ValueError("unknown audience or notification kind")
    return jobs.submit(fan_out_job(audience_name), target_id=target_id, actor=actor, params={
        "audience": audience_name, "audience_params": audience_params,
        "kind": kind_name, "params": params, "event": event})


def run_fan_out(job_params: dict, progress: jobs.Progress = jobs.no_progress, *,
                batch: int = BATCH) -> dict:
    """Notify the audience in batches of user ids, committing each; returns the counts."""
    users = AUDIENCES[job_params["audience"]](job_params["audience_params"]).subquery()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(users))
    done = created = 0
    last = 0
    while True:
        upper = db.session.scalar(
            sa.select(sa.func.max(sa.literal_column("user_id"))).select_from(
                sa.select(users.c.user_id).where(users.c.user_id > last)
                .order_by(users.c.user_id).limit(batch).subquery()))
        if upper is None:
            break
        created += notify(
            sa.select(users.c.user_id).where(users.c.user_id > last,
                                             users.c.user_id <= upper),
            job_params["kind"], job_params["params"], event=job_params["event"])
        done = min(total, done + batch)
        last = upper
        progress(PHASE_NOTIFYING, done, total)  # commits this batch (a job's progress does)
        db.session.commit()
    return {"audience": total, "created": created}


def _fan_out_job(params: dict, progress: jobs.Progress) -> dict:
    return run_fan_out(params, progress)
