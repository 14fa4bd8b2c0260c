"""Saving, checking and self-scoring responses.

The hot path (save) is one SQL statement: an upsert that only lands when the attempt
is the candidate's, still open, held by this device, not past its deadline and grace,
and when the client's sequence number is newer than the stored one. Everything else
is worked out only when it did not land.
"""


from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.attempts import (
    Attempt,
    AttemptStatus,
    EndedBy,
    Response,
)
from exam_portal.models.types import UTCDateTime, dialect_insert
from exam_portal.services.delivery import attempts, hand_in, learning, pages, paper_cache
from exam_portal.services.platform import driver_sql
from question_bank import delivery, item_analysis

MAX_SEQ = 2**31 - 1


MAX_ANSWER_TEXT = 20_000


_SAVE_FIELDS = frozenset({"seq", "device", "selected", "text", "flagged"})


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
        raise attempts.InvalidResponse(reason)

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
    except attempts.InvalidResponse:
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
            raise attempts.AttemptNotFound(gettext("找不到这次练习。"))
        save = parse_save(layout, position, payload)
        if _upsert(attempt_id, candidate_id, layout.seed, save, now) == 1:
            return save
        refusal = _why_not_saved(attempt_id, candidate_id, layout, save, now)
        if refusal is None:
            return save
        if refusal != "retry":
            raise refusal
        paper_cache.forget_layout(attempt_id)
    raise attempts.AttemptNotFound(gettext("找不到这次练习。"))


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
        "deadline_floor": now - attempts.grace(),
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
    return driver_sql.changed_one_row(engine, statement, values, what="save")


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
        return attempts.AttemptNotFound(gettext("找不到这次练习。"))
    if attempt.seed != layout.seed:
        return "retry"
    if not attempt.is_open:
        return attempts.AttemptClosed(gettext("这次练习已经交卷，答案不能再修改。"))
    if attempts.is_overdue(attempt, now):
        hand_in.finalise(attempt.id, now=now, ended_by=EndedBy.DEADLINE)
        return attempts.AttemptClosed(gettext("考试时间已到，试卷已按已保存的答案交卷。"))
    if attempt.device_token != save.device:
        return attempts.DeviceSuperseded(gettext("这次练习已在另一台设备或另一个窗口中打开，"
                                        "这里的答案不再保存。"))
    stored = db.session.get(Response, (attempt_id, save.position), populate_existing=True)
    if stored is not None and stored.is_locked:
        return attempts.ResponseLocked(gettext("这道题已经核对过答案，不能再修改。"))
    if stored is not None and stored.seq == save.seq and (
            stored.selected, stored.text, stored.is_flagged) == (
            save.selected, save.text, save.flagged):
        return None
    return attempts.StaleSave(gettext("已保存了更新的答案。"), stored.seq if stored else 0)


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
        raise attempts.Refused(gettext("模拟考试交卷后才能查看答案。"))
    if not attempt.is_open or not _hold(attempt):
        raise attempts.AttemptClosed(gettext("这次练习已经交卷。"))
    item = paper_cache.attempt_item(attempt.id, position)
    if item is None:
        raise attempts.InvalidResponse(gettext("这道题不在本次试卷中。"))
    response = db.session.get(Response, (attempt.id, position), populate_existing=True)
    content = paper_cache.content(item.item_version_id)
    if response is None or not (response.selected or (response.text or "").strip()):
        raise attempts.InvalidResponse(gettext("请先作答，再核对答案。"))
    if not response.is_locked:
        # Subjective answers are not marked here: the candidate scores them (self_score).
        halves = hand_in.score_halves(content, item, response) if content.item_type.is_choice \
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
                item.item_id, attempt.subject, halves == item.points_halves,
                response.selected, attempt.id, position, item.item_version_id,
                content.item_type)], now=now)
    return pages.feedback(attempt, position, response,
                          learning.reviewed_positions(attempt.id).get(position))


def self_score(attempt: Attempt, position: int, points) -> Decimal:
    """Record the candidate's own mark for a subjective answer once its key points are
    shown; it is kept apart from marks and never counts."""
    item = paper_cache.attempt_item(attempt.id, position)
    if item is None:
        raise attempts.InvalidResponse(gettext("这道题不在本次试卷中。"))
    content = paper_cache.content(item.item_version_id)
    if content.item_type.is_choice:
        raise attempts.InvalidResponse(gettext("选择题由系统评分。"))
    # The hand-in sums the self scores, and so does a self score after it: each sum
    # must see every self score before it, so they queue one after another.
    is_open = _hold(attempt, exclusive=True)
    response = db.session.get(Response, (attempt.id, position), populate_existing=True)
    revealed = (response is not None and response.is_locked) or not is_open
    if not revealed:
        raise attempts.Refused(gettext("看到答题要点后才能自评。"))
    try:
        value = Decimal(str(points))
    except ArithmeticError as error:
        raise attempts.InvalidResponse(gettext("自评分应为数字。")) from error
    if not value.is_finite() or value < 0 or value * 2 != int(value * 2) \
            or value * 2 > item.points_halves:
        raise attempts.InvalidResponse(gettext("自评分应在 0 到 %(max)s 之间，以 0.5 为单位。",
                                      max=pages.show_halves(item.points_halves)))
    if response is None:
        raise attempts.InvalidResponse(gettext("这道题没有作答，不能自评。"))
    response.self_score_halves = int(value * 2)
    db.session.flush()
    if not is_open:
        attempt.self_score_halves = db.session.scalar(
            sa.select(sa.func.sum(Response.self_score_halves))
            .where(Response.attempt_id == attempt.id))
    return value


def selected_mask():
    """In SQL: the options a response chose as item_analysis's bitmask (stored option
    order; 0 for none), so millions of answers need no Python object each."""
    return sa.func.coalesce(sum(sa.case((Response.selected.contains(letter), bit), else_=0)
                                for letter, bit in item_analysis.BIT.items()), 0)
