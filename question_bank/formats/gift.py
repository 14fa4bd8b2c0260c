"""GIFT (Moodle's plain-text format): this portal's SINGLE and MULTI items, and the
questions other systems write.

What this portal writes, and reads back without loss:

    $CATEGORY: $course$/top/COMP_JR

    // @extras {"difficulty": 3, "subject": "COMP_JR", "syllabus": ["COMP_JR.04"], ...}
    // [id:demo-1]
    ::demo-1::[plain]社会工作者在接案时首先应当（  ）。{
    =建立专业关系
    ~制订服务计划
    ...
    ####解析文字
    }

The text is marked [plain], so a stem that begins with // is never a comment line;
~ = # { } : and \\ are escaped and a line break is \\n. GIFT cannot keep spaces at the
start or end of a text, so a text that has them is also written whole on a
"// @verbatim {json}" line, used when the text read is the same but for those spaces.
MULTI keys share 100% and wrong options carry -100%.

What other systems write (Moodle 4.x exports, files written by hand), read as Moodle
reads it: blank lines separate questions; // lines are comments, and [id:...] and
[tag:...] in them give Moodle's idnumber and tags; "$CATEGORY: path" files the
questions after it (the path is kept for syllabus mapping, see foreign.py); ::title::
is a name, not an id (repeated names are common; the id is Moodle's [id:...] or
foreign.StableIds); [html], [moodle], [plain] and [markdown] say how a text is written:
HTML is converted (html_text.py), and so is unmarked text that holds HTML tags, as
Moodle's auto-format shows it; Markdown is kept as written, with a warning.
Answers: "=" right, "~" wrong, "~%50%" a weight, "#..." the answer's feedback (the
portal has no per-option feedback: dropped, with a warning), "####..." the general
feedback (the explanation). A question whose answers come before the end of its text
(the missing-word form) gets the blank "（  ）" where the answers were. True/false
({T}, {TRUE}, {F}, {FALSE}), essay ({}), description (no answers), numerical ({#...}),
matching ({=a -> b}) and short-answer ({=a =b}) questions are reported, one by one, as
unsupported types.

Encoding: UTF-8, with or without a BOM, and UTF-16 with a BOM, are recognised. Other
files (Notepad on Chinese Windows writes GB18030/GBK, on Western Windows
Windows-1252) cannot be told apart with certainty, so read() takes the encoding the
trainer chooses (ENCODINGS) and otherwise refuses the file with a message that asks for
it. guess_encoding() proposes one, to preselect the choice: encoding="auto" reads with
its proposal.
"""

import codecs
import json
import re
from collections.abc import Iterator

from ..i18n import N_
from ..items import LETTERS, Problem
from . import csv_format, extras, limits
from .foreign import (
    FileDefaults,
    Parsed,
    StableIds,
    category_path,
    dropped_feedback,
    dropped_links,
    finish,
    keys_from_weights,
    markdown_kept,
    parse_weight,
    unshowable,
    unsupported_type,
)
from .html_text import Converted, html_to_text, plain_text
from .limits import UnreadableFile
from .records import ItemRecord, Place, to_record

_SPECIAL = "\\~=#{}:"
_EXTRAS = "// @extras "
_VERBATIM = "// @verbatim "
_FIXED = "// @fixed_order"
BLANK = "（  ）"
# The encodings a trainer may choose for a file that is not UTF-8 (codec name: label).
ENCODINGS = {"utf-8": "UTF-8", "gb18030": "GB18030 (GBK)", "cp1252": "Windows-1252"}
_MARKER = re.compile(r"\s*\[(html|moodle|plain|markdown)\]", re.IGNORECASE)
# Detects (never strips) HTML in unmarked text, as Moodle's auto-format would show it.
_HTML_TAG = re.compile(r"</?(?:p|br|b|i|u|em|strong|span|div|ul|ol|li|img|table|sub|sup|a|font"
                       r"|h[1-6]|blockquote|pre|code)\b[^<>]*>", re.IGNORECASE)
_TRUE_FALSE = re.compile(r"(?:T|TRUE|F|FALSE)\s*(?:#.*)?", re.IGNORECASE | re.DOTALL)
_COMMENT_FIELD = re.compile(r"\[(id|tag):((?:\\.|[^\]\\])*)\]")


def escape(text: str) -> str:
    text = "".join(f"\\{ch}" if ch in _SPECIAL else ch for ch in text)
    return text.replace("\r\n", "\n").replace("\n", "\\n")


_GIFT_ESCAPE = re.compile(r"\\([\\~=#{}:n])")
# Stands for an escaped backslash while the other escapes are replaced (see _unescape).
_HELD_BACKSLASH = "\ue004"


