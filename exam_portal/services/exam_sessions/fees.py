"""Exam fees (考试费): what a registration owes, what it has paid, and where it stands.

A registration owes its session's fee per subject for each subject of its level, once
it may pay: when it is verified, or, in a session reviewed after the exam, once it is
declared. A payment counts when the provider took it on or before the session's payment
deadline. The registration is **complete** when it may pay and its counted payments
cover what it owes (a session without a fee needs none); it has **lapsed** when the
deadline has passed without that.

The state is never stored: it follows from the registration's status, the fee, the
deadline, the payments and the clock, so nothing has to run at the deadline, and no
job can fall behind or race a payment. What keeps a complete registration complete is
that payments are never changed or deleted, the fee is fixed once a payment is
recorded, and the deadline never moves before a payment already recorded
(payments.set_fees, under the session's lock).

Money the provider took after the deadline, or beyond what was owed, or for a
registration rejected after paying, is recorded all the same and reported as due for
refund: it is never silently counted.
"""

import enum
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.payments import Payment
from exam_portal.models.sittings import (
    ExamSession,
    Registration,
    RegistrationStatus,
    VerificationMode,
)
from exam_portal.services.platform.clock import datetime_text
from question_bank.levels import Level
from question_bank.pass_rules import subjects_of

_CHUNK = 5_000


class PaymentState(enum.StrEnum):
    UNDER_REVIEW = "under_review"  # not yet verified: payment opens after the review
    REJECTED = "rejected"
    AWAITING_PAYMENT = "awaiting_payment"
    COMPLETE = "complete"  # may pay and has paid in full (or owes nothing)
    LAPSED = "lapsed"  # the deadline passed before it was paid in full


@dataclass(frozen=True)
class Account:
    """A registration's fee: owed in all, paid in time (counted), paid in all."""

    state: PaymentState
    due_fen: int
    counted_fen: int
    total_fen: int

    @property
    def owed_fen(self) -> int:
        """What is still to pay (0 once complete; nothing is owed once lapsed either)."""
        if self.state is not PaymentState.AWAITING_PAYMENT:
            return 0
        return max(0, self.due_fen - self.counted_fen)

    @property
    def refund_fen(self) -> int:
        """Money recorded that pays for nothing: paid late, beyond the fee, or for a
        registration that lapsed or was rejected."""
        applied = (min(self.counted_fen, self.due_fen)
                   if self.state in (PaymentState.COMPLETE, PaymentState.AWAITING_PAYMENT)
                   else 0)
        return self.total_fen - applied


def due_fen(session: ExamSession, level: Level) -> int:
    return session.fee_per_subject_fen * len(subjects_of(level))


def may_pay(status: RegistrationStatus, mode: VerificationMode) -> bool:
    """Payment follows the review (before-exam sessions) or the declaration (after)."""
    return status is RegistrationStatus.VERIFIED or (
        status is RegistrationStatus.DECLARED and mode is VerificationMode.AFTER_EXAM)


def counts(session: ExamSession, paid_at: datetime) -> bool:
    """Whether a payment made at *paid_at* counts towards the fee (on time)."""
    return session.payment_deadline is None or paid_at <= session.payment_deadline


def state_of(session: ExamSession, status: RegistrationStatus, due: int, counted: int,
             now: datetime) -> PaymentState:
    if status is RegistrationStatus.REJECTED:
        return PaymentState.REJECTED
    if not may_pay(status, session.verification_mode):
        return PaymentState.UNDER_REVIEW
    if counted >= due:
        return PaymentState.COMPLETE
    if session.payment_deadline is not None and now > session.payment_deadline:
        return PaymentState.LAPSED
    return PaymentState.AWAITING_PAYMENT


