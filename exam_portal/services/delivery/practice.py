"""Practice and mock attempts: start, open on a device, save, check, submit, expire.

The hot path (save) is one SQL statement: an upsert that only lands when the attempt
is the candidate's, still open, held by this device, not past its deadline and grace,
and when the client's sequence number is newer than the stored one. Everything else
is worked out only when it did not land.
"""

import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from exam_portal.extensions import db, lock_for_writing
from exam_portal.models.accounts import Role, User
from exam_portal.models.attempts import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    Bookmark,
    EndedBy,
    Response,
)
from exam_portal.models.types import UTCDateTime, dialect_insert
from exam_portal.services import ServiceError
from exam_portal.services.delivery import learning, paper_cache
from exam_portal.services.item_bank import pools
from exam_portal.services.platform import driver_sql
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank import delivery, scoring, specs, syllabus
from question_bank.assembly import Pool, assemble
from question_bank.errors import QuotaNotMet
from question_bank.practice import Mode, daily_seed, default_law_cutoff, set_size
from question_bank.subjects import Subject


class AttemptNotFound(ServiceError):
    """No such attempt, or not the candidate's own (both answer 404)."""


class Refused(ServiceError):
    """A save or submit that cannot be taken; `code` tells the browser which case."""

    code = "refused"


class AttemptClosed(Refused):
    code = "closed"


class DeviceSuperseded(Refused):
    code = "superseded"


class StaleSave(Refused):
    code = "stale"

    def __init__(self, message: str, stored_seq: int):
        super().__init__(message)
        self.stored_seq = stored_seq


class ResponseLocked(Refused):
    code = "locked"


class InvalidResponse(ServiceError):
    """A payload that is not an answer to this paper (400): nothing is stored."""


class CannotStart(ServiceError):
    """The set cannot be drawn (no items, bank too small, mode not for this subject)."""


MAX_SEQ = 2**31 - 1
MAX_ANSWER_TEXT = 20_000
_SAVE_FIELDS = frozenset({"seq", "device", "selected", "text", "flagged"})


def grace() -> timedelta:
    return timedelta(seconds=current_app.config["ATTEMPT_GRACE_SECONDS"])


def law_cutoff(today: date) -> date:
    configured = current_app.config.get("LAW_CUTOFF")
    if configured:
        return date.fromisoformat(str(configured))
    return default_law_cutoff(today, current_app.config["EXAM_MONTH"])


def remaining_seconds(attempt: Attempt, now: datetime) -> int | None:
    if attempt.deadline_at is None:
        return None
    return max(0, int((attempt.deadline_at - now).total_seconds()))


def is_overdue(attempt: Attempt, now: datetime) -> bool:
    """Past the deadline and its grace: no save or submit is taken any more."""
    return attempt.deadline_at is not None and now > attempt.deadline_at + grace()


# Starting ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Sitting:
    """What an exam sitting (Mode.EXAM) takes from its registration and session."""

    registration_id: int
    law_cutoff: date
    closes_at: datetime  # the exam window's end: no deadline runs past it


