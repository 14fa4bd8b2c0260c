"""Eligibility routes (报考条件): boundaries, counting rules, verdict choice."""

from dataclasses import replace
from datetime import date, timedelta

import pytest

from question_bank.eligibility import (
    ROUTES,
    CandidateBackground,
    EmploymentPeriod,
    HeldCertificate,
    Route,
    ShortfallKind,
    default_cutoff,
    evaluate,
    evaluate_all,
    required_days,
    social_work_days,
)
from question_bank.levels import CertificateMethod, Education, Level

CUTOFF = date(2025, 12, 31)
LONG_AGO = date(2000, 7, 1)
EXAM, REVIEW = CertificateMethod.EXAM, CertificateMethod.REVIEW
by_code = {route.code: route for route in ROUTES}


def day_after(day: date) -> date:
    return day + timedelta(days=1)


def window_start(years: int, cutoff: date = CUTOFF) -> date:
    """First day of the N-year window ending on a 31 Dec cutoff."""
    return day_after(cutoff.replace(year=cutoff.year - years))


def social_work(start: date, end: date | None = None) -> EmploymentPeriod:
    return EmploymentPeriod(start, end, is_social_work=True)


def certificate(level, obtained_on=LONG_AGO, method=EXAM, region=None):
    return HeldCertificate(level, obtained_on, method, region)


def candidate(
    education=Education.BACHELOR,
    *,
    sw_major=False,
    graduated=LONG_AGO,
    full_time=True,
    employment=(),
    certificates=(),
) -> CandidateBackground:
    return CandidateBackground(
        education=education,
        is_social_work_major=sw_major,
        graduation_date=graduated,
        is_full_time=full_time,
        employment=tuple(employment),
        certificates=tuple(certificates),
    )


def meeting(route: Route, experience_from: date) -> CandidateBackground:
    """A candidate who meets *route* except, perhaps, for the years."""
    held = ()
    if route.required_certificate is not None:
        held = (certificate(route.required_certificate),)
    return candidate(
        route.min_education,
        sw_major=route.requires_social_work_major,
        employment=(social_work(experience_from),),
        certificates=held,
    )


# --- the route data encodes DOMAIN.md §4 ---

DOMAIN_ROUTES = {
    # level, min education, SW major, years, required certificate, by exam only
    (Level.ASSISTANT, Education.HIGH_SCHOOL, False, 4, None, False),
    (Level.ASSISTANT, Education.JUNIOR_COLLEGE, True, 2, None, False),
    (Level.ASSISTANT, Education.BACHELOR, True, 0, None, False),
    (Level.ASSISTANT, Education.JUNIOR_COLLEGE, False, 4, None, False),
    (Level.ASSISTANT, Education.BACHELOR, False, 2, None, False),
    (Level.INTERMEDIATE, Education.HIGH_SCHOOL, False, 6, Level.ASSISTANT, False),
    (Level.INTERMEDIATE, Education.JUNIOR_COLLEGE, True, 4, None, False),
    (Level.INTERMEDIATE, Education.BACHELOR, True, 3, None, False),
    (Level.INTERMEDIATE, Education.MASTER, True, 1, None, False),
    (Level.INTERMEDIATE, Education.DOCTOR, True, 0, None, False),
    (Level.INTERMEDIATE, Education.JUNIOR_COLLEGE, False, 6, None, False),
    (Level.INTERMEDIATE, Education.BACHELOR, False, 5, None, False),
    (Level.INTERMEDIATE, Education.MASTER, False, 3, None, False),
    (Level.INTERMEDIATE, Education.DOCTOR, False, 2, None, False),
    (Level.SENIOR, Education.BACHELOR, False, 5, Level.INTERMEDIATE, True),
}


def test_route_data_holds_exactly_the_routes_of_the_regulation():
    loaded = {
        (
            r.level,
            r.min_education,
            r.requires_social_work_major,
            r.years,
            r.required_certificate,
            r.certificate_by_exam_only,
        )
        for r in ROUTES
    }
    assert loaded == DOMAIN_ROUTES
    assert len(ROUTES) == len(DOMAIN_ROUTES)
    assert len({r.code for r in ROUTES}) == len(ROUTES)