def _unescape(text: str) -> str:
    # Only GIFT's own escapes: a backslash before anything else (TeX's \( ...) stays.
    # Pairs of backslashes first, then each escape by str.replace: the same left-to-right
    # reading as the pattern, without a Python call per escape (HTML text from Moodle
    # holds several in every answer: style="text-align\: left;").
    if "\\" not in text:
        return text
    if _HELD_BACKSLASH in text:
        return _GIFT_ESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), text)
    text = text.replace("\\\\", _HELD_BACKSLASH)
    for special in "~=#{}:":
        text = text.replace("\\" + special, special)
    return text.replace("\\n", "\n").replace(_HELD_BACKSLASH, "\\")


def write(items) -> tuple[bytes, list[tuple[str | None, Problem]]]:
    """Write the choice items; return the text and (external_id, problem) for refused ones."""
    blocks, refused, category = [], [], None
    for external_id, content in items:
        if not content.item_type.is_choice:
            refused.append((external_id, extras.unsupported(content.item_type.value)))
            continue
        if content.subject.value != category:
            category = content.subject.value
            blocks.append(f"$CATEGORY: $course$/top/{category}")
        lines = [_EXTRAS + extras.dump(to_record(external_id, content))]
        verbatim = _verbatim(content)
        if verbatim:
            lines.append(_VERBATIM + json.dumps(verbatim, ensure_ascii=False, sort_keys=True))
        if content.fixed_order:
            lines.append(_FIXED)
        if external_id and "\n" not in external_id:
            lines.append("// [id:" + external_id.replace("]", "\\]") + "]")
        title = f"::{escape(external_id)}::" if external_id else ""
        lines.append(f"{title}[plain]{escape(content.stem)}{{")
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


def _verbatim(content) -> dict:
    """The texts GIFT would lose spaces of (at their start or end), keyed by field."""
    found: dict = {}
    if content.stem != content.stem.strip():
        found["stem"] = content.stem
    if content.explanation != content.explanation.strip():
        found["explanation"] = content.explanation
    options = {letter: option for letter, option in zip(LETTERS, content.options, strict=False)
               if option != option.strip()}
    if options:
        found["options"] = options
    return found