def start_attempt(candidate_id: int, subject: Subject, mode: Mode, *, now: datetime,
                  chapters: tuple[str, ...] = (), count: int | None = None,
                  variant: str | None = None, sitting: Sitting | None = None) -> Attempt:
    """Draw a paper or practice set for the candidate and store it."""
    if (mode is Mode.EXAM) != (sitting is not None):
        raise CannotStart(gettext("正式考试只能从报名开始。"))
    if mode.is_practice and _sitting_in_progress(candidate_id, subject):
        raise CannotStart(gettext("你正在参加这个科目的正式考试，交卷前不能练习这个科目。"))
    today = now.astimezone(LOCAL_ZONE).date()
    if mode is Mode.MOCK:
        existing = open_mock(candidate_id, subject)
        if existing is not None:
            return existing
    if mode is Mode.DAILY:
        existing = _todays_daily_set(candidate_id, subject, today)
        if existing is not None:
            return existing
    if mode.is_practice:
        _refuse_too_many_starts(candidate_id, now)
    if variant not in specs.variants(subject):
        variant = None
    spec = specs.load(subject, variant)
    cutoff = law_cutoff(today) if subject.is_law else None
    if sitting is not None and subject.is_law:
        cutoff = sitting.law_cutoff  # the session's own, not today's
    cached = pools.current_pool(subject, cutoff)
    pool = cached.pool
    if mode.is_full_paper:
        paper_spec = spec
    else:
        size = set_size(subject, mode)
        if size is None:
            raise CannotStart(gettext("这个科目没有这种练习方式。"))
        paper_spec = specs.practice_spec(spec, count if count in size.choices else size.default)
    if mode in (Mode.REDO, Mode.BOOKMARKS):
        ids = (learning.book_item_ids if mode is Mode.REDO
               else learning.bookmarked_item_ids)(candidate_id, subject)
        pool = Pool(cached.by_item[item_id] for item_id in ids if item_id in cached.by_item)
    if mode.is_practice:
        # Practice would show the keys of the candidate's own exam paper before its
        # results are published: those items stay out until then.
        sat = _unpublished_exam_items(candidate_id, subject)
        if sat:
            pool = Pool((entry for entry in pool.by_version.values() if entry.item_id not in sat),
                        on_date=pool.on_date)
    chosen_chapters = None
    if mode is Mode.CHAPTER:
        known = {chapter.code for chapter in syllabus.load().trees[subject].chapters}
        valid = known.intersection(chapters)
        if not valid:
            raise CannotStart(gettext("请至少选择一章。"))
        chosen_chapters = frozenset(valid)
    seed = daily_seed(candidate_id, today, subject) if mode is Mode.DAILY \
        else secrets.randbits(62)
    # An exam paper does not depend on what the candidate happened to practise.
    seen = frozenset() if mode is Mode.EXAM else frozenset(
        cached.by_item[item_id].version_id
        for item_id in seen_item_ids(candidate_id, subject) if item_id in cached.by_item)
    try:
        paper = assemble(
            # A seeded, replayable draw: the paper is rebuilt from its stored seed.
            paper_spec, pool, random.Random(seed), seen=seen,  # noqa: S311
            chapters=chosen_chapters,
            chapter_weights=spec.weights, strict=mode.is_full_paper,
            match_points=mode.is_full_paper,
            exposure=cached.exposure if mode is Mode.MOCK else None, papers=cached.papers,
            max_exposure=current_app.config["MOCK_MAX_EXPOSURE"])
    except QuotaNotMet as error:
        section = next(s for s in paper_spec.sections if s.code == error.section)
        raise CannotStart(gettext(
            "题库中可用于“%(section)s”的题目不足：需要 %(needed)d 道，现有 %(available)d 道。",
            section=gettext(section.title), needed=error.needed,
            available=error.available)) from error
    if not paper:
        raise CannotStart(gettext("没有可以练习的题目。"))
    sections = {section.code: section for section in paper_spec.sections}
    attempt = Attempt(
        candidate_id=candidate_id, mode=mode, subject=subject, spec_version=spec.version,
        spec_variant=spec.variant, seed=seed, chapters=sorted(chosen_chapters or ()),
        law_cutoff=cutoff, started_at=now, status=AttemptStatus.IN_PROGRESS,
        device_token=secrets.token_hex(16), full_halves=0, pass_halves=0,
        deadline_at=now + timedelta(minutes=spec.minutes) if mode.is_timed else None,
        registration_id=sitting.registration_id if sitting else None)
    if sitting is not None:
        attempt.deadline_at = min(attempt.deadline_at, sitting.closes_at)
    for entry in paper:
        drawn = cached.pool.by_version.get(entry.version_id) or pool.by_version[entry.version_id]
        section = sections[entry.section]
        points = section.points if mode.is_full_paper or drawn.points is None \
            else drawn.points
        attempt.items.append(AttemptItem(
            position=entry.position, section=entry.section, item_id=drawn.item_id,
            item_version_id=drawn.version_id, chapter_code=drawn.chapter,
            option_order=delivery.encode_order(entry.option_order),
            points_halves=int(points * 2)))
    attempt.full_halves = sum(item.points_halves for item in attempt.items)
    attempt.pass_halves = int((attempt.full_halves * spec.pass_ratio)
                              .to_integral_value(ROUND_CEILING))
    if mode is Mode.MOCK:
        attempt = _insert_mock(attempt)
        cached.record(entry.version_id for entry in paper)
    elif mode is Mode.EXAM:
        attempt = _insert_sitting(attempt)
    else:
        db.session.add(attempt)
        db.session.flush()
    return attempt


def _refuse_too_many_starts(candidate_id: int, now: datetime) -> None:
    """Raise CannotStart, saying when the candidate can start again, if they have
    started PRACTICE_START_LIMIT practice sets or mock papers within the last
    PRACTICE_START_WINDOW_MINUTES. Counted in the database, so it holds across workers."""
    config = current_app.config
    limit = config["PRACTICE_START_LIMIT"]
    if limit <= 0:
        return
    window = timedelta(minutes=config["PRACTICE_START_WINDOW_MINUTES"])
    # PostgreSQL: parallel starts of one candidate queue here until the first commits,
    # so none counts before another's row is in (on SQLite a POST's transaction holds
    # the write lock already). NO KEY UPDATE leaves the foreign-key checks of other
    # inserts for this user unblocked.
    db.session.execute(sa.select(User.id).where(User.id == candidate_id)
                       .with_for_update(key_share=True))
    limiting = db.session.scalar(
        sa.select(Attempt.started_at)
        .where(Attempt.candidate_id == candidate_id, Attempt.mode != Mode.EXAM,
               Attempt.started_at > now - window)
        .order_by(Attempt.started_at.desc()).offset(limit - 1).limit(1))
    if limiting is not None:
        raise CannotStart(gettext(
            "%(minutes)d 分钟内最多可开始 %(limit)d 次练习或模拟考试，请在 %(time)s 之后再开始。"
            "未交卷的模拟考试和今天的每日一练可以继续作答。",
            minutes=config["PRACTICE_START_WINDOW_MINUTES"], limit=limit,
            time=_local_minute(limiting + window, now)))


