"""Exam fee settings and payments recorded by hand: a session's fee per subject and
payment deadline, and a payment an administrator enters from a receipt (audited).

The rule for each payment, shared with the statement import (payment_import), is
`classify`: refused when the registration is not awaiting payment (rejected, not yet
verified, already paid in full, or a session without a fee), when the amount is more
than is owed, or when its time is in the future; otherwise recorded, counting towards
the fee when it was made on or before the deadline, or, made after it, recorded as
late and reported for refund (a lapsed registration is never paid silently).

Fee settings and payments of a session are written one at a time, under the session's
row lock (`lock_session`): a deadline moved while a payment is recorded would otherwise
be checked against payments that were not there yet, and a registration paid in full
could lapse.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.payments import Payment, PaymentSource
from exam_portal.models.sittings import ExamSession, Registration, RegistrationStatus
from exam_portal.services import ServiceError
from exam_portal.services.exam_sessions import fees, notices
from exam_portal.services.platform import audit
from exam_portal.services.platform.clock import datetime_text
from question_bank import payment_sheet
from question_bank.i18n import N_
from question_bank.items import Problem

MAX_FEE_FEN = 100_000  # 1,000 yuan a subject: anything more is a typing slip
# A provider's clock may run a little ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)


def lock_session(session_id: int) -> ExamSession:
    """Lock the session's row until the transaction ends, and return the session as
    committed now (its fee and deadline). SQLite: the write lock already serialises."""
    return db.session.scalars(
        sa.select(ExamSession).where(ExamSession.id == session_id).with_for_update()
        .execution_options(populate_existing=True)).one()


# Fee settings --------------------------------------------------------------------

def set_fees(session: ExamSession, *, fee_fen: int, deadline: datetime | None,
             actor: User, now: datetime) -> None:
    """Set the session's fee per subject and payment deadline (audited)."""
    session = lock_session(session.id)
    before = (session.fee_per_subject_fen, session.payment_deadline)
    if (fee_fen, deadline) == before:
        raise ServiceError(gettext("考试费和缴费期限没有变化。"))
    if not 0 <= fee_fen <= MAX_FEE_FEN:
        raise ServiceError(gettext("每科考试费应在 0 到 %(max)s 元之间。",
                                   max=fees.yuan(MAX_FEE_FEN)))
    if deadline is not None and deadline > session.exam_opens_at:
        raise ServiceError(gettext("缴费期限应在考试开始之前。"))
    if now >= session.exam_opens_at:
        raise ServiceError(gettext("考试已经开始，不能再修改考试费和缴费期限。"))
    on_time = (sa.true() if session.payment_deadline is None
               else Payment.paid_at <= session.payment_deadline)
    if fee_fen != session.fee_per_subject_fen and db.session.scalar(sa.select(sa.exists().where(
            Payment.session_id == session.id))):
        raise ServiceError(gettext("已有缴费记录，不能再修改考试费。"))
    if deadline is not None and deadline != session.payment_deadline:
        # Payments made in time must stay in time: a complete registration never lapses.
        latest = db.session.scalar(sa.select(sa.func.max(Payment.paid_at)).where(
            Payment.session_id == session.id, on_time))
        if latest is not None and latest > deadline:
            raise ServiceError(gettext(
                "已有 %(at)s 按期缴纳的考试费：缴费期限不能早于这个时间。",
                at=datetime_text(latest)))
    session.fee_per_subject_fen, session.payment_deadline = fee_fen, deadline
    db.session.flush()
    audit.record("session.fees_set", target=session, actor=actor, details={
        "before": {"fee_fen": before[0], "deadline": _iso(before[1])},
        "after": {"fee_fen": fee_fen, "deadline": _iso(deadline)}})


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# The rule for one payment ----------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    """What a payment does: refused (problem), counts towards the fee, or is late."""

    problem: Problem | None = None
    late: bool = False


