"""A paper sitting's score sheet: one row per admission number and subject, read from
the rows of a CSV or XLSX file and checked cell by cell, before anything is stored."""

import dataclasses
import re
from dataclasses import dataclass, field
from decimal import Decimal

from .formats import limits
from .formats.limits import UnreadableFile
from .i18n import N_
from .items import Problem
from .subjects import Subject, subject_named

ADMISSION_NUMBER, SUBJECT, SCORE, NAME = "准考证号", "科目", "成绩", "姓名"
HEADERS = (ADMISSION_NUMBER, SUBJECT, SCORE, NAME)  # 姓名 is optional: checked when given
REQUIRED = (ADMISSION_NUMBER, SUBJECT, SCORE)
MAX_ROWS = 600_000
# A sheet of MAX_ROWS scores (the four columns and one more) is far larger than a file
# of items: an XLSX of it unpacks to about 130 MB, over 5 million XML elements.
LIMITS = dataclasses.replace(limits.WEB, member_bytes=256 * limits.MiB,
                             total_bytes=384 * limits.MiB, xml_elements=8_000_000,
                             sheet_cells=(MAX_ROWS + 1) * 5)


@dataclass
class ScoreRow:
    """One row of the sheet; *problems* empty means it reads well (the portal then
    checks it against the registrations)."""

    number: int  # as a spreadsheet shows it: the headers are row 1
    admission_number: str
    subject: Subject | None
    score: Decimal | None
    name: str
    problems: list[Problem] = field(default_factory=list)


# Plain decimal numbers only: Decimal() would also take "1e1", "7_0", "+60" or
# full-width digits, none of which a score sheet should hold.
_SCORE = re.compile(r"[0-9]{1,3}(?:\.[0-9]+)?")


def _score(text: str) -> Decimal | None:
    text = text.strip()
    return Decimal(text) if _SCORE.fullmatch(text) else None


def read_sheet(rows: list[list[str]]) -> list[ScoreRow]:
    """Read the header row and the score rows; refuse the whole file only when it has
    no usable header row, is empty, or is too long."""
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise UnreadableFile(N_("文件是空的。"))
    headers = [cell.strip() for cell in rows[0]]
    missing = [header for header in REQUIRED if header not in headers]
    if missing:
        raise UnreadableFile(N_("缺少列：%(columns)s。"), columns="、".join(missing))
    if len(rows) - 1 > MAX_ROWS:
        raise UnreadableFile(N_("文件超过 %(n)d 行。"), n=MAX_ROWS)
    column = {header: headers.index(header) for header in HEADERS if header in headers}
    sheet, seen = [], {}
    for number, cells in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in cells):
            continue

        def cell(header: str, cells=cells) -> str:
            index = column.get(header)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        # A leading ' is how spreadsheet users keep a long number as text.
        row = ScoreRow(number, cell(ADMISSION_NUMBER).removeprefix("'"),
                       subject_named(cell(SUBJECT)), _score(cell(SCORE)), cell(NAME))
        if not row.admission_number:
            row.problems.append(Problem(ADMISSION_NUMBER, N_("缺少准考证号。")))
        if row.subject is None:
            row.problems.append(Problem(SUBJECT, N_("未知的科目：%(text)s。"),
                                        {"text": cell(SUBJECT)[:40]}))
        if row.score is None:
            row.problems.append(Problem(SCORE, N_("成绩不是数字：%(text)s。"),
                                        {"text": cell(SCORE)[:20]}))
        key = (row.admission_number, row.subject)
        if row.admission_number and row.subject and key in seen:
            row.problems.append(Problem(SUBJECT, N_("与第 %(n)d 行重复。"), {"n": seen[key]}))
        seen.setdefault(key, number)
        sheet.append(row)
    if not sheet:
        raise UnreadableFile(N_("文件中没有成绩。"))
    return sheet
