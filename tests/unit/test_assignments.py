"""Due states of class assignments and the class-list checks, at their boundaries."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from question_bank import assignments
from question_bank.assignments import AssignmentState

DUE = datetime(2026, 12, 8, 15, 59, tzinfo=UTC)  # 23:59 in Beijing
BEIJING = timezone(timedelta(hours=8))


def test_not_started_before_due_and_overdue_only_after_it():
    assert assignments.state(DUE - timedelta(seconds=1), DUE - timedelta(seconds=2),
                             started=False, submitted_at=None) is AssignmentState.NOT_STARTED
    # Due exactly now: not overdue yet.
    assert assignments.state(DUE, DUE, started=False, submitted_at=None) \
        is AssignmentState.NOT_STARTED
    assert assignments.state(DUE, DUE + timedelta(microseconds=1), started=False,
                             submitted_at=None) is AssignmentState.OVERDUE


def test_started_is_in_progress_until_due_then_overdue():
    assert assignments.state(DUE, DUE, started=True, submitted_at=None) \
        is AssignmentState.IN_PROGRESS
    assert assignments.state(DUE, DUE + timedelta(seconds=1), started=True,
                             submitted_at=None) is AssignmentState.OVERDUE


def test_handed_in_is_done_even_late_and_lateness_is_told_apart():
    assert assignments.state(DUE, DUE + timedelta(days=3), started=True,
                             submitted_at=DUE + timedelta(days=1)) is AssignmentState.DONE
    assert not assignments.handed_in_late(DUE, DUE)
    assert assignments.handed_in_late(DUE, DUE + timedelta(seconds=1))
    assert not assignments.handed_in_late(DUE, None)


def test_the_same_instant_in_another_zone_is_the_same_due_time():
    local_due = DUE.astimezone(BEIJING)
    assert local_due.hour == 23
    assert assignments.state(local_due, DUE, started=False, submitted_at=None) \
        is AssignmentState.NOT_STARTED
    assert assignments.is_past_due(local_due, DUE + timedelta(seconds=1))


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        assignments.state(DUE.replace(tzinfo=None), DUE, started=False, submitted_at=None)


def test_due_soon_is_after_now_and_within_a_day():
    assert not assignments.due_soon(DUE, DUE)  # due now: not "tomorrow"
    assert assignments.due_soon(DUE, DUE - timedelta(seconds=1))
    assert assignments.due_soon(DUE, DUE - timedelta(days=1))
    assert not assignments.due_soon(DUE, DUE - timedelta(days=1, seconds=1))


def test_codes_are_readable_and_normalised():
    code = assignments.new_code()
    assert len(code) == assignments.CODE_LENGTH
    assert set(code) <= set(assignments.CODE_ALPHABET)
    assert assignments.normalise_code(" ab-cd 2345 ") == "ABCD2345"


def test_roster_checks_every_row_and_reports_lines():
    rows = [["姓名", "邮箱"], ["张三", "a@example.cn"], ["李四", "not-an-email"],
            ["", ""], ["王五", "A@example.cn"], ["赵六", "d@example.cn"]]
    found, problems = assignments.check_roster(rows)
    assert [(p.line, p.code) for p in problems] == [(3, "email"), (5, "duplicate")]
    assert [row.email for row in found] == ["a@example.cn", "d@example.cn"]


def test_roster_needs_an_email_header_rows_and_a_size_limit():
    assert assignments.check_roster([])[1][0].code == "empty"
    assert assignments.check_roster([["name", "phone"], ["x", "y"]])[1][0].code == "header"
    assert assignments.check_roster([["email"]])[1][0].code == "empty"
    rows = [["email"]] + [[f"u{i}@example.cn"] for i in range(4)]
    assert assignments.check_roster(rows, max_rows=3)[1][0].code == "too_many"
    found, problems = assignments.check_roster([["Email", "Name"], ["x@example.cn", "X"]])
    assert not problems and found[0].name == "X"


@pytest.mark.parametrize("email", ["a\x00b@example.com", "ab@exa\x07mple.com",
                                   "ab@example.com\x7f", "a\u2028b@example.com"])
def test_a_roster_address_with_a_control_character_is_a_row_problem(email):
    found, problems = assignments.check_roster([["email"], [email]])
    assert found == [] and [p.code for p in problems] == ["email"]


def test_due_tomorrow_counts_calendar_days_in_the_zone():
    from zoneinfo import ZoneInfo

    beijing = ZoneInfo("Asia/Shanghai")
    now = datetime(2030, 3, 1, 9, 0, tzinfo=beijing)
    end = assignments.end_of_tomorrow(now, beijing)
    assert end == datetime(2030, 3, 3, 0, 0, tzinfo=beijing)
    # Late in the evening (UTC already the next day): still the Beijing calendar.
    assert assignments.end_of_tomorrow(datetime(2030, 3, 1, 23, 30, tzinfo=beijing),
                                       beijing) == end
