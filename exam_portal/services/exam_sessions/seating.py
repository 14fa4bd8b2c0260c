"""Venues, rooms and seats (考点、考场、座位) imported per session from a CSV sheet, and
the admission ticket (准考证) that shows them.

The sheet holds, per admission number, one row for all the registration's subjects or
one row per subject (each may carry that subject's start time at its venue). A
registration in the sheet gets exactly the rows the sheet gives it; one not in the
sheet keeps what it had. Rows are checked first, then all are written or none, and
importing the same sheet again changes nothing.

The ticket is printed only for a complete registration (fees: verified or declared as
the session requires, and paid in full); otherwise it says what is missing."""

import dataclasses
import enum
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.seating import SeatAssignment
from exam_portal.models.sittings import ExamSession, Registration, RegistrationStatus
from exam_portal.services import ServiceError
from exam_portal.services.exam_sessions import fees, notices, payments, timetables
from exam_portal.services.platform import audit
from question_bank import seat_sheet
from question_bank.formats import csv_format, limits
from question_bank.formats.limits import UnreadableFile
from question_bank.i18n import N_
from question_bank.items import Problem
from question_bank.pass_rules import subjects_of
from question_bank.subjects import Subject

CHUNK = 5_000
LIMITS = dataclasses.replace(limits.WEB, sheet_cells=(seat_sheet.MAX_ROWS + 1) * 8)


class Action(enum.StrEnum):
    NEW = "new"  # the registration had no seat
    CHANGED = "changed"  # its seats are replaced
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass
class PlannedSeat:
    row: seat_sheet.SeatRow
    action: Action
    problems: list[Problem] = field(default_factory=list)
    registration_id: int | None = None


@dataclass
class SeatPlan:
    rows: list[PlannedSeat]

    def count(self, action: Action) -> int:
        """How many registrations the sheet gives this outcome (rows, for errors)."""
        if action is Action.ERROR:
            return len(self.errors)
        return len({row.registration_id for row in self.rows if row.action is action})

    @property
    def errors(self) -> list[PlannedSeat]:
        return [row for row in self.rows if row.action is Action.ERROR]


def read_sheet(filename: str, data: bytes) -> list[seat_sheet.SeatRow]:
    """Read the seat rows of a CSV sheet (UTF-8 or GB18030), under the caps.

    Pure work that may take seconds: call it inside extensions.no_write_lock()."""
    if PurePath(filename or "").suffix.lower() != ".csv":
        raise ServiceError(gettext("只支持 %(formats)s 文件。", formats=".csv"))
    try:
        return seat_sheet.read_sheet(csv_format.read_rows(data, caps=LIMITS, gb18030=True))
    except UnreadableFile as error:
        raise ServiceError(gettext(error.message, **error.params)) from error


def _key(subject, venue, address, room, seat, starts_at) -> tuple:
    return (subject.value if subject else "", venue, address, room, seat,
            starts_at.isoformat() if starts_at else "")


def plan(session: ExamSession, sheet: list[seat_sheet.SeatRow]) -> SeatPlan:
    """Decide, per registration in the sheet, whether its seats are new, replaced or
    unchanged, and which rows fail."""
    numbers = sorted({row.admission_number for row in sheet if row.admission_number})
    registrations, stored = {}, defaultdict(set)
    for start in range(0, len(numbers), CHUNK):
        chunk = numbers[start:start + CHUNK]
        for registration_id, number, level, status in db.session.execute(
                sa.select(Registration.id, Registration.admission_number,
                          Registration.level, Registration.status)
                .where(Registration.session_id == session.id,
                       Registration.admission_number.in_(chunk))):
            registrations[number] = (registration_id, level, status)
        for seat in db.session.scalars(
                sa.select(SeatAssignment)
                .join(Registration, Registration.id == SeatAssignment.registration_id)
                .where(SeatAssignment.session_id == session.id,
                       Registration.admission_number.in_(chunk))):
            stored[seat.registration_id].add(_key(seat.subject, seat.venue, seat.address,
                                                  seat.room, seat.seat, seat.starts_at))
    planned, given = [], defaultdict(set)
    for row in sheet:
        problems = list(row.problems)
        found = registrations.get(row.admission_number)
        if found is None and row.admission_number:
            problems.append(Problem(seat_sheet.ADMISSION_NUMBER,
                                    N_("本考试批次没有这个准考证号。")))
        if found is not None:
            registration_id, level, status = found
            if status is RegistrationStatus.REJECTED:
                problems.append(Problem(seat_sheet.ADMISSION_NUMBER, N_("这条报名已被退回。")))
            if row.subject is not None and row.subject not in subjects_of(level):
                problems.append(Problem(seat_sheet.SUBJECT, N_("这个科目不属于所报考的级别。")))
            if row.starts_at is not None and not (
                    session.exam_opens_at <= row.starts_at < session.exam_closes_at):
                problems.append(Problem(seat_sheet.STARTS_AT,
                                        N_("开考时间不在本批次的考试时间内。")))
        if found is None or problems:
            planned.append(PlannedSeat(row, Action.ERROR, problems))
            continue
        given[found[0]].add(_key(row.subject, row.venue, row.address, row.room, row.seat,
                                 row.starts_at))
        planned.append(PlannedSeat(row, Action.UNCHANGED, [], found[0]))
    for entry in planned:
        if entry.action is not Action.ERROR:
            before = stored.get(entry.registration_id)
            entry.action = (Action.NEW if not before else Action.UNCHANGED
                            if before == given[entry.registration_id] else Action.CHANGED)
    return SeatPlan(planned)


