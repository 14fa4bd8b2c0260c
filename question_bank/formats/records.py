"""Items as plain records (dicts): the shape shared by the JSON, CSV and XLSX formats, and
what a reader returns for each question it finds (an ItemRecord)."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ..i18n import N_
from ..items import (
    ItemContent,
    ItemType,
    KeyPoint,
    LawReference,
    Problem,
    Source,
    SubQuestion,
    parse_points,
    show_points,
    validate,
)
from ..subjects import Subject

FIELDS = (
    "external_id", "subject", "type", "stem", "options", "keys", "fixed_order", "explanation",
    "difficulty", "syllabus", "source", "tags", "law", "points", "sub_questions", "key_points",
)
MAX_EXTERNAL_ID = 100


@dataclass(frozen=True)
class Place:
    """Where a question is in its file, as a trainer looks for it: a line of a text file,
    the nth question of an XML file (and its name), or a file inside a package."""

    line: int | None = None
    index: int | None = None
    name: str = ""
    path: str = ""

    def render(self, translate=lambda text: text) -> str:
        parts = []
        if self.path:
            parts.append(self.path)
        if self.line is not None:
            parts.append(translate(N_("第 %(n)d 行")) % {"n": self.line})
        if self.index is not None:
            parts.append(translate(N_("第 %(n)d 题")) % {"n": self.index})
        if self.name:
            parts.append(f"“{self.name[:60]}”")
        return " ".join(parts)


@dataclass(frozen=True)
class ItemRecord:
    """One item read from a file: where it was (row or item number), its external id,
    and its content or its problems.

    Readers of other systems' formats (GIFT, Moodle XML, QTI) say more: *place*, the
    fields filled in from the file's defaults (*defaulted*: the item is a draft that
    needs completing), *warnings* about what was read but not kept, the category path
    the question was filed under, and the question as written (*original*) with the
    fields read from it (*fields*, a partial record), so a question that cannot be
    imported can be handed back to be fixed."""

    location: int
    external_id: str | None
    content: ItemContent | None
    problems: tuple[Problem, ...]
    place: Place | None = None
    defaulted: tuple[str, ...] = ()
    warnings: tuple[Problem, ...] = ()
    category: tuple[str, ...] = ()
    original: str = field(default="", compare=False, repr=False)
    fields: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def needs_completing(self) -> bool:
        """True when some fields hold the file's defaults, not what the question says."""
        return bool(self.defaulted)


def to_record(external_id: str | None, content: ItemContent) -> dict:
    """Write *content* as a record; empty fields are left out."""
    record = {
        "external_id": external_id,
        "subject": content.subject.value,
        "type": content.item_type.value,
        "stem": content.stem,
    }
    if content.item_type.is_choice:
        record["options"] = list(content.options)
        record["keys"] = list(content.keys)
        if content.fixed_order:
            record["fixed_order"] = True
    record["explanation"] = content.explanation
    record["difficulty"] = content.difficulty
    record["syllabus"] = list(content.syllabus)
    record["source"] = content.source.value
    record["tags"] = list(content.tags)
    if content.law:
        record["law"] = {
            "statute": content.law.statute,
            "article": content.law.article,
            "valid_from": content.law.valid_from.isoformat(),
            "valid_to": content.law.valid_to.isoformat() if content.law.valid_to else None,
        }
    if not content.item_type.is_choice:
        record["points"] = _number(content.points)
        if content.sub_questions:
            record["sub_questions"] = [
                {"prompt": sub.prompt, "points": _number(sub.points),
                 "key_points": _key_points_out(sub.key_points)}
                for sub in content.sub_questions
            ]
        if content.key_points:
            record["key_points"] = _key_points_out(content.key_points)
    if external_id is None:
        del record["external_id"]
    return record


def _key_points_out(key_points) -> list[dict]:
    return [{"text": kp.text, "points": _number(kp.points)} for kp in key_points]


def _number(value: Decimal | None):
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(show_points(value))


