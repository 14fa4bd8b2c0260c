"""Exam fees through the services: what a registration owes per subject, payments by hand
and the rule each follows, the deadline and lapsing (derived, never stored), refunds,
the fee settings' own rules, and who may sit."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.audit import AuditEvent
from exam_portal.models.payments import Payment
from exam_portal.models.sittings import ExamSession, Registration, VerificationMode
from exam_portal.services import ServiceError
from exam_portal.services.exam_sessions import (
    fees,
    online_exams,
    payments,
    registration_review,
    sittings,
)
from exam_portal.services.exam_sessions.fees import PaymentState
from question_bank.levels import Level
from question_bank.subjects import Subject

from ..factories import make_user
from .test_sittings import NOW, _actor, _candidate, _register, _session

# A paper-style sitting over two days (Beijing time: 9 May 08:00 to 10 May 18:00), so
# the national timetable fits; payments close on 20 April at 23:59:59.
EXAM_OPENS = datetime(2026, 5, 9, 0, 0, tzinfo=UTC)
EXAM_CLOSES = datetime(2026, 5, 10, 10, 0, tzinfo=UTC)
DEADLINE = datetime(2026, 4, 20, 15, 59, 59, tzinfo=UTC)
AFTER_DEADLINE = DEADLINE + timedelta(days=1)


@pytest.fixture
def admin(app) -> int:
    return make_user(app, Role.ADMIN, email="fees-admin@example.com")


def fee_session(app, admin_id, *, fee_fen=7000, deadline=DEADLINE, **changes) -> int:
    session_id = _session(app, admin_id, **{"exam_opens_at": EXAM_OPENS,
                                            "exam_closes_at": EXAM_CLOSES, **changes})
    if fee_fen or deadline:
        with app.app_context():
            payments.set_fees(db.session.get(ExamSession, session_id), fee_fen=fee_fen,
                              deadline=deadline, actor=_actor(admin_id), now=NOW)
            db.session.commit()
    return session_id


def verified(app, admin_id, session_id, level=Level.ASSISTANT, *, user_id=None) -> int:
    user_id = user_id or _candidate(app, work_since=date(2021, 1, 1))
    registration_id = _register(app, user_id, session_id, level).id
    with app.app_context():
        registration_review.review([db.session.get(Registration, registration_id)],
                                   verify=True, reason="", actor=_actor(admin_id), now=NOW)
        db.session.commit()
    return registration_id


def pay(app, admin_id, registration_id, amount_fen, reference, *, paid_at=None,
        now=NOW + timedelta(days=1)) -> bool:
    """Record a payment by hand; return whether it was late."""
    with app.app_context():
        _payment, late = payments.record_payment(
            db.session.get(Registration, registration_id), amount_fen=amount_fen,
            reference=reference, paid_at=paid_at, note="现场缴费，收据在案",
            actor=_actor(admin_id), now=now)
        db.session.commit()
        return late


def account(app, registration_id, now=NOW + timedelta(days=1)) -> fees.Account:
    with app.app_context():
        return fees.account(db.session.get(Registration, registration_id), now)


def may_sit(app, registration_id) -> bool:
    with app.app_context():
        return sittings.may_sit(db.session.get(Registration, registration_id))


def test_a_session_without_a_fee_needs_no_payment(app, admin):
    session_id = fee_session(app, admin, fee_fen=0, deadline=None)
    registration_id = verified(app, admin, session_id)
    assert account(app, registration_id) == fees.Account(PaymentState.COMPLETE, 0, 0, 0)
    assert may_sit(app, registration_id)
    with pytest.raises(ServiceError, match="不收考试费"):
        pay(app, admin, registration_id, 7000, "R1")


def test_the_fee_is_owed_per_subject_and_a_registration_sits_once_paid_in_full(app, admin):
    session_id = fee_session(app, admin)
    assistant = verified(app, admin, session_id)
    intermediate = verified(app, admin, session_id, Level.INTERMEDIATE)
    assert account(app, assistant) == fees.Account(PaymentState.AWAITING_PAYMENT, 14000, 0, 0)
    assert account(app, intermediate).due_fen == 21000
    assert not may_sit(app, assistant)
    assert pay(app, admin, assistant, 7000, "WX0001") is False
    assert (account(app, assistant).state, account(app, assistant).owed_fen) == (
        PaymentState.AWAITING_PAYMENT, 7000)
    assert not may_sit(app, assistant)
    pay(app, admin, assistant, 7000, "WX0002", now=NOW + timedelta(days=2))
    assert account(app, assistant) == fees.Account(PaymentState.COMPLETE, 14000, 14000, 14000)
    assert may_sit(app, assistant)
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "payment.recorded").order_by(AuditEvent.id)).all()
        details = [json.loads(event.details) for event in events]
        assert [(d["reference"], d["amount_fen"], d["late"]) for d in details] == [
            ("WX0001", 7000, False), ("WX0002", 7000, False)]


def test_an_online_sitting_needs_the_fee_paid(app, admin):
    session_id = fee_session(app, admin)
    registration_id = verified(app, admin, session_id)
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        with pytest.raises(ServiceError, match="未缴清考试费"):
            online_exams.start(registration, Subject.COMP_JR, registration.candidate,
                               now=EXAM_OPENS + timedelta(hours=1))
        assert {s.state for s in online_exams.sittings_of(
            registration, EXAM_OPENS + timedelta(hours=1))} == {
            online_exams.SittingState.NOT_ALLOWED}


@pytest.mark.parametrize("mode", [VerificationMode.BEFORE_EXAM, VerificationMode.AFTER_EXAM])
def test_payment_opens_with_the_review_or_with_the_declaration(app, admin, mode):
    session_id = fee_session(app, admin, verification_mode=mode)
    registration_id = _register(app, _candidate(app), session_id).id
    if mode is VerificationMode.BEFORE_EXAM:
        assert account(app, registration_id).state is PaymentState.UNDER_REVIEW
        with pytest.raises(ServiceError, match="还没有审核通过"):
            pay(app, admin, registration_id, 14000, "R1")
        return
    assert account(app, registration_id).state is PaymentState.AWAITING_PAYMENT
    pay(app, admin, registration_id, 14000, "R1")
    assert may_sit(app, registration_id)
    # Rejected after paying: the money is to be given back.
    with app.app_context():
        registration_review.review([db.session.get(Registration, registration_id)],
                                   verify=False, reason="学历证明不符", actor=_actor(admin),
                                   now=NOW + timedelta(days=3))
        db.session.commit()
    assert (account(app, registration_id).state, account(app, registration_id).refund_fen) == (
        PaymentState.REJECTED, 14000)
    assert not may_sit(app, registration_id)
    with pytest.raises(ServiceError, match="已被退回"):
        pay(app, admin, registration_id, 100, "R2")


def test_an_unpaid_registration_lapses_the_moment_the_deadline_passes(app, admin):
    session_id = fee_session(app, admin)
    registration_id = verified(app, admin, session_id)
    pay(app, admin, registration_id, 7000, "R1")
    assert account(app, registration_id, DEADLINE).state is PaymentState.AWAITING_PAYMENT
    lapsed = account(app, registration_id, DEADLINE + timedelta(seconds=1))
    assert (lapsed.state, lapsed.owed_fen, lapsed.refund_fen) == (PaymentState.LAPSED, 0, 7000)
    assert not may_sit(app, registration_id)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        assert "2026-04-20 23:59" in fees.missing_text(lapsed, session)
        assert "已失效" in fees.missing_text(lapsed, session)


def test_a_payment_after_the_deadline_is_recorded_for_refund_and_never_counted(app, admin):
    session_id = fee_session(app, admin)
    registration_id = verified(app, admin, session_id)
    assert pay(app, admin, registration_id, 14000, "LATE1", now=AFTER_DEADLINE) is True
    late = account(app, registration_id, AFTER_DEADLINE)
    assert (late.state, late.counted_fen, late.total_fen, late.refund_fen) == (
        PaymentState.LAPSED, 0, 14000, 14000)
    assert not may_sit(app, registration_id)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        listed = {show: [r.id for r, *_ in db.session.execute(
            fees.list_query(session, show=show, now=AFTER_DEADLINE))]
            for show in ("lapsed", "refund", "complete")}
        assert listed == {"lapsed": [registration_id], "refund": [registration_id],
                          "complete": []}


def test_a_payment_made_in_time_counts_even_when_recorded_after_the_deadline(app, admin):
    session_id = fee_session(app, admin)
    registration_id = verified(app, admin, session_id)
    assert account(app, registration_id, AFTER_DEADLINE).state is PaymentState.LAPSED
    # The provider's statement arrives the next morning: it says when the money was paid.
    assert pay(app, admin, registration_id, 14000, "WX-NIGHT",
               paid_at=DEADLINE - timedelta(minutes=5), now=AFTER_DEADLINE) is False
    assert account(app, registration_id, AFTER_DEADLINE).state is PaymentState.COMPLETE
    assert may_sit(app, registration_id)


@pytest.mark.parametrize("amount, reference, paid_at, message", [
    (14001, "R9", None, "超过尚需缴纳的 140.00 元"),
    (7000, "R1", None, "已经记录过"),
    (7000, "R9", NOW + timedelta(days=3), "晚于现在"),
    (7000, "R 9", None, "交易流水号只能"),
    (0, "R9", None, "金额应大于 0"),
])
def test_a_refused_payment_records_nothing(app, admin, amount, reference, paid_at, message):
    session_id = fee_session(app, admin)
    other = verified(app, admin, session_id)
    pay(app, admin, other, 7000, "R1")
    registration_id = verified(app, admin, session_id)
    with pytest.raises(ServiceError, match=message):
        pay(app, admin, registration_id, amount, reference, paid_at=paid_at)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 1


def test_a_registration_paid_in_full_takes_no_second_payment(app, admin):
    session_id = fee_session(app, admin)
    registration_id = verified(app, admin, session_id)
    pay(app, admin, registration_id, 14000, "R1")
    with pytest.raises(ServiceError, match="已缴清考试费，不在待缴费状态"):
        pay(app, admin, registration_id, 14000, "R2")


def _set(app, admin, session_id, *, fee_fen=7000, deadline=DEADLINE, now=NOW):
    with app.app_context():
        payments.set_fees(db.session.get(ExamSession, session_id), fee_fen=fee_fen,
                          deadline=deadline, actor=_actor(admin), now=now)
        db.session.commit()


def test_the_fee_is_fixed_once_paid_and_the_deadline_never_moves_before_a_payment(
        app, admin):
    session_id = fee_session(app, admin)
    registration_id = verified(app, admin, session_id)
    paid_at = datetime(2026, 4, 1, 4, 0, tzinfo=UTC)
    pay(app, admin, registration_id, 14000, "R1", paid_at=paid_at,
        now=paid_at + timedelta(hours=1))
    for changes, message in (
            (dict(fee_fen=8000), "不能再修改考试费"),
            (dict(deadline=paid_at - timedelta(minutes=1)), "不能早于这个时间"),
            (dict(deadline=EXAM_OPENS + timedelta(minutes=1)), "考试开始之前"),
            (dict(deadline=DEADLINE + timedelta(days=1), now=EXAM_OPENS), "考试已经开始"),
            (dict(), "没有变化")):
        with pytest.raises(ServiceError, match=message):
            _set(app, admin, session_id, **changes)
    _set(app, admin, session_id, deadline=paid_at)  # as early as the payment, no earlier
    _set(app, admin, session_id, deadline=None)  # or no deadline at all
    assert account(app, registration_id, EXAM_OPENS).state is PaymentState.COMPLETE
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "session.fees_set").order_by(AuditEvent.id)).all()
        assert [json.loads(e.details)["after"] for e in events] == [
            {"fee_fen": 7000, "deadline": DEADLINE.isoformat()},
            {"fee_fen": 7000, "deadline": paid_at.isoformat()},
            {"fee_fen": 7000, "deadline": None}]


def test_a_registration_with_payments_is_not_withdrawn_by_its_candidate(app, admin):
    session_id = fee_session(app, admin)
    registration_id = verified(app, admin, session_id)
    pay(app, admin, registration_id, 7000, "R1")
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        with pytest.raises(ServiceError, match="已缴费"):
            sittings.withdraw(registration, registration.candidate, now=NOW + timedelta(days=2))


def test_the_payment_list_filters_by_state_and_counts_each(app, admin):
    session_id = fee_session(app, admin)
    complete, awaiting, partly = (verified(app, admin, session_id) for _ in range(3))
    reviewing = _register(app, _candidate(app), session_id).id
    pay(app, admin, complete, 14000, "R1")
    pay(app, admin, partly, 7000, "R2")
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        before = fees.state_counts(session, now=NOW + timedelta(days=2))
        after = fees.state_counts(session, now=AFTER_DEADLINE)
        lapsed = [r.id for r, *_ in db.session.execute(
            fees.list_query(session, show="lapsed", now=AFTER_DEADLINE))]
        found = [r.id for r, *_ in db.session.execute(fees.list_query(
            session, show="", now=NOW, search=db.session.get(
                Registration, partly).admission_number))]
    assert before == {"under_review": 1, "rejected": 0, "awaiting_payment": 2,
                      "complete": 1, "lapsed": 0, "refund": 0}
    assert after == {"under_review": 1, "rejected": 0, "awaiting_payment": 0,
                     "complete": 1, "lapsed": 2, "refund": 1}
    assert sorted(lapsed) == sorted([awaiting, partly])
    assert found == [partly]
    assert reviewing not in lapsed


def test_a_paper_score_needs_the_fee_paid_in_time(app, admin):
    from decimal import Decimal

    from exam_portal.models.sittings import ResultSource, SessionMode
    from exam_portal.services.exam_sessions import scores

    session_id = fee_session(app, admin, mode=SessionMode.PAPER)
    unpaid, paid = verified(app, admin, session_id), verified(app, admin, session_id)
    pay(app, admin, paid, 14000, "R1")
    with app.app_context():
        for registration_id, refused in ((unpaid, True), (paid, False)):
            registration = db.session.get(Registration, registration_id)
            record = lambda registration=registration: scores.record_score(  # noqa: E731
                registration, Subject.COMP_JR, Decimal(70), source=ResultSource.PAPER,
                now=EXAM_CLOSES)
            if refused:
                with pytest.raises(ServiceError, match="未缴清考试费"):
                    record()
            else:
                assert record().score_halves == 140


def test_a_score_sheet_row_of_an_unpaid_registration_is_an_error(app, admin):
    from exam_portal.models.sittings import SessionMode
    from exam_portal.services.exam_sessions import score_import
    from question_bank import score_sheet

    session_id = fee_session(app, admin, mode=SessionMode.PAPER)
    unpaid, paid = verified(app, admin, session_id), verified(app, admin, session_id)
    pay(app, admin, paid, 14000, "R1")
    with app.app_context():
        numbers = [db.session.get(Registration, i).admission_number for i in (unpaid, paid)]
        sheet = score_sheet.read_sheet([["准考证号", "科目", "成绩"],
                                        [numbers[0], "COMP_JR", "70"],
                                        [numbers[1], "COMP_JR", "70"]])
        plan = score_import.plan(db.session.get(ExamSession, session_id), sheet,
                                 now=EXAM_CLOSES)
        assert [[p.message for p in row.problems] for row in plan.rows] == [
            ["这条报名未按期缴清考试费，不能参加考试。"], []]


@pytest.mark.parametrize("fee_fen, text", [(0, "审核通过后才能参加考试"),
                                           (7000, "审核通过后才能缴费和参加考试")])
def test_a_registration_under_review_is_told_what_comes_next(app, admin, fee_fen, text):
    session_id = fee_session(app, admin, fee_fen=fee_fen, deadline=None)
    registration_id = _register(app, _candidate(app), session_id).id
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        assert text in fees.missing_text(fees.account(registration, NOW), registration.session)