def _local_minute(moment: datetime, now: datetime) -> str:
    """*moment* in local time, rounded up to the minute, with its date unless today."""
    local = moment.astimezone(LOCAL_ZONE)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    same_day = local.date() == now.astimezone(LOCAL_ZONE).date()
    return local.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M")


def _insert_mock(attempt: Attempt) -> Attempt:
    # Two "start" clicks at once: the partial unique index lets one through; the
    # other gets the mock paper that won.
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:
        existing = open_mock(attempt.candidate_id, attempt.subject)
        if existing is None:
            raise
        return existing
    return attempt


def _sitting_in_progress(candidate_id: int, subject: Subject) -> bool:
    return db.session.scalar(sa.select(sa.func.count(Attempt.id)).where(
        Attempt.candidate_id == candidate_id, Attempt.subject == subject,
        Attempt.mode == Mode.EXAM, Attempt.status == AttemptStatus.IN_PROGRESS)) > 0


def _unpublished_exam_items(candidate_id: int, subject: Subject) -> set[int]:
    from exam_portal.models.sittings import ExamSession, Registration

    return set(db.session.scalars(
        sa.select(AttemptItem.item_id)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .join(Registration, Registration.id == Attempt.registration_id)
        .join(ExamSession, ExamSession.id == Registration.session_id)
        .where(Attempt.candidate_id == candidate_id, Attempt.subject == subject,
               Attempt.mode == Mode.EXAM, ExamSession.results_published_at.is_(None))))


def _insert_sitting(attempt: Attempt) -> Attempt:
    # Two "start" clicks for one subject: the unique (registration, subject) lets one
    # through; the other gets the paper that won.
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:
        existing = db.session.scalar(sa.select(Attempt).where(
            Attempt.registration_id == attempt.registration_id,
            Attempt.subject == attempt.subject))
        if existing is None:
            raise
        return existing
    return attempt


def chapter_sizes(subject: Subject, today: date) -> dict[str, int]:
    """How many published items each chapter of *subject* offers to practise."""
    cached = pools.current_pool(subject, law_cutoff(today) if subject.is_law else None)
    sizes: dict[str, int] = {}
    for entry in cached.by_item.values():
        sizes[entry.chapter] = sizes.get(entry.chapter, 0) + 1
    return sizes


def open_mock(candidate_id: int, subject: Subject) -> Attempt | None:
    return db.session.scalar(sa.select(Attempt).where(
        Attempt.candidate_id == candidate_id, Attempt.subject == subject,
        Attempt.mode == Mode.MOCK, Attempt.status == AttemptStatus.IN_PROGRESS))


def _todays_daily_set(candidate_id: int, subject: Subject, today: date) -> Attempt | None:
    start = datetime.combine(today, datetime.min.time(), LOCAL_ZONE)
    return db.session.scalar(sa.select(Attempt).where(
        Attempt.candidate_id == candidate_id, Attempt.subject == subject,
        Attempt.mode == Mode.DAILY, Attempt.started_at >= start,
        Attempt.started_at < start + timedelta(days=1)).order_by(Attempt.id).limit(1))


def seen_item_ids(candidate_id: int, subject: Subject) -> set[int]:
    """Items that were in any of the candidate's attempts of *subject*."""
    return set(db.session.scalars(
        sa.select(AttemptItem.item_id).distinct()
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(Attempt.candidate_id == candidate_id, Attempt.subject == subject)))


# Opening and reading ----------------------------------------------------------------

def get_own_attempt(attempt_id: int, candidate_id: int, *, now: datetime) -> Attempt:
    """The candidate's attempt; an overdue one is finalised first (lazy expiry)."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.candidate_id != candidate_id:
        raise AttemptNotFound(gettext("找不到这次练习。"))
    if attempt.is_open and is_overdue(attempt, now):
        lock_for_writing()
        finalise(attempt.id, now=now, ended_by=EndedBy.DEADLINE)
        db.session.refresh(attempt)
    return attempt


def open_attempt(attempt: Attempt, *, now: datetime) -> dict:
    """Hand the attempt to the device asking (taking it from any other) and return the
    state that device resumes from: its token, saved answers and remaining time."""
    if not attempt.is_open:
        raise AttemptClosed(gettext("这次练习已经交卷。"))
    attempt.device_token = secrets.token_hex(16)
    db.session.flush()
    return {"device": attempt.device_token, **attempt_state(attempt, now=now)}


_STATE_COLUMNS = (Response.position, Response.selected, Response.text, Response.is_flagged,
                  Response.seq, Response.is_locked, Response.score_halves,
                  Response.self_score_halves)


def attempt_state(attempt: Attempt, *, now: datetime) -> dict:
    """Saved answers in shown letters (with feedback where it is already allowed),
    the highest sequence number, and the server's remaining time."""
    rows = db.session.execute(sa.select(*_STATE_COLUMNS).where(
        Response.attempt_id == attempt.id))
    return _state(attempt, rows, now)


