"""Pass lines and qualification windows for every level (DOMAIN.md §3)."""

from datetime import date
from decimal import Decimal

import pytest

from question_bank.levels import Level
from question_bank.pass_rules import (
    PassLines,
    SubjectPass,
    mark_subject,
    qualification,
    senior_proof_last_day,
)
from question_bank.subjects import Subject

HUNDRED = Decimal(100)
XIZANG = "540000"
SICHUAN, LIANGSHAN, XICHANG, CHENGDU = "510000", "513400", "513401", "510104"
LINES = PassLines({(Subject.COMP_JR, XIZANG): Decimal(53), (Subject.PRAC_JR, XIZANG): Decimal(53),
                   (Subject.COMP_MID, XIZANG): Decimal(58)})


@pytest.mark.parametrize("score, passed", [("60", True), ("59.5", False), ("100", True),
                                           ("0", False)])
def test_a_subject_passes_at_60_percent_and_59_point_5_does_not(score, passed):
    outcome = mark_subject(Decimal(score), HUNDRED, Subject.LAW_MID, "110101", LINES)
    assert outcome.passed is passed and outcome.line == 60 and outcome.region is None


def test_a_regional_line_passes_only_in_its_region_and_marks_the_pass_regional():
    inside = mark_subject(Decimal(55), HUNDRED, Subject.COMP_JR, XIZANG, LINES)
    assert (inside.passed, inside.line, inside.region) == (True, 53, XIZANG)
    elsewhere = mark_subject(Decimal(55), HUNDRED, Subject.COMP_JR, "110101", LINES)
    assert not elsewhere.passed
    national = mark_subject(Decimal(61), HUNDRED, Subject.COMP_JR, XIZANG, LINES)
    assert national.region is None and national.line == 60


def test_a_prefecture_line_covers_its_counties_and_nothing_else():
    lines = PassLines({(Subject.COMP_JR, LIANGSHAN): Decimal(53)})
    xichang = mark_subject(Decimal(55), HUNDRED, Subject.COMP_JR, XICHANG, lines)
    # Passed on 凉山州's line: the pass is limited to 凉山州, not to 西昌市 alone.
    assert (xichang.passed, xichang.line, xichang.region) == (True, 53, LIANGSHAN)
    chengdu = mark_subject(Decimal(55), HUNDRED, Subject.COMP_JR, CHENGDU, lines)
    assert not chengdu.passed and chengdu.line == 60
    at_the_prefecture = mark_subject(Decimal(53), HUNDRED, Subject.COMP_JR, LIANGSHAN, lines)
    assert at_the_prefecture.passed and at_the_prefecture.region == LIANGSHAN


def test_the_most_specific_designated_area_gives_the_line():
    lines = PassLines({(Subject.COMP_JR, SICHUAN): Decimal(56),
                       (Subject.COMP_JR, LIANGSHAN): Decimal(53)})
    assert mark_subject(Decimal(54), HUNDRED, Subject.COMP_JR, XICHANG, lines).region == LIANGSHAN
    chengdu = mark_subject(Decimal(56), HUNDRED, Subject.COMP_JR, CHENGDU, lines)
    assert (chengdu.passed, chengdu.line, chengdu.region) == (True, 56, SICHUAN)
    assert not mark_subject(Decimal(54), HUNDRED, Subject.COMP_JR, CHENGDU, lines).passed


def test_assistant_needs_both_subjects_in_the_same_year():
    both = [SubjectPass(Subject.COMP_JR, 2025), SubjectPass(Subject.PRAC_JR, 2025)]
    assert qualification(Level.ASSISTANT, both, 2025).year == 2025
    split = [SubjectPass(Subject.COMP_JR, 2024), SubjectPass(Subject.PRAC_JR, 2025)]
    assert qualification(Level.ASSISTANT, split, 2025) is None


@pytest.mark.parametrize("first_year, rest_year, qualifies", [
    (2024, 2024, True), (2024, 2025, True), (2024, 2026, False)])
def test_intermediate_counts_a_pass_if_the_rest_follow_by_the_next_year(
        first_year, rest_year, qualifies):
    passes = [SubjectPass(Subject.COMP_MID, first_year), SubjectPass(Subject.LAW_MID, rest_year),
              SubjectPass(Subject.PRAC_MID, rest_year)]
    result = qualification(Level.INTERMEDIATE, passes, rest_year)
    assert (result is not None) is qualifies
    if qualifies:
        assert result.year == rest_year and result.region is None


def test_a_qualification_is_earned_only_in_the_year_of_its_last_pass():
    passes = [SubjectPass(s, 2024) for s in (Subject.COMP_MID, Subject.LAW_MID, Subject.PRAC_MID)]
    assert qualification(Level.INTERMEDIATE, passes, 2025) is None


def test_a_regional_pass_makes_the_qualification_region_limited_unless_a_national_one_counts():
    passes = [SubjectPass(Subject.COMP_JR, 2025, XIZANG), SubjectPass(Subject.PRAC_JR, 2025)]
    assert qualification(Level.ASSISTANT, passes, 2025).region == XIZANG
    passes.append(SubjectPass(Subject.COMP_JR, 2025))
    assert qualification(Level.ASSISTANT, passes, 2025).region is None


def test_a_senior_pass_proof_is_valid_three_years_from_the_day_it_is_issued():
    assert qualification(Level.SENIOR, [SubjectPass(Subject.PRAC_SR, 2025)], 2025).year == 2025
    assert senior_proof_last_day(date(2023, 8, 20)) == date(2026, 8, 19)
    assert senior_proof_last_day(date(2025, 1, 1)) == date(2027, 12, 31)
    # 29 February: three years on there is none, so the anniversary is 1 March.
    assert senior_proof_last_day(date(2024, 2, 29)) == date(2027, 2, 28)
