"""Payments racing each other and the fee settings, one request stopped in the middle
while the other runs to its end (test_state_races.interleave).

The rule under test (services/exam_sessions/payments.py): a registration's state is
derived from its payments, the fee and the deadline, so no job races a payment at the
deadline; what could race is a payment against a change of the deadline or the fee, a
payment against another payment of the same registration, and two records of one
provider reference. Fee settings and payments of a session are written one at a time
under the session's row lock, and the reference is unique per session, so:

- no payment is recorded twice, and no registration is paid beyond its fee;
- a payment told "counts" keeps counting: a paid registration never lapses;
- a payment made after the deadline is recorded, told late, and listed for refund: a
  lapsed registration is never paid silently.

On PostgreSQL (READ COMMITTED) without the lock, a deadline moved while a payment was
being recorded left a registration the administrator had just been told was paid
lapsed; on SQLite the write lock already serialises the two.
"""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.payments import Payment
from exam_portal.models.sittings import ExamSession, Registration
from exam_portal.services import ServiceError
from exam_portal.services.exam_sessions import fees, payment_import, payments
from exam_portal.services.exam_sessions.fees import PaymentState
from question_bank.payment_sheet import PaymentRow

from ..factories import make_user
from .test_fees import DEADLINE, fee_session, verified
from .test_state_races import _stop_after, interleave

pytestmark = pytest.mark.db

EARLIER = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)  # a deadline moved forward to here
PAID_AT = datetime(2026, 4, 10, 0, 0, tzinfo=UTC)  # in time for DEADLINE, not EARLIER
NOW = PAID_AT + timedelta(hours=1)


@pytest.fixture
def admin(app) -> int:
    return make_user(app, Role.ADMIN, email="race-payments-admin@example.com")


def _manual(admin_id, registration_id, reference, amount_fen=14000):
    return payments.record_payment(
        db.session.get(Registration, registration_id), amount_fen=amount_fen,
        reference=reference, paid_at=PAID_AT, note="现场缴费", actor=db.session.get(
            User, admin_id), now=NOW)[1]


def _import(admin_id, session_id, registration_id, reference, amount_fen=14000):
    number = db.session.get(Registration, registration_id).admission_number
    sheet = [PaymentRow(2, number, amount_fen, PAID_AT, reference)]
    return payment_import.record(db.session.get(ExamSession, session_id), sheet,
                                 db.session.get(User, admin_id), filename="statement.csv",
                                 now=NOW)


def _move_deadline(admin_id, session_id, deadline=EARLIER):
    payments.set_fees(db.session.get(ExamSession, session_id), fee_fen=7000,
                      deadline=deadline, actor=db.session.get(User, admin_id), now=NOW)


def _stored(app, session_id, registration_id) -> tuple[list[tuple], fees.Account, object]:
    with app.app_context():
        rows = [(p.reference, p.amount_fen) for p in db.session.scalars(
            sa.select(Payment).order_by(Payment.id))]
        registration = db.session.get(Registration, registration_id)
        return rows, fees.account(registration, NOW), registration.session.payment_deadline


def _pause_after(monkeypatch, owner, name):
    pauses = {}
    _stop_after(monkeypatch, owner, name, pauses)

    def register(pause):
        pauses[threading.get_ident()] = pause

    return register


def test_a_deadline_moved_while_a_payment_is_recorded_leaves_it_late_not_lapsed_paid(
        app, admin, monkeypatch):
    session_id = fee_session(app, admin)
    registration_id = verified(app, admin, session_id)
    holding = _pause_after(monkeypatch, payments, "lock_session")

    def move(pause):
        holding(pause)  # stopped holding the session's lock, the payments checked
        _move_deadline(admin, session_id)

    moved, paid = interleave(app, move, lambda: _manual(admin, registration_id, "WX-1"))
    assert moved.done and paid.done
    rows, account, deadline = _stored(app, session_id, registration_id)
    assert rows == [("WX-1", 14000)] and deadline == EARLIER
    # Judged against the deadline that stood when it was recorded: late, and said so.
    assert paid.value is True
    assert (account.state, account.refund_fen) == (PaymentState.LAPSED, 14000)