def payment_sums(session: ExamSession,
                 registration_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(counted, total) fen per registration of the session, for those with payments."""
    on_time = (sa.true() if session.payment_deadline is None
               else Payment.paid_at <= session.payment_deadline)
    found = {}
    for start in range(0, len(registration_ids), _CHUNK):
        found.update({registration_id: (int(counted), int(total))
                      for registration_id, counted, total in db.session.execute(
            sa.select(Payment.registration_id,
                      sa.func.sum(sa.case((on_time, Payment.amount_fen), else_=0)),
                      sa.func.sum(Payment.amount_fen))
            .where(Payment.registration_id.in_(registration_ids[start:start + _CHUNK]))
            .group_by(Payment.registration_id))})
    return found


def account_from(session: ExamSession, registration: Registration, counted: int,
                 total: int, now: datetime) -> Account:
    """The account of a registration whose sums were read with it (list_query)."""
    due = due_fen(session, registration.level)
    return Account(state_of(session, registration.status, due, counted, now), due,
                   int(counted), int(total))


def accounts(registrations: list[Registration], now: datetime) -> dict[int, Account]:
    """Each registration's account (all of one session), in two queries at most."""
    if not registrations:
        return {}
    session = registrations[0].session
    sums = payment_sums(session, [r.id for r in registrations])
    return {registration.id: account_from(session, registration,
                                          *sums.get(registration.id, (0, 0)), now)
            for registration in registrations}


def account(registration: Registration, now: datetime) -> Account:
    return accounts([registration], now)[registration.id]


def is_paid(registration: Registration) -> bool:
    """Whether the registration's payments on time cover its fee (true with no fee).
    Independent of the clock: once paid, always paid."""
    due = due_fen(registration.session, registration.level)
    return due == 0 or payment_sums(registration.session, [registration.id]).get(
        registration.id, (0, 0))[0] >= due


def paid_ids(session: ExamSession, registrations: list[tuple[int, Level]]) -> set[int]:
    """Which of (registration id, level) of the session are paid in full."""
    sums = payment_sums(session, [registration_id for registration_id, _ in registrations])
    return {registration_id for registration_id, level in registrations
            if sums.get(registration_id, (0, 0))[0] >= due_fen(session, level)}


def has_payments(registration_id: int) -> bool:
    return db.session.scalar(sa.select(sa.exists().where(
        Payment.registration_id == registration_id)))


def yuan(fen: int) -> str:
    """An amount of fen written in yuan with two decimals: 14000 → "140.00"."""
    return f"{fen // 100}.{fen % 100:02d}"


def missing_text(account_: Account, session: ExamSession) -> str | None:
    """What keeps the registration from its admission ticket, in a sentence, or None."""
    if account_.state is PaymentState.REJECTED:
        return gettext("这份报名已被退回，不能凭此参加考试。")
    if account_.state is PaymentState.UNDER_REVIEW:
        if account_.due_fen == 0:
            return gettext("这份报名还在审核中，审核通过后才能参加考试。")
        return gettext("这份报名还在审核中，审核通过后才能缴费和参加考试。")
    if account_.state is PaymentState.LAPSED:
        return gettext("缴费期限（%(deadline)s）已过，这份报名未缴清考试费，已失效，不能参加考试。",
                       deadline=datetime_text(session.payment_deadline))
    if account_.state is PaymentState.AWAITING_PAYMENT:
        if session.payment_deadline is None:
            return gettext("还需缴纳考试费 %(owed)s 元，缴清后才能打印准考证。",
                           owed=yuan(account_.owed_fen))
        return gettext("还需缴纳考试费 %(owed)s 元，请在 %(deadline)s（北京时间）前缴清，"
                       "缴清后才能打印准考证。", owed=yuan(account_.owed_fen),
                       deadline=datetime_text(session.payment_deadline))
    return None


# Filters of a session's payment list, in SQL --------------------------------------

def _level_subjects():
    return sa.case(*((Registration.level == level, len(subjects_of(level)))
                     for level in Level), else_=0)


REFUND = "refund"  # a filter beside the states: money that pays for nothing


def list_query(session: ExamSession, *, show: str = "", now: datetime, search: str = ""):
    """The session's registrations by admission number, with their counted and total
    payments (fen); *show* is a PaymentState value, or REFUND, or "" for all."""
    on_time = (sa.true() if session.payment_deadline is None
               else Payment.paid_at <= session.payment_deadline)
    counted = (sa.select(sa.func.coalesce(sa.func.sum(Payment.amount_fen), 0))
               .where(Payment.registration_id == Registration.id, on_time)
               .correlate(Registration).scalar_subquery())
    total = (sa.select(sa.func.coalesce(sa.func.sum(Payment.amount_fen), 0))
             .where(Payment.registration_id == Registration.id)
             .correlate(Registration).scalar_subquery())
    due = _level_subjects() * session.fee_per_subject_fen
    payable = sa.or_(Registration.status == RegistrationStatus.VERIFIED, sa.and_(
        Registration.status == RegistrationStatus.DECLARED,
        sa.literal(session.verification_mode is VerificationMode.AFTER_EXAM)))
    open_ = (sa.true() if session.payment_deadline is None
             else sa.literal(now <= session.payment_deadline))
    # What of the money counts: the fee at most, and only while the registration
    # stands (complete or still awaiting payment).
    applied = sa.case((sa.and_(payable, sa.or_(counted >= due, open_)),
                       sa.case((counted < due, counted), else_=due)), else_=0)
    conditions = {
        PaymentState.UNDER_REVIEW.value: sa.and_(
            sa.not_(payable), Registration.status != RegistrationStatus.REJECTED),
        PaymentState.REJECTED.value: Registration.status == RegistrationStatus.REJECTED,
        PaymentState.COMPLETE.value: sa.and_(payable, counted >= due),
        PaymentState.AWAITING_PAYMENT.value: sa.and_(payable, counted < due, open_),
        PaymentState.LAPSED.value: sa.and_(payable, counted < due, sa.not_(open_)),
        REFUND: total > applied,
    }
    query = (sa.select(Registration, counted.label("counted"), total.label("total"))
             .where(Registration.session_id == session.id)
             .order_by(Registration.admission_number))
    if search:
        query = query.where(Registration.admission_number == search.strip())
    if show in conditions:
        query = query.where(conditions[show])
    return query


def state_counts(session: ExamSession, *, now: datetime) -> dict[str, int]:
    """How many registrations of the session are in each state (and hold a refund)."""
    found = {}
    for show in [*(state.value for state in PaymentState), REFUND]:
        query = list_query(session, show=show, now=now)
        found[show] = db.session.scalar(
            sa.select(sa.func.count()).select_from(query.subquery()))
    return found
