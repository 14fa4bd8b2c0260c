"""Exam sessions, pass lines and registration (报名) through the services: windows,
eligibility at the session's own cutoff, admission numbers, the review queue."""

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.audit import AuditEvent
from exam_portal.models.sittings import (
    Registration,
    RegistrationStatus,
    SessionMode,
    VerificationMode,
)
from exam_portal.services import ServiceError
from exam_portal.services.accounts import profiles
from exam_portal.services.exam_sessions import registration_review, scores, sittings
from question_bank.levels import Education, Level
from question_bank.subjects import Subject

from ..factories import make_user

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
_ids = itertools.count(1)


def _fields(**changes) -> sittings.SessionFields:
    values = dict(
        year=2026, name="2026 年度社会工作者职业资格考试", levels=(Level.ASSISTANT,
                                                              Level.INTERMEDIATE),
        registration_opens_at=NOW - timedelta(days=5),
        registration_closes_at=NOW + timedelta(days=20),
        exam_opens_at=NOW + timedelta(days=60), exam_closes_at=NOW + timedelta(days=61),
        mode=SessionMode.ONLINE, syllabus_version="2025", law_cutoff=date(2025, 12, 31),
        experience_cutoff=date(2026, 12, 31), verification_mode=VerificationMode.BEFORE_EXAM)
    values.update(changes)
    return sittings.SessionFields(**values)


def _actor(user_id: int) -> User:
    return db.session.get(User, user_id)


def _candidate(app, *, education=Education.BACHELOR, social_work_major=True,
               graduated=date(2020, 7, 1), work_since: date | None = None) -> int:
    user_id = make_user(app, email=f"sitter{next(_ids)}@example.com")
    with app.app_context():
        user = db.session.get(User, user_id)
        profiles.save_profile(user, profiles.ProfileChanges(
            real_name="林晓", resident_id=_resident_id(user_id), id_consent=True,
            education=education,
            major="社会工作", is_social_work_major=social_work_major,
            graduation_date=graduated, is_full_time=False, region="11"), today=NOW.date())
        if work_since is not None:
            profiles.add_employment_period(user, employer="某街道社会工作服务站",
                                           start_on=work_since, end_on=None,
                                           is_social_work=True, today=NOW.date())
        db.session.commit()
    return user_id


def _resident_id(serial: int) -> str:
    """A valid 18-digit resident ID (GB 11643 check character), unique per *serial*."""
    body = f"110105199001{serial % 28 + 1:02d}{serial % 1000:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


@pytest.fixture
def admin(app) -> int:
    return make_user(app, Role.ADMIN, email=f"session-admin{next(_ids)}@example.com")


def _session(app, admin, **changes) -> int:
    with app.app_context():
        session = sittings.create_session(_fields(**changes), _actor(admin))
        db.session.commit()
        return session.id


def _register(app, user_id, session_id, level=Level.ASSISTANT, region="11", *,
              declared=True, now=NOW) -> Registration:
    with app.app_context():
        registration = sittings.register(
            db.session.get(User, user_id), db.session.get(sittings.ExamSession, session_id),
            level, region, declared=declared, now=now)
        db.session.commit()
        db.session.refresh(registration)
        db.session.expunge(registration)
        return registration


def _count_registrations(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Registration.id)))


def test_a_session_is_created_with_its_windows_checked_and_audited(app, admin):
    session_id = _session(app, admin)
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
        assert "session.created" in actions
        for bad in (dict(registration_closes_at=NOW - timedelta(days=6)),
                    dict(exam_closes_at=NOW + timedelta(days=59)),
                    dict(registration_closes_at=NOW + timedelta(days=70)),
                    dict(levels=())):
            with pytest.raises(ServiceError):
                sittings.create_session(_fields(**bad), _actor(admin))
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(sittings.ExamSession.id))) == 1
        assert db.session.get(sittings.ExamSession, session_id).level_set == (
            Level.ASSISTANT, Level.INTERMEDIATE)


