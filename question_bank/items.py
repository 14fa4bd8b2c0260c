"""Items: types, content, and the validation rules every item must meet."""

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from .i18n import N_
from .subjects import Subject, SubjectKind

LETTERS = "ABCDE"
MAX_TEXT = 20_000
MAX_SHORT_TEXT = 500


class ItemType(StrEnum):
    SINGLE = "SINGLE"  # 单项选择题: 4 options, 1 key
    MULTI = "MULTI"  # 多项选择题: 5 options, 2–4 keys
    CASE_ANALYSIS = "CASE_ANALYSIS"  # 案例分析: a case with sub-questions
    PLAN_DESIGN = "PLAN_DESIGN"  # 方案设计
    ESSAY = "ESSAY"  # 论述

    @property
    def is_choice(self) -> bool:
        return self in (ItemType.SINGLE, ItemType.MULTI)


class Source(StrEnum):
    ORIGINAL = "original"
    MOCK = "mock"
    PAST_PAPER_STYLE = "past-paper-style"


OPTION_COUNTS = {ItemType.SINGLE: 4, ItemType.MULTI: 5}
KEY_COUNTS = {ItemType.SINGLE: (1, 1), ItemType.MULTI: (2, 4)}
# Choice items score by the exam spec: 1 point for SINGLE, 2 for MULTI.
CHOICE_POINTS = {ItemType.SINGLE: Decimal(1), ItemType.MULTI: Decimal(2)}
TYPES_BY_KIND = {
    SubjectKind.OBJECTIVE: {ItemType.SINGLE, ItemType.MULTI},
    SubjectKind.SUBJECTIVE: {ItemType.CASE_ANALYSIS, ItemType.PLAN_DESIGN, ItemType.ESSAY},
}


@dataclass(frozen=True)
class KeyPoint:
    text: str
    points: Decimal


@dataclass(frozen=True)
class SubQuestion:
    prompt: str
    points: Decimal
    key_points: tuple[KeyPoint, ...]


@dataclass(frozen=True)
class LawReference:
    """The legal rule a law item tests, and when that rule was in force."""

    statute: str
    article: str
    valid_from: date
    valid_to: date | None = None

    def in_force_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class ItemContent:
    """Everything a version of an item says; identical content means an unchanged item."""

    subject: Subject
    item_type: ItemType
    stem: str
    explanation: str
    difficulty: int
    syllabus: tuple[str, ...]
    source: Source = Source.ORIGINAL
    tags: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    fixed_order: bool = False
    law: LawReference | None = None
    points: Decimal | None = None
    sub_questions: tuple[SubQuestion, ...] = ()
    key_points: tuple[KeyPoint, ...] = ()

    @property
    def max_points(self) -> Decimal:
        if self.item_type.is_choice:
            return CHOICE_POINTS[self.item_type]
        return self.points or Decimal(0)

    def searchable_texts(self) -> list[str]:
        """The text trainers search: everything a candidate reads in the question.

        Explanations are left out: they mostly restate the stem, and indexing them
        doubles the cost of the trigram index for little gain.
        """
        parts = [self.stem, *self.options, *self.tags]
        parts += [kp.text for kp in self.key_points]
        for sub in self.sub_questions:
            parts += [sub.prompt, *(kp.text for kp in sub.key_points)]
        if self.law:
            parts += [self.law.statute, self.law.article]
        return parts


@dataclass(frozen=True)
class Problem:
    """One reason an item is refused: the field, and a translatable message."""

    field: str
    message: str
    params: dict = field(default_factory=dict)

    def render(self, translate=lambda text: text) -> str:
        return translate(self.message) % self.params if self.params else translate(self.message)


_TAG_LIKE = re.compile(r"<\s*[A-Za-z/!?]")
_FORMULA_START = ("=", "+", "@")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text_problems(name: str, text: str, *, required: bool = True, limit: int = MAX_TEXT):
    """Check one free-text field: present, bounded, plain text, not a spreadsheet formula."""
    if not text.strip():
        return [Problem(name, N_("不能为空。"))] if required else []
    problems = []
    if len(text) > limit:
        problems.append(Problem(name, N_("不能超过 %(n)d 个字符。"), {"n": limit}))
    if _TAG_LIKE.search(text):
        problems.append(Problem(name, N_("不能包含 HTML 标签或脚本。")))
    if text.lstrip().startswith(_FORMULA_START):
        problems.append(Problem(name, N_("不能以 =、+ 或 @ 开头（可能是电子表格公式）。")))
    if _CONTROL.search(text):
        problems.append(Problem(name, N_("不能包含控制字符。")))
    return problems


def validate(content: ItemContent) -> list[Problem]:
    """Return every rule *content* breaks, one problem per violation."""
    problems = text_problems("stem", content.stem)
    problems += text_problems("explanation", content.explanation)
    if content.item_type not in TYPES_BY_KIND[content.subject.kind]:
        params = {"subject": content.subject.value, "type": content.item_type.value}
        problems.append(Problem("type", N_("科目 %(subject)s 不使用题型 %(type)s。"), params))
    if content.difficulty not in range(1, 6):
        problems.append(Problem("difficulty", N_("难度应为 1 到 5。")))
    if not content.syllabus:
        problems.append(Problem("syllabus", N_("至少关联一个大纲知识点。")))
    for tag in content.tags:
        problems += text_problems("tags", tag, limit=50)
    if content.item_type.is_choice:
        problems += _choice_problems(content)
    else:
        problems += _subjective_problems(content)
    if content.law is not None:
        problems += _law_problems(content.law)
    elif content.subject.is_law:
        problems.append(Problem("law", N_("法规题须注明法规名称、条款和生效日期。")))
    return problems


