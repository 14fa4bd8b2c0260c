"""Which documents prove a route: the degree, the social-work periods the route counts,
the certificate it rests on."""

from datetime import date

from question_bank import evidence
from question_bank.eligibility import (
    ROUTES,
    CandidateBackground,
    EmploymentPeriod,
    HeldCertificate,
)
from question_bank.levels import CertificateMethod, Education, Level

CUTOFF = date(2026, 12, 31)


def _route(code):
    return next(route for route in ROUTES if route.code == code)


def _background(**changes) -> CandidateBackground:
    values = dict(education=Education.BACHELOR, is_social_work_major=False,
                  graduation_date=date(2018, 7, 1), is_full_time=True)
    values.update(changes)
    return CandidateBackground(**values)


def test_a_route_without_years_needs_the_degree_only():
    background = _background(is_social_work_major=True, employment=(
        EmploymentPeriod(date(2019, 1, 1), None, True),))
    needs = evidence.needs(background, _route("A-SW-BACHELOR"), CUTOFF)
    assert needs == evidence.EvidenceNeeds(degree=True, periods=(), certificates=())


def test_only_social_work_inside_the_counted_window_needs_proof():
    background = _background(employment=(
        EmploymentPeriod(date(2015, 1, 1), date(2018, 6, 30), True),  # before graduation
        EmploymentPeriod(date(2018, 7, 1), date(2020, 12, 31), True),
        EmploymentPeriod(date(2021, 1, 1), date(2022, 12, 31), False),  # not social work
        EmploymentPeriod(date(2023, 1, 1), None, True),
        EmploymentPeriod(date(2027, 1, 1), None, True),  # after the cutoff
    ))
    needs = evidence.needs(background, _route("A-OTHER-BACHELOR"), CUTOFF)
    assert needs.degree and needs.periods == (1, 3) and needs.certificates == ()


def test_part_time_study_counts_work_before_graduation():
    background = _background(is_full_time=False, employment=(
        EmploymentPeriod(date(2015, 1, 1), date(2018, 6, 30), True),))
    assert evidence.needs(background, _route("A-OTHER-BACHELOR"), CUTOFF).periods == (0,)


def test_a_certificate_route_counts_from_the_earliest_qualifying_certificate():
    background = _background(
        education=Education.HIGH_SCHOOL, graduation_date=date(2005, 7, 1),
        employment=(EmploymentPeriod(date(2006, 1, 1), date(2012, 12, 31), True),
                    EmploymentPeriod(date(2013, 1, 1), None, True)),
        certificates=(HeldCertificate(Level.ASSISTANT, date(2014, 6, 1),
                                      CertificateMethod.EXAM, None),
                      HeldCertificate(Level.ASSISTANT, date(2027, 6, 1),
                                      CertificateMethod.EXAM, None),  # after the cutoff
                      HeldCertificate(Level.INTERMEDIATE, date(2016, 6, 1),
                                      CertificateMethod.EXAM, None)))
    needs = evidence.needs(background, _route("I-HIGH-SCHOOL-ASSISTANT"), CUTOFF)
    assert needs.certificates == (0,)
    assert needs.periods == (1,)  # the first period ended before the certificate


def test_senior_needs_an_intermediate_certificate_obtained_by_exam():
    background = _background(
        employment=(EmploymentPeriod(date(2010, 1, 1), None, True),),
        certificates=(HeldCertificate(Level.INTERMEDIATE, date(2015, 6, 1),
                                      CertificateMethod.REVIEW, None),
                      HeldCertificate(Level.INTERMEDIATE, date(2016, 6, 1),
                                      CertificateMethod.EXAM, "54")))
    needs = evidence.needs(background, _route("S-BACHELOR-INTERMEDIATE"), CUTOFF)
    assert needs.certificates == (1,) and needs.periods == (0,)
