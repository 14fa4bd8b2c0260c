"""Calendar spans: experience and shortfalls told in the calendar's years, months, days."""

from datetime import date

from question_bank.dates import Span, add_months, anniversary, span, span_ending, span_starting
from question_bank.eligibility import required_days, window_first_day


def test_exactly_n_calendar_years_up_to_the_cutoff_read_as_n_years():
    cutoff = date(2025, 12, 31)
    assert span_ending(required_days(14, cutoff), cutoff) == Span(14, 0, 0)
    assert span_ending(required_days(3, cutoff), cutoff) == Span(3, 0, 0)  # holds 29 Feb 2024
    assert span_ending(required_days(3, cutoff) + 1, cutoff) == Span(3, 0, 1)
    assert span_ending(1, cutoff) == Span(0, 0, 1)
    assert span_ending(0, cutoff) == Span(0, 0, 0)


def test_a_shortfall_counts_from_the_first_day_of_the_years_asked_for():
    cutoff = date(2026, 12, 31)
    first = window_first_day(4, cutoff)
    assert first == date(2023, 1, 1)
    # 59 days missing: 1 January to 28 February 2023, two whole months.
    assert span_starting(59, first) == Span(0, 2, 0)
    assert span_starting(45, first) == Span(0, 1, 14)
    assert span_starting(365, first) == Span(1, 0, 0)


def test_months_end_on_the_shorter_months_last_day():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2023, 12, 15), 2) == date(2024, 2, 15)
    assert span(date(2023, 1, 31), date(2023, 3, 1)) == Span(0, 1, 1)
    assert span(date(2024, 3, 1), date(2024, 3, 1)) == Span(0, 0, 0)


def test_an_anniversary_of_29_february_falls_on_1_march_in_a_common_year():
    assert anniversary(date(2024, 2, 29), 1) == date(2025, 3, 1)
    assert anniversary(date(2024, 2, 29), 4) == date(2028, 2, 29)
    assert anniversary(date(2023, 8, 20), 3) == date(2026, 8, 20)