def _choice_problems(content: ItemContent) -> list[Problem]:
    kind = content.item_type
    problems = []
    want = OPTION_COUNTS[kind]
    if len(content.options) != want:
        problems.append(Problem("options", N_("%(type)s 需要 %(n)d 个选项，现有 %(got)d 个。"),
                                {"type": kind.value, "n": want, "got": len(content.options)}))
    for index, option in enumerate(content.options):
        problems += text_problems(f"options.{LETTERS[index] if index < 5 else index}", option,
                                  limit=MAX_SHORT_TEXT * 2)
    if len({option.strip() for option in content.options}) != len(content.options):
        problems.append(Problem("options", N_("选项不能重复。")))
    low, high = KEY_COUNTS[kind]
    if not low <= len(content.keys) <= high:
        message = (N_("单选题只能有 1 个正确答案。") if kind is ItemType.SINGLE
                   else N_("多选题需要 2 到 4 个正确答案。"))
        problems.append(Problem("keys", message))
    valid_letters = LETTERS[:want]
    if any(key not in valid_letters for key in content.keys):
        problems.append(Problem("keys", N_("答案只能是 %(letters)s 中的字母。"),
                                {"letters": "、".join(valid_letters)}))
    if len(set(content.keys)) != len(content.keys):
        problems.append(Problem("keys", N_("答案不能重复。")))
    if content.sub_questions or content.key_points or content.points is not None:
        problems.append(Problem("type", N_("选择题不能有小题、答题要点或分值。")))
    return problems


def _subjective_problems(content: ItemContent) -> list[Problem]:
    problems = []
    if content.options or content.keys:
        problems.append(Problem("options", N_("主观题不能有选项或答案字母。")))
    if content.points is None or content.points <= 0 or not _is_half_step(content.points):
        problems.append(Problem("points", N_("分值应为正数，以 0.5 为单位。")))
    if content.item_type is ItemType.CASE_ANALYSIS:
        if content.key_points:
            problems.append(Problem("key_points", N_("案例分析题的答题要点写在各小题中。")))
        if not content.sub_questions:
            problems.append(Problem("sub_questions", N_("案例分析题至少需要一个小题。")))
        for number, sub in enumerate(content.sub_questions, 1):
            where = f"sub_questions.{number}."
            problems += text_problems(f"{where}prompt", sub.prompt)
            problems += _key_point_problems(where, sub.key_points, sub.points)
        total = sum((sub.points for sub in content.sub_questions), Decimal(0))
        if content.sub_questions and content.points is not None and total != content.points:
            params = {"total": _show(total), "points": _show(content.points)}
            message = N_("各小题分值之和（%(total)s）应等于总分（%(points)s）。")
            problems.append(Problem("points", message, params))
    else:
        if content.sub_questions:
            problems.append(Problem("sub_questions", N_("只有案例分析题可以有小题。")))
        problems += _key_point_problems("", content.key_points, content.points)
    return problems


def _key_point_problems(where, key_points, points) -> list[Problem]:
    problems = []
    if not key_points:
        return [Problem(f"{where}key_points", N_("至少需要一条答题要点。"))]
    for number, key_point in enumerate(key_points, 1):
        problems += text_problems(f"{where}key_points.{number}", key_point.text)
        if key_point.points <= 0 or not _is_half_step(key_point.points):
            problems.append(Problem(f"{where}key_points.{number}",
                                    N_("要点分值应为正数，以 0.5 为单位。")))
    if where and (points <= 0 or not _is_half_step(points)):
        problems.append(Problem(f"{where}points", N_("分值应为正数，以 0.5 为单位。")))
    elif points is not None and points > 0 and _total(key_points) < points:
        problems.append(Problem(f"{where}key_points", N_("答题要点的分值之和不能少于该题分值。")))
    return problems


def _total(key_points) -> Decimal:
    return sum((key_point.points for key_point in key_points), Decimal(0))


def _law_problems(law: LawReference) -> list[Problem]:
    problems = text_problems("law.statute", law.statute, limit=200)
    problems += text_problems("law.article", law.article, limit=100)
    if law.valid_to is not None and law.valid_to < law.valid_from:
        problems.append(Problem("law.valid_to", N_("失效日期不能早于生效日期。")))
    return problems


def _is_half_step(value: Decimal) -> bool:
    return (value * 2) == (value * 2).to_integral_value()


def _show(value: Decimal) -> str:
    return format(value.normalize(), "f")


def parse_points(value) -> Decimal:
    """Read a point value from text or a number; raise ValueError when it is not one."""
    if isinstance(value, bool) or value is None:
        raise ValueError("not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as error:
        raise ValueError("not a number") from error
    if not number.is_finite():
        raise ValueError("not a number")
    return number


def show_points(value: Decimal) -> str:
    """Write points without trailing zeros: 2, 1.5."""
    return _show(value)

