"""Payments imported from a payment provider's statement (CSV, UTF-8 with or without a
BOM, or GB18030/GBK as Excel in China saves it). Every row is checked against the
session's registrations and the payments already recorded first; the import then
records all rows or none, and importing the same statement again changes nothing: a
provider's reference is recorded once per session.

Each row is judged by payments.classify, the rule a payment entered by hand follows:
it counts towards the fee, is late (recorded and reported for refund), or is refused.
"""

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.payments import Payment, PaymentSource
from exam_portal.models.sittings import ExamSession, Registration
from exam_portal.services import ServiceError
from exam_portal.services.exam_sessions import fees, payments
from exam_portal.services.platform import audit
from exam_portal.services.platform.clock import datetime_text
from question_bank import payment_sheet
from question_bank.formats import csv_format, limits
from question_bank.formats.limits import UnreadableFile
from question_bank.i18n import N_
from question_bank.items import Problem

CHUNK = 5_000
LIMITS = dataclasses.replace(limits.WEB, sheet_cells=(payment_sheet.MAX_ROWS + 1) * 6)


class Action(enum.StrEnum):
    NEW = "new"  # recorded, counts towards the fee
    LATE = "late"  # recorded after the deadline: counts for nothing, to be refunded
    UNCHANGED = "unchanged"  # this payment is on record already
    ERROR = "error"


@dataclass
class PlannedPayment:
    row: payment_sheet.PaymentRow
    action: Action
    problems: list[Problem] = field(default_factory=list)
    registration_id: int | None = None


@dataclass
class PaymentPlan:
    rows: list[PlannedPayment]

    def count(self, action: Action) -> int:
        return sum(1 for row in self.rows if row.action is action)

    @property
    def errors(self) -> list[PlannedPayment]:
        return [row for row in self.rows if row.action is Action.ERROR]

    @property
    def changes(self) -> int:
        return self.count(Action.NEW) + self.count(Action.LATE)


def read_sheet(filename: str, data: bytes) -> list[payment_sheet.PaymentRow]:
    """Read the payment rows of a CSV statement, under the caps.

    Pure work that may take seconds: call it inside extensions.no_write_lock()."""
    if PurePath(filename or "").suffix.lower() != ".csv":
        raise ServiceError(gettext("只支持 %(formats)s 文件。", formats=".csv"))
    try:
        return payment_sheet.read_sheet(csv_format.read_rows(data, caps=LIMITS, gb18030=True))
    except UnreadableFile as error:
        raise ServiceError(gettext(error.message, **error.params)) from error


def plan(session: ExamSession, sheet: list[payment_sheet.PaymentRow], *,
         now: datetime) -> PaymentPlan:
    """Decide, per row, whether it records a payment that counts, a late one, nothing
    (on record already), or fails."""
    numbers = sorted({row.admission_number for row in sheet if row.admission_number})
    references = sorted({row.reference for row in sheet if row.reference})
    registrations, recorded = {}, {}
    for start in range(0, len(numbers), CHUNK):
        for registration_id, number, level, status in db.session.execute(
                sa.select(Registration.id, Registration.admission_number,
                          Registration.level, Registration.status)
                .where(Registration.session_id == session.id,
                       Registration.admission_number.in_(numbers[start:start + CHUNK]))):
            registrations[number] = (registration_id, level, status)
    for start in range(0, len(references), CHUNK):
        for reference, registration_id, amount, paid_at, number in db.session.execute(
                sa.select(Payment.reference, Payment.registration_id, Payment.amount_fen,
                          Payment.paid_at, Registration.admission_number)
                .join(Registration, Registration.id == Payment.registration_id)
                .where(Payment.session_id == session.id,
                       Payment.reference.in_(references[start:start + CHUNK]))):
            recorded[reference] = (registration_id, amount, paid_at, number)
    counted = {registration_id: sums[0] for registration_id, sums in fees.payment_sums(
        session, [found[0] for found in registrations.values()]).items()}
    return PaymentPlan([_plan_row(row, session, registrations, recorded, counted, now)
                        for row in sheet])