def test_pass_lines_default_to_none_set_and_take_half_points_only(app, admin):
    session_id = _session(app, admin)
    with app.app_context():
        session = db.session.get(sittings.ExamSession, session_id)
        sittings.set_pass_line(session, Subject.COMP_JR, "", Decimal("60"), _actor(admin))
        sittings.set_pass_line(session, Subject.COMP_JR, "54", Decimal("53"), _actor(admin))
        sittings.set_pass_line(session, Subject.COMP_JR, "54", Decimal("53.5"), _actor(admin))
        for region, line in (("99", Decimal(60)), ("", Decimal("60.3")), ("", Decimal(101))):
            with pytest.raises(ServiceError):
                sittings.set_pass_line(session, Subject.PRAC_JR, region, line, _actor(admin))
        db.session.commit()
        lines = sittings.pass_lines(db.session.get(sittings.ExamSession, session_id))
        assert lines.lines == {(Subject.COMP_JR, None): Decimal(60),
                               (Subject.COMP_JR, "540000"): Decimal("53.5")}


def test_a_registration_gets_an_admission_number_and_is_declared(app, admin):
    session_id = _session(app, admin)
    registrations = [_register(app, _candidate(app), session_id) for _ in range(3)]
    numbers = [registration.admission_number for registration in registrations]
    assert len(set(numbers)) == 3
    assert all(number.startswith("2026") and len(number) <= 20 for number in numbers)
    assert [number[-6:] for number in numbers] == ["000001", "000002", "000003"]
    assert {r.status for r in registrations} == {RegistrationStatus.DECLARED}
    assert registrations[0].route_code == "A-SW-BACHELOR"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "registration.declared")) == 3


@pytest.mark.parametrize("case", ["before window", "after window", "level not offered",
                                  "unknown region", "not declared", "twice", "no profile"])
def test_a_refused_registration_writes_nothing(app, admin, case):
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    user_id = make_user(app, email=f"plain{next(_ids)}@example.com") \
        if case == "no profile" else _candidate(app)
    arguments = {"before window": dict(now=NOW - timedelta(days=6)),
                 "after window": dict(now=NOW + timedelta(days=20)),
                 "level not offered": dict(level=Level.INTERMEDIATE),
                 "unknown region": dict(region="99"),
                 "not declared": dict(declared=False)}.get(case, {})
    if case == "twice":
        _register(app, user_id, session_id)
    before = _count_registrations(app)
    with pytest.raises(ServiceError):
        _register(app, user_id, session_id, **arguments)
    assert _count_registrations(app) == before


def test_eligibility_is_checked_at_the_sessions_experience_cutoff(app, admin):
    # 高中 with social work since March 2022: four years only by the end of 2026.
    user_id = _candidate(app, education=Education.HIGH_SCHOOL, social_work_major=False,
                         graduated=date(2015, 7, 1), work_since=date(2022, 3, 1))
    early = _session(app, admin, experience_cutoff=date(2025, 12, 31))
    later = _session(app, admin, experience_cutoff=date(2026, 12, 31))
    with pytest.raises(ServiceError, match="报考条件"):
        _register(app, user_id, early)
    assert _register(app, user_id, later).route_code == "A-HIGH-SCHOOL"


def test_the_review_queue_verifies_in_bulk_and_rejects_only_with_a_reason(app, admin):
    session_id = _session(app, admin)
    registered = [_register(app, _candidate(app), session_id) for _ in range(3)]
    with app.app_context():
        rows = [db.session.get(Registration, r.id) for r in registered]
        with pytest.raises(ServiceError, match="原因"):
            registration_review.review(rows[:1], verify=False, reason="  ", actor=_actor(admin),
                                       now=NOW)
        changed, refused = registration_review.review(rows[:2], verify=True, reason="",
                                                      actor=_actor(admin), now=NOW)
        assert (changed, refused) == (2, [])
        changed, refused = registration_review.review(rows, verify=True, reason="",
                                                      actor=_actor(admin), now=NOW)
        assert changed == 1 and len(refused) == 2
        changed, _ = registration_review.review(rows[2:], verify=False, reason="工作年限证明不符",
                                                actor=_actor(admin), now=NOW)
        db.session.commit()
        statuses = [db.session.get(Registration, r.id).status for r in registered]
        assert statuses == [RegistrationStatus.VERIFIED, RegistrationStatus.VERIFIED,
                            RegistrationStatus.REJECTED]
        assert db.session.get(Registration, registered[2].id).review_note == "工作年限证明不符"
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action.in_(["registration.verified", "registration.rejected"]))) == 3


