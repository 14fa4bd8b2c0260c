"""A session's venues and seats (考点、考场、座位): one row per admission number, or
one per admission number and subject when a candidate's subjects are sat at different
venues, read from the rows of a CSV file and checked cell by cell.

Columns: the admission number, the venue's name and address, the room and the seat;
optionally the subject the row is for and that subject's start time there (ISO 8601 or
"YYYY-MM-DD HH:MM:SS", Beijing time)."""

from dataclasses import dataclass, field
from datetime import datetime

from .formats.limits import UnreadableFile
from .i18n import N_
from .items import Problem
from .sheets import beijing_time, is_blank, read_header
from .subjects import Subject, subject_named

# The column names, shown in the preview's errors (so marked for translation).
ADMISSION_NUMBER, VENUE, ADDRESS = N_("准考证号"), N_("考点名称"), N_("考点地址")
ROOM, SEAT, SUBJECT, STARTS_AT = N_("考场"), N_("座位号"), N_("科目"), N_("开考时间")
HEADERS = (ADMISSION_NUMBER, VENUE, ADDRESS, ROOM, SEAT, SUBJECT, STARTS_AT)
REQUIRED = (ADMISSION_NUMBER, VENUE, ADDRESS, ROOM, SEAT)
NAMES = {
    ADMISSION_NUMBER: ADMISSION_NUMBER, "admission number": ADMISSION_NUMBER,
    VENUE: VENUE, "考点": VENUE, "venue": VENUE, "venue name": VENUE,
    ADDRESS: ADDRESS, "地址": ADDRESS, "venue address": ADDRESS, "address": ADDRESS,
    ROOM: ROOM, "考场号": ROOM, "room": ROOM,
    SEAT: SEAT, "座号": SEAT, "seat": SEAT,
    SUBJECT: SUBJECT, "subject": SUBJECT,
    STARTS_AT: STARTS_AT, "考试时间": STARTS_AT, "start time": STARTS_AT, "starts at": STARTS_AT,
}
MAX_ROWS = 600_000
LENGTHS = {VENUE: 100, ADDRESS: 200, ROOM: 40, SEAT: 20}


@dataclass
class SeatRow:
    """One row of the sheet; *subject* None means every subject of the registration."""

    number: int  # as a spreadsheet shows it: the headers are row 1
    admission_number: str
    venue: str
    address: str
    room: str
    seat: str
    subject: Subject | None = None
    starts_at: datetime | None = None  # UTC
    problems: list[Problem] = field(default_factory=list)


def read_sheet(rows: list[list[str]]) -> list[SeatRow]:
    """Read the header row and the seat rows; refuse the whole file only when it has no
    usable header row, is empty, or is too long."""
    columns = read_header(rows, names=NAMES, required=REQUIRED, max_rows=MAX_ROWS)
    sheet: list[SeatRow] = []
    first_row: dict[tuple[str, Subject | None], int] = {}
    whole: dict[str, int] = {}  # admission number -> first row for all its subjects
    split: dict[str, int] = {}  # admission number -> first row for one subject
    for number, cells in enumerate(rows[1:], 2):
        if is_blank(cells):
            continue
        row = SeatRow(number, columns.cell(cells, ADMISSION_NUMBER).removeprefix("'"),
                      *(columns.cell(cells, header) for header in (VENUE, ADDRESS, ROOM, SEAT)))
        if not row.admission_number:
            row.problems.append(Problem(ADMISSION_NUMBER, N_("缺少准考证号。")))
        for header, text in ((VENUE, row.venue), (ADDRESS, row.address), (ROOM, row.room),
                             (SEAT, row.seat)):
            limit = LENGTHS[header]
            if not text:
                row.problems.append(Problem(header, N_("这一列不能为空。")))
            elif len(text) > limit:
                row.problems.append(Problem(header, N_("最多 %(n)d 个字。"), {"n": limit}))
        subject_text, time_text = columns.cell(cells, SUBJECT), columns.cell(cells, STARTS_AT)
        if subject_text:
            row.subject = subject_named(subject_text)
            if row.subject is None:
                row.problems.append(Problem(SUBJECT, N_("未知的科目：%(text)s。"),
                                            {"text": subject_text[:40]}))
        if time_text:
            if not subject_text:
                row.problems.append(Problem(
                    STARTS_AT, N_("开考时间只用于按科目安排的行，请同时填写科目。")))
            row.starts_at = beijing_time(time_text)
            if row.starts_at is None:
                row.problems.append(Problem(STARTS_AT, N_(
                    "开考时间应为“YYYY-MM-DD HH:MM:SS”（北京时间）或 ISO 8601 格式：%(text)s。"),
                    {"text": time_text[:40]}))
        key = (row.admission_number, row.subject)
        if row.admission_number and not subject_text:
            if row.admission_number in split:
                row.problems.append(Problem(SUBJECT, N_(
                    "第 %(n)d 行已按科目安排这个准考证号：每一行都要填写科目。"),
                    {"n": split[row.admission_number]}))
            whole.setdefault(row.admission_number, number)
        elif row.admission_number and row.subject is not None:
            if row.admission_number in whole:
                row.problems.append(Problem(SUBJECT, N_(
                    "第 %(n)d 行已为这个准考证号安排全部科目：不能再按科目安排。"),
                    {"n": whole[row.admission_number]}))
            split.setdefault(row.admission_number, number)
        if row.admission_number and key in first_row:
            row.problems.append(Problem(ADMISSION_NUMBER, N_("与第 %(n)d 行重复。"),
                                        {"n": first_row[key]}))
        first_row.setdefault(key, number)
        sheet.append(row)
    if not sheet:
        raise UnreadableFile(N_("文件中没有考场安排。"))
    return sheet
