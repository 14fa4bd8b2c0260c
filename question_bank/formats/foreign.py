"""Questions from other systems (GIFT, Moodle XML, QTI): what the readers share.

A reader turns each question of a file into a Parsed question: the record fields the
file gives, where the question is, why it cannot be represented (problems) or what was
read but not kept (warnings). finish() then makes the ItemRecord the portal plans with:

- Questions written by this portal (they carry its extras) are read as they are.
- Otherwise, with FileDefaults (the choice the trainer makes for the whole file), what
  the other system says is mapped first: a subject named in the category path, and
  syllabus nodes found by code or by title, through *find_node*, from the category path
  (the deepest segment that names a node) and from the question's tags or keywords
  (each that names one), looked for in the subject the file names, else in the default
  subject, else in any subject (a node's subject is then the item's). Then what is
  still missing is taken from the defaults: subject, difficulty, syllabus nodes, and
  an explanation placeholder (EXPLANATION_TO_WRITE). Each field so filled is listed
  in ItemRecord.defaulted: the item is a draft that needs completing.
- Without FileDefaults a record holds exactly what the file says, and a missing field is
  a problem (the portal's own round trips).

Ids: a question without an id of its own (Moodle's idnumber, GIFT's [id:...], this
portal's external id) gets one from StableIds: a digest of its category path and its
name (for QTI, of the package's and the item's identifiers), so importing the file
again, even edited, updates the same items instead of adding copies. A name that
repeats in a category is told apart by its ordinal (the second "Q1" of a category is
"...-2"); a question without a name is named by its text.
"""

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from ..i18n import N_
from ..items import LETTERS, ItemType, Problem
from ..subjects import Subject, subject_named
from ..syllabus import Syllabus, SyllabusNode
from .records import ItemRecord, Place, from_record

EXPLANATION_TO_WRITE = "解析待补充。"
DEFAULTABLE = ("subject", "difficulty", "syllabus", "explanation")
# Whatever a node is named by (a code, a title, a category segment), and the subject
# already known for the question (or None): the node, or None when none or several fit.
NodeFinder = Callable[[str, Subject | None], SyllabusNode | None]


@dataclass(frozen=True)
class FileDefaults:
    """What the trainer chose for a whole file from another system."""

    subject: Subject | None = None
    difficulty: int | None = None
    syllabus: tuple[str, ...] = ()
    explanation: str = EXPLANATION_TO_WRITE
    find_node: NodeFinder | None = None


@dataclass
class Parsed:
    """One question as a reader found it, before the file's defaults."""

    location: int
    place: Place
    fields: dict = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    category: tuple[str, ...] = ()
    native: bool = False  # written by this portal: read as it is
    original: str = ""


def unsupported_type(kind: str) -> Problem:
    return Problem("type", N_("不支持的题型：%(type)s（只能导入单选题和多选题）。"),
                   {"type": kind[:40]})


def unshowable(name: str, kinds) -> Problem:
    return Problem(name, N_("含有题库不能显示的内容：%(kinds)s。"),
                   {"kinds": "、".join(kinds)})


def dropped_feedback(count: int) -> Problem:
    return Problem("options", N_("%(n)d 条选项反馈未导入（题库没有选项反馈，请并入解析）。"),
                   {"n": count})


def dropped_links(name: str) -> Problem:
    return Problem(name, N_("链接只保留了文字，未保留链接地址。"))


def markdown_kept(question: "Parsed") -> None:
    """Warn, once per question, that Markdown text was taken as it is written."""
    if not any(warning.field == "markdown" for warning in question.warnings):
        question.warnings.append(Problem("markdown", N_("Markdown 格式按原文导入，"
                                                        "标记符号未转换。")))


def finish(parsed: Parsed, defaults: FileDefaults | None) -> ItemRecord:
    """Make the record of one parsed question, with the file's defaults when given."""
    fields = dict(parsed.fields)
    defaulted: list[str] = []
    if defaults is not None and not parsed.native:
        _map_and_default(fields, parsed.category, defaults, defaulted)
    external_id = fields.get("external_id") or None
    common = {"place": parsed.place, "defaulted": tuple(defaulted),
              "warnings": tuple(parsed.warnings), "category": parsed.category,
              "original": parsed.original, "fields": fields}
    if parsed.problems:
        return ItemRecord(parsed.location, external_id, None, tuple(parsed.problems), **common)
    record = from_record(fields, parsed.location)
    return ItemRecord(parsed.location, record.external_id, record.content, record.problems,
                      **common)


def _map_and_default(fields: dict, category, defaults: FileDefaults, defaulted) -> None:
    subject = Subject(fields["subject"]) if fields.get("subject") in Subject.__members__ \
        else None
    if subject is None:
        subject = next((found for found in map(subject_named, category) if found), None)
    if not fields.get("syllabus") and defaults.find_node is not None:
        tags = fields.get("tags") or ()
        # The trainer's subject first; a node the file names in another subject only
        # when the file does not name its subject itself.
        nodes = _nodes(category, tags, subject or defaults.subject, defaults.find_node)
        if not nodes and subject is None and defaults.subject is not None:
            nodes = _nodes(category, tags, None, defaults.find_node)
        if nodes:
            fields["syllabus"] = [node.code for node in nodes]
            subject = subject or nodes[0].subject
    if subject is not None and not fields.get("subject"):
        fields["subject"] = subject.value
    for name in DEFAULTABLE:
        if fields.get(name) not in (None, "", []):
            continue
        value = {"subject": defaults.subject and defaults.subject.value,
                 "difficulty": defaults.difficulty,
                 "syllabus": list(defaults.syllabus),
                 "explanation": defaults.explanation}[name]
        if value not in (None, "", []):
            fields[name] = value
            defaulted.append(name)


