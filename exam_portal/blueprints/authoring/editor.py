"""Between the item editor form and item content: fill the form, read it back."""

import re

from flask_babel import gettext

from exam_portal.models.bank import ItemPool
from exam_portal.services.item_bank import secure_pool
from exam_portal.web.forms import as_choices
from question_bank import crosswalk, syllabus
from question_bank.formats import outline
from question_bank.i18n import N_
from question_bank.items import (
    ItemContent,
    ItemType,
    LawReference,
    Problem,
    Source,
    parse_points,
    show_points,
)
from question_bank.subjects import Subject

_TAG_SEPARATORS = re.compile(r"[,，、;；\n]")
_OPTION_FIELDS = ("option_a", "option_b", "option_c", "option_d", "option_e")


def syllabus_choices(subject: Subject, version: str) -> list:
    """Syllabus nodes of *subject* in *version*'s tree, indented by depth, for the picker."""
    tree = syllabus.load(version).trees[subject]
    indent = {"chapter": "", "section": "\u3000", "point": "\u3000\u3000"}
    return as_choices((node.code, f"{indent[node.depth.value]}{node.code} {node.title}")
                      for node in tree.nodes)


POOL_LABELS = {"OPEN": N_("公开题库（练习与模拟考试）"), "SECURE": N_("保密题库（正式考试）")}


def pool_choices(user) -> list:
    """The pools *user* may create an item in: the secure one for exam authors only."""
    return as_choices((pool.value, gettext(POOL_LABELS[pool.value])) for pool in ItemPool
                      if secure_pool.may_write(pool, user))


def proposed_links(codes, source: str, target: str) -> list[str] | None:
    """*codes* of version *source* carried to *target* by the crosswalk, or None when
    there is no crosswalk between them (or it lacks a code)."""
    if source == target:
        return list(codes)
    try:
        return list(crosswalk.relinked(crosswalk.load(source, target).propose(codes)))
    except (OSError, crosswalk.NotInCrosswalk):
        return None


def fill(form, content: ItemContent) -> None:
    """Put *content* into an empty editor form."""
    form.stem.data = content.stem
    for name, option in zip(_OPTION_FIELDS, content.options, strict=False):
        form[name].data = option
    form.keys.data = list(content.keys)
    form.fixed_order.data = content.fixed_order
    form.points.data = show_points(content.points) if content.points is not None else ""
    form.outline.data = outline.write(content.sub_questions, content.key_points)
    form.explanation.data = content.explanation
    form.difficulty.data = str(content.difficulty)
    form.syllabus.data = list(content.syllabus)
    form.tags.data = "，".join(content.tags)
    form.source.data = content.source.value
    if content.law:
        form.law_statute.data = content.law.statute
        form.law_article.data = content.law.article
        form.law_valid_from.data = content.law.valid_from
        form.law_valid_to.data = content.law.valid_to


def choice_problems(form) -> list[Problem]:
    """What no editor page can send: a source or difficulty that is none of the form's
    choices (missing, unknown, not a number). Saving refuses it with the form's own
    check; the live preview validates nothing first, so it asks here."""
    problems = []
    if not _is_choice(form.source):
        problems.append(Problem("source", N_("请选择题目来源。")))
    if not _is_choice(form.difficulty):
        problems.append(Problem("difficulty", N_("难度应为 1 到 5。")))
    return problems


def _is_choice(field) -> bool:
    return field.data in {choice.value for choice in field.choices}


def read(form, subject: Subject, item_type: ItemType) -> tuple[ItemContent | None, list[Problem]]:
    """Build item content from the form; return it, or None and the problems."""
    problems = choice_problems(form)
    if problems:
        return None, problems
    options: tuple[str, ...] = ()
    if item_type.is_choice:
        wanted = 4 if item_type is ItemType.SINGLE else 5
        options = tuple((form[name].data or "").strip() for name in _OPTION_FIELDS[:wanted])
    sub_questions, key_points, outline_problems = ((), (), [])
    points = None
    if not item_type.is_choice:
        sub_questions, key_points, outline_problems = outline.parse(form.outline.data or "")
        try:
            points = parse_points(form.points.data or "")
        except ValueError:
            problems.append(Problem("points", N_("分值应为数字。")))
    problems += outline_problems
    law = None
    if form.law_statute.data or form.law_article.data or form.law_valid_from.data:
        if form.law_valid_from.data is None:
            problems.append(Problem("law.valid_from", N_("请填写该规定的生效日期。")))
        else:
            law = LawReference(form.law_statute.data or "", form.law_article.data or "",
                               form.law_valid_from.data, form.law_valid_to.data)
    if problems:
        return None, problems
    content = ItemContent(
        subject=subject, item_type=item_type, stem=form.stem.data or "",
        explanation=form.explanation.data or "", difficulty=int(form.difficulty.data or 0),
        syllabus=tuple(form.syllabus.data or ()), source=Source(form.source.data),
        tags=tuple(tag.strip() for tag in _TAG_SEPARATORS.split(form.tags.data or "")
                   if tag.strip()),
        options=options, keys=tuple(sorted(form.keys.data or ())) if item_type.is_choice else (),
        fixed_order=bool(form.fixed_order.data) and item_type.is_choice, law=law, points=points,
        sub_questions=sub_questions, key_points=key_points,
    )
    return content, []


def field_for(problem: Problem) -> str:
    """The editor field a problem belongs to."""
    name = problem.field
    if name.startswith("options."):
        letter = name.split(".")[1]
        return f"option_{letter.lower()}" if letter in "ABCDE" else "option_a"
    if name.startswith(("sub_questions", "key_points", "outline")):
        return "outline"
    if name.startswith("law."):
        return "law_" + name.split(".")[1]
    return {"options": "option_a", "type": "stem"}.get(name, name)
