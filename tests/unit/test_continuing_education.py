"""Registration and continuing-education rules at their boundaries: the 1-year
registration limit, the period's first and last day, the renewal window's first and
last day, exactly the required hours, and the shortfall notices."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from question_bank import continuing_education as ce
from question_bank.levels import Level

RULES = ce.Rules()
PERIOD = ce.period_from(date(2024, 3, 1), RULES)  # 2024-03-01 .. 2027-02-28


def test_a_period_is_three_years_first_and_last_day_included():
    assert ce.Period(date(2024, 3, 1), date(2027, 2, 28)) == PERIOD
    assert date(2024, 3, 1) in PERIOD and date(2027, 2, 28) in PERIOD
    assert date(2024, 2, 29) not in PERIOD and date(2027, 3, 1) not in PERIOD
    assert ce.next_period(PERIOD, RULES).starts_on == date(2027, 3, 1)


@pytest.mark.parametrize(("day", "counted"), [
    (date(2024, 2, 29), False), (date(2024, 3, 1), True),
    (date(2027, 2, 28), True), (date(2027, 3, 1), False)])
def test_hours_are_credited_to_the_period_their_completion_falls_in(day, counted):
    assert ce.credited_hours([(day, Decimal("3.5"))], PERIOD) == (Decimal("3.5") if counted
                                                                  else 0)
    following = ce.next_period(PERIOD, RULES)
    assert ce.period_containing([PERIOD, following], day) == (
        PERIOD if counted else (following if day > PERIOD.ends_on else None))


@pytest.mark.parametrize(("passed", "registered", "problem"), [
    (date(2025, 6, 30), date(2026, 6, 30), None),          # the last day
    (date(2025, 6, 30), date(2026, 7, 1), ce.RegistrationProblem.TOO_LATE),
    (date(2025, 6, 30), date(2025, 6, 30), None),          # the day itself
    (date(2025, 6, 30), date(2025, 6, 29), ce.RegistrationProblem.BEFORE_PASSING),
    (date(2024, 2, 29), date(2025, 2, 28), None),           # no 29 February next year
    (date(2024, 2, 29), date(2025, 3, 1), ce.RegistrationProblem.TOO_LATE)])
def test_registration_within_one_year_of_passing(passed, registered, problem):
    assert ce.registration_problem(passed, registered, RULES) is problem


def test_the_registration_limit_is_configurable():
    six = ce.rules_from({"register_within_months": 6})
    assert ce.registration_problem(date(2025, 1, 10), date(2025, 7, 11), six) is \
        ce.RegistrationProblem.TOO_LATE
    assert ce.registration_problem(date(2025, 1, 10), date(2025, 7, 10), six) is None


def test_the_renewal_window_is_the_last_three_months():
    window = ce.renewal_window(PERIOD, RULES)
    assert window == ce.Period(date(2026, 12, 1), date(2027, 2, 28))


def _state(hours, level=Level.ASSISTANT):
    return ce.standing(PERIOD, level, [(date(2025, 1, 1), Decimal(hours))], RULES)


@pytest.mark.parametrize(("today", "problem"), [
    (date(2026, 11, 30), ce.RenewalProblem.BEFORE_WINDOW),
    (date(2026, 12, 1), None), (date(2027, 2, 28), None),
    (date(2027, 3, 1), ce.RenewalProblem.AFTER_PERIOD)])
def test_renewal_is_open_from_the_windows_first_to_its_last_day(today, problem):
    assert ce.renewal_problem(_state(72), today) is problem


@pytest.mark.parametrize(("level", "hours", "met"), [
    (Level.ASSISTANT, "72", True), (Level.ASSISTANT, "71.5", False),
    (Level.INTERMEDIATE, "90", True), (Level.INTERMEDIATE, "89.5", False),
    (Level.SENIOR, "90", True), (Level.INTERMEDIATE, "72", False)])
def test_exactly_the_required_hours_are_enough(level, hours, met):
    state = _state(hours, level)
    assert state.is_met is met
    assert state.shortfall == (0 if met else state.required - Decimal(hours))
    problem = ce.renewal_problem(state, date(2027, 1, 15))
    assert problem is (None if met else ce.RenewalProblem.HOURS_SHORT)


def test_hours_required_come_from_the_rules():
    rules = ce.rules_from({"hours_required": {"ASSISTANT": 60}})
    assert rules.required_for(Level.ASSISTANT) == 60
    assert rules.required_for(Level.INTERMEDIATE) == 90
    with pytest.raises(ValueError):
        ce.rules_from({"renewal_window_months": 0})


@pytest.mark.parametrize(("today", "due"), [
    (date(2026, 8, 31), []), (date(2026, 9, 1), [6]), (date(2026, 11, 30), [6]),
    (date(2026, 12, 1), [6, 3]), (date(2027, 2, 28), [6, 3]), (date(2027, 3, 1), [])])
def test_shortfall_notices_six_and_three_months_before_the_end(today, due):
    assert ce.due_shortfall_notices(_state(10), today, RULES) == due
    assert ce.due_shortfall_notices(_state(72), today, RULES) == []  # no shortfall


@pytest.mark.parametrize(("text", "hours"), [
    ("3", Decimal(3)), ("3.5", Decimal("3.5")), ("0.5", Decimal("0.5")),
    ("3.25", None), ("0", None), ("-1", None), ("abc", None), ("NaN", None), ("201", None)])
def test_hours_are_whole_or_half_hours(text, hours):
    assert ce.parse_hours(text) == hours


def test_an_attendance_sheet_is_read_row_by_row():
    rows = [["邮箱", "完成日期"], ["A@example.com", "2026/3/1"], ["", ""],
            ["bad", "2026-03-01"], ["a@example.com", ""], ["c@example.com", "昨天"]]
    sheet = ce.read_attendance(rows)
    assert [(r.number, r.email, r.completed_on) for r in sheet] == [
        (2, "a@example.com", date(2026, 3, 1)), (4, "bad", date(2026, 3, 1)),
        (5, "a@example.com", None), (6, "c@example.com", None)]
    assert [len(r.problems) for r in sheet] == [0, 1, 1, 1]
    assert sheet[2].problems[0].render() == "与第 2 行重复。"


def test_a_completion_date_must_fall_within_the_course():
    first, last = date(2026, 3, 1), date(2026, 3, 3)
    assert ce.completion_date_problem(first, first, last) is None
    assert ce.completion_date_problem(last, first, last) is None
    assert ce.completion_date_problem(last + timedelta(days=1), first, last)
    assert ce.completion_date_problem(first - timedelta(days=1), first, last)