def _nodes(category, tags, subject, find_node) -> list[SyllabusNode]:
    """The nodes a question's category (deepest segment first) and tags name."""
    found = []
    for segment in reversed(category):
        node = find_node(segment, subject)
        if node is not None:
            found.append(node)
            break
    for tag in tags:
        node = find_node(tag, subject or (found[0].subject if found else None))
        if node is not None:
            found.append(node)
    first = found[0].subject if found else None
    unique = {node.code: node for node in found if node.subject is first}
    return list(unique.values())


def category_path(path: str) -> tuple[str, ...]:
    """A Moodle category path as its names: the context ($course$, $system$, ...) and
    "top" left out; "//" in a name is a slash."""
    names = [name.replace("\0", "/").strip()
             for name in path.strip().replace("//", "\0").split("/")]
    names = [name for name in names if name]
    if names and names[0].startswith("$") and names[0].endswith("$"):
        names = names[1:]
    if names and names[0] == "top":
        names = names[1:]
    return tuple(names)


_CODE = re.compile(r"[A-Za-z_]+(?:\.\d+)+")
# Numbering trainers put before a title: 第四章 / 第1节 / 4. / 4.1 / 一、 / （一） / 1）
_NUMBERING = re.compile(
    r"^(?:第[0-9一二三四五六七八九十百]+[章节篇部分单元]|[0-9]+(?:\.[0-9]+)*[.、)）]?"
    r"|[一二三四五六七八九十]+[、.]|[（(][0-9一二三四五六七八九十]+[)）])\s*")


def _key(title: str) -> str:
    title = unicodedata.normalize("NFKC", title).strip()
    title = _NUMBERING.sub("", title)
    return re.sub(r"[\s\W_]+", "", title).casefold()


def syllabus_finder(tree: Syllabus) -> NodeFinder:
    """A NodeFinder over one syllabus version: a code (COMP_JR.04.01, also at the start
    of a category name such as "COMP_JR.04 专业价值观"), or a title, compared without
    its numbering, spaces, punctuation or case. A title that several nodes of the
    subject share names none of them."""
    by_title: dict[str, list[SyllabusNode]] = {}
    for node in tree.by_code.values():
        by_title.setdefault(_key(node.title), []).append(node)
    by_code = {code.casefold(): node for code, node in tree.by_code.items()}

    def find(text: str, subject: Subject | None) -> SyllabusNode | None:
        text = unicodedata.normalize("NFKC", text or "").strip()
        code = _CODE.match(text)
        if code and code.group().casefold() in by_code:
            node = by_code[code.group().casefold()]
            return node if subject in (None, node.subject) else None
        matches = [node for node in by_title.get(_key(text), ())
                   if subject in (None, node.subject)]
        return matches[0] if len(matches) == 1 else None

    return find


class StableIds:
    """Stable ids for the questions of one file that have none of their own."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.seen: dict[str, int] = {}

    def __call__(self, category, name: str) -> str:
        key = "\x1f".join([*category, " ".join(name.split())])
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        self.seen[key] = self.seen.get(key, 0) + 1
        ordinal = self.seen[key]
        return f"{self.prefix}-{digest}" + (f"-{ordinal}" if ordinal > 1 else "")


def keys_from_weights(weights: list[float], *, single: bool) -> tuple[str, list[str],
                                                                      list[Problem],
                                                                      list[Problem]]:
    """The type and keys of a choice question from its answers' weights (percent of the
    question's points, as Moodle's fractions and GIFT's %n% give them).

    One answer allowed (*single*): the answer worth 100% is the key; an answer worth part
    of the points cannot be represented (the portal scores SINGLE all or nothing), so it
    becomes a wrong option, with a warning. Several answers allowed: every answer with a
    positive weight is a key (Moodle marks the right ones of a multiple-answer question
    so, e.g. 50/50 or 33.33333 × 3, the wrong ones 0 or negative); the portal scores
    them by the official rule, so weights that are unequal or do not add up to 100%
    are warned about. Returns (type, keys, problems, warnings)."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    letter = [LETTERS[i] if i < len(LETTERS) else "?" for i in range(len(weights))]
    positive = [i for i, weight in enumerate(weights) if weight > 0]
    if single:
        full = [i for i in positive if weights[i] >= 99.99]
        if len(full) > 1:
            problems.append(Problem("keys", N_("有 %(n)d 个选项都得满分，单选题只能有一个答案。"),
                                    {"n": len(full)}))
        partial = [letter[i] for i in positive if i not in full]
        if partial and len(full) == 1:
            message = N_("选项 %(options)s 原为部分得分，导入后按错误选项计分。")
            warnings.append(Problem("keys", message, {"options": "、".join(partial)}))
        return ItemType.SINGLE.value, [letter[i] for i in full], problems, warnings
    shares = {round(weights[i], 2) for i in positive}
    if positive and (len(shares) > 1 or abs(sum(weights[i] for i in positive) - 100) > 0.5):
        warnings.append(Problem("keys", N_("原题各正确选项的权重不同或合计不是 100%，"
                                           "导入后按多选题的官方规则计分。")))
    return ItemType.MULTI.value, [letter[i] for i in positive], problems, warnings


def parse_weight(text: str) -> float | None:
    """A percentage weight (100, 50, 33.33333, -100), or None when it is not a number."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if -100.0001 <= value <= 100.0001 else None
