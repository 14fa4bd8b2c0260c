"""XLSX (the template trainers fill in Excel); lossless for every item type.

An upload is read in two steps. Every part is first inflated and checked under the caps
(limits.py): its bytes, XML elements and depth, and each sheet's rows × columns as its
cells go by, with formulas and DTDs refused. calamine then reads a fresh archive of
only the XML parts so checked, with honest headers: nothing it reads was not counted.
"""

import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime

import openpyxl
import python_calamine
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.styles import Alignment, Font

from ..i18n import N_
from . import limits
from .limits import UnreadableFile
from .records import ItemRecord
from .table import HEADERS, read_table, record_to_row, table_records

SHEET_TITLE = "题目"
_INVALID = N_("不是有效的 XLSX 文件。")
_XML_PARTS = (".xml", ".rels")
# Larger references than any sheet can hold: such a cell is over every cap.
_FAR = 10**9


def read(data: bytes, *, max_items: int | None = None,
         caps: limits.Limits = limits.WEB) -> list[ItemRecord]:
    """Read every item on the first sheet; the first row holds the headers."""
    return read_table(iter(read_rows(data, caps=caps)), max_items)


def records(data: bytes, *, caps: limits.Limits = limits.WEB) -> Iterator[ItemRecord]:
    """What read() returns, one record at a time once the rows are read, with no limit
    on the number of items (the command line's import)."""
    return table_records(iter(read_rows(data, caps=caps)))


def read_rows(data: bytes, *, caps: limits.Limits = limits.WEB) -> list[list[str]]:
    """Every row of the first sheet as text cells, after refusing hostile files."""
    checked = _checked_parts(data, caps)
    try:
        # calamine (Rust) reads 100,000 rows in about two seconds; openpyxl needs
        # over twenty, most of it building a rich-text object for every cell.
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(checked))
        return [[_text(cell) for cell in row]
                for row in book.get_sheet_by_index(0).iter_rows()]
    except Exception as error:  # noqa: BLE001 - the reader raises many kinds for a bad file
        raise UnreadableFile(_INVALID) from error


def _checked_parts(data: bytes, caps: limits.Limits) -> bytes:
    """Check every part of the workbook; return a new archive of its XML parts."""
    with limits.Package(data, caps, _INVALID) as package:
        names = set()
        for info in package.infolist():
            if info.filename in names:
                raise UnreadableFile(_INVALID)  # which of the two would a reader take?
            names.add(info.filename)
            if info.filename.lower().endswith(_XML_PARTS):
                check = limits.XmlCheck(caps, info.filename,
                                        _part_handlers(caps, info.filename))
                try:
                    for chunk in package.chunks(info):
                        check.feed(chunk)
                    check.close()
                except limits.MalformedXml as error:
                    raise UnreadableFile(_INVALID) from error
            else:
                for _chunk in package.chunks(info):
                    pass  # images and the like: only their size counts
    # Read again from the start: every member is now known to be what its header says.
    # The copy is deflated (fastest level): calamine holds the whole archive in memory,
    # and a 600,000-row sheet is 97 MB unpacked, 9 MB so.
    out = io.BytesIO()
    with limits.Package(data, caps, _INVALID) as package, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as copy:
        for info in package.infolist():
            if info.filename.lower().endswith(_XML_PARTS):
                with copy.open(info.filename, "w") as part:
                    for chunk in package.chunks(info):
                        part.write(chunk)
    return out.getvalue()


def _part_handlers(caps: limits.Limits, part: str):
    """Element handlers that keep the caps of any XML part, and of a worksheet its
    cells and formulas too.

    A cell's own content (value, formula, inline text) is left to the cap on cells; the
    cell itself still counts as an element. Cells are placed as readers place them, and
    readers lay out the full grid: the cap is on rows × columns, so two cells at A1 and
    XFD1048576 are 17 billion. A cell goes where its reference says (r="B7"), or,
    without one, right of the cell before, in the row of <row r="7"> or after the last.
    A 600,000-row sheet passes through here millions of times: local counts only."""
    elements = depth = row = column = rows = columns = cells = 0
    in_cell = False
    most, deepest, grid = caps.xml_elements, caps.xml_depth, caps.sheet_cells

    def start(name, attrs):
        nonlocal elements, depth, row, column, rows, columns, cells, in_cell
        depth += 1
        if depth > deepest:
            raise limits.too_deep(caps, part)
        if in_cell:
            if name == "f" or name[-2:] == ":f":
                raise UnreadableFile(N_("第 %(n)d 行含有公式；请只填写文本。"), n=row)
            return
        elements += 1
        if elements > most:
            raise limits.too_many_elements(caps, part)
        if name == "c" or name[-2:] == ":c":
            place = _place(attrs.get("r", ""))
            if place is None:
                column += 1
            else:
                row, column = place
            cells += 1
            if row > rows:
                rows = row
            if column > columns:
                columns = column
            if rows * columns > grid or cells > grid:
                raise limits.too_many_cells(caps, part)
            in_cell = True
        elif name == "row" or name[-4:] == ":row":
            number = attrs.get("r", "")
            row = _number(number) if number else row + 1
            column = 0

    def end(name):
        nonlocal depth, in_cell
        depth -= 1
        if name == "c" or name[-2:] == ":c":
            in_cell = False

    return start, end


def _number(text: str) -> int:
    return int(text) if text.isdigit() and len(text) <= 9 else _FAR


_COLUMNS: dict[str, int] = {}


def _place(reference: str) -> tuple[int, int] | None:
    """(row, column) of a reference such as "AB12", or None when it is not one."""
    letters = reference.rstrip("0123456789")
    digits = reference[len(letters):]
    column = _COLUMNS.get(letters)
    if column is None:
        if not letters or not letters.isascii() or not letters.isalpha():
            return None
        column = _FAR
        if len(letters) <= 4:
            column = 0
            for letter in letters.upper():
                column = column * 26 + ord(letter) - 64
            if len(_COLUMNS) < 20_000:  # every column of a sheet, and no more
                _COLUMNS[letters] = column
    if not digits:
        return None
    return _number(digits), column


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
    return write_table(HEADERS, (record_to_row(external_id, content)
                                 for external_id, content in items))


def write_table(headers, rows) -> bytes:
    """Write a header row and rows of text cells to a workbook with one sheet."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLE
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        # Empty cells stay absent: readers skip them instead of parsing empty strings.
        sheet.append([cell or None for cell in row])
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