def test_certificate_routes_count_from_the_certificate_and_others_from_graduation():
    for route in ROUTES:
        expected = "certificate" if route.required_certificate else "graduation"
        assert route.counted_from == expected, route.code


# --- every route at its boundary ---


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.years > 0], ids=lambda r: r.code
)
def test_route_is_met_with_exact_years_and_missed_by_one_day(route):
    start = window_start(route.years)
    exact = evaluate(meeting(route, start), route.level, CUTOFF, routes=(route,))
    assert exact.eligible and exact.route == route and exact.shortfall is None
    assert exact.social_work_days == required_days(route.years, CUTOFF)

    short = evaluate(
        meeting(route, day_after(start)), route.level, CUTOFF, routes=(route,)
    )
    assert not short.eligible and short.route is None
    assert short.shortfall.kind == ShortfallKind.YEARS
    assert short.shortfall.route == route
    assert short.shortfall.missing_days == 1


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.years == 0], ids=lambda r: r.code
)
def test_route_without_years_is_met_with_no_experience(route):
    background = replace(meeting(route, LONG_AGO), employment=())
    verdict = evaluate(background, route.level, CUTOFF, routes=(route,))
    assert verdict.eligible and verdict.route == route


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.level != Level.SENIOR], ids=lambda r: r.code
)
def test_route_is_met_by_a_higher_education_than_its_minimum(route):
    background = replace(
        meeting(route, window_start(route.years)), education=Education.DOCTOR
    )
    assert evaluate(background, route.level, CUTOFF, routes=(route,)).eligible


@pytest.mark.parametrize(
    ("years", "cutoff", "days"),
    [
        (0, CUTOFF, 0),
        (1, date(2025, 12, 31), 365),
        (1, date(2024, 12, 31), 366),
        (2, date(2025, 12, 31), 731),
        (1, date(2028, 2, 29), 366),  # window 2027-03-01 .. 2028-02-29
        (4, date(2028, 2, 29), 1461),
        (1, date(2025, 2, 28), 366),  # includes 2024-02-29
    ],
)
def test_required_days_are_the_days_of_n_calendar_years_to_the_cutoff(
    years, cutoff, days
):
    assert required_days(years, cutoff) == days


def test_a_leap_day_cutoff_window_starts_on_the_first_of_march():
    route = by_code["A-OTHER-BACHELOR"]
    cutoff = date(2028, 2, 29)
    passes = meeting(route, date(2026, 3, 1))
    fails = meeting(route, date(2026, 3, 2))
    assert evaluate(passes, Level.ASSISTANT, cutoff, routes=(route,)).eligible
    verdict = evaluate(fails, Level.ASSISTANT, cutoff, routes=(route,))
    assert verdict.shortfall.missing_days == 1


# --- counting social-work days ---


def test_overlapping_periods_are_counted_once():
    periods = (
        social_work(date(2020, 1, 1), date(2020, 12, 31)),
        social_work(date(2020, 6, 1), date(2021, 6, 30)),
        social_work(date(2020, 3, 1), date(2020, 3, 31)),  # inside the first
    )
    days = social_work_days(periods, counted_from=None, cutoff=CUTOFF)
    assert days == (date(2021, 6, 30) - date(2020, 1, 1)).days + 1


def test_adjacent_and_separate_periods_add_up_inclusive_of_both_ends():
    periods = (
        social_work(date(2020, 1, 1), date(2020, 1, 10)),
        social_work(date(2020, 1, 11), date(2020, 1, 20)),
        social_work(date(2020, 2, 1), date(2020, 2, 1)),
    )
    assert social_work_days(periods, counted_from=None, cutoff=CUTOFF) == 21


def test_non_social_work_periods_are_ignored():
    periods = (
        EmploymentPeriod(date(2015, 1, 1), None, is_social_work=False),
        social_work(date(2025, 12, 1), None),
    )
    assert social_work_days(periods, counted_from=None, cutoff=CUTOFF) == 31


def test_periods_are_clipped_to_the_counting_window():
    periods = (
        social_work(date(2019, 1, 1), date(2026, 6, 30)),  # runs past the cutoff
        social_work(date(2026, 1, 1), None),  # starts after the cutoff
    )
    days = social_work_days(periods, counted_from=date(2025, 1, 1), cutoff=CUTOFF)
    assert days == 365