def _state(attempt, rows, now: datetime) -> dict:
    layout = paper_cache.layout(attempt.id)
    responses = {}
    max_seq = 0
    for row in rows:
        response = _StateRow(*row)
        slot = layout.slots.get(response.position)
        if slot is None:
            continue
        entry = {"seq": response.seq, "flagged": bool(response.is_flagged),
                 "locked": bool(response.is_locked)}
        if slot.item_type.is_choice:
            entry["selected"] = delivery.stored_to_shown(response.selected or "", slot.order)
        else:
            entry["text"] = response.text or ""
            if response.self_score_halves is not None:
                entry["self_score"] = _show_halves(response.self_score_halves)
        if response.is_locked:
            entry["feedback"] = feedback(attempt, response.position, response)
        responses[str(response.position)] = entry
        max_seq = max(max_seq, response.seq)
    return {"status": attempt.status.value, "remaining": remaining_seconds(attempt, now),
            "max_seq": max_seq, "responses": responses}


@dataclass(frozen=True)
class _StateRow:
    position: int
    selected: str | None
    text: str | None
    is_flagged: bool
    seq: int
    is_locked: bool
    score_halves: int | None
    self_score_halves: int | None


@dataclass(frozen=True)
class PageAttempt:
    """The attempt fields the delivery page's state needs, read without the ORM."""

    id: int
    status: AttemptStatus
    deadline_at: datetime | None


@dataclass(frozen=True)
class PageData:
    """What the delivery page shows per request, besides what never changes."""

    email: str
    locale: str | None
    seed: int  # the paper's: the cached page is kept per drawn paper
    state: dict
    bookmarked: list[int]


def delivery_page_data(attempt_id: int, user_id: int, session_token: str, *,
                       now: datetime) -> PageData | None:
    """The delivery page's per-request data, for the signed-in candidate (session token,
    active, a candidate) and their own attempt in progress and not overdue, read in one
    short transaction on a driver connection. None for anything else: the view then
    answers (redirect, 404, sign-in, finalising an overdue attempt)."""
    layout = paper_cache.layout(attempt_id)
    db.session.remove()  # as in try_save
    if layout is None or layout.candidate_id != user_id:
        return None
    engine = db.engine
    head = driver_sql.compiled(engine, "page-head", lambda _dialect: sa.select(
        User.email, User.locale, Attempt.status, Attempt.deadline_at, Attempt.subject)
        .join(User, User.id == Attempt.candidate_id).where(
            Attempt.id == sa.bindparam("attempt_id", type_=sa.Integer),
            Attempt.candidate_id == sa.bindparam("user_id", type_=sa.Integer),
            User.session_token == sa.bindparam("token", type_=sa.String),
            User.is_active.is_(True), User.role == Role.CANDIDATE))
    answers = driver_sql.compiled(engine, "page-responses", lambda _dialect: sa.select(
        *_STATE_COLUMNS).where(Response.attempt_id == sa.bindparam("attempt_id",
                                                                   type_=sa.Integer)))
    marks = driver_sql.compiled(engine, "page-bookmarks", lambda _dialect: sa.select(
        Bookmark.item_id).where(Bookmark.candidate_id == sa.bindparam("user_id",
                                                                      type_=sa.Integer),
                                Bookmark.subject == sa.bindparam("subject", type_=sa.String)))
    with driver_sql.transaction(engine, write=False) as work:
        found = head.rows(work.cursor, {"attempt_id": attempt_id, "user_id": user_id,
                                        "token": session_token})
        if not found:
            return None
        email, locale, status, deadline_at, subject = found[0]
        attempt = PageAttempt(attempt_id, status, deadline_at)
        if status != AttemptStatus.IN_PROGRESS or is_overdue(attempt, now):
            return None
        rows = answers.rows(work.cursor, {"attempt_id": attempt_id})
        marked = {row[0] for row in marks.rows(work.cursor, {"user_id": user_id,
                                                             "subject": subject.value})}
    bookmarked = sorted(slot.position for slot in layout.slots.values()
                        if slot.item_id in marked)
    return PageData(email, locale, layout.seed, _state(attempt, rows, now), bookmarked)


def feedback(attempt: Attempt, position: int, response) -> dict:
    """Key, explanation and points earned at *position*; only once policy allows."""
    item = paper_cache.layout(attempt.id).slots[position]
    content = paper_cache.content(item.item_version_id)
    view = delivery.feedback_view(content, item.order)
    if response is not None and response.score_halves is not None:
        view["score"] = _show_halves(response.score_halves)
        view["correct"] = response.score_halves == item.points_halves
    return view


