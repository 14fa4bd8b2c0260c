"""A payment provider's statement of exam fees (缴费明细): one row per payment, read
from the rows of a CSV file and checked cell by cell before anything is stored.

Columns: the admission number, the amount in yuan (at most two decimals), the time of
payment (ISO 8601 or "YYYY-MM-DD HH:MM:SS", Beijing time when no offset is given) and
the provider's reference (交易流水号), unique per payment."""

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from .formats.limits import UnreadableFile
from .i18n import N_
from .items import Problem
from .sheets import beijing_time, is_blank, read_header

# The column names, shown in the preview's errors (so marked for translation).
ADMISSION_NUMBER, AMOUNT = N_("准考证号"), N_("金额")
PAID_AT, REFERENCE = N_("缴费时间"), N_("交易流水号")
HEADERS = (ADMISSION_NUMBER, AMOUNT, PAID_AT, REFERENCE)
NAMES = {
    ADMISSION_NUMBER: ADMISSION_NUMBER, "admission number": ADMISSION_NUMBER,
    AMOUNT: AMOUNT, "金额（元）": AMOUNT, "缴费金额": AMOUNT, "amount": AMOUNT,
    PAID_AT: PAID_AT, "支付时间": PAID_AT, "交易时间": PAID_AT, "time": PAID_AT,
    "paid at": PAID_AT,
    REFERENCE: REFERENCE, "流水号": REFERENCE, "交易单号": REFERENCE, "订单号": REFERENCE,
    "reference": REFERENCE,
}
MAX_ROWS = 600_000
MAX_REFERENCE = 64
# Fees are tens of yuan a subject; an amount of a million yuan is a misplaced column.
_AMOUNT = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,2})?")
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-./:]*")


@dataclass
class PaymentRow:
    """One row of the statement; *problems* empty means it reads well (the portal then
    checks it against the registrations and the payments recorded)."""

    number: int  # as a spreadsheet shows it: the headers are row 1
    admission_number: str
    amount_fen: int | None
    paid_at: datetime | None  # UTC
    reference: str
    problems: list[Problem] = field(default_factory=list)


def amount_fen(text: str) -> int | None:
    """Yuan written as a plain decimal with at most two decimals, in fen; None if not."""
    text = text.strip().removeprefix("¥").removeprefix("￥")
    return int(Decimal(text) * 100) if _AMOUNT.fullmatch(text) else None


def reference_problem(reference: str) -> Problem | None:
    """Why a provider's reference cannot be stored as one, or None."""
    if not reference:
        return Problem(REFERENCE, N_("缺少交易流水号。"))
    if re.fullmatch(r"[0-9.]+E\+[0-9]+", reference.upper()):
        return Problem(REFERENCE, N_("交易流水号被表格软件改成了数字（如 4.2E+17）："
                                     "请把该列设为文本后重新导出。"))
    if len(reference) > MAX_REFERENCE or not _REFERENCE.fullmatch(reference):
        return Problem(REFERENCE, N_("交易流水号只能由字母、数字和 - _ . / : 组成，"
                                     "最多 %(n)d 个字符。"), {"n": MAX_REFERENCE})
    return None


def read_sheet(rows: list[list[str]]) -> list[PaymentRow]:
    """Read the header row and the payment rows; refuse the whole file only when it
    has no usable header row, is empty, or is too long."""
    columns = read_header(rows, names=NAMES, required=HEADERS, max_rows=MAX_ROWS)
    sheet, seen = [], {}
    for number, cells in enumerate(rows[1:], 2):
        if is_blank(cells):
            continue
        amount_text = columns.cell(cells, AMOUNT)
        time_text = columns.cell(cells, PAID_AT)
        # A leading ' is how spreadsheet users keep a long number as text.
        row = PaymentRow(number, columns.cell(cells, ADMISSION_NUMBER).removeprefix("'"),
                         amount_fen(amount_text), beijing_time(time_text),
                         columns.cell(cells, REFERENCE).removeprefix("'"))
        if not row.admission_number:
            row.problems.append(Problem(ADMISSION_NUMBER, N_("缺少准考证号。")))
        if row.amount_fen is None:
            row.problems.append(Problem(
                AMOUNT, N_("金额应为以元为单位的数字，最多两位小数：%(text)s。"),
                {"text": amount_text[:20]}))
        elif row.amount_fen <= 0:
            row.problems.append(Problem(AMOUNT, N_("金额应大于 0。")))
        if row.paid_at is None:
            row.problems.append(Problem(PAID_AT, N_("缴费时间应为“YYYY-MM-DD HH:MM:SS”（北京时间）"
                                                    "或 ISO 8601 格式：%(text)s。"),
                                        {"text": time_text[:40]}))
        problem = reference_problem(row.reference)
        if problem:
            row.problems.append(problem)
        elif row.reference in seen:
            row.problems.append(Problem(REFERENCE, N_("交易流水号与第 %(n)d 行重复。"),
                                        {"n": seen[row.reference]}))
        else:
            seen[row.reference] = number
        sheet.append(row)
    if not sheet:
        raise UnreadableFile(N_("文件中没有缴费记录。"))
    return sheet