class _Reader:
    """Collects problems while converting loosely typed input."""

    def __init__(self):
        self.problems: list[Problem] = []

    def fail(self, name: str, message: str, **params) -> None:
        self.problems.append(Problem(name, message, params))

    def text(self, data: dict, name: str, *, required: bool = True) -> str:
        value = data.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.fail(name, N_("应为文本。"))
            return ""
        if required and not value.strip():
            self.fail(name, N_("不能为空。"))
        return value

    def text_list(self, data: dict, name: str) -> tuple[str, ...]:
        value = data.get(name) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(name, N_("应为文本列表。"))
            return ()
        return tuple(value)

    def choice(self, data: dict, name: str, enum, *, default=None):
        value = data.get(name)
        if value in (None, "") and default is not None:
            return default
        if value in (None, ""):
            self.fail(name, N_("不能为空。"))
            return None
        try:
            return enum(value)
        except ValueError:
            allowed = "、".join(member.value for member in enum)
            self.fail(name, N_("无效的值 %(value)s，可选：%(allowed)s。"),
                      value=str(value)[:40], allowed=allowed)
            return None

    def points(self, value, name: str) -> Decimal | None:
        try:
            return parse_points(value)
        except ValueError:
            self.fail(name, N_("分值应为数字。"))
            return None

    def day(self, value, name: str, *, required: bool) -> date | None:
        if value in (None, ""):
            if required:
                self.fail(name, N_("不能为空。"))
            return None
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(name, N_("日期格式应为 YYYY-MM-DD。"))
            return None

    def key_points(self, value, name: str) -> tuple[KeyPoint, ...]:
        if value in (None, ""):
            return ()
        if not isinstance(value, list) or not all(isinstance(kp, dict) for kp in value):
            self.fail(name, N_("格式不正确。"))
            return ()
        result = []
        for number, kp in enumerate(value, 1):
            text = self.text(kp, "text")
            points = self.points(kp.get("points"), f"{name}.{number}.points")
            if points is not None:
                result.append(KeyPoint(text, points))
        return tuple(result)


def from_record(data, location: int) -> ItemRecord:
    """Read one record into an item, or collect every problem with it."""
    if not isinstance(data, dict):
        return ItemRecord(location, None, None, (Problem("item", N_("格式不正确。")),))
    reader = _Reader()
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        reader.fail("item", N_("未知字段：%(fields)s。"), fields="、".join(map(str, unknown))[:200])
    external_id = data.get("external_id")
    if external_id in (None, ""):
        external_id = None
    elif not isinstance(external_id, str) or len(external_id) > MAX_EXTERNAL_ID:
        reader.fail("external_id", N_("外部编号应为不超过 %(n)d 个字符的文本。"), n=MAX_EXTERNAL_ID)
        external_id = None
    else:
        external_id = external_id.strip()
    subject = reader.choice(data, "subject", Subject)
    item_type = reader.choice(data, "type", ItemType)
    difficulty = data.get("difficulty")
    if isinstance(difficulty, str) and difficulty.strip().isdigit():
        difficulty = int(difficulty)
    if not isinstance(difficulty, int) or isinstance(difficulty, bool):
        reader.fail("difficulty", N_("难度应为 1 到 5。"))
        difficulty = 0
    fixed_order = data.get("fixed_order", False)
    if fixed_order in ("", None):
        fixed_order = False
    if not isinstance(fixed_order, bool):
        reader.fail("fixed_order", N_("应为 true 或 false。"))
        fixed_order = False
    fields = {
        "stem": reader.text(data, "stem"),
        "explanation": reader.text(data, "explanation"),
        "syllabus": tuple(code.strip() for code in reader.text_list(data, "syllabus")),
        "source": reader.choice(data, "source", Source, default=Source.ORIGINAL),
        "tags": tuple(tag.strip() for tag in reader.text_list(data, "tags") if tag.strip()),
        "options": reader.text_list(data, "options"),
        "keys": tuple(key.strip().upper() for key in reader.text_list(data, "keys")),
        "fixed_order": fixed_order,
        "law": _law(reader, data.get("law")),
        "points": None if data.get("points") in (None, "")
        else reader.points(data.get("points"), "points"),
        "sub_questions": _sub_questions(reader, data.get("sub_questions")),
        "key_points": reader.key_points(data.get("key_points"), "key_points"),
    }
    if reader.problems or subject is None or item_type is None:
        return ItemRecord(location, external_id, None, tuple(reader.problems), fields=data)
    content = ItemContent(subject=subject, item_type=item_type, difficulty=difficulty, **fields)
    problems = validate(content)
    if problems:
        return ItemRecord(location, external_id, None, tuple(problems), fields=data)
    return ItemRecord(location, external_id, content, ())


def _law(reader: _Reader, value) -> LawReference | None:
    if value in (None, "", {}):
        return None
    if not isinstance(value, dict):
        reader.fail("law", N_("格式不正确。"))
        return None
    statute = reader.text(value, "statute")
    article = reader.text(value, "article")
    valid_from = reader.day(value.get("valid_from"), "law.valid_from", required=True)
    valid_to = reader.day(value.get("valid_to"), "law.valid_to", required=False)
    if valid_from is None:
        return None
    return LawReference(statute, article, valid_from, valid_to)


def _sub_questions(reader: _Reader, value) -> tuple[SubQuestion, ...]:
    if value in (None, ""):
        return ()
    if not isinstance(value, list) or not all(isinstance(sub, dict) for sub in value):
        reader.fail("sub_questions", N_("格式不正确。"))
        return ()
    result = []
    for number, sub in enumerate(value, 1):
        name = f"sub_questions.{number}"
        prompt = reader.text(sub, "prompt")
        points = reader.points(sub.get("points"), f"{name}.points")
        key_points = reader.key_points(sub.get("key_points"), f"{name}.key_points")
        if points is not None:
            result.append(SubQuestion(prompt, points, key_points))
    return tuple(result)