# Saving -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Save:
    position: int
    seq: int
    device: str
    selected: str | None
    text: str | None
    flagged: bool


def parse_save(layout: paper_cache.Layout, position: int, payload) -> Save:
    """Check a save payload against the paper; raise InvalidResponse for anything else."""
    def refuse(reason: str):
        raise InvalidResponse(reason)

    if not isinstance(payload, dict):
        refuse(gettext("答案格式不正确。"))
    extra = set(payload) - _SAVE_FIELDS
    if extra:
        refuse(gettext("答案中含有不允许的字段：%(fields)s。",
                       fields="、".join(sorted(str(name)[:20] for name in extra))))
    slot = layout.slots.get(position)
    if slot is None:
        refuse(gettext("这道题不在本次试卷中。"))
    seq, device, flagged = payload.get("seq"), payload.get("device"), payload.get("flagged",
                                                                                  False)
    if type(seq) is not int or not 1 <= seq <= MAX_SEQ:
        refuse(gettext("缺少有效的保存序号。"))
    if not isinstance(device, str) or not 0 < len(device) <= 32:
        refuse(gettext("缺少设备标识，请刷新页面。"))
    if not isinstance(flagged, bool):
        refuse(gettext("标记应为是或否。"))
    if slot.item_type.is_choice:
        if "text" in payload or not isinstance(payload.get("selected"), list):
            refuse(gettext("选择题的答案应为所选选项的列表。"))
        try:
            selected = delivery.shown_to_stored(slot.item_type, slot.order,
                                                payload["selected"])
        except delivery.InvalidSelection:
            refuse(gettext("所选的选项不属于这道题。"))
        return Save(position, seq, device, selected, None, flagged)
    text = payload.get("text")
    if "selected" in payload or not isinstance(text, str):
        refuse(gettext("主观题的答案应为文字。"))
    if len(text) > MAX_ANSWER_TEXT:
        refuse(gettext("答案不能超过 %(n)d 个字。", n=MAX_ANSWER_TEXT))
    if any(ord(character) < 32 and character not in "\n\r\t" for character in text):
        refuse(gettext("答案中含有无法保存的控制字符。"))
    return Save(position, seq, device, None, text, flagged)


def try_save(attempt_id: int, user_id: int, session_token: str, position: int, payload, *,
             now: datetime) -> Save | None:
    """The hot path: store the answer in one statement that also checks the signed-in
    user (session token, active, a candidate) and everything save_response checks, in a
    transaction of its own, committed here. Call it outside any request transaction.
    None when it did not land for any reason; save_response then says why."""
    layout = paper_cache.layout(attempt_id)
    # On a cache miss the layout was read in the session: end that transaction before
    # the write, which runs on a connection of its own.
    db.session.remove()
    if layout is None or layout.candidate_id != user_id:
        return None
    try:
        save = parse_save(layout, position, payload)
    except InvalidResponse:
        return None
    values = _save_values(attempt_id, user_id, layout.seed, save, now)
    values["session_token"] = session_token
    return save if _driver_save(values) else None


def save_response(attempt_id: int, candidate_id: int, position: int, payload, *,
                  now: datetime) -> Save:
    """Store one answer if it is the newest; raise a Refused subclass, AttemptNotFound
    or InvalidResponse otherwise. A retry of an answer already stored succeeds."""
    for _ in range(2):
        layout = paper_cache.layout(attempt_id)
        if layout is None or layout.candidate_id != candidate_id:
            raise AttemptNotFound(gettext("找不到这次练习。"))
        save = parse_save(layout, position, payload)
        if _upsert(attempt_id, candidate_id, layout.seed, save, now) == 1:
            return save
        refusal = _why_not_saved(attempt_id, candidate_id, layout, save, now)
        if refusal is None:
            return save
        if refusal != "retry":
            raise refusal
        paper_cache.forget_layout(attempt_id)
    raise AttemptNotFound(gettext("找不到这次练习。"))


def _upsert(attempt_id: int, candidate_id: int, seed: int, save: Save, now: datetime, *,
            session_token: str | None = None) -> int:
    """Run the save statement in the session's transaction and return how many rows it
    wrote: 1 when the answer landed, 0 otherwise."""
    # Core execution on the session's connection: the ORM adds nothing to an upsert.
    connection = db.session.connection()
    statement = _save_statement(connection.dialect.name,
                                with_session_check=session_token is not None)
    params = _save_values(attempt_id, candidate_id, seed, save, now)
    if session_token is not None:
        params["session_token"] = session_token
    return connection.execute(statement, params).rowcount


