"""The tabular layout shared by CSV and XLSX: one row per item, Chinese headers.

A list cell (syllabus links, tags) holds one value per line. A tag may itself hold a line
break or a backslash: there it is written \\n (\\r) and \\\\, and read back, so the
cell's lines stay the tags. (A backslash before anything else reads as it is.)
"""

import json
import re
from collections.abc import Iterator

from ..i18n import N_
from ..items import Problem
from .limits import UnreadableFile
from .records import ItemRecord, from_record, to_record

# (header, record field); option columns and law columns are flattened.
COLUMNS = (
    ("外部编号", "external_id"),
    ("科目", "subject"),
    ("题型", "type"),
    ("题干", "stem"),
    ("选项A", "option.A"),
    ("选项B", "option.B"),
    ("选项C", "option.C"),
    ("选项D", "option.D"),
    ("选项E", "option.E"),
    ("答案", "keys"),
    ("固定选项顺序", "fixed_order"),
    ("解析", "explanation"),
    ("难度", "difficulty"),
    ("大纲知识点", "syllabus"),
    ("来源", "source"),
    ("标签", "tags"),
    ("法规名称", "law.statute"),
    ("条款", "law.article"),
    ("生效日期", "law.valid_from"),
    ("失效日期", "law.valid_to"),
    ("分值", "points"),
    ("小题（JSON）", "sub_questions"),
    ("答题要点（JSON）", "key_points"),
)
HEADERS = tuple(header for header, _ in COLUMNS)
_FIELD_BY_HEADER = {header: name for header, name in COLUMNS} | {name: name for _, name in COLUMNS}
_TRUE = {"是", "true", "TRUE", "True", "1", "y", "yes"}
_FALSE = {"否", "false", "FALSE", "False", "0", "n", "no", ""}


def record_to_row(external_id, content) -> list[str]:
    """Flatten one item into cells, in the order of HEADERS."""
    return fields_to_row(to_record(external_id, content))


def fields_to_row(record: dict) -> list[str]:
    """Flatten a record, complete or not (a question that was not imported), into cells."""
    options = record.get("options") or []
    law = record.get("law") or {}
    difficulty = record.get("difficulty")
    cells = {
        "external_id": record.get("external_id") or "",
        "subject": record.get("subject") or "",
        "type": record.get("type") or "",
        "stem": record.get("stem") or "",
        "keys": "".join(record.get("keys") or []),
        "fixed_order": "是" if record.get("fixed_order") else "",
        "explanation": record.get("explanation") or "",
        "difficulty": "" if difficulty is None else str(difficulty),
        "syllabus": "\n".join(record.get("syllabus") or []),
        "source": record.get("source") or "",
        "tags": "\n".join(map(_escape_line, record.get("tags") or [])),
        "points": "" if record.get("points") is None else str(record["points"]),
        "sub_questions": _json_cell(record.get("sub_questions")),
        "key_points": _json_cell(record.get("key_points")),
    }
    for index, letter in enumerate("ABCDE"):
        cells[f"option.{letter}"] = options[index] if index < len(options) else ""
    for part in ("statute", "article", "valid_from", "valid_to"):
        cells[f"law.{part}"] = law.get(part) or ""
    return [cells[name] for _, name in COLUMNS]


def _json_cell(value) -> str:
    return json.dumps(value, ensure_ascii=False) if value else ""


def header_problems(headers: list[str]) -> list[str]:
    """Return the required headers that are missing."""
    known = {_FIELD_BY_HEADER.get(header.strip()) for header in headers if header}
    required = ("subject", "type", "stem", "explanation", "difficulty", "syllabus")
    return [HEADERS[[name for _, name in COLUMNS].index(field)]
            for field in required if field not in known]


def row_to_record(headers: list[str], cells: list[str], location: int) -> ItemRecord:
    """Read one row (cells as text) into an item record."""
    values: dict[str, str] = {}
    for header, cell in zip(headers, cells, strict=False):
        name = _FIELD_BY_HEADER.get((header or "").strip())
        if name is not None:
            values[name] = cell if cell is not None else ""
    problems: list[Problem] = []
    record: dict = {
        name: values[name]
        for name in ("external_id", "subject", "type", "stem", "explanation", "source")
        if name in values
    }
    record["subject"] = record.get("subject", "").strip()
    record["type"] = record.get("type", "").strip()
    options = [values.get(f"option.{letter}", "") for letter in "ABCDE"]
    while options and not options[-1].strip():
        options.pop()
    if options:
        record["options"] = options
    keys = values.get("keys", "").replace(",", "").replace("，", "").replace(" ", "")
    if keys:
        record["keys"] = list(keys.upper())
    flag = values.get("fixed_order", "").strip()
    if flag in _TRUE:
        record["fixed_order"] = True
    elif flag not in _FALSE:
        problems.append(Problem("fixed_order", N_("应填“是”或留空。")))
    record["difficulty"] = values.get("difficulty", "").strip()
    record["syllabus"] = _lines(values.get("syllabus", ""))
    record["tags"] = [_unescape_line(tag) for tag in _lines(values.get("tags", ""))]
    if values.get("points", "").strip():
        record["points"] = values["points"].strip()
    if any(values.get(f"law.{part}", "").strip() for part in ("statute", "article", "valid_from")):
        record["law"] = {part: values.get(f"law.{part}", "").strip()
                         for part in ("statute", "article", "valid_from", "valid_to")}
    for name in ("sub_questions", "key_points"):
        cell = values.get(name, "").strip()
        if cell:
            try:
                record[name] = json.loads(cell)
            except (ValueError, RecursionError):
                problems.append(Problem(name, N_("不是有效的 JSON。")))
    parsed = from_record(record, location)
    if problems:
        return ItemRecord(location, parsed.external_id, None, tuple(problems) + parsed.problems,
                          fields=record)
    return parsed


def read_table(rows, max_items: int | None) -> list[ItemRecord]:
    """Read a header row and item rows (lists of text cells) into item records.

    Rows are numbered as a spreadsheet shows them: the headers are row 1.
    """
    records = []
    for record in table_records(rows):
        if max_items is not None and len(records) >= max_items:
            raise UnreadableFile(N_("文件中的题目超过 %(n)d 道，请用命令行导入。"), n=max_items)
        records.append(record)
    return records


def table_records(rows) -> Iterator[ItemRecord]:
    """read_table's records one at a time, with no limit on their number."""
    headers = next(rows, None)
    if not headers or not any(header.strip() for header in headers):
        raise UnreadableFile(N_("文件是空的。"))
    missing = header_problems(headers)
    if missing:
        raise UnreadableFile(N_("缺少列：%(columns)s。"), columns="、".join(missing))
    for number, row in enumerate(rows, 2):
        if any(cell.strip() for cell in row):
            yield row_to_record(headers, row, number)


def _lines(cell: str) -> list[str]:
    return [line.strip() for line in cell.replace("\r", "\n").split("\n") if line.strip()]


def _escape_line(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def _unescape_line(value: str) -> str:
    return re.sub(r"\\([\\nr])",
                  lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), value)
