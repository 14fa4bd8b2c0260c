"""A qualification the portal awarded counts as a certificate held: on the profile
(read-only, linked, with its region) and for eligibility, until its certificate is
revoked."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.sittings import ExamSession, Qualification
from exam_portal.services.accounts import profiles
from exam_portal.services.certification import certificates
from exam_portal.services.exam_sessions import results, sittings
from question_bank import eligibility
from question_bank.levels import Education, Level
from question_bank.subjects import Subject

from .test_results import _session_of_year, _sit
from .test_sittings import NOW, _actor, _candidate

SENIOR_CUTOFF = date(2026, 12, 31)
MID_SUBJECTS = (Subject.COMP_MID, Subject.LAW_MID, Subject.PRAC_MID)


@pytest.fixture
def admin(app) -> int:
    from exam_portal.models.accounts import Role

    from ..factories import make_user
    return make_user(app, Role.ADMIN, email="awarded-admin@example.com")


def _intermediate_by_the_portal(app, admin, *, region="11", lines=None) -> tuple[int, int]:
    """A candidate who passed 社会工作师 at a 2020 session of the portal (published,
    not yet certified): returns (candidate id, qualification id)."""
    user_id = _candidate(app, education=Education.BACHELOR, graduated=date(2015, 7, 1),
                         work_since=date(2015, 7, 1))
    session_id = _session_of_year(app, admin, 2020)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        for subject, line in (lines or {}).items():
            sittings.set_pass_line(session, subject, region, line, _actor(admin))
        db.session.commit()
    scores_given = {subject: "65" for subject in MID_SUBJECTS}
    if lines:
        scores_given[Subject.COMP_MID] = "59"
    _sit(app, user_id, session_id, Level.INTERMEDIATE, scores_given, region=region)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        results.compute_results(session, now=session.exam_closes_at + timedelta(days=30))
        results.publish(session, _actor(admin), now=session.exam_closes_at + timedelta(days=30))
        db.session.commit()
        qualification_id = db.session.scalar(sa.select(Qualification.id).where(
            Qualification.candidate_id == user_id))
    return user_id, qualification_id


def _senior_verdict(app, user_id) -> eligibility.Verdict:
    with app.app_context():
        user = db.session.get(User, user_id)
        return eligibility.evaluate(profiles.background(user), Level.SENIOR, SENIOR_CUTOFF)


def test_a_portal_issued_intermediate_certificate_opens_senior_eligibility(app, admin, auth):
    user_id, qualification_id = _intermediate_by_the_portal(app, admin)
    # Awarded and published: it counts from the publication, before a certificate too.
    verdict = _senior_verdict(app, user_id)
    assert verdict.eligible and verdict.route.required_certificate is Level.INTERMEDIATE
    with app.app_context():
        certificate = certificates.issue_for_qualification(
            db.session.get(Qualification, qualification_id), _actor(admin),
            now=NOW + timedelta(days=70))
        db.session.commit()
        number, certificate_id = certificate.number, certificate.id
        email = db.session.get(User, user_id).email
    assert _senior_verdict(app, user_id).eligible
    auth.login(email)
    page = auth.client.get("/account/profile").get_data(as_text=True)
    assert "本平台签发" in page and number in page
    assert f"#certificate-{certificate_id}" in page
    # A revoked certificate no longer counts.
    with app.app_context():
        from exam_portal.models.certificates import Certificate
        certificates.revoke(db.session.get(Certificate, certificate_id), "考试违纪，成绩无效",
                            _actor(admin), now=NOW + timedelta(days=80))
        db.session.commit()
    verdict = _senior_verdict(app, user_id)
    assert not verdict.eligible
    assert verdict.shortfall.kind is eligibility.ShortfallKind.CERTIFICATE
    assert number not in auth.client.get("/account/profile").get_data(as_text=True)


def test_a_regional_line_qualification_keeps_its_region_on_the_profile(app, admin, auth):
    from decimal import Decimal
    user_id, _ = _intermediate_by_the_portal(app, admin, region="54",
                                             lines={Subject.COMP_MID: Decimal(58)})
    verdict = _senior_verdict(app, user_id)
    assert verdict.eligible and verdict.region_limit == "540000"
    with app.app_context():
        email = db.session.get(User, user_id).email
    auth.login(email)
    page = auth.client.get("/account/profile").get_data(as_text=True)
    assert "限西藏自治区有效" in page
