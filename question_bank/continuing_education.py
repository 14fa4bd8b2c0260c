"""Registration (登记) and continuing education (继续教育) of qualified social workers.

The rule (DOMAIN.md §6): a holder registers within a year of passing; a registration
is valid three years; it is renewed in the three months before it expires; in each
three-year period continuing education of at least 72 hours (助理) or 90 hours (the
other levels) is needed. Every number is a field of `Rules`, set by the operator's
configuration; the defaults below are the rule as published. Dates are calendar days
in China; a period runs from its first day to its last day, both included. Hours are
exact (`Decimal`, in half hours).
"""

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from .dates import add_months
from .formats.limits import UnreadableFile
from .i18n import N_
from .items import Problem
from .levels import Level
from .sheets import is_blank, read_header

HOURS_STEP = Decimal("0.5")  # hours are credited in half hours
MAX_COURSE_HOURS = Decimal(200)
TITLE_MAX_CHARS = 200

DEFAULT_HOURS_REQUIRED = {Level.ASSISTANT: Decimal(72), Level.INTERMEDIATE: Decimal(90),
                          Level.SENIOR: Decimal(90)}


class CourseCategory(enum.StrEnum):
    ETHICS = "ETHICS"            # 职业道德
    THEORY = "THEORY"            # 专业理论
    PRACTICE = "PRACTICE"        # 实务技能
    POLICY = "POLICY"            # 政策法规
    SUPERVISION = "SUPERVISION"  # 督导
    OTHER = "OTHER"


class Delivery(enum.StrEnum):
    ONLINE = "ONLINE"
    IN_PERSON = "IN_PERSON"


@dataclass(frozen=True)
class Rules:
    """The operator's numbers (configuration), with the published rule as defaults."""

    register_within_months: int = 12
    period_years: int = 3
    renewal_window_months: int = 3
    hours_required: Mapping[Level, Decimal] = field(
        default_factory=lambda: dict(DEFAULT_HOURS_REQUIRED))
    shortfall_notice_months: tuple[int, ...] = (6, 3)

    def required_for(self, level: Level) -> Decimal:
        return Decimal(self.hours_required[Level(level)])


def rules_from(setting: Mapping) -> Rules:
    """Rules from configuration values (missing keys keep the published numbers);
    ValueError for a value that cannot be a rule."""
    hours = {Level(key): Decimal(str(value))
             for key, value in (setting.get("hours_required") or {}).items()}
    rules = Rules(
        register_within_months=int(setting.get("register_within_months", 12)),
        period_years=int(setting.get("period_years", 3)),
        renewal_window_months=int(setting.get("renewal_window_months", 3)),
        hours_required={**DEFAULT_HOURS_REQUIRED, **hours},
        shortfall_notice_months=tuple(int(m) for m in setting.get(
            "shortfall_notice_months", (6, 3))))
    if rules.register_within_months < 1 or rules.period_years < 1 \
            or not 1 <= rules.renewal_window_months < rules.period_years * 12 \
            or any(value < 0 for value in rules.hours_required.values()):
        raise ValueError("continuing-education rules out of range")
    return rules


# Hours ---------------------------------------------------------------------------------

def hours_problem(hours) -> str | None:
    """Why *hours* cannot be a course's hours (a code), or None: positive, whole or half
    hours, at most MAX_COURSE_HOURS."""
    try:
        value = Decimal(str(hours))
    except ArithmeticError:
        return "not_a_number"
    if not value.is_finite() or value <= 0:
        return "not_positive"
    if value > MAX_COURSE_HOURS:
        return "too_many"
    if value % HOURS_STEP:
        return "not_half_hours"
    return None


def parse_hours(text: str) -> Decimal | None:
    """Hours written as 3, 3.5 or 3.0; None when not valid hours."""
    try:
        value = Decimal((text or "").strip())
    except ArithmeticError:
        return None
    return value if hours_problem(value) is None else None


# Registration and periods ----------------------------------------------------------------

def registration_deadline(passed_on: date, rules: Rules) -> date:
    """The last day a holder who passed on *passed_on* may register."""
    return add_months(passed_on, rules.register_within_months)


class RegistrationProblem(enum.StrEnum):
    BEFORE_PASSING = "before_passing"
    TOO_LATE = "too_late"


def registration_problem(passed_on: date, registered_on: date, rules: Rules
                         ) -> RegistrationProblem | None:
    """Why a registration on *registered_on* is refused, or None (the deadline day is
    still in time)."""
    if registered_on < passed_on:
        return RegistrationProblem.BEFORE_PASSING
    if registered_on > registration_deadline(passed_on, rules):
        return RegistrationProblem.TOO_LATE
    return None