def test_non_social_work_job_does_not_make_a_candidate_eligible():
    background = candidate(
        employment=[EmploymentPeriod(date(2010, 1, 1), None, is_social_work=False)]
    )
    verdict = evaluate(background, Level.ASSISTANT, CUTOFF)
    assert not verdict.eligible
    assert verdict.shortfall.kind == ShortfallKind.YEARS
    assert verdict.social_work_days == 0


def test_work_before_graduation_does_not_count_for_a_full_time_student():
    graduated = date(2024, 7, 1)
    background = candidate(graduated=graduated, employment=[social_work(LONG_AGO)])
    verdict = evaluate(background, Level.ASSISTANT, CUTOFF)
    assert not verdict.eligible
    assert verdict.social_work_days == (CUTOFF - graduated).days + 1
    assert verdict.shortfall.route == by_code["A-OTHER-BACHELOR"]
    assert verdict.shortfall.missing_days == 731 - verdict.social_work_days


def test_work_before_graduation_counts_for_a_part_time_student():
    background = candidate(
        graduated=date(2024, 7, 1), full_time=False, employment=[social_work(LONG_AGO)]
    )
    verdict = evaluate(background, Level.ASSISTANT, CUTOFF)
    assert verdict.eligible and verdict.route == by_code["A-OTHER-BACHELOR"]


# --- graduation ---


def test_degree_obtained_after_the_cutoff_is_refused():
    background = candidate(sw_major=True, graduated=day_after(CUTOFF))
    verdict = evaluate(background, Level.ASSISTANT, CUTOFF)
    assert not verdict.eligible
    assert verdict.shortfall.kind == ShortfallKind.GRADUATION_AFTER_CUTOFF
    assert verdict.shortfall.route == by_code["A-SW-BACHELOR"]


def test_fresh_social_work_graduate_on_the_cutoff_may_apply_for_assistant():
    background = candidate(sw_major=True, graduated=CUTOFF)
    verdict = evaluate(background, Level.ASSISTANT, CUTOFF)
    assert verdict.eligible and verdict.route == by_code["A-SW-BACHELOR"]


def test_missing_graduation_date_is_a_shortfall():
    verdict = evaluate(
        candidate(sw_major=True, graduated=None), Level.ASSISTANT, CUTOFF
    )
    assert verdict.shortfall.kind == ShortfallKind.NO_GRADUATION_DATE


# --- certificates ---


def high_school_worker(*certificates) -> CandidateBackground:
    return candidate(
        Education.HIGH_SCHOOL,
        graduated=date(2005, 7, 1),
        employment=[social_work(date(2006, 1, 1))],
        certificates=certificates,
    )


def test_high_school_route_to_intermediate_counts_from_the_assistant_certificate():
    route = by_code["I-HIGH-SCHOOL-ASSISTANT"]
    met = evaluate(
        high_school_worker(certificate(Level.ASSISTANT, window_start(6))),
        Level.INTERMEDIATE,
        CUTOFF,
    )
    assert met.eligible and met.route == route
    assert met.social_work_days == required_days(6, CUTOFF)

    late = evaluate(
        high_school_worker(certificate(Level.ASSISTANT, day_after(window_start(6)))),
        Level.INTERMEDIATE,
        CUTOFF,
    )
    assert not late.eligible  # twenty years since graduation do not help
    assert late.shortfall.kind == ShortfallKind.YEARS
    assert late.shortfall.missing_days == 1


def test_high_school_candidate_without_assistant_certificate_lacks_a_certificate():
    verdict = evaluate(high_school_worker(), Level.INTERMEDIATE, CUTOFF)
    assert verdict.shortfall.kind == ShortfallKind.CERTIFICATE
    assert verdict.shortfall.route == by_code["I-HIGH-SCHOOL-ASSISTANT"]


def test_assistant_certificate_by_review_counts_for_intermediate():
    background = high_school_worker(certificate(Level.ASSISTANT, method=REVIEW))
    assert evaluate(background, Level.INTERMEDIATE, CUTOFF).eligible


