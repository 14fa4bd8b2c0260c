"""The portal's notion of 'today': dates are entered and shown in Asia/Shanghai."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def today_local() -> date:
    """Return today's date in China."""
    return datetime.now(LOCAL_ZONE).date()


# One way to write a date and a time on every page, in every language: ISO 8601 order
# (GB/T 7408), 24-hour Beijing time, e.g. 2026-12-06 18:20. Never the locale's own
# short forms (2026/12/6, 12/6/26, 6:20 PM) beside it.
DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M"


def datetime_text(moment: datetime | None) -> str:
    """Show *moment* (UTC) in Beijing time as 2026-12-06 18:20; '' for None."""
    return moment.astimezone(LOCAL_ZONE).strftime(DATETIME_FORMAT) if moment else ""


def date_text(day: date | datetime | None) -> str:
    """Show a date (or the Beijing date of a moment) as 2026-12-06; '' for None."""
    if isinstance(day, datetime):
        day = day.astimezone(LOCAL_ZONE).date()
    return day.strftime(DATE_FORMAT) if day else ""


def from_local(local: datetime | None) -> datetime | None:
    """A Beijing time entered without a zone (a form's date and time), in UTC."""
    return local.replace(tzinfo=LOCAL_ZONE).astimezone(UTC) if local else None


def to_local(moment: datetime | None) -> datetime | None:
    """A moment as a form shows it: Beijing time, without a zone."""
    return moment.astimezone(LOCAL_ZONE).replace(tzinfo=None) if moment else None