def record(session: ExamSession, sheet: list[seat_sheet.SeatRow], actor: User, *,
           filename: str, now: datetime) -> dict[str, int]:
    """Write the sheet's seats, or nothing when any row fails (audited)."""
    session = payments.lock_session(session.id)
    seat_plan = plan(session, sheet)
    if seat_plan.errors:
        raise ServiceError(gettext("文件中有 %(n)d 行错误，未导入任何考场安排。",
                                   n=len(seat_plan.errors)))
    if not seat_plan.count(Action.NEW) and not seat_plan.count(Action.CHANGED):
        raise ServiceError(gettext("文件中的考场安排都已导入，没有需要导入的变化。"))
    changed = sorted({row.registration_id for row in seat_plan.rows
                      if row.action is Action.CHANGED})
    for start in range(0, len(changed), CHUNK):
        db.session.execute(sa.delete(SeatAssignment).where(
            SeatAssignment.registration_id.in_(changed[start:start + CHUNK])))
    new = [{"session_id": session.id, "registration_id": row.registration_id,
            "subject": row.row.subject, "venue": row.row.venue, "address": row.row.address,
            "room": row.row.room, "seat": row.row.seat, "starts_at": row.row.starts_at,
            "assigned_at": now}
           for row in seat_plan.rows if row.action in (Action.NEW, Action.CHANGED)]
    for start in range(0, len(new), CHUNK):
        db.session.execute(sa.insert(SeatAssignment), new[start:start + CHUNK])
    summary = {action.value: seat_plan.count(action) for action in Action
               if action is not Action.ERROR}
    audit.record("session.seats_imported", target=session, actor=actor,
                 details={"file": filename[:200], **summary, "rows": len(new)})
    db.session.flush()
    notices.tickets_ready(session, now=now)
    return summary


def template() -> bytes:
    """An empty seat sheet (CSV with a BOM, so Excel opens it as UTF-8)."""
    return ("\ufeff" + ",".join(seat_sheet.HEADERS) + "\r\n").encode()


# The admission ticket ----------------------------------------------------------------

@dataclass(frozen=True)
class TicketLine:
    """A subject on the ticket: when, and where (None: not assigned yet)."""

    subject: Subject
    starts_at: datetime
    ends_at: datetime | None  # None when only the exam window is known
    seat: SeatAssignment | None


@dataclass(frozen=True)
class Ticket:
    account: fees.Account
    missing: str | None  # why no ticket is printed, or None: it is
    lines: list[TicketLine]

    @property
    def printable(self) -> bool:
        return self.missing is None


def ticket(registration: Registration, now: datetime) -> Ticket:
    """The registration's admission ticket: its subjects with their times and seats, or
    what keeps it from being printed."""
    session = registration.session
    account = fees.account(registration, now)
    missing = fees.missing_text(account, session)
    times = timetables.timetable_of(session)
    seats = {seat.subject: seat for seat in db.session.scalars(
        sa.select(SeatAssignment).where(SeatAssignment.registration_id == registration.id))}
    lines = []
    for subject in subjects_of(registration.level):
        slot, seat = times[subject], seats.get(subject) or seats.get(None)
        starts, ends = slot.starts_at, slot.ends_at if slot.has_time_of_day else None
        if seat is not None and seat.starts_at is not None:
            # This venue starts the subject at its own time, for the same length.
            starts, ends = seat.starts_at, (seat.starts_at + (slot.ends_at - slot.starts_at)
                                            if slot.has_time_of_day else None)
        lines.append(TicketLine(subject, starts, ends, seat if missing is None else None))
    return Ticket(account, missing, lines)