def classify(session: ExamSession, status: RegistrationStatus, due: int, counted: int, *,
             amount_fen: int, paid_at: datetime, now: datetime) -> Verdict:
    """Judge one payment of *amount_fen* made at *paid_at* for a registration with
    *status* that owes *due* and has *counted* paid in time so far."""
    number = payment_sheet.ADMISSION_NUMBER
    if session.fee_per_subject_fen == 0:
        return Verdict(Problem(number, N_("本考试批次不收考试费。")))
    if status is RegistrationStatus.REJECTED:
        return Verdict(Problem(number, N_("这条报名已被退回，不在待缴费状态。")))
    if not fees.may_pay(status, session.verification_mode):
        return Verdict(Problem(number, N_("这条报名还没有审核通过，不在待缴费状态。")))
    if paid_at > now + CLOCK_SKEW:
        return Verdict(Problem(payment_sheet.PAID_AT, N_("缴费时间晚于现在。")))
    if counted >= due:
        return Verdict(Problem(number, N_(
            "这条报名已缴清考试费，不在待缴费状态（请核对是否重复收费）。")))
    if not fees.counts(session, paid_at):
        return Verdict(late=True)  # recorded, counted for nothing, reported for refund
    if amount_fen > due - counted:
        return Verdict(Problem(
            payment_sheet.AMOUNT, N_("金额 %(amount)s 元超过尚需缴纳的 %(owed)s 元。"),
            {"amount": fees.yuan(amount_fen), "owed": fees.yuan(due - counted)}))
    return Verdict()


# A payment entered by hand ---------------------------------------------------------

def record_payment(registration: Registration, *, amount_fen: int, reference: str,
                   paid_at: datetime | None, note: str, actor: User,
                   now: datetime) -> tuple[Payment, bool]:
    """Record a payment from a receipt (audited); return it and whether it is late
    (recorded for refund rather than counted)."""
    session = lock_session(registration.session_id)
    registration = db.session.scalars(
        sa.select(Registration).where(Registration.id == registration.id)
        .execution_options(populate_existing=True)).one_or_none()
    if registration is None:
        raise ServiceError(gettext("考生已撤销这条报名。"))
    reference = reference.strip()
    problem = payment_sheet.reference_problem(reference)
    if problem is None and db.session.scalar(sa.select(sa.exists().where(
            Payment.session_id == session.id, Payment.reference == reference))):
        problem = Problem(payment_sheet.REFERENCE, N_("这个交易流水号已经记录过。"))
    if problem is None and amount_fen <= 0:
        problem = Problem(payment_sheet.AMOUNT, N_("金额应大于 0。"))
    paid_at = paid_at or now
    verdict = None
    if problem is None:
        account = fees.account(registration, now)
        verdict = classify(session, registration.status, account.due_fen,
                           account.counted_fen, amount_fen=amount_fen, paid_at=paid_at,
                           now=now)
        problem = verdict.problem
    if problem is not None:
        raise ServiceError(problem.render(gettext))
    payment = Payment(session_id=session.id, registration_id=registration.id,
                      amount_fen=amount_fen, paid_at=paid_at, reference=reference,
                      source=PaymentSource.MANUAL, recorded_by_id=actor.id, recorded_at=now,
                      note=note.strip()[:500] or None)
    db.session.add(payment)
    db.session.flush()
    audit.record("payment.recorded", target=registration, actor=actor, details={
        "session": session.id, "admission_number": registration.admission_number,
        "amount_fen": amount_fen, "paid_at": paid_at.isoformat(), "reference": reference,
        "late": verdict.late, "note": payment.note})
    # Paid in full, with a seat already given: the ticket can be printed now.
    notices.tickets_ready(session, now=now, registration_ids=[registration.id])
    return payment, verdict.late


def payments_of(registration: Registration) -> list[Payment]:
    return list(db.session.scalars(sa.select(Payment).where(
        Payment.registration_id == registration.id).order_by(Payment.paid_at, Payment.id)))
