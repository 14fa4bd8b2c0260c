"""The portal's notion of 'today': dates are entered and shown in Asia/Shanghai."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def today_local() -> date:
    """Return today's date in China."""
    return datetime.now(LOCAL_ZONE).date()
