"""Subject scores marked against a session's pass lines, and the qualifications they add
up to, through the services on both databases."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.audit import AuditEvent
from exam_portal.models.sittings import (
    ExamSession,
    Qualification,
    QualificationStatus,
    Registration,
    RegistrationStatus,
    ResultSource,
    SubjectResult,
    VerificationMode,
)
from exam_portal.services import ServiceError
from exam_portal.services.exam_sessions import registration_review, results, scores, sittings
from question_bank.levels import Education, Level
from question_bank.subjects import Subject

from ..factories import make_user
from .test_sittings import NOW, _actor, _candidate, _fields

SHANGHAI = ZoneInfo("Asia/Shanghai")
AFTER = NOW + timedelta(days=62)  # the 2026 sessions' exam is over


@pytest.fixture
def admin(app) -> int:
    return make_user(app, Role.ADMIN, email="results-admin@example.com")


def _session_of_year(app, admin_id, year, **changes) -> int:
    shift = timedelta(days=365 * (year - 2026))
    fields = _fields(year=year, **{"levels": (Level.ASSISTANT, Level.INTERMEDIATE), **changes})
    fields = sittings.SessionFields(**{
        **fields.__dict__,
        **{name: getattr(fields, name) + shift for name in (
            "registration_opens_at", "registration_closes_at", "exam_opens_at",
            "exam_closes_at")}})
    with app.app_context():
        session = sittings.create_session(fields, _actor(admin_id))
        db.session.commit()
        return session.id


def _sit(app, user_id, session_id, level, subject_scores: dict, region="11") -> int:
    """Register (inside the window), be verified, and have the subject scores given
    recorded after the exam."""
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        now = session.registration_opens_at + timedelta(days=1)
        registration = sittings.register(db.session.get(User, user_id), session, level,
                                         region, declared=True, now=now)
        if session.verification_mode is VerificationMode.BEFORE_EXAM:
            registration.status = RegistrationStatus.VERIFIED
        for subject, score in subject_scores.items():
            scores.record_score(registration, subject, Decimal(score),
                                 source=ResultSource.PAPER, now=session.exam_closes_at)
        db.session.commit()
        return registration.id


def _compute(app, session_id) -> results.ResultsSummary:
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        summary = results.compute_results(session, now=session.exam_closes_at)
        db.session.commit()
        return summary


def _qualifications(app, user_id) -> list[tuple]:
    with app.app_context():
        return [(q.level, q.year, q.region, q.status) for q in db.session.scalars(
            sa.select(Qualification).where(Qualification.candidate_id == user_id))]


def _intermediate_candidate(app) -> int:
    # 本科, social-work major, graduated long ago with years of social work: eligible
    # for 社会工作师 in every year used here.
    return _candidate(app, graduated=date(2015, 7, 1), work_since=date(2015, 8, 1))


def test_59_5_fails_and_60_passes_on_the_default_line(app, admin):
    session_id = _session_of_year(app, admin, 2026)
    failed = _candidate(app)
    passed = _candidate(app)
    _sit(app, failed, session_id, Level.ASSISTANT, {Subject.COMP_JR: "59.5",
                                                    Subject.PRAC_JR: "80"})
    _sit(app, passed, session_id, Level.ASSISTANT, {Subject.COMP_JR: "60",
                                                    Subject.PRAC_JR: "60"})
    summary = _compute(app, session_id)
    assert (summary.subjects_marked, summary.subjects_passed) == (4, 3)
    assert _qualifications(app, failed) == []
    assert _qualifications(app, passed) == [(Level.ASSISTANT, 2026, None,
                                             QualificationStatus.ACHIEVED)]


def test_a_pass_on_a_regional_line_limits_the_qualification_to_that_region(app, admin):
    session_id = _session_of_year(app, admin, 2026)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        sittings.set_pass_line(session, Subject.COMP_JR, "54", Decimal(53), _actor(admin))
        db.session.commit()
    tibet = _candidate(app)
    beijing = _candidate(app)
    _sit(app, tibet, session_id, Level.ASSISTANT, {Subject.COMP_JR: "55",
                                                   Subject.PRAC_JR: "70"}, region="54")
    _sit(app, beijing, session_id, Level.ASSISTANT, {Subject.COMP_JR: "55",
                                                     Subject.PRAC_JR: "70"}, region="11")
    _compute(app, session_id)
    assert _qualifications(app, tibet) == [(Level.ASSISTANT, 2026, "540000",
                                            QualificationStatus.ACHIEVED)]
    assert _qualifications(app, beijing) == []
    with app.app_context():
        line, region = db.session.execute(
            sa.select(SubjectResult.line_halves, SubjectResult.passed_region)
            .where(SubjectResult.candidate_id == tibet,
                   SubjectResult.subject == Subject.COMP_JR)).one()
    assert (line, region) == (106, "540000")


def test_a_prefecture_line_applies_inside_the_prefecture_and_limits_the_certificate_to_it(
        app, admin, client):
    from exam_portal.services.certification import certificates

    liangshan, xichang, chengdu = "513400", "513401", "510104"
    session_id = _session_of_year(app, admin, 2026)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        sittings.set_pass_line(session, Subject.COMP_JR, liangshan, Decimal(53), _actor(admin))
        db.session.commit()
    in_liangshan, in_chengdu = _candidate(app), _candidate(app)
    for user_id, area in ((in_liangshan, xichang), (in_chengdu, chengdu)):
        _sit(app, user_id, session_id, Level.ASSISTANT,
             {Subject.COMP_JR: "55", Subject.PRAC_JR: "70"}, region=area)
    _compute(app, session_id)
    assert _qualifications(app, in_liangshan) == [(Level.ASSISTANT, 2026, liangshan,
                                                   QualificationStatus.ACHIEVED)]
    assert _qualifications(app, in_chengdu) == []
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        results.publish(session, _actor(admin), now=session.exam_closes_at)
        qualification = db.session.scalar(sa.select(Qualification).where(
            Qualification.candidate_id == in_liangshan))
        certificate = certificates.issue_for_qualification(
            qualification, _actor(admin), now=session.exam_closes_at + timedelta(days=30))
        db.session.commit()
        assert certificate.valid_region == liangshan
        number, code = certificate.number, certificate.verification_code
    page = client.get(f"/verify?n={number}&c={code}").get_data(as_text=True)
    assert "四川省凉山彝族自治州" in page


@pytest.mark.parametrize("rest_year, qualifies", [(2027, True), (2028, False)])
def test_intermediate_passes_count_within_two_consecutive_years(app, admin, rest_year,
                                                                qualifies):
    first = _session_of_year(app, admin, 2026)
    later = _session_of_year(app, admin, rest_year)
    user_id = _intermediate_candidate(app)
    _sit(app, user_id, first, Level.INTERMEDIATE, {Subject.COMP_MID: "75",
                                                   Subject.LAW_MID: "40",
                                                   Subject.PRAC_MID: "30"})
    _compute(app, first)
    assert _qualifications(app, user_id) == []
    _sit(app, user_id, later, Level.INTERMEDIATE, {Subject.LAW_MID: "66",
                                                   Subject.PRAC_MID: "61"})
    _compute(app, later)
    expected = [(Level.INTERMEDIATE, rest_year, None, QualificationStatus.ACHIEVED)]
    assert _qualifications(app, user_id) == (expected if qualifies else [])


def test_computing_again_changes_nothing_and_after_exam_results_await_verification(app,
                                                                                  admin):
    session_id = _session_of_year(app, admin, 2026,
                                  verification_mode=VerificationMode.AFTER_EXAM)
    user_id = _candidate(app)
    _sit(app, user_id, session_id, Level.ASSISTANT, {Subject.COMP_JR: "70",
                                                     Subject.PRAC_JR: "70"})
    first = _compute(app, session_id)
    second = _compute(app, session_id)
    assert first.qualifications_recorded == 1 and second.qualifications_recorded == 0
    assert _qualifications(app, user_id) == [
        (Level.ASSISTANT, 2026, None, QualificationStatus.PENDING_VERIFICATION)]


def test_a_score_must_fit_the_subject_and_the_level(app, admin):
    session_id = _session_of_year(app, admin, 2026)
    user_id = _candidate(app, education=Education.BACHELOR)
    registration_id = _sit(app, user_id, session_id, Level.ASSISTANT, {})
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        for subject, score in ((Subject.COMP_MID, "60"), (Subject.COMP_JR, "100.5"),
                               (Subject.COMP_JR, "60.3"), (Subject.COMP_JR, "-1")):
            with pytest.raises(ServiceError):
                scores.record_score(registration, subject, Decimal(score),
                                     source=ResultSource.PAPER, now=NOW)
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(SubjectResult.id))) == 0


def _registration(app, registration_id) -> Registration:
    return db.session.get(Registration, registration_id)


def test_a_corrected_score_withdraws_a_qualification_no_longer_earned(app, admin):
    session_id = _session_of_year(app, admin, 2026)
    user_id = _candidate(app)
    registration_id = _sit(app, user_id, session_id, Level.ASSISTANT,
                           {Subject.COMP_JR: "70", Subject.PRAC_JR: "70"})
    _compute(app, session_id)
    assert len(_qualifications(app, user_id)) == 1
    with app.app_context():
        scores.record_score(_registration(app, registration_id), Subject.PRAC_JR,
                             Decimal("40"), source=ResultSource.PAPER, now=AFTER)
        db.session.commit()
    summary = _compute(app, session_id)
    assert summary.qualifications_withdrawn == 1
    assert _qualifications(app, user_id) == []


def test_a_changed_pass_line_waits_for_the_results_to_be_computed_again(app, admin):
    session_id = _session_of_year(app, admin, 2026)
    _sit(app, _candidate(app), session_id, Level.ASSISTANT,
         {Subject.COMP_JR: "55", Subject.PRAC_JR: "70"}, region="54")
    _compute(app, session_id)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        assert results.unmarked_count(session) == 0
        sittings.set_pass_line(session, Subject.COMP_JR, "54", Decimal(53), _actor(admin))
        db.session.commit()
        assert results.unmarked_count(session) == 1
        with pytest.raises(ServiceError, match="重新计算"):
            results.publish(session, _actor(admin), now=session.exam_closes_at)
    _compute(app, session_id)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        assert results.unmarked_count(session) == 0


def test_publication_waits_for_the_exam_to_end_then_freezes_the_results(app, admin):
    session_id = _session_of_year(app, admin, 2026)
    registration_id = _sit(app, _candidate(app), session_id, Level.ASSISTANT,
                           {Subject.COMP_JR: "70", Subject.PRAC_JR: "70"})
    _compute(app, session_id)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        with pytest.raises(ServiceError, match="考试结束后"):
            results.publish(session, _actor(admin), now=session.exam_opens_at)
        results.publish(session, _actor(admin), now=session.exam_closes_at)
        db.session.commit()
        with pytest.raises(ServiceError, match="已经发布"):
            results.publish(session, _actor(admin), now=session.exam_closes_at)
        with pytest.raises(ServiceError):
            results.compute_results(session, now=NOW)
        with pytest.raises(ServiceError):
            scores.record_score(_registration(app, registration_id), Subject.COMP_JR,
                                 Decimal(10), source=ResultSource.PAPER, now=NOW)
        with pytest.raises(ServiceError):
            sittings.set_pass_line(session, Subject.COMP_JR, "", Decimal(50), _actor(admin))
        report = results.score_report(_registration(app, registration_id))
        assert [r.subject for r in report.results] == [Subject.COMP_JR, Subject.PRAC_JR]
        assert report.qualification.status is QualificationStatus.ACHIEVED


def test_verifying_after_the_exam_lifts_pending_and_rejecting_withdraws(app, admin):
    session_id = _session_of_year(app, admin, 2026,
                                  verification_mode=VerificationMode.AFTER_EXAM)
    verified, rejected = _candidate(app), _candidate(app)
    ids = [_sit(app, user, session_id, Level.ASSISTANT,
                {Subject.COMP_JR: "70", Subject.PRAC_JR: "70"}) for user in (verified, rejected)]
    _compute(app, session_id)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        results.publish(session, _actor(admin), now=session.exam_closes_at)
        db.session.commit()
        # After publication an after-exam session's pending registrations are reviewed.
        registration_review.review([_registration(app, ids[0])], verify=True, reason="",
                        actor=_actor(admin), now=NOW)
        registration_review.review([_registration(app, ids[1])], verify=False, reason="学历不符",
                        actor=_actor(admin), now=NOW)
        db.session.commit()
        changed, refused = registration_review.review([_registration(app, ids[0])], verify=False,
                                           reason="改主意", actor=_actor(admin), now=NOW)
        assert changed == 0 and len(refused) == 1  # a decided one stays decided
    assert _qualifications(app, verified) == [(Level.ASSISTANT, 2026, None,
                                               QualificationStatus.ACHIEVED)]
    assert _qualifications(app, rejected) == []


def test_pass_rates_by_level_subject_and_region(app, admin):
    session_id = _session_of_year(app, admin, 2026)
    _sit(app, _candidate(app), session_id, Level.ASSISTANT,
         {Subject.COMP_JR: "70", Subject.PRAC_JR: "70"}, region="11")
    _sit(app, _candidate(app), session_id, Level.ASSISTANT,
         {Subject.COMP_JR: "70", Subject.PRAC_JR: "50"}, region="31")
    _sit(app, _candidate(app), session_id, Level.ASSISTANT, {}, region="31")  # no scores
    _compute(app, session_id)
    with app.app_context():
        rates = results.pass_rates(db.session.get(ExamSession, session_id))
    assert [(r.key, r.sat, r.passed) for r in rates["level"]] == [(Level.ASSISTANT, 2, 1)]
    assert [(r.key, r.sat, r.passed) for r in rates["region"]] == [
        ("110000", 1, 1), ("310000", 1, 0)]
    assert {(r.key, r.sat, r.passed) for r in rates["subject"]} == {
        (Subject.COMP_JR, 2, 2), (Subject.PRAC_JR, 2, 1)}
    assert rates["level"][0].percent == 50.0


def _senior_pass(app, admin) -> tuple[int, int]:
    """A published 高级 session in which one candidate passed PRAC_SR (the registration
    is written directly: eligibility for 高级 is tested with the registration)."""
    session_id = _session_of_year(app, admin, 2026, levels=(Level.SENIOR,))
    user_id = _candidate(app)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        registration = Registration(
            session_id=session_id, candidate_id=user_id, level=Level.SENIOR, region="11",
            route_code="S-TEST", declared_at=NOW, admission_number="2026001113000001",
            status=RegistrationStatus.VERIFIED)
        db.session.add(registration)
        db.session.flush()
        scores.record_score(registration, Subject.PRAC_SR, Decimal(70),
                             source=ResultSource.PAPER, now=AFTER)
        results.compute_results(session, now=AFTER)
        results.publish(session, _actor(admin), now=session.exam_closes_at)
        db.session.commit()
    return session_id, user_id


def test_a_senior_pass_awaits_its_review_and_the_outcome_is_recorded(app, admin):
    session_id, user_id = _senior_pass(app, admin)
    assert _qualifications(app, user_id) == [(Level.SENIOR, 2026, None,
                                              QualificationStatus.AWAITING_REVIEW)]
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        ((qualification, _registration),) = results.senior_qualifications(session)
        issued = session.exam_closes_at.astimezone(SHANGHAI).date()
        assert qualification.proof_issued_on == issued
        last_day = date(issued.year + 3, issued.month, issued.day) - timedelta(days=1)
        assert qualification.proof_last_day == last_day
        with pytest.raises(ServiceError, match="评审说明"):
            results.record_senior_review(qualification, passed=True, note=" ",
                                         actor=_actor(admin), now=NOW)
        results.record_senior_review(qualification, passed=False, note="评审委员会第 1 次会议",
                                     actor=_actor(admin), now=NOW)
        db.session.commit()
        # Counted to the day in Beijing time: ten past midnight after the last day is late.
        day_after = datetime.combine(last_day + timedelta(days=1), time(0, 10), SHANGHAI)
        with pytest.raises(ServiceError, match="有效期"):
            results.record_senior_review(qualification, passed=True, note="再次评审",
                                         actor=_actor(admin), now=day_after)
        last_evening = datetime.combine(last_day, time(23, 50), SHANGHAI)
        results.record_senior_review(qualification, passed=True, note="再次评审",
                                     actor=_actor(admin), now=last_evening)
        db.session.commit()
        with pytest.raises(ServiceError, match="不在待评审"):
            results.record_senior_review(qualification, passed=False, note="x",
                                         actor=_actor(admin), now=NOW)
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "qualification.reviewed")) == 2
    assert _qualifications(app, user_id)[0][3] is QualificationStatus.ACHIEVED


def test_a_paper_score_waits_for_the_exam_and_for_a_verified_registration(app, admin):
    session_id = _session_of_year(app, admin, 2026)
    user_id = _candidate(app)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        registration = sittings.register(db.session.get(User, user_id), session,
                                         Level.ASSISTANT, "11", declared=True,
                                         now=session.registration_opens_at)
        with pytest.raises(ServiceError, match="未审核通过"):  # before_exam, only declared
            scores.record_score(registration, Subject.COMP_JR, Decimal(60),
                                 source=ResultSource.PAPER, now=session.exam_closes_at)
        registration.status = RegistrationStatus.VERIFIED
        with pytest.raises(ServiceError, match="考试结束后"):
            scores.record_score(registration, Subject.COMP_JR, Decimal(60),
                                 source=ResultSource.PAPER, now=session.exam_opens_at)
        with pytest.raises(ServiceError, match="考试结束后"):
            results.compute_results(session, now=session.exam_opens_at)
        scores.record_score(registration, Subject.COMP_JR, Decimal(60),
                             source=ResultSource.PAPER, now=session.exam_closes_at)


def test_a_later_unpublished_qualification_stays_out_of_an_earlier_score_report(app, admin):
    first = _session_of_year(app, admin, 2026)
    later = _session_of_year(app, admin, 2027)
    user_id = _candidate(app)
    failed = _sit(app, user_id, first, Level.ASSISTANT, {Subject.COMP_JR: "50",
                                                         Subject.PRAC_JR: "50"})
    _compute(app, first)
    _publish(app, admin, first)
    _sit(app, user_id, later, Level.ASSISTANT, {Subject.COMP_JR: "70", Subject.PRAC_JR: "70"})
    _compute(app, later)  # computed, not published
    with app.app_context():
        report = results.score_report(db.session.get(Registration, failed))
        assert report.qualification is None


def _publish(app, admin, session_id) -> None:
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        results.publish(session, _actor(admin), now=session.exam_closes_at)
        db.session.commit()


def test_a_pass_under_a_rejected_registration_does_not_count_later(app, admin):
    first = _session_of_year(app, admin, 2026, verification_mode=VerificationMode.AFTER_EXAM)
    later = _session_of_year(app, admin, 2027)
    user_id = _intermediate_candidate(app)
    registration_id = _sit(app, user_id, first, Level.INTERMEDIATE, {Subject.COMP_MID: "75"})
    _compute(app, first)
    _publish(app, admin, first)
    with app.app_context():
        registration_review.review([db.session.get(Registration, registration_id)], verify=False,
                        reason="学历证明不实", actor=_actor(admin), now=AFTER)
        db.session.commit()
    _sit(app, user_id, later, Level.INTERMEDIATE, {Subject.LAW_MID: "66",
                                                   Subject.PRAC_MID: "61"})
    _compute(app, later)
    assert _qualifications(app, user_id) == []


def test_a_score_corrected_while_results_are_computed_keeps_waiting(app, admin,
                                                                   monkeypatch):
    session_id = _session_of_year(app, admin, 2026)
    registration_id = _sit(app, _candidate(app), session_id, Level.ASSISTANT,
                           {Subject.COMP_JR: "70", Subject.PRAC_JR: "70"})
    real = results.pass_rules.mark_subject
    corrected = []

    def mark_while_corrected(*args, **kwargs):
        if not corrected:  # another request corrects a score after compute read it
            db.session.execute(sa.update(SubjectResult).where(
                SubjectResult.registration_id == registration_id,
                SubjectResult.subject == Subject.COMP_JR).values(score_halves=80))
            corrected.append(True)
        return real(*args, **kwargs)

    monkeypatch.setattr(results.pass_rules, "mark_subject", mark_while_corrected)
    _compute(app, session_id)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        assert results.unmarked_count(session) == 1
        with pytest.raises(ServiceError, match="重新计算"):
            results.publish(session, _actor(admin), now=session.exam_closes_at)


def test_publication_is_refused_after_a_failed_computation(app, admin, monkeypatch):
    session_id = _session_of_year(app, admin, 2026)
    _sit(app, _candidate(app), session_id, Level.ASSISTANT,
         {Subject.COMP_JR: "70", Subject.PRAC_JR: "70"})

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(results, "_record_qualifications", broken)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        with freeze_time(session.exam_closes_at):
            job = results.start_computing(session, _actor(admin))
        assert job.status.value == "FAILED"
        with pytest.raises(ServiceError, match="没有完成"):
            results.publish(session, _actor(admin), now=session.exam_closes_at)
