"""XLSX (the template trainers fill in Excel); lossless for every item type."""

import io
import zipfile

import openpyxl
from openpyxl.cell.cell import TYPE_FORMULA, TYPE_STRING
from openpyxl.styles import Alignment, Font

from ..i18n import N_
from .limits import MAX_UNCOMPRESSED_BYTES, UnreadableFile
from .records import ItemRecord
from .table import HEADERS, header_problems, record_to_row, row_to_record

SHEET_TITLE = "题目"


def read(data: bytes, *, max_items: int | None = None) -> list[ItemRecord]:
    """Read every item on the first sheet; the first row holds the headers."""
    _refuse_bombs(data)
    try:
        # openpyxl parses the XML with defusedxml (a dependency): entity tricks raise.
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as error:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise UnreadableFile(N_("不是有效的 XLSX 文件。")) from error
    try:
        return _read_rows(book.worksheets[0].iter_rows(), max_items)
    except UnreadableFile:
        raise
    except Exception as error:  # noqa: BLE001 - sheets are parsed lazily, while iterating
        raise UnreadableFile(N_("不是有效的 XLSX 文件。")) from error
    finally:
        book.close()


def _read_rows(rows, max_items: int | None) -> list[ItemRecord]:
    headers = [_text(cell) for cell in next(rows, ())]
    if not any(headers):
        raise UnreadableFile(N_("文件是空的。"))
    missing = header_problems(headers)
    if missing:
        raise UnreadableFile(N_("缺少列：%(columns)s。"), columns="、".join(missing))
    records = []
    for number, row in enumerate(rows, 2):
        if any(cell.data_type == TYPE_FORMULA for cell in row):
            raise UnreadableFile(N_("第 %(n)d 行含有公式；请只填写文本。"), n=number)
        cells = [_text(cell) for cell in row]
        if not any(cell.strip() for cell in cells):
            continue
        if max_items is not None and len(records) >= max_items:
            raise UnreadableFile(N_("文件中的题目超过 %(n)d 道，请用命令行导入。"), n=max_items)
        records.append(row_to_record(headers, cells, number))
    return records


def _refuse_bombs(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as error:
        raise UnreadableFile(N_("不是有效的 XLSX 文件。")) from error
    if total > MAX_UNCOMPRESSED_BYTES:
        raise UnreadableFile(N_("文件解压后过大。"))


def _text(cell) -> str:
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "date") and hasattr(value, "isoformat"):
        return value.date().isoformat() if hasattr(value, "hour") else value.isoformat()
    return str(value)


def write(items) -> bytes:
    """Write (external_id, content) pairs to a workbook with one sheet."""
    book = openpyxl.Workbook(write_only=False)
    sheet = book.active
    sheet.title = SHEET_TITLE
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for external_id, content in items:
        sheet.append(record_to_row(external_id, content))
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            # Text stays text: a stem such as "=1+1" must never become a formula.
            if isinstance(cell.value, str):
                cell.data_type = TYPE_STRING
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def template() -> bytes:
    """An empty workbook with the headers, for trainers to fill in."""
    return write([])
