"""What the administrators' CSV sheets of payments and seats share: a header row matched
against the columns' names (and the names payment providers and spreadsheets commonly
give them), cells read by column, and times written in Beijing time."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from .formats.limits import UnreadableFile
from .i18n import N_

BEIJING = ZoneInfo("Asia/Shanghai")


def _key(name: str) -> str:
    return re.sub(r"[\s_（）()]", "", name.replace("\ufeff", "")).casefold()


@dataclass(frozen=True)
class Columns:
    """Where each known column is in the sheet (by its canonical header)."""

    index: dict[str, int]

    def cell(self, cells: list[str], header: str) -> str:
        at = self.index.get(header)
        return cells[at].strip() if at is not None and at < len(cells) else ""


def read_header(rows: list[list[str]], *, names: dict[str, str],
                required: tuple[str, ...], max_rows: int) -> Columns:
    """Match the first row against *names* (a column's name or alias → its canonical
    header; case, spaces, underscores and brackets do not matter); refuse the whole
    sheet when it is empty, lacks a required column or is too long."""
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise UnreadableFile(N_("文件是空的。"))
    known = {_key(name): header for name, header in names.items()}
    index: dict[str, int] = {}
    for at, cell in enumerate(rows[0]):
        header = known.get(_key(cell))
        if header is not None:
            index.setdefault(header, at)
    missing = [header for header in required if header not in index]
    if missing:
        raise UnreadableFile(N_("缺少列：%(columns)s。"), columns="、".join(missing))
    if len(rows) - 1 > max_rows:
        raise UnreadableFile(N_("文件超过 %(n)d 行。"), n=max_rows)
    return Columns(index)


def is_blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
                  r"(?:Z|[+-]\d{2}:?\d{2})?")
# Excel, saving a CSV in China, rewrites 2026-03-10 09:05:00 as 2026/3/10 9:05.
_SPREADSHEET = re.compile(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2}) +(\d{1,2}):(\d{2})(?::(\d{2}))?")


def beijing_time(text: str) -> datetime | None:
    """A moment written as ISO 8601 (with or without an offset) or as
    "YYYY-MM-DD HH:MM:SS" (also with slashes and without seconds); without an offset
    it is Beijing time. Returned in UTC; None when it is not such a moment (a date
    alone is not: a payment's or a sitting's time of day matters)."""
    text = text.strip()
    try:
        if _ISO.fullmatch(text):
            moment = datetime.fromisoformat(text)
        elif match := _SPREADSHEET.fullmatch(text):
            year, month, day, hour, minute, second = match.groups()
            moment = datetime(int(year), int(month), int(day), int(hour), int(minute),
                              int(second or 0))
        else:
            return None
    except ValueError:  # 2026-02-30, 25:00
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    return moment.astimezone(UTC)