def _save_values(attempt_id: int, candidate_id: int, seed: int, save: Save,
                 now: datetime) -> dict:
    return {
        "attempt_id": attempt_id, "candidate_id": candidate_id, "seed": seed,
        "position": save.position, "selected": save.selected, "text": save.text,
        "flagged": save.flagged, "seq": save.seq, "device": save.device, "now": now,
        "deadline_floor": now - grace(),
    }


def _driver_save(values: dict) -> bool:
    """Run the save statement in a transaction of its own on a driver connection and
    return whether it landed. SQLite lets one writer in at a time and a waiting writer
    polls in sleeps of a millisecond and more, so the lock is held for the statement
    alone, not for the Python the ORM and Core run around it (several times as long).
    A database error is not raised: the request then goes the slow way, which retries
    on a fresh connection."""
    engine = db.engine
    statement = driver_sql.compiled(
        engine, "save", lambda dialect: _save_statement(dialect, with_session_check=True))
    try:
        with driver_sql.transaction(engine, write=True) as work:
            work.commit = statement.execute(work.cursor, values).rowcount == 1
    except Exception as error:  # noqa: BLE001 - any driver error: the view decides
        current_app.logger.warning("save hot path: %r; the view retries", error)
        return False
    return work.commit


_SAVE_STATEMENTS: dict[tuple[str, bool], sa.Insert] = {}


def _save_statement(dialect: str, *, with_session_check: bool) -> sa.Insert:
    """The save upsert with bound parameters, built once per dialect: building the
    construct was half the cost of a save."""
    key = (dialect, with_session_check)
    statement = _SAVE_STATEMENTS.get(key)
    if statement is not None:
        return statement
    table = Response.__table__
    source = sa.select(
        sa.bindparam("attempt_id", type_=sa.Integer),
        sa.bindparam("position", type_=sa.Integer),
        sa.bindparam("selected", type_=sa.String),
        sa.bindparam("text", type_=sa.Text),
        sa.bindparam("flagged", type_=sa.Boolean),
        sa.bindparam("seq", type_=sa.Integer),
        sa.bindparam("now", type_=UTCDateTime),
        sa.false(),
    ).select_from(Attempt).where(
        Attempt.id == sa.bindparam("attempt_id"),
        Attempt.candidate_id == sa.bindparam("candidate_id", type_=sa.Integer),
        Attempt.seed == sa.bindparam("seed", type_=sa.BigInteger),
        Attempt.status == AttemptStatus.IN_PROGRESS,
        Attempt.device_token == sa.bindparam("device", type_=sa.String),
        sa.or_(Attempt.deadline_at.is_(None),
               Attempt.deadline_at >= sa.bindparam("deadline_floor", type_=UTCDateTime)))
    if with_session_check:
        source = source.join(User, User.id == Attempt.candidate_id).where(
            User.session_token == sa.bindparam("session_token", type_=sa.String),
            User.is_active.is_(True), User.role == Role.CANDIDATE)
    # PostgreSQL (READ COMMITTED) reads the attempt in the statement's snapshot: without
    # a lock, a save that began while the paper was being handed in saw it open, waited
    # for the hand-in's row locks and wrote after it was marked. FOR SHARE waits for a
    # hand-in under way and then reads the attempt again (handed in: nothing is
    # written); a save holding it makes the hand-in wait, whose marking then sees the
    # answer. Saves share the lock, so they never wait for each other. SQLite has one
    # writer at a time and renders no lock.
    source = source.with_for_update(read=True, of=Attempt)
    columns = ["attempt_id", "position", "selected", "text", "is_flagged", "seq", "saved_at",
               "is_locked"]
    statement = dialect_insert(table, dialect).from_select(columns, source)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.attempt_id, table.c.position],
        set_={name: statement.excluded[name]
              for name in ("selected", "text", "is_flagged", "seq", "saved_at")},
        where=sa.and_(table.c.seq < statement.excluded.seq, table.c.is_locked.is_(False)))
    # psycopg reports no row count for INSERT … SELECT … ON CONFLICT unless asked to keep
    # it: without this every save on PostgreSQL would take the slow path.
    statement = statement.execution_options(preserve_rowcount=True)
    _SAVE_STATEMENTS[key] = statement
    return statement


def _why_not_saved(attempt_id, candidate_id, layout, save: Save, now):
    """The refusal for a save that did not land; None when it was already stored;
    "retry" when the cached paper layout was stale."""
    attempt = db.session.get(Attempt, attempt_id, populate_existing=True)
    if attempt is None or attempt.candidate_id != candidate_id:
        return AttemptNotFound(gettext("找不到这次练习。"))
    if attempt.seed != layout.seed:
        return "retry"
    if not attempt.is_open:
        return AttemptClosed(gettext("这次练习已经交卷，答案不能再修改。"))
    if is_overdue(attempt, now):
        finalise(attempt.id, now=now, ended_by=EndedBy.DEADLINE)
        return AttemptClosed(gettext("考试时间已到，试卷已按已保存的答案交卷。"))
    if attempt.device_token != save.device:
        return DeviceSuperseded(gettext("这次练习已在另一台设备或另一个窗口中打开，"
                                        "这里的答案不再保存。"))
    stored = db.session.get(Response, (attempt_id, save.position), populate_existing=True)
    if stored is not None and stored.is_locked:
        return ResponseLocked(gettext("这道题已经核对过答案，不能再修改。"))
    if stored is not None and stored.seq == save.seq and (
            stored.selected, stored.text, stored.is_flagged) == (
            save.selected, save.text, save.flagged):
        return None
    return StaleSave(gettext("已保存了更新的答案。"), stored.seq if stored else 0)