def test_a_payment_recorded_first_keeps_the_deadline_from_moving_before_it(
        app, admin, monkeypatch):
    session_id = fee_session(app, admin)
    registration_id = verified(app, admin, session_id)
    holding = _pause_after(monkeypatch, payments, "lock_session")

    def pay(pause):
        holding(pause)
        return _manual(admin, registration_id, "WX-1")

    paid, moved = interleave(app, pay, lambda: _move_deadline(admin, session_id))
    assert paid.done and paid.value is False  # counts
    assert moved.refused and "不能早于" in str(moved.error)
    rows, account, deadline = _stored(app, session_id, registration_id)
    assert (rows, account.state, deadline) == ([("WX-1", 14000)], PaymentState.COMPLETE,
                                               DEADLINE)


@pytest.mark.parametrize("first", ["manual", "import"])
def test_a_reference_entered_by_hand_and_imported_at_once_is_recorded_once(
        app, admin, monkeypatch, first):
    session_id = fee_session(app, admin)
    registration_id = verified(app, admin, session_id)
    holding = _pause_after(monkeypatch, payments, "lock_session")
    by_hand = lambda: _manual(admin, registration_id, "WX-SAME")  # noqa: E731
    imported = lambda: _import(admin, session_id, registration_id, "WX-SAME")  # noqa: E731
    one, two = (by_hand, imported) if first == "manual" else (imported, by_hand)

    def stopped(pause):
        holding(pause)
        return one()

    done, other = interleave(app, stopped, two)
    assert done.done and other.refused, (done, other)
    assert any(text in str(other.error) for text in ("已经记录过", "都已记录"))
    rows, account, _ = _stored(app, session_id, registration_id)
    assert (rows, account.counted_fen) == ([("WX-SAME", 14000)], 14000)


def test_two_payments_of_one_registration_at_once_never_pay_it_twice(
        app, admin, monkeypatch):
    session_id = fee_session(app, admin)
    registration_id = verified(app, admin, session_id)
    holding = _pause_after(monkeypatch, payment_import, "plan")

    def imported(pause):
        holding(pause)  # planned under the lock: owes 140.00, about to record it
        return _import(admin, session_id, registration_id, "ZFB-1")

    first, second = interleave(app, imported,
                               lambda: _manual(admin, registration_id, "WX-2"))
    assert first.done and second.refused and "已缴清" in str(second.error)
    rows, account, _ = _stored(app, session_id, registration_id)
    assert rows == [("ZFB-1", 14000)]
    assert (account.counted_fen, account.refund_fen) == (14000, 0)


def test_two_imports_of_one_statement_record_each_payment_once(app, admin, monkeypatch):
    session_id = fee_session(app, admin)
    registration_id = verified(app, admin, session_id)
    holding = _pause_after(monkeypatch, payment_import, "plan")

    def imported(pause):
        holding(pause)
        return _import(admin, session_id, registration_id, "ZFB-1")

    first, second = interleave(app, imported,
                               lambda: _import(admin, session_id, registration_id, "ZFB-1"))
    assert first.done and second.refused and "都已记录" in str(second.error)
    assert _stored(app, session_id, registration_id)[0] == [("ZFB-1", 14000)]


def test_without_the_lock_the_unique_reference_still_records_a_payment_once(
        app, admin, monkeypatch):
    """The last line: with the session's lock gone, a reference entered by hand and
    imported at the same moment meets the unique index, which the view answers as a
    conflict (outcomes.commit)."""
    session_id = fee_session(app, admin)
    registration_id = verified(app, admin, session_id)
    def unlocked(session_id):
        return db.session.scalars(sa.select(ExamSession).where(
            ExamSession.id == session_id)).one()

    monkeypatch.setattr(payments, "lock_session", unlocked)
    holding = _pause_after(monkeypatch, payment_import, "plan")

    def as_a_view(work):
        try:
            return work()
        except IntegrityError as error:  # what outcomes.commit(conflict=...) refuses
            raise ServiceError("conflict") from error

    def imported(pause):
        holding(pause)  # planned without a lock: the reference is not on record yet
        return as_a_view(lambda: _import(admin, session_id, registration_id, "WX-SAME"))

    first, second = interleave(app, imported, lambda: as_a_view(
        lambda: _manual(admin, registration_id, "WX-SAME")))
    assert first.done != second.done, (first, second)
    assert _stored(app, session_id, registration_id)[0] == [("WX-SAME", 14000)]