def guess_encoding(data: bytes) -> str | None:
    """The likely encoding of a text file: "utf-16" or "utf-8" when it is one of them;
    "gb18030" when it reads as GB18030 and nearly all (90%) of its two-byte characters
    are GB2312's (the common Chinese characters: both bytes 0xA1–0xFE), which the
    accented letters and typographic quotes of Windows-1252 text seldom are;
    else "cp1252" when it reads as Windows-1252; else None."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for name in ("utf-8", "gb18030", "cp1252"):
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        if name != "gb18030":
            return name
        wide = [ch.encode("gb18030") for ch in text if ord(ch) > 0x7F]
        common = sum(1 for code in wide if len(code) == 2 and code[0] >= 0xA1 and code[1] >= 0xA1)
        if wide and common >= 0.9 * len(wide):
            return name
    return None


def decode(data: bytes, encoding: str | None = None) -> str:
    """The text of a GIFT file: UTF-8 (with or without a BOM) or UTF-16 with a BOM as
    they are; anything else only in the *encoding* the trainer chose (ENCODINGS), or,
    with "auto", the one guess_encoding() proposes."""
    if encoding == "auto":
        encoding = guess_encoding(data)
        if encoding in ("utf-16", None):
            encoding = None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise UnreadableFile(N_("文件不是有效的 UTF-16 文本。")) from error
    try:
        name = codecs.lookup(encoding).name if encoding else None
    except LookupError:
        name = "?"
    if encoding and name not in ENCODINGS:
        raise UnreadableFile(N_("不支持的编码：%(encoding)s。"), encoding=encoding[:40])
    if name == "gb18030":  # UTF-8 first, as every CSV sheet is read
        return csv_format.decode(data, gb18030=True)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if name in (None, "utf-8"):
            raise UnreadableFile(N_("文件不是 UTF-8 编码。请选择文件的编码（GB18030/GBK 或 "
                                    "Windows-1252）后重新上传，或把文件另存为 UTF-8。")) from error
    try:
        return data.decode(name)
    except UnicodeDecodeError as error:
        raise UnreadableFile(N_("文件不能按 %(encoding)s 编码读取，请确认文件的编码。"),
                             encoding=ENCODINGS[name]) from error


def read(data: bytes, *, max_items: int | None = None, caps: limits.Limits = limits.WEB,
         encoding: str | None = None,
         defaults: FileDefaults | None = None) -> list[ItemRecord]:
    """Read every question: the representable ones as items, the rest with the reason.

    GIFT is plain text that unpacks to nothing larger: the upload's own size bounds
    the work, so *caps* (taken like every reader's) holds nothing for it."""
    parsed = list(_questions(_text(data, encoding)))
    if not parsed:
        raise UnreadableFile(N_("文件是空的。"))
    if max_items is not None and len(parsed) > max_items:
        raise UnreadableFile(N_("文件中的题目超过 %(n)d 道，请用命令行导入。"), n=max_items)
    return [finish(question, defaults) for question in parsed]


def records(data: bytes, *, caps: limits.Limits = limits.WEB, encoding: str | None = None,
            defaults: FileDefaults | None = None) -> Iterator[ItemRecord]:
    """What read() returns, one record at a time as the file is read, with no limit on
    the number of questions (the command line's import); *caps* as in read()."""
    empty = True
    for question in _questions(_text(data, encoding)):
        empty = False
        yield finish(question, defaults)
    if empty:
        raise UnreadableFile(N_("文件是空的。"))


def _text(data: bytes, encoding: str | None) -> str:
    return decode(data, encoding).replace("\r\n", "\n").replace("\r", "\n")


def _blocks(text: str):
    """Each run of non-blank lines, as (line number, line) pairs."""
    block, start = [], 0
    for number, line in enumerate(text.split("\n"), 1):
        if line.strip():
            start = start or number
            block.append((number, line))
        elif block:
            yield block
            block, start = [], 0
    if block:
        yield block


def _questions(text: str):
    category: tuple[str, ...] = ()
    ids = StableIds("gift")
    number = 0
    for block in _blocks(text):
        comments = [line.strip() for _, line in block if line.strip().startswith("//")]
        body = [(n, line) for n, line in block if not line.strip().startswith("//")]
        if body and body[0][1].strip().startswith("$CATEGORY:"):
            category = category_path(body[0][1].strip()[len("$CATEGORY:"):])
            body = body[1:]
        if not body:
            continue
        number += 1
        question = Parsed(number, Place(line=body[0][0]), category=category,
                          original="\n".join(line for _, line in block))
        verbatim = _read_comments(question, comments)
        _read_question(question, "\n".join(line for _, line in body).strip(), ids)
        if question.native and not question.problems:
            _restore(question.fields, verbatim)
        yield question


def _read_comments(question: Parsed, comments: list[str]) -> dict:
    """Read this portal's extras and Moodle's [id:] and [tag:]; return the verbatim texts."""
    tags, verbatim = [], {}
    for comment in comments:
        if comment.startswith(_EXTRAS):
            values, trouble = extras.load(comment[len(_EXTRAS):])
            question.fields.update(values)
            question.problems += trouble
            question.native = True
        elif comment.startswith(_VERBATIM):
            try:
                verbatim = json.loads(comment[len(_VERBATIM):])
            except (ValueError, RecursionError):
                verbatim = {}
        elif comment == _FIXED:
            question.fields["fixed_order"] = True
        for kind, value in _COMMENT_FIELD.findall(comment):
            value = re.sub(r"\\(.)", r"\1", value).strip()
            if kind == "id" and value and "external_id" not in question.fields:
                question.fields["external_id"] = value
            elif kind == "tag" and value:
                tags.append(value)
    if tags and not question.native:
        question.fields["tags"] = tags
    return verbatim if isinstance(verbatim, dict) else {}


# Read left to right, a backslash takes the character after it. The searches below look
# in a copy of the text where every such pair is two NULs (the same length, so indexes
# carry over): an escaped character is never found, and str.find and the regular
# expression engine, not a Python loop, walk the text.
_ESCAPE_PAIR = re.compile(r"\\.", re.DOTALL)
_WEIGHT = re.compile(r"\s*%([^%]*)%")
_CHARACTER_SETS: dict[str, re.Pattern] = {}


def _unescaped(text: str) -> str:
    return _ESCAPE_PAIR.sub("\0\0", text) if "\\" in text else text


def _positions(masked: str, characters: str, start: int = 0) -> list[int]:
    """The index of every character in *characters* not escaped by a backslash, in a
    text masked by _unescaped() (masked once, searched several times)."""
    if characters not in _CHARACTER_SETS:
        _CHARACTER_SETS[characters] = re.compile(f"[{re.escape(characters)}]")
    return [match.start() for match in _CHARACTER_SETS[characters].finditer(masked, start)]


def _read_question(question: Parsed, text: str, ids: StableIds) -> None:
    fields = question.fields
    title, start, masked = "", 0, _unescaped(text)
    if text.startswith("::"):
        end = masked.find("::", 2)
        if end > 0:
            title, start = _unescape(text[2:end]).strip(), end + 2
    question.place = Place(line=question.place.line, name=title)
    opens = _positions(masked, "{", start)
    closes = _positions(masked, "}", start)
    if len(opens) > 1 or len(closes) > 1 or len(opens) != len(closes) or \
            (opens and closes[0] < opens[0]):
        question.problems.append(Problem("item", N_("不是可识别的 GIFT 题目（答案块 {…} "
                                                    "不完整或不止一个）。")))
        fields.setdefault("stem", _unescape(text[start:]).strip())
        return
    if not opens:
        before, answers, after = text[start:], None, ""
    else:
        before, answers, after = (text[start:opens[0]], text[opens[0] + 1:closes[0]],
                                  text[closes[0] + 1:])
        masked = masked[opens[0] + 1:closes[0]]  # the answers' from here on
    marker = _MARKER.match(before)
    style = marker.group(1).lower() if marker else None
    if marker:
        before = before[marker.end():]
    if question.native:
        style = "plain"
    stem_text = before + BLANK + after if after.strip() else before
    fields["stem"] = _convert(question, "stem", stem_text, style)
    if not question.native:
        fields["external_id"] = fields.get("external_id") or ids(question.category,
                                                                 title or fields["stem"])
    elif title:
        fields["external_id"] = title
    if answers is None:
        question.problems.append(unsupported_type("description"))
        fields["type"] = "description"
        return
    general = masked.find("####")
    if general >= 0:
        fields["explanation"] = _convert(question, "explanation", answers[general + 4:], style)
        answers, masked = answers[:general], masked[:general]
    kind = _kind(answers.strip())
    if kind != "multichoice":
        question.problems.append(unsupported_type(kind))
        fields["type"] = kind
        return
    _read_choices(question, answers, masked, style)


def _kind(answers: str) -> str:
    if not answers:
        return "essay"
    if answers.startswith("#"):
        return "numerical"
    if _TRUE_FALSE.fullmatch(answers):
        return "truefalse"
    masked = _unescaped(answers)
    if _positions(masked, "~"):
        return "multichoice"
    if answers.startswith("=") and masked.find("->") >= 0:
        return "matching"
    return "shortanswer"


def _read_choices(question: Parsed, answers: str, masked: str, style: str | None) -> None:
    """Read the answers; *masked* is *answers* masked by _unescaped()."""
    marks = _positions(masked, "=~")
    options, weights, feedback, single = [], [], 0, False
    for at, end in zip(marks, [*marks[1:], len(answers)], strict=True):
        mark, raw, raw_masked = answers[at], answers[at + 1:end], masked[at + 1:end]
        weight = 100.0 if mark == "=" else 0.0
        given = _WEIGHT.match(raw)
        if given:
            raw, raw_masked = raw[given.end():], raw_masked[given.end():]
            weight = parse_weight(given.group(1))
            if weight is None:
                question.problems.append(Problem("keys", N_("答案权重 %(weight)s 不是数字。"),
                                                 {"weight": given.group(1)[:20]}))
                weight = 0.0
        single = single or mark == "=" or weight >= 99.99
        hash_at = raw_masked.find("#")
        if hash_at >= 0:
            feedback += bool(_unescape(raw[hash_at + 1:]).strip())
            raw = raw[:hash_at]
        name = f"options.{LETTERS[len(options)] if len(options) < 5 else len(options) + 1}"
        marker = _MARKER.match(raw)
        options.append(_convert(question, name, raw[marker.end():] if marker else raw,
                                marker.group(1).lower() if marker else style))
        weights.append(weight)
    item_type, keys, problems, warnings = keys_from_weights(weights, single=single)
    question.fields.update({"type": item_type, "options": options, "keys": keys})
    question.problems += problems
    question.warnings += warnings
    if feedback:
        question.warnings.append(dropped_feedback(feedback))


def _convert(question: Parsed, name: str, raw: str, style: str | None) -> str:
    text = _unescape(raw)
    if question.native:
        return text.strip()
    if style == "html" or (style in (None, "moodle") and _HTML_TAG.search(text)):
        converted = html_to_text(text)
    else:
        converted = plain_text(text)
        if style == "markdown":
            markdown_kept(question)
    return _checked(question, name, converted)


def _checked(question: Parsed, name: str, converted: Converted) -> str:
    if converted.unshowable:
        question.problems.append(unshowable(name, converted.unshowable))
    if converted.dropped_links:
        question.warnings.append(dropped_links(name))
    return converted.text


def _restore(fields: dict, verbatim: dict) -> None:
    """Give back the spaces GIFT cannot hold, where the text is otherwise unchanged."""
    for name in ("stem", "explanation"):
        kept = verbatim.get(name)
        if isinstance(kept, str) and kept.strip() == fields.get(name):
            fields[name] = kept
    kept_options = verbatim.get("options")
    if isinstance(kept_options, dict):
        options = fields.get("options", [])
        for index, letter in enumerate(LETTERS[:len(options)]):
            kept = kept_options.get(letter)
            if isinstance(kept, str) and kept.strip() == options[index]:
                options[index] = kept