def test_certificate_obtained_after_the_cutoff_does_not_count():
    background = high_school_worker(certificate(Level.ASSISTANT, day_after(CUTOFF)))
    verdict = evaluate(background, Level.INTERMEDIATE, CUTOFF)
    assert verdict.shortfall.kind == ShortfallKind.CERTIFICATE


def senior_candidate(*certificates, education=Education.BACHELOR):
    return candidate(
        education, employment=[social_work(date(2001, 1, 1))], certificates=certificates
    )


def test_senior_needs_an_intermediate_certificate_obtained_by_exam():
    by_review = senior_candidate(certificate(Level.INTERMEDIATE, method=REVIEW))
    verdict = evaluate(by_review, Level.SENIOR, CUTOFF)
    assert not verdict.eligible
    assert verdict.shortfall.kind == ShortfallKind.CERTIFICATE

    both = senior_candidate(
        certificate(Level.INTERMEDIATE, method=REVIEW),
        certificate(Level.INTERMEDIATE, method=EXAM),
    )
    verdict = evaluate(both, Level.SENIOR, CUTOFF)
    assert verdict.eligible and verdict.route == by_code["S-BACHELOR-INTERMEDIATE"]


def test_senior_needs_a_bachelor_degree():
    background = senior_candidate(
        certificate(Level.INTERMEDIATE), education=Education.JUNIOR_COLLEGE
    )
    assert evaluate(background, Level.SENIOR, CUTOFF).shortfall.kind == "EDUCATION"


def test_certificate_years_start_at_graduation_for_a_full_time_student():
    route = by_code["S-BACHELOR-INTERMEDIATE"]
    background = candidate(
        graduated=day_after(window_start(5)),
        employment=[social_work(LONG_AGO)],
        certificates=[certificate(Level.INTERMEDIATE, LONG_AGO)],
    )
    verdict = evaluate(background, Level.SENIOR, CUTOFF)
    assert verdict.shortfall.route == route
    assert verdict.shortfall.missing_days == 1
    part_time = replace(background, is_full_time=False)
    assert evaluate(part_time, Level.SENIOR, CUTOFF).eligible


def test_regional_line_certificate_limits_where_the_candidate_may_apply():
    regional = certificate(Level.INTERMEDIATE, region="54")
    verdict = evaluate(senior_candidate(regional), Level.SENIOR, CUTOFF)
    assert verdict.eligible and verdict.region_limit == "54"


def test_a_certificate_valid_everywhere_is_preferred_to_a_regional_one():
    regional = certificate(Level.INTERMEDIATE, date(2010, 1, 1), region="54")
    national = certificate(Level.INTERMEDIATE, date(2012, 1, 1))
    for held in [(regional, national), (national, regional)]:
        verdict = evaluate(senior_candidate(*held), Level.SENIOR, CUTOFF)
        assert verdict.eligible and verdict.region_limit is None


def test_regional_certificate_is_used_when_only_it_gives_enough_years():
    regional = certificate(Level.INTERMEDIATE, date(2010, 1, 1), region="54")
    too_recent = certificate(Level.INTERMEDIATE, date(2024, 1, 1))
    verdict = evaluate(senior_candidate(regional, too_recent), Level.SENIOR, CUTOFF)
    assert verdict.eligible and verdict.region_limit == "54"


def test_shortfall_is_measured_from_the_certificate_giving_the_most_years():
    newer = certificate(Level.INTERMEDIATE, date(2024, 1, 1))
    older = certificate(Level.INTERMEDIATE, day_after(window_start(5)))
    for held in [(newer, older), (older, newer)]:
        verdict = evaluate(senior_candidate(*held), Level.SENIOR, CUTOFF)
        assert verdict.shortfall.kind == ShortfallKind.YEARS
        assert verdict.shortfall.missing_days == 1


def test_route_without_a_certificate_is_preferred_to_a_regional_certificate():
    background = replace(
        high_school_worker(certificate(Level.ASSISTANT, LONG_AGO, region="54")),
        education=Education.JUNIOR_COLLEGE,
    )
    verdict = evaluate(background, Level.INTERMEDIATE, CUTOFF)
    assert verdict.eligible and verdict.region_limit is None
    assert verdict.route == by_code["I-OTHER-JUNIOR-COLLEGE"]


