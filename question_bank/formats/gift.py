"""GIFT (Moodle's plain-text format) for SINGLE and MULTI items.

    // @extras {"difficulty": 3, "subject": "COMP_JR", "syllabus": ["COMP_JR.04"], ...}
    ::demo-1::社会工作者在接案时首先应当（  ）。{
    =建立专业关系
    ~制订服务计划
    ...
    ####解析文字
    }

MULTI keys share 100% and wrong options carry -100%, as Moodle expects, so Moodle
marks them all-or-nothing-per-wrong-option as well. ~ = # { } : and \\ are escaped.
"""

import re

from ..i18n import N_
from ..items import LETTERS, Problem
from . import extras, limits
from .limits import UnreadableFile
from .records import ItemRecord, from_record, to_record

_SPECIAL = "\\~=#{}:"
_EXTRAS = "// @extras "


def escape(text: str) -> str:
    text = "".join(f"\\{ch}" if ch in _SPECIAL else ch for ch in text)
    return text.replace("\r\n", "\n").replace("\n", "\\n")


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text)


def write(items) -> tuple[bytes, list[tuple[str | None, Problem]]]:
    """Write the choice items; return the text and (external_id, problem) for refused ones."""
    blocks, refused = [], []
    for external_id, content in items:
        if not content.item_type.is_choice:
            refused.append((external_id, extras.unsupported(content.item_type.value)))
            continue
        record = to_record(external_id, content)
        lines = [_EXTRAS + extras.dump(record)]
        if content.fixed_order:
            lines.append("// @fixed_order")
        title = f"::{escape(external_id)}::" if external_id else ""
        lines.append(f"{title}{escape(content.stem)}{{")
        keys = set(content.keys)
        for letter, option in zip(LETTERS, content.options, strict=False):
            if content.item_type.value == "SINGLE":
                mark = "=" if letter in keys else "~"
            else:
                weight = _weight(len(keys)) if letter in keys else "-100"
                mark = f"~%{weight}%"
            lines.append(f"{mark}{escape(option)}")
        lines.append(f"####{escape(content.explanation)}")
        lines.append("}")
        blocks.append("\n".join(lines))
    return ("\n\n".join(blocks) + "\n").encode(), refused


def _weight(count: int) -> str:
    value = 100 / count
    return f"{value:.5f}".rstrip("0").rstrip(".")


_BLOCK_SPLIT = re.compile(r"\n\s*\n")


def read(data: bytes, *, max_items: int | None = None,
         caps: limits.Limits = limits.WEB) -> list[ItemRecord]:
    """Read every question; each blank-line-separated block is one question.

    GIFT is plain text that unpacks to nothing larger: the upload's own size bounds
    the work, so *caps* (taken like every reader's) holds nothing for it."""
    try:
        text = data.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as error:
        raise UnreadableFile(N_("文件不是 UTF-8 编码。")) from error
    blocks = [block for block in _BLOCK_SPLIT.split(text) if block.strip()]
    if not blocks:
        raise UnreadableFile(N_("文件是空的。"))
    if max_items is not None and len(blocks) > max_items:
        raise UnreadableFile(N_("文件中的题目超过 %(n)d 道，请用命令行导入。"), n=max_items)
    return [_read_block(block, number) for number, block in enumerate(blocks, 1)]


def _read_block(block: str, location: int) -> ItemRecord:
    record: dict = {}
    problems: list[Problem] = []
    body_lines = []
    for line in block.split("\n"):
        stripped = line.strip()
        if stripped.startswith(_EXTRAS):
            values, trouble = extras.load(stripped[len(_EXTRAS):])
            record.update(values)
            problems += trouble
        elif stripped == "// @fixed_order":
            record["fixed_order"] = True
        elif stripped.startswith("//") or stripped.startswith("$CATEGORY"):
            continue
        else:
            body_lines.append(line)
    body = "\n".join(body_lines).strip()
    match = re.fullmatch(r"(?s)(?:::((?:\\.|[^:\\])*)::)?((?:\\.|[^{\\])*)\{(.*)\}", body)
    if match is None:
        problems.append(Problem("item", N_("不是可识别的 GIFT 选择题。")))
        return ItemRecord(location, None, None, tuple(problems))
    title, stem, answers = match.groups()
    if title:
        record["external_id"] = _unescape(title).strip()
    record["stem"] = _unescape(stem).strip()
    answers, _, feedback = answers.partition("####")
    record["explanation"] = _unescape(feedback).strip()
    options, keys, weighted = [], [], False
    for mark, weight, option in re.findall(r"(?s)([=~])(?:%(-?[\d.]+)%)?((?:\\.|[^=~\\])*)",
                                           answers):
        options.append(_unescape(option).strip())
        if weight:
            weighted = True
            if float(weight) > 0:
                keys.append(LETTERS[len(options) - 1] if len(options) <= 5 else "?")
        elif mark == "=":
            keys.append(LETTERS[len(options) - 1] if len(options) <= 5 else "?")
    record["options"], record["keys"] = options, keys
    record["type"] = "MULTI" if weighted or len(keys) > 1 else "SINGLE"
    parsed = from_record(record, location)
    return ItemRecord(location, parsed.external_id, parsed.content,
                      tuple(problems) + parsed.problems) if problems else parsed
