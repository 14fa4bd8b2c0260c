"""CSV (UTF-8, Chinese headers as in the XLSX template); lossless for every item type."""

import csv
import io
from collections.abc import Iterator

from ..i18n import N_
from . import limits
from .limits import UnreadableFile
from .records import ItemRecord
from .table import HEADERS, read_table, record_to_row, table_records

# Single cells hold long case texts; the csv module's default limit is 128 KiB.
_FIELD_LIMIT = 1024 * 1024
# Spreadsheets run a cell starting with one of these as a formula (CSV injection).
# Export puts a ' in front (as Excel users do by hand); import takes exactly one off,
# so the round trip is exact, including for text that itself starts with '.
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")


def protect(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_TRIGGERS) else cell


def unprotect(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:2].startswith(_FORMULA_TRIGGERS) else cell


def read(data: bytes, *, max_items: int | None = None,
         caps: limits.Limits = limits.WEB) -> list[ItemRecord]:
    """Read every item in a CSV file; the first row holds the headers."""
    return read_table(iter(read_rows(data, caps=caps)), max_items)


def records(data: bytes, *, caps: limits.Limits = limits.WEB) -> Iterator[ItemRecord]:
    """What read() returns, one record at a time once the rows are read, with no limit
    on the number of items (the command line's import)."""
    return table_records(iter(read_rows(data, caps=caps)))


def decode(data: bytes, *, gb18030: bool = False) -> str:
    """The text of a CSV file: UTF-8, with or without a BOM; with *gb18030*, also the
    GB18030 (a superset of GBK) that Excel in China writes for a plain "CSV".

    UTF-8 is tried first: Chinese text in GBK or GB18030 is almost never valid UTF-8
    (its lead bytes are not followed by UTF-8 continuation bytes), so a file that
    decodes as UTF-8 is UTF-8, and one that does not is tried as GB18030."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if not gb18030:
            message = N_("文件不是 UTF-8 编码（请在 Excel 中另存为“CSV UTF-8”）。")
            raise UnreadableFile(message) from error
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as error:
        raise UnreadableFile(N_("文件既不是 UTF-8 也不是 GB18030（GBK）编码。")) from error


def read_rows(data: bytes, *, caps: limits.Limits = limits.WEB,
              gb18030: bool = False) -> list[list[str]]:
    """Every row of a CSV file as text cells (UTF-8, with or without a BOM, or with
    *gb18030* also GB18030/GBK), each cell with the formula guard that export puts in
    front taken off."""
    text = decode(data, gb18030=gb18030)
    csv.field_size_limit(_FIELD_LIMIT)
    rows = csv.reader(io.StringIO(text, newline=""))
    # A blank line costs a list of its own: 8 MB of them would take over 400 MB.
    extent, read = limits.SheetExtent(caps), []
    try:
        for row in rows:  # a record, not a line: a cell may hold many lines
            extent.add_row(len(row))
            read.append([unprotect(cell) for cell in row])
        return read
    except csv.Error as error:
        raise UnreadableFile(N_("CSV 格式错误（第 %(n)d 行）。"), n=rows.line_num) from error


def write(items) -> bytes:
    """Write (external_id, content) pairs as CSV with a BOM, so Excel opens it as UTF-8."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    for external_id, content in items:
        writer.writerow([protect(cell) for cell in record_to_row(external_id, content)])
    return ("\ufeff" + buffer.getvalue()).encode()