# --- which route the verdict shows ---


def test_eligible_verdict_names_the_route_with_the_fewest_years():
    background = candidate(
        Education.MASTER, sw_major=True, employment=[social_work(window_start(3))]
    )
    verdict = evaluate(background, Level.INTERMEDIATE, CUTOFF)
    assert verdict.route == by_code["I-SW-MASTER"]
    assert verdict.social_work_days == required_days(3, CUTOFF)


def test_equal_years_are_decided_by_data_order():
    first = replace(by_code["A-OTHER-BACHELOR"], code="FIRST")
    second = replace(first, code="SECOND")
    background = candidate(employment=[social_work(LONG_AGO)])
    assert evaluate(background, Level.ASSISTANT, CUTOFF, (first, second)).route == first
    assert (
        evaluate(background, Level.ASSISTANT, CUTOFF, (second, first)).route == second
    )


def test_closest_route_is_the_one_missing_the_fewest_days():
    background = candidate(Education.MASTER, employment=[social_work(window_start(1))])
    verdict = evaluate(background, Level.INTERMEDIATE, CUTOFF)
    assert verdict.shortfall.route == by_code["I-OTHER-MASTER"]
    assert verdict.shortfall.missing_days == required_days(3, CUTOFF) - required_days(
        1, CUTOFF
    )


def test_a_gap_in_years_is_shown_before_a_missing_certificate():
    background = candidate(
        Education.BACHELOR, employment=[social_work(window_start(1))]
    )
    verdict = evaluate(background, Level.INTERMEDIATE, CUTOFF)
    assert verdict.shortfall.kind == ShortfallKind.YEARS
    assert verdict.shortfall.route == by_code["I-OTHER-BACHELOR"]


def test_a_missing_certificate_is_shown_before_a_missing_degree():
    verdict = evaluate(high_school_worker(), Level.INTERMEDIATE, CUTOFF)
    assert verdict.shortfall.kind == ShortfallKind.CERTIFICATE


@pytest.mark.parametrize("education", [Education.BELOW_HIGH_SCHOOL, None])
def test_candidate_below_high_school_is_eligible_for_nothing(education):
    background = candidate(education, employment=[social_work(LONG_AGO)])
    verdicts = evaluate_all(background, CUTOFF)
    assert [v.level for v in verdicts] == list(Level)
    assert not any(v.eligible for v in verdicts)
    assert {v.shortfall.kind for v in verdicts} == {ShortfallKind.EDUCATION}
    # The smallest step up is shown: 高中 + 4 years, not a bachelor degree.
    assert verdicts[0].shortfall.route == by_code["A-HIGH-SCHOOL"]


def test_evaluate_all_gives_one_verdict_per_level_in_order():
    background = senior_candidate(certificate(Level.INTERMEDIATE))
    verdicts = evaluate_all(background, CUTOFF)
    assert [v.level for v in verdicts] == [
        Level.ASSISTANT,
        Level.INTERMEDIATE,
        Level.SENIOR,
    ]
    assert all(v.eligible for v in verdicts)


def test_level_without_routes_is_not_eligible_and_has_no_shortfall():
    verdict = evaluate(candidate(), Level.SENIOR, CUTOFF, routes=())
    assert not verdict.eligible and verdict.shortfall is None


# --- cutoff ---


@pytest.mark.parametrize(
    ("today", "exam_month", "cutoff"),
    [
        (date(2025, 1, 1), 5, date(2025, 12, 31)),
        (date(2025, 5, 31), 5, date(2025, 12, 31)),
        (date(2025, 6, 1), 5, date(2026, 12, 31)),
        (date(2025, 6, 15), 6, date(2025, 12, 31)),
        (date(2025, 12, 31), 5, date(2026, 12, 31)),
    ],
)
def test_default_cutoff_is_the_end_of_the_coming_exam_year(today, exam_month, cutoff):
    assert default_cutoff(today, exam_month) == cutoff


def test_route_data_rejects_a_certificate_route_counted_from_graduation():
    with pytest.raises(ValueError):
        replace(by_code["S-BACHELOR-INTERMEDIATE"], counted_from="graduation")
