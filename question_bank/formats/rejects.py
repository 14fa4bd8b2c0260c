"""The questions an import did not take, handed back as the portal's XLSX template.

Each row holds what was read of the question (in the template's columns, so a trainer
completes it in Excel), then where it was in the original file, why it was not imported
(one reason per line, with the field) and the question as the file had it. The import
reads the template's columns and ignores the three added ones, so the fixed file is
imported as it is.
"""

from ..i18n import N_
from . import xlsx_format
from .records import ItemRecord
from .table import HEADERS, fields_to_row

PLACE, REASONS, ORIGINAL = "原文件位置", "未导入原因", "原文"
EXTRA_HEADERS = (PLACE, REASONS, ORIGINAL)
# Excel holds at most 32,767 characters in a cell.
_CELL = 32_000


def rows(records, translate=lambda text: text) -> list[list[str]]:
    """The rows of the records that hold no item (content None), template columns first."""
    result = []
    for record in records:
        if record.content is not None:
            continue
        fields = dict(record.fields) if record.fields else {}
        fields.setdefault("external_id", record.external_id)
        reasons = "\n".join(f"{problem.field}: {problem.render(translate)}"
                            for problem in record.problems)
        result.append([*fields_to_row(fields), _place(record, translate), _cut(reasons),
                       _cut(record.original)])
    return result


def write(records, translate=lambda text: text) -> bytes:
    """Write the records that were not imported as an XLSX workbook to fix and re-import.

    *translate* renders the reasons (the portal passes its gettext)."""
    return xlsx_format.write_table((*HEADERS, *EXTRA_HEADERS), rows(records, translate))


def _place(record: ItemRecord, translate) -> str:
    if record.place is not None:
        return record.place.render(translate)
    return translate(N_("第 %(n)d 行")) % {"n": record.location}


def _cut(text: str) -> str:
    return text if len(text) <= _CELL else text[:_CELL] + "…"