# Checking (practice) and self-scoring -----------------------------------------------

def _hold(attempt: Attempt, *, exclusive: bool = False) -> bool:
    """Keep a hand-in from starting until this transaction ends, waiting for one under
    way, and say whether the attempt is still open (read again, not as loaded).

    PostgreSQL: FOR SHARE, as the save statement takes it (see _save_statement), so a
    write to an answer is either in the marked paper or refused; *exclusive* (FOR
    UPDATE) also queues writers that go on to update the attempt itself, which two
    holders of a shared lock could not both do without a deadlock. SQLite: the request
    already holds the only write lock."""
    status = db.session.scalar(sa.select(Attempt.status).where(Attempt.id == attempt.id)
                               .with_for_update(read=not exclusive))
    return status is AttemptStatus.IN_PROGRESS


def check_response(attempt: Attempt, position: int, *, now: datetime) -> dict:
    """Practice: lock the saved answer at *position*, mark it, and return the feedback."""
    if not attempt.mode.gives_feedback_per_item:
        raise Refused(gettext("模拟考试交卷后才能查看答案。"))
    if not attempt.is_open or not _hold(attempt):
        raise AttemptClosed(gettext("这次练习已经交卷。"))
    item = paper_cache.attempt_item(attempt.id, position)
    if item is None:
        raise InvalidResponse(gettext("这道题不在本次试卷中。"))
    response = db.session.get(Response, (attempt.id, position), populate_existing=True)
    content = paper_cache.content(item.item_version_id)
    if response is None or not (response.selected or (response.text or "").strip()):
        raise InvalidResponse(gettext("请先作答，再核对答案。"))
    if not response.is_locked:
        # Subjective answers are not marked here: the candidate scores them (self_score).
        halves = _score_halves(content, item, response) if content.item_type.is_choice \
            else None
        locked = db.session.execute(
            sa.update(Response)
            .where(Response.attempt_id == attempt.id, Response.position == position,
                   Response.is_locked.is_(False))
            .values(is_locked=True, score_halves=halves)
            .execution_options(synchronize_session=False)).rowcount
        db.session.refresh(response)
        if locked and content.item_type.is_choice:
            learning.record_answers(attempt.candidate_id, [learning.MarkedAnswer(
                item.item_id, attempt.subject, halves == item.points_halves)], now=now)
    return feedback(attempt, position, response)


def self_score(attempt: Attempt, position: int, points) -> Decimal:
    """Record the candidate's own mark for a subjective answer once its key points are
    shown; it is kept apart from marks and never counts."""
    item = paper_cache.attempt_item(attempt.id, position)
    if item is None:
        raise InvalidResponse(gettext("这道题不在本次试卷中。"))
    content = paper_cache.content(item.item_version_id)
    if content.item_type.is_choice:
        raise InvalidResponse(gettext("选择题由系统评分。"))
    # The hand-in sums the self scores, and so does a self score after it: each sum
    # must see every self score before it, so they queue one after another.
    is_open = _hold(attempt, exclusive=True)
    response = db.session.get(Response, (attempt.id, position), populate_existing=True)
    revealed = (response is not None and response.is_locked) or not is_open
    if not revealed:
        raise Refused(gettext("看到答题要点后才能自评。"))
    try:
        value = Decimal(str(points))
    except ArithmeticError as error:
        raise InvalidResponse(gettext("自评分应为数字。")) from error
    if not value.is_finite() or value < 0 or value * 2 != int(value * 2) \
            or value * 2 > item.points_halves:
        raise InvalidResponse(gettext("自评分应在 0 到 %(max)s 之间，以 0.5 为单位。",
                                      max=_show_halves(item.points_halves)))
    if response is None:
        raise InvalidResponse(gettext("这道题没有作答，不能自评。"))
    response.self_score_halves = int(value * 2)
    db.session.flush()
    if not is_open:
        attempt.self_score_halves = db.session.scalar(
            sa.select(sa.func.sum(Response.self_score_halves))
            .where(Response.attempt_id == attempt.id))
    return value


# Submitting and expiry ---------------------------------------------------------------

