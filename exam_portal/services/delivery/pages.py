"""Opening an attempt on a device and what its page and its state show."""


import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext

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
from exam_portal.services.delivery import attempts, hand_in, learning, paper_cache
from exam_portal.services.platform import driver_sql
from question_bank import delivery


def get_own_attempt(attempt_id: int, candidate_id: int, *, now: datetime) -> Attempt:
    """The candidate's attempt; an overdue one is finalised first (lazy expiry)."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.candidate_id != candidate_id:
        raise attempts.AttemptNotFound(gettext("找不到这次练习。"))
    if attempt.is_open and attempts.is_overdue(attempt, now):
        lock_for_writing()
        hand_in.finalise(attempt.id, now=now, ended_by=EndedBy.DEADLINE)
        db.session.refresh(attempt)
    return attempt


def open_attempt(attempt: Attempt, *, now: datetime) -> dict:
    """Hand the attempt to the device asking (taking it from any other) and return the
    state that device resumes from: its token, saved answers and remaining time."""
    if not attempt.is_open:
        raise attempts.AttemptClosed(gettext("这次练习已经交卷。"))
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
    ratings = None  # read once, only when some answer is already marked
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
                entry["self_score"] = show_halves(response.self_score_halves)
        if response.is_locked:
            if ratings is None:
                ratings = learning.reviewed_positions(attempt.id)
            entry["feedback"] = feedback(attempt, response.position, response,
                                         ratings.get(response.position))
        responses[str(response.position)] = entry
        max_seq = max(max_seq, response.seq)
    return {"status": attempt.status.value, "remaining": attempts.remaining_seconds(attempt, now),
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
        if status != AttemptStatus.IN_PROGRESS or attempts.is_overdue(attempt, now):
            return None
        rows = answers.rows(work.cursor, {"attempt_id": attempt_id})
        marked = {row[0] for row in marks.rows(work.cursor, {"user_id": user_id,
                                                             "subject": subject.value})}
    bookmarked = sorted(slot.position for slot in layout.slots.values()
                        if slot.item_id in marked)
    return PageData(email, locale, layout.seed, _state(attempt, rows, now), bookmarked)


def feedback(attempt: Attempt, position: int, response, rating: int | None = None) -> dict:
    """Key, explanation and points earned at *position*; only once policy allows. With
    the *rating* the answer gave the item's review card, when it reviewed one."""
    item = paper_cache.layout(attempt.id).slots[position]
    content = paper_cache.content(item.item_version_id)
    view = delivery.feedback_view(content, item.order)
    if response is not None and response.score_halves is not None:
        view["score"] = show_halves(response.score_halves)
        view["correct"] = response.score_halves == item.points_halves
    if rating is not None:
        view["review_rating"] = rating
    return view


def show_halves(halves: int | None) -> str:
    """Half-points as a number to show: 61, 61.5 (nothing for None)."""
    if halves is None:
        return ""
    value = Decimal(halves) / 2
    return format(value.normalize(), "f") if value else "0"


def selected_letters(item: AttemptItem, response: Response | None) -> list[str]:
    """The candidate's choice in shown letters."""
    if response is None or not response.selected:
        return []
    return delivery.stored_to_shown(response.selected, delivery.decode_order(item.option_order))
