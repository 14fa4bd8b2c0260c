"""Calendar arithmetic the rules share: anniversaries, month steps, and a count of days
told as the calendar's years, months and days."""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta


def anniversary(day: date, years: int) -> date:
    """The same calendar day *years* later (1 March for 29 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def add_months(day: date, months: int) -> date:
    """*months* calendar months later, on the month's last day when it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Span:
    years: int
    months: int
    days: int


def span(first: date, stop: date) -> Span:
    """The complete calendar years, months and days from *first* up to *stop* (exclusive)."""
    if stop <= first:
        return Span(0, 0, 0)
    months = (stop.year - first.year) * 12 + stop.month - first.month
    if add_months(first, months) > stop:
        months -= 1
    return Span(months // 12, months % 12, (stop - add_months(first, months)).days)


def span_ending(days: int, last_day: date) -> Span:
    """*days* consecutive days ending on *last_day*, as a calendar span: 5,114 days ending
    on 31 December 2025 are exactly 14 years, as those 14 calendar years hold 5,114 days."""
    return span(last_day - timedelta(days=days - 1), last_day + timedelta(days=1))


def span_starting(days: int, first_day: date) -> Span:
    """*days* consecutive days from *first_day* on, as a calendar span."""
    return span(first_day, first_day + timedelta(days=days))