def _plan_row(row: payment_sheet.PaymentRow, session: ExamSession, registrations: dict,
              recorded: dict, counted: dict, now: datetime) -> PlannedPayment:
    problems = list(row.problems)
    found = registrations.get(row.admission_number)
    if found is None and row.admission_number:
        problems.append(Problem(payment_sheet.ADMISSION_NUMBER, _unknown_number(
            row.admission_number)))
    if found is None or problems:
        return PlannedPayment(row, Action.ERROR, problems)
    registration_id, level, status = found
    on_record = recorded.get(row.reference)
    if on_record is not None:
        if on_record[:3] == (registration_id, row.amount_fen, row.paid_at):
            return PlannedPayment(row, Action.UNCHANGED, [], registration_id)
        return PlannedPayment(row, Action.ERROR, [Problem(
            payment_sheet.REFERENCE, N_("交易流水号已记录为另一笔缴费（准考证号 %(number)s，"
                                        "%(amount)s 元，%(at)s）。"),
            {"number": on_record[3], "amount": fees.yuan(on_record[1]),
             "at": datetime_text(on_record[2])})])
    verdict = payments.classify(session, status, fees.due_fen(session, level),
                                counted.get(registration_id, 0), amount_fen=row.amount_fen,
                                paid_at=row.paid_at, now=now)
    if verdict.problem is not None:
        return PlannedPayment(row, Action.ERROR, [verdict.problem])
    if not verdict.late:
        # A second row for the same registration sees what the first one paid.
        counted[registration_id] = counted.get(registration_id, 0) + row.amount_fen
    return PlannedPayment(row, Action.LATE if verdict.late else Action.NEW, [],
                          registration_id)


def _unknown_number(number: str) -> str:
    if "E+" in number.upper() or "." in number:
        # Excel shows a long number in scientific notation and saves it so.
        return N_("准考证号被表格软件改成了数字（如 2.026E+15）：请把该列设为文本后重填。")
    return N_("本考试批次没有这个准考证号。")


def record(session: ExamSession, sheet: list[payment_sheet.PaymentRow], actor: User, *,
           filename: str, now: datetime) -> dict[str, int]:
    """Record every new payment of the statement, or nothing when any row fails. The
    rows are judged again under the session's lock, against what is recorded now."""
    session = payments.lock_session(session.id)
    payment_plan = plan(session, sheet, now=now)
    if payment_plan.errors:
        raise ServiceError(gettext("文件中有 %(n)d 行错误，未导入任何缴费。",
                                   n=len(payment_plan.errors)))
    if not payment_plan.changes:
        raise ServiceError(gettext("文件中的缴费都已记录，没有需要导入的变化。"))
    new = [{"session_id": session.id, "registration_id": row.registration_id,
            "amount_fen": row.row.amount_fen, "paid_at": row.row.paid_at,
            "reference": row.row.reference, "source": PaymentSource.IMPORT,
            "recorded_by_id": actor.id, "recorded_at": now, "note": None}
           for row in payment_plan.rows if row.action in (Action.NEW, Action.LATE)]
    for start in range(0, len(new), CHUNK):
        db.session.execute(sa.insert(Payment), new[start:start + CHUNK])
    summary = {action.value: payment_plan.count(action) for action in Action
               if action is not Action.ERROR}
    audit.record("session.payments_imported", target=session, actor=actor, details={
        "file": filename[:200], **summary,
        "amount_fen": sum(row["amount_fen"] for row in new),
        # Late payments are money to give back: the log names them.
        "late": [[row.row.admission_number, row.row.reference, row.row.amount_fen]
                 for row in payment_plan.rows if row.action is Action.LATE][:1000]})
    return summary


def template() -> bytes:
    """An empty statement (CSV with a BOM, so Excel opens it as UTF-8)."""
    return ("\ufeff" + ",".join(payment_sheet.HEADERS) + "\r\n").encode()
