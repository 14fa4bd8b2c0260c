"""Classes and assignments of training institutions: the plain rules.

An assignment is due at an instant (stored in UTC, entered and shown in the local
zone). A candidate's assignment is in one of four states, decided here from what the
portal knows: whether they started it, whether that attempt was handed in, and the
time. "Due exactly now" is not overdue yet: an attempt handed in at the due instant is
on time, and an unstarted one becomes overdue the moment after."""

import enum
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

CLASS_NAME_MAX_CHARS = 120
ASSIGNMENT_TITLE_MAX_CHARS = 120
# Chapter practice sets a trainer may ask for (items per set).
PRACTICE_ITEM_COUNTS = (10, 20, 30, 50)
# A join code: easy to read aloud and type (no 0/O, 1/I/L).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
# "Due tomorrow": assignments due within this much of the sweep.
DUE_SOON = timedelta(days=1)
# An imported list may hold at most this many rows.
IMPORT_MAX_ROWS = 500


class EnrolmentStatus(enum.StrEnum):
    INVITED = "invited"     # imported by the trainer; the candidate has not accepted yet
    ENROLLED = "enrolled"   # the candidate confirmed what the class's trainers will see
    LEFT = "left"           # the candidate left (or declined the invitation)


class AssignmentKind(enum.StrEnum):
    PRACTICE = "practice"      # chapter practice set: subject, chapters, number of items
    MOCK = "mock"              # a mock paper drawn by the subject's mock spec
    PAST_PAPER = "past_paper"  # a released (locked) exam form, sat as a mock paper


class AssignmentState(enum.StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    OVERDUE = "overdue"


def is_past_due(due_at: datetime, now: datetime) -> bool:
    """True once *now* is after *due_at* (both timezone-aware; due exactly now is not
    past due)."""
    _aware(due_at, now)
    return now > due_at


def state(due_at: datetime, now: datetime, *, started: bool,
          submitted_at: datetime | None) -> AssignmentState:
    """The state of one candidate's assignment. Handed in (at any time) is DONE; the
    attempt's own time settles lateness (see `handed_in_late`). Not handed in and past
    due is OVERDUE, whether started or not."""
    _aware(due_at, now)
    if submitted_at is not None:
        return AssignmentState.DONE
    if is_past_due(due_at, now):
        return AssignmentState.OVERDUE
    return AssignmentState.IN_PROGRESS if started else AssignmentState.NOT_STARTED


def handed_in_late(due_at: datetime, submitted_at: datetime | None) -> bool:
    return submitted_at is not None and submitted_at > due_at


def due_soon(due_at: datetime, now: datetime, window: timedelta = DUE_SOON) -> bool:
    """Due after *now* and no later than *window* from it: the "due tomorrow" notice."""
    _aware(due_at, now)
    return now < due_at <= now + window


def end_of_tomorrow(now: datetime, zone: tzinfo) -> datetime:
    """Midnight after tomorrow in *zone*: the "due tomorrow" notice counts calendar days
    where the class is (an assignment due after *now* and before this instant is due
    today or tomorrow), not 24 hours from whenever the sweep runs."""
    _aware(now)
    day_after = now.astimezone(zone).date() + timedelta(days=2)
    return datetime.combine(day_after, time(), tzinfo=zone)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """What a candidate typed, as a stored code ("ab-cd 2345" → "ABCD2345")."""
    return re.sub(r"[\s-]", "", text or "").upper()


@dataclass(frozen=True)
class RosterRow:
    line: int
    email: str
    name: str


@dataclass(frozen=True)
class RosterProblem:
    line: int   # 0: the file as a whole
    code: str   # "empty", "too_many", "header", "email", "duplicate", "name"
    value: str = ""


_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")


def check_roster(rows: list[list[str]], *, max_rows: int = IMPORT_MAX_ROWS,
                 name_max: int = 80) -> tuple[list[RosterRow], list[RosterProblem]]:
    """Check an imported class list: the first row is a header naming an e-mail column
    (邮箱/电子邮箱/email/e-mail) and optionally a name column (姓名/name); every data row
    needs a valid e-mail, unique in the file. All or nothing: any problem and the caller
    imports none of the rows."""
    problems: list[RosterProblem] = []
    cleaned = [[(cell or "").strip() for cell in row] for row in rows]
    if not cleaned:
        return [], [RosterProblem(0, "empty")]
    header = [cell.lower() for cell in cleaned[0]]
    email_at = next((i for i, cell in enumerate(header)
                     if cell in ("邮箱", "电子邮箱", "email", "e-mail")), None)
    name_at = next((i for i, cell in enumerate(header) if cell in ("姓名", "name")), None)
    if email_at is None:
        return [], [RosterProblem(1, "header")]
    body = [(line, row) for line, row in enumerate(cleaned[1:], start=2) if any(row)]
    if not body:
        return [], [RosterProblem(0, "empty")]
    if len(body) > max_rows:
        return [], [RosterProblem(0, "too_many", str(max_rows))]
    found: list[RosterRow] = []
    seen: dict[str, int] = {}
    for line, row in body:
        email = row[email_at] if email_at < len(row) else ""
        name = row[name_at] if name_at is not None and name_at < len(row) else ""
        if not _EMAIL.match(email) or len(email) > 254:
            problems.append(RosterProblem(line, "email", email))
            continue
        key = email.lower()
        if key in seen:
            problems.append(RosterProblem(line, "duplicate", email))
            continue
        if len(name) > name_max:
            problems.append(RosterProblem(line, "name", name[:20]))
            continue
        seen[key] = line
        found.append(RosterRow(line, key, name))
    return found, problems


def _aware(*moments: datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None:
            raise ValueError("naive datetime")