def test_a_candidate_registers_for_one_level_per_session(app, admin):
    session_id = _session(app, admin)
    user_id = _candidate(app, work_since=date(2021, 1, 1))  # eligible for both levels
    first = _register(app, user_id, session_id, Level.ASSISTANT)
    before = _count_registrations(app)
    with pytest.raises(ServiceError, match="只能报考一个级别.*助理社会工作师"):
        _register(app, user_id, session_id, Level.INTERMEDIATE)
    assert _count_registrations(app) == before
    # A rejected registration does not count: the candidate chooses again.
    with app.app_context():
        registration_review.review([db.session.get(Registration, first.id)], verify=False,
                                   reason="学历证明不清晰", actor=_actor(admin), now=NOW)
        db.session.commit()
    assert _register(app, user_id, session_id, Level.INTERMEDIATE).level is Level.INTERMEDIATE
    # Nor does a withdrawn one.
    other = _candidate(app, work_since=date(2021, 1, 1))
    withdrawn = _register(app, other, session_id, Level.INTERMEDIATE)
    with app.app_context():
        sittings.withdraw(db.session.get(Registration, withdrawn.id),
                          db.session.get(User, other), now=NOW)
        db.session.commit()
    assert _register(app, other, session_id, Level.ASSISTANT).level is Level.ASSISTANT


@pytest.mark.parametrize("mode, declared_may_sit", [(VerificationMode.BEFORE_EXAM, False),
                                                    (VerificationMode.AFTER_EXAM, True)])
def test_who_may_sit_follows_the_verification_mode(app, admin, mode, declared_may_sit):
    session_id = _session(app, admin, verification_mode=mode)
    registered = [_register(app, _candidate(app), session_id) for _ in range(3)]
    with app.app_context():
        rows = [db.session.get(Registration, r.id) for r in registered]
        registration_review.review(rows[1:2], verify=True, reason="", actor=_actor(admin), now=NOW)
        registration_review.review(rows[2:], verify=False, reason="材料不全", actor=_actor(admin),
                                   now=NOW)
        assert [sittings.may_sit(row) for row in rows] == [declared_may_sit, True, False]
        db.session.rollback()


def test_registrations_at_the_same_moment_get_distinct_admission_numbers(app, admin):
    import threading

    session_id = _session(app, admin)
    user_ids = [_candidate(app) for _ in range(8)]
    numbers, errors = [], []
    barrier = threading.Barrier(len(user_ids))

    def register(user_id):
        try:
            barrier.wait()
            numbers.append(_register(app, user_id, session_id).admission_number)
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=register, args=(user_id,)) for user_id in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(numbers)) == len(user_ids)
    assert sorted(number[-6:] for number in numbers) == [f"{n:06d}" for n in range(1, 9)]


def test_a_registration_with_a_score_is_neither_withdrawn_nor_replaced(app, admin):
    from exam_portal.models.sittings import ResultSource

    session_id = _session(app, admin, mode=SessionMode.PAPER)
    registration = _register(app, _candidate(app), session_id)
    with app.app_context():
        row = db.session.get(Registration, registration.id)
        row.status = RegistrationStatus.VERIFIED
        scores.record_score(row, Subject.COMP_JR, Decimal(60), source=ResultSource.PAPER,
                             now=row.session.exam_closes_at)
        db.session.commit()
        with pytest.raises(ServiceError, match="已有成绩"):
            sittings.withdraw(row, row.candidate, now=NOW)
        row.status = RegistrationStatus.REJECTED
        with pytest.raises(ServiceError, match="已有成绩"):
            sittings.register(row.candidate, row.session, Level.ASSISTANT, "11",
                              declared=True, now=NOW)
        session = db.session.get(sittings.ExamSession, session_id)
        fields = _fields(mode=SessionMode.ONLINE)
        with pytest.raises(ServiceError, match="不能改变考试方式"):
            sittings.update_session(session, fields, _actor(admin))