def submit_attempt(attempt: Attempt, *, now: datetime) -> bool:
    """Hand the attempt in; True if this call finalised it, False if it already was.

    Exactly one of any number of concurrent calls wins the conditional UPDATE; after
    deadline + grace the attempt is finalised as ended by the deadline instead.
    """
    if not attempt.is_open:
        return False
    if is_overdue(attempt, now):
        finalise(attempt.id, now=now, ended_by=EndedBy.DEADLINE)
        raise AttemptClosed(gettext("考试时间已到，试卷已按已保存的答案交卷。"))
    return finalise(attempt.id, now=now, ended_by=EndedBy.CANDIDATE)


def finalise(attempt_id: int, *, now: datetime, ended_by: EndedBy) -> bool:
    """Close an open attempt and mark it, in the caller's transaction; idempotent."""
    conditions = [Attempt.id == attempt_id, Attempt.status == AttemptStatus.IN_PROGRESS]
    if ended_by is EndedBy.DEADLINE:
        conditions.append(Attempt.deadline_at < now - grace())
    else:
        conditions.append(sa.or_(Attempt.deadline_at.is_(None),
                                 Attempt.deadline_at >= now - grace()))
    won = db.session.execute(
        sa.update(Attempt).where(*conditions)
        .values(status=AttemptStatus.SUBMITTED, submitted_at=now, ended_by=ended_by)
        .execution_options(synchronize_session=False)).rowcount
    if won != 1:
        return False
    attempt = db.session.get(Attempt, attempt_id, populate_existing=True)
    _mark(attempt, now)
    return True


def _mark(attempt: Attempt, now: datetime) -> None:
    items = paper_cache.attempt_items(attempt.id)
    # As stored now, not as read earlier in this transaction: a save that held the
    # attempt (FOR SHARE) made the hand-in wait and is in the paper.
    responses = {r.position: r for r in db.session.scalars(
        sa.select(Response).where(Response.attempt_id == attempt.id)
        .execution_options(populate_existing=True))}
    total, subjective, answers, updates = 0, False, [], []
    for item in items:
        content = paper_cache.content(item.item_version_id)
        response = responses.get(item.position)
        if not content.item_type.is_choice:
            subjective = True
            continue
        halves = _score_halves(content, item, response)
        total += halves
        if response is None:
            continue
        if not response.is_locked and response.selected:
            answers.append(learning.MarkedAnswer(item.item_id, attempt.subject,
                                                 halves == item.points_halves))
        updates.append({"attempt_id": attempt.id, "position": item.position,
                        "score_halves": halves})
    if updates:
        db.session.execute(sa.update(Response), updates)
    if subjective:
        # Subjective answers are marked by people (formal sittings); a practice paper of
        # them has no score, only the candidate's own marks.
        attempt.score_halves, attempt.passed = None, None
    else:
        attempt.score_halves = total
        attempt.passed = total >= attempt.pass_halves
    attempt.self_score_halves = db.session.scalar(
        sa.select(sa.func.sum(Response.self_score_halves))
        .where(Response.attempt_id == attempt.id))
    if attempt.mode.is_practice:
        learning.record_answers(attempt.candidate_id, answers, now=now)
    db.session.flush()
    if attempt.mode is Mode.EXAM:
        from exam_portal.services.exam_sessions import online_exams

        online_exams.record_attempt_score(attempt, now=now)


def _score_halves(content, item: AttemptItem, response: Response | None) -> int:
    if not content.item_type.is_choice:
        return 0
    selected = (response.selected or "") if response is not None else ""
    points = Decimal(item.points_halves) / 2
    return int(scoring.score_choice(content.item_type, content.keys, selected, points) * 2)


def recompute_score(attempt: Attempt) -> int | None:
    """Mark the attempt again from its stored versions and responses, writing nothing."""
    items = paper_cache.attempt_items(attempt.id)
    responses = {r.position: r for r in db.session.scalars(
        sa.select(Response).where(Response.attempt_id == attempt.id))}
    contents = [paper_cache.content(item.item_version_id) for item in items]
    if any(not content.item_type.is_choice for content in contents):
        return None
    return sum(_score_halves(content, item, responses.get(item.position))
               for content, item in zip(contents, items, strict=True))


def overdue_attempt_ids(*, now: datetime) -> list[int]:
    """Ids of the open attempts past deadline + grace; finalise them with `finalise`."""
    return list(db.session.scalars(
        sa.select(Attempt.id).where(Attempt.status == AttemptStatus.IN_PROGRESS,
                                    Attempt.deadline_at < now - grace())
        .order_by(Attempt.id)))


def _show_halves(halves: int) -> str:
    value = Decimal(halves) / 2
    return format(value.normalize(), "f") if value else "0"


def show_halves(halves: int | None) -> str:
    """Half-points as a number to show: 61, 61.5."""
    return "" if halves is None else _show_halves(halves)


def selected_letters(item: AttemptItem, response: Response | None) -> list[str]:
    """The candidate's choice in shown letters."""
    if response is None or not response.selected:
        return []
    return delivery.stored_to_shown(response.selected, delivery.decode_order(item.option_order))

