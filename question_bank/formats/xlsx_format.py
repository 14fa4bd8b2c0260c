"""XLSX (the template trainers fill in Excel); lossless for every item type."""

import io
import re
import zipfile
from datetime import date, datetime

import openpyxl
import python_calamine
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.styles import Alignment, Font

from ..i18n import N_
from .limits import MAX_UNCOMPRESSED_BYTES, UnreadableFile
from .records import ItemRecord
from .table import HEADERS, read_table, record_to_row

SHEET_TITLE = "题目"
# A formula is an <f> element in a worksheet part; text that merely says "<f>" is
# stored escaped (&lt;f&gt;), so these bytes cannot occur by accident.
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s/>]")
_CELL_ROW = re.compile(rb'<(?:\w+:)?c r="[A-Z]+(\d+)"')


def read(data: bytes, *, max_items: int | None = None) -> list[ItemRecord]:
    """Read every item on the first sheet; the first row holds the headers."""
    return read_table(iter(read_rows(data)), max_items)


def read_rows(data: bytes) -> list[list[str]]:
    """Every row of the first sheet as text cells, after refusing hostile files."""
    _refuse_hostile_parts(data)
    try:
        # calamine (Rust) reads 100,000 rows in about two seconds; openpyxl needs
        # over twenty, most of it building a rich-text object for every cell.
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        return [[_text(cell) for cell in row]
                for row in book.get_sheet_by_index(0).iter_rows()]
    except Exception as error:  # noqa: BLE001 - the reader raises many kinds for a bad file
        raise UnreadableFile(N_("不是有效的 XLSX 文件。")) from error


def _refuse_hostile_parts(data: bytes) -> None:
    """Refuse zip bombs, DTDs (entity tricks) and formula cells before parsing."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if sum(info.file_size for info in infos) > MAX_UNCOMPRESSED_BYTES:
                raise UnreadableFile(N_("文件解压后过大。"))
            for info in infos:
                if not info.filename.endswith((".xml", ".rels")):
                    continue
                part = archive.read(info)
                if b"<!DOCTYPE" in part or b"<!ENTITY" in part:
                    raise UnreadableFile(N_("不是有效的 XLSX 文件。"))
                formula = _FORMULA.search(part) if "worksheets/" in info.filename else None
                if formula:
                    rows = _CELL_ROW.findall(part, 0, formula.start())
                    raise UnreadableFile(N_("第 %(n)d 行含有公式；请只填写文本。"),
                                         n=int(rows[-1]) if rows else 0)
    except zipfile.BadZipFile as error:
        raise UnreadableFile(N_("不是有效的 XLSX 文件。")) from error


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write(items) -> bytes:
    """Write (external_id, content) pairs to a workbook with one sheet."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLE
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for external_id, content in items:
        # Empty cells stay absent: readers skip them instead of parsing empty strings.
        sheet.append([cell or None for cell in record_to_row(external_id, content)])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if cell.value is None:
                continue
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