@dataclass(frozen=True)
class Period:
    """One period of validity, first and last day included."""

    starts_on: date
    ends_on: date

    def __contains__(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


def period_from(starts_on: date, rules: Rules) -> Period:
    """The period of validity starting on *starts_on*: it ends the day before the same
    calendar day `period_years` later."""
    return Period(starts_on, add_months(starts_on, 12 * rules.period_years) - timedelta(days=1))


def next_period(period: Period, rules: Rules) -> Period:
    """The period a renewal opens: from the day after *period* ends."""
    return period_from(period.ends_on + timedelta(days=1), rules)


def renewal_window(period: Period, rules: Rules) -> Period:
    """The days on which a renewal may be applied for: the last `renewal_window_months`
    of the period, up to and including its last day."""
    first = add_months(period.ends_on + timedelta(days=1), -rules.renewal_window_months)
    return Period(max(first, period.starts_on), period.ends_on)


def period_containing(periods: Iterable[Period], day: date) -> Period | None:
    """The period *day* falls in (periods do not overlap), or None."""
    return next((period for period in periods if day in period), None)


def credited_hours(completions: Iterable[tuple[date, Decimal]], period: Period) -> Decimal:
    """The hours of the completions (date, hours) whose date falls in *period*."""
    return sum((Decimal(hours) for day, hours in completions if day in period), Decimal(0))


@dataclass(frozen=True)
class Standing:
    """Where a holder stands in one period."""

    period: Period
    window: Period
    required: Decimal
    credited: Decimal

    @property
    def shortfall(self) -> Decimal:
        return max(self.required - self.credited, Decimal(0))

    @property
    def is_met(self) -> bool:
        return self.credited >= self.required


def standing(period: Period, level: Level, completions: Iterable[tuple[date, Decimal]],
             rules: Rules) -> Standing:
    """The hours required, credited and missing in *period*, and its renewal window."""
    return Standing(period, renewal_window(period, rules), rules.required_for(level),
                    credited_hours(completions, period))


class RenewalProblem(enum.StrEnum):
    BEFORE_WINDOW = "before_window"
    AFTER_PERIOD = "after_period"
    HOURS_SHORT = "hours_short"


def renewal_problem(state: Standing, today: date) -> RenewalProblem | None:
    """Why a renewal cannot be applied for on *today*, or None."""
    if today < state.window.starts_on:
        return RenewalProblem.BEFORE_WINDOW
    if today > state.window.ends_on:
        return RenewalProblem.AFTER_PERIOD
    if not state.is_met:
        return RenewalProblem.HOURS_SHORT
    return None


def shortfall_notice_day(period: Period, months_before_end: int) -> date:
    """The day a shortfall notice *months_before_end* months before the period ends is
    due (the period's last day + 1, less that many months)."""
    return add_months(period.ends_on + timedelta(days=1), -months_before_end)


def due_shortfall_notices(state: Standing, today: date, rules: Rules) -> list[int]:
    """The thresholds (months before the end) whose notice is due on *today*: reached,
    the period not over, and hours still missing. The caller sends each once."""
    if state.is_met or today > state.period.ends_on:
        return []
    return [months for months in rules.shortfall_notice_months
            if shortfall_notice_day(state.period, months) <= today]


# The provider's attendance sheet -------------------------------------------------------

# Column names, shown in the row errors (so marked for translation).
EMAIL, COMPLETED_ON = N_("邮箱"), N_("完成日期")
SHEET_HEADERS = (EMAIL, COMPLETED_ON)
SHEET_NAMES = {EMAIL: EMAIL, "电子邮箱": EMAIL, "email": EMAIL, "e-mail": EMAIL,
               COMPLETED_ON: COMPLETED_ON, "结业日期": COMPLETED_ON, "日期": COMPLETED_ON,
               "completed on": COMPLETED_ON, "date": COMPLETED_ON}
MAX_SHEET_ROWS = 5_000
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]00:00(?::00)?)?")


@dataclass
class AttendanceRow:
    """One person on the sheet: their portal e-mail and the day they completed the
    course (None: the course's last day). *problems* empty means it reads well."""

    number: int  # as a spreadsheet shows it: the headers are row 1
    email: str
    completed_on: date | None
    problems: list[Problem] = field(default_factory=list)


def sheet_date(text: str) -> date | None:
    """2026-03-10, 2026/3/10 or 2026年3月10日 (a spreadsheet may add 00:00:00)."""
    match = _DATE.fullmatch(text.strip())
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def read_attendance(rows: list[list[str]]) -> list[AttendanceRow]:
    """Read the header row and the attendance rows; refuse the whole file only when it
    has no e-mail column, is empty or too long (UnreadableFile)."""
    columns = read_header(rows, names=SHEET_NAMES, required=(EMAIL,),
                          max_rows=MAX_SHEET_ROWS)
    sheet, seen = [], {}
    for number, cells in enumerate(rows[1:], 2):
        if is_blank(cells):
            continue
        email = columns.cell(cells, EMAIL).casefold()
        day_text = columns.cell(cells, COMPLETED_ON)
        row = AttendanceRow(number, email, sheet_date(day_text) if day_text else None)
        if not email or "@" not in email or len(email) > 254:
            row.problems.append(Problem(EMAIL, N_("邮箱地址无效：%(text)s。"),
                                        {"text": email[:60]}))
        elif email in seen:
            row.problems.append(Problem(EMAIL, N_("与第 %(n)d 行重复。"), {"n": seen[email]}))
        else:
            seen[email] = number
        if day_text and row.completed_on is None:
            row.problems.append(Problem(COMPLETED_ON, N_("完成日期应写成 YYYY-MM-DD：%(text)s。"),
                                        {"text": day_text[:20]}))
        sheet.append(row)
    if not sheet:
        raise UnreadableFile(N_("文件中没有学员记录。"))
    return sheet


def completion_date_problem(day: date, starts_on: date, ends_on: date) -> str | None:
    """Why a completion on *day* cannot be recorded for a course held from *starts_on*
    to *ends_on* (a message to translate), or None."""
    if not starts_on <= day <= ends_on:
        return N_("完成日期须在课程的起止日期之内。")
    return None
