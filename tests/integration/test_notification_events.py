"""Each event the portal tells candidates about (通知): sent once per event, in the
recipient's language, from the code that makes the change or from the daily sweep."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.attempts import ReviewCard
from exam_portal.models.certificates import Certificate
from exam_portal.models.mail import OutboxMail
from exam_portal.models.notifications import Notification
from exam_portal.models.sittings import ExamSession, Registration
from exam_portal.services.certification import certificates
from exam_portal.services.exam_sessions import notices, registration_review
from exam_portal.services.platform import mail_delivery, notifications
from question_bank.subjects import Subject

from ..bank_factory import bank_item, publish
from ..factories import make_user
from .test_certificates import _achieved, _issue
from .test_fees import AFTER_DEADLINE, EXAM_OPENS, fee_session, pay, verified
from .test_sittings import NOW, _actor, _candidate, _register, _session

pytestmark = pytest.mark.db


@pytest.fixture
def admin(app) -> int:
    return make_user(app, Role.ADMIN, email="notice-admin@example.com")


def _told(app, kind, user_id=None):
    """(user id, title in Chinese, title in English) of each notice of *kind*."""
    with app.app_context(), app.test_request_context():
        query = sa.select(Notification).where(Notification.kind == kind)
        if user_id is not None:
            query = query.where(Notification.user_id == user_id)
        found = []
        for row in db.session.scalars(query.order_by(Notification.id)):
            with force_locale("zh_CN"):
                chinese = notifications.render(row)
            with force_locale("en"):
                english = notifications.render(row)
            found.append((row.user_id, chinese.title + chinese.body,
                          english.title + english.body))
        return found


def _set_locale(app, user_id, locale):
    with app.app_context():
        db.session.get(User, user_id).locale = locale
        db.session.commit()


def _sweep(app, now):
    with app.app_context():
        outcome = notifications.sweep(now)
        db.session.commit()
    assert set(outcome.values()) == {"ok"}, outcome


def _candidate_of(app, registration_id):
    with app.app_context():
        return db.session.get(Registration, registration_id).candidate_id


def test_a_verified_registration_is_told_with_the_fee_to_pay(app, admin):
    session_id = fee_session(app, admin)
    registration_id = verified(app, admin, session_id)
    user_id = _candidate_of(app, registration_id)
    [(told_id, chinese, english)] = _told(app, notices.VERIFIED)
    assert told_id == user_id
    assert "已通过资格审核" in chinese and "140.00" in chinese and "2026-04-20" in chinese
    assert "passed" in english.lower() and "140.00" in english
    # Verifying again is refused by the review: nothing new is told.
    with app.app_context():
        registration_review.review([db.session.get(Registration, registration_id)],
                                   verify=True, reason="", actor=_actor(admin), now=NOW)
        db.session.commit()
    assert len(_told(app, notices.VERIFIED)) == 1


def test_a_rejected_registration_is_told_with_the_reason_in_the_candidates_language(
        app, admin):
    session_id = _session(app, admin)
    user_id = _candidate(app)
    _set_locale(app, user_id, "en")
    registration = _register(app, user_id, session_id)
    with app.app_context():
        registration_review.review([db.session.get(Registration, registration.id)],
                                   verify=False, reason="学历证明不清晰", actor=_actor(admin),
                                   now=NOW)
        db.session.commit()
    [(told_id, chinese, english)] = _told(app, notices.REJECTED)
    assert told_id == user_id and "学历证明不清晰" in chinese and "学历证明不清晰" in english
    assert "not pass" in english
    with app.app_context():
        mail_delivery.deliver(now=NOW + timedelta(hours=1))
        [mail] = db.session.scalars(sa.select(OutboxMail)).all()
    assert mail.subject.startswith("Registration returned") and "学历证明不清晰" in mail.body


def test_the_fee_is_told_due_once_then_lapsed_once(app, admin):
    session_id = fee_session(app, admin)
    registration_id = verified(app, admin, session_id)
    paid_id = verified(app, admin, session_id)
    pay(app, admin, paid_id, 14000, "PAID-1")
    for moment in (NOW + timedelta(days=1), NOW + timedelta(days=2)):
        _sweep(app, moment)
    [(told_id, chinese, _english)] = _told(app, notices.PAYMENT_DUE)
    assert told_id == _candidate_of(app, registration_id) and "2026-04-20" in chinese
    assert _told(app, notices.LAPSED) == []
    for moment in (AFTER_DEADLINE, AFTER_DEADLINE + timedelta(days=1)):
        _sweep(app, moment)
    [(told_id, _chinese, _english)] = _told(app, notices.LAPSED)
    assert told_id == _candidate_of(app, registration_id)


def test_the_ticket_and_both_reminders_are_told_once_each(app, admin):
    session_id = _session(app, admin, exam_opens_at=EXAM_OPENS,
                          exam_closes_at=EXAM_OPENS + timedelta(days=1))
    registration_id = verified(app, admin, session_id)
    user_id = _candidate_of(app, registration_id)
    _set_locale(app, user_id, "en")
    # The exam opens at 08:00 Beijing time; the sweep the day before runs at 07:00, more
    # than 24 hours before it: still "tomorrow".
    for moment in (NOW, NOW + timedelta(days=1), EXAM_OPENS - timedelta(days=6),
                   EXAM_OPENS - timedelta(days=5), EXAM_OPENS - timedelta(hours=25),
                   EXAM_OPENS - timedelta(hours=2)):
        _sweep(app, moment)
    [(told_id, _chinese, english)] = _told(app, notices.TICKET_READY)
    assert told_id == user_id and "admission ticket" in english.lower()
    reminders = _told(app, notices.EXAM_REMINDER)
    assert len(reminders) == 2
    assert "一周后考试" in reminders[0][1] and "明天考试" in reminders[1][1]
    assert "tomorrow" in reminders[1][2].lower()


def test_a_missed_day_before_sweep_sends_no_tomorrow_on_the_exam_day(app, admin):
    session_id = _session(app, admin, exam_opens_at=EXAM_OPENS,
                          exam_closes_at=EXAM_OPENS + timedelta(days=1))
    verified(app, admin, session_id)
    # Only the sweep of the exam morning runs (06:00 Beijing time, two hours before).
    _sweep(app, EXAM_OPENS - timedelta(hours=2))
    assert _told(app, notices.EXAM_REMINDER) == []


def test_published_results_reach_every_candidate_of_the_session_once(app, admin):
    _qualification_id, user_id = _achieved(app, admin)
    with app.app_context():
        session_id = db.session.scalars(sa.select(ExamSession.id)).one()
    verified(app, admin, session_id)  # registered, but has no result (never sat, unpaid)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        with app.test_request_context(method="POST"):
            first = notices.announce_results(session, _actor(admin))
            second = notices.announce_results(session, _actor(admin))
        assert (first.summary["created"], second.summary["created"]) == (1, 0)
        published_at = session.results_published_at
    _sweep(app, published_at + timedelta(hours=1))  # the job succeeded: nothing to catch up
    [(told_id, chinese, english)] = _told(app, notices.RESULTS_PUBLISHED)
    assert told_id == user_id and "成绩已经发布" in chinese and "published" in english


def test_a_certificate_issued_and_revoked_is_told_each_time(app, admin):
    qualification_id, user_id = _achieved(app, admin)
    certificate = _issue(app, admin, qualification_id)
    [(told_id, chinese, _english)] = _told(app, "certificate_issued")
    assert told_id == user_id and certificate.number in chinese
    with app.app_context():
        certificates.revoke(db.session.get(Certificate, certificate.id), "照片与本人不符",
                            _actor(admin), now=NOW + timedelta(days=80))
        db.session.commit()
    [(_told_id, chinese, english)] = _told(app, "certificate_revoked")
    assert "照片与本人不符" in chinese and "revoked" in english


def test_todays_review_is_told_only_to_those_who_turned_it_on(app):
    [item_id] = publish(app, [bank_item(Subject.PRAC_JR, *_single())])
    keen, quiet = make_user(app), make_user(app)
    with app.app_context():
        for user_id in (keen, quiet):
            db.session.add(ReviewCard(candidate_id=user_id, item_id=item_id,
                                      subject=Subject.PRAC_JR, state=1, step=0,
                                      due=NOW - timedelta(hours=1), in_book=True))
        notifications.set_preferences(db.session.get(User, keen), {
            ("review_waiting", notifications.IN_APP): True}, now=NOW)
        db.session.commit()
    _sweep(app, NOW)
    _sweep(app, NOW + timedelta(hours=1))
    [(told_id, chinese, _english)] = _told(app, "review_waiting")
    assert told_id == keen and "1 道题" in chinese
    _sweep(app, NOW + timedelta(days=1))  # another day, another notice
    assert len(_told(app, "review_waiting")) == 2


def _single():
    from question_bank.items import ItemType

    return ItemType.SINGLE, 1, "PRAC_JR.01"


def test_the_sweep_tells_the_results_when_the_fan_out_never_ran(app, admin):
    _qualification_id, user_id = _achieved(app, admin)
    with app.app_context():
        published_at = db.session.scalars(sa.select(ExamSession)).one().results_published_at
    _sweep(app, published_at + timedelta(hours=1))
    _sweep(app, published_at + timedelta(hours=2))
    [(told_id, _chinese, _english)] = _told(app, notices.RESULTS_PUBLISHED)
    assert told_id == user_id
    with app.app_context(), app.test_request_context(method="POST"):
        job = notices.announce_results(db.session.scalars(sa.select(ExamSession)).one(),
                                       _actor(admin))
        assert job.summary["created"] == 0


def test_paying_in_full_tells_at_once_that_the_ticket_can_be_printed(app, admin):
    session_id = fee_session(app, admin)  # sat online: no seat to wait for
    registration_id = verified(app, admin, session_id)
    pay(app, admin, registration_id, 7000, "HALF-1")
    assert _told(app, notices.TICKET_READY) == []
    pay(app, admin, registration_id, 7000, "HALF-2")
    [(told_id, _chinese, _english)] = _told(app, notices.TICKET_READY)
    assert told_id == _candidate_of(app, registration_id)
