"""Moodle XML for SINGLE and MULTI items (Moodle "multichoice" questions).

Moodle sees: idnumber (and name) = external id, questiontext = stem, answers with fractions,
single = SINGLE or MULTI, shuffleanswers = not fixed order, generalfeedback =
explanation, tags, and the subject as the category. Fields Moodle has no place for go
into an <sw_extras> element that Moodle ignores on import.
"""

import xml.etree.ElementTree as ET  # noqa: S405 - only for writing; reading uses defusedxml

from ..i18n import N_
from ..items import LETTERS, Problem
from . import extras, limits
from .limits import UnreadableFile
from .records import ItemRecord, from_record, to_record


def write(items) -> tuple[bytes, list[tuple[str | None, Problem]]]:
    """Write the choice items as a Moodle quiz; return it and the refused items."""
    quiz = ET.Element("quiz")
    refused, category = [], None
    for external_id, content in items:
        if not content.item_type.is_choice:
            refused.append((external_id, extras.unsupported(content.item_type.value)))
            continue
        if content.subject.value != category:
            category = content.subject.value
            holder = ET.SubElement(quiz, "question", type="category")
            _text(ET.SubElement(holder, "category"), f"$course$/top/{category}")
        record = to_record(external_id, content)
        question = ET.SubElement(quiz, "question", type="multichoice")
        _text(ET.SubElement(question, "name"), external_id or content.stem[:40])
        _text(ET.SubElement(question, "questiontext", format="plain_text"), content.stem)
        _text(ET.SubElement(question, "generalfeedback", format="plain_text"),
              content.explanation)
        ET.SubElement(question, "defaultgrade").text = str(int(content.max_points))
        ET.SubElement(question, "single").text = str(content.item_type.value == "SINGLE").lower()
        ET.SubElement(question, "shuffleanswers").text = "0" if content.fixed_order else "1"
        ET.SubElement(question, "answernumbering").text = "ABCD"
        if external_id:
            ET.SubElement(question, "idnumber").text = external_id
        for letter, option in zip(LETTERS, content.options, strict=False):
            answer = ET.SubElement(question, "answer", fraction=_fraction(content, letter),
                                   format="plain_text")
            _text(answer, option)
        if content.tags:
            tags = ET.SubElement(question, "tags")
            for tag in content.tags:
                _text(ET.SubElement(tags, "tag"), tag)
        ET.SubElement(question, "sw_extras").text = extras.dump(record)
    ET.indent(quiz)
    return ET.tostring(quiz, encoding="utf-8", xml_declaration=True) + b"\n", refused


def _text(parent, value: str) -> None:
    ET.SubElement(parent, "text").text = value


def _fraction(content, letter: str) -> str:
    if letter not in content.keys:
        return "0" if content.item_type.value == "SINGLE" else "-100"
    value = 100 / len(content.keys)
    return f"{value:.5f}".rstrip("0").rstrip(".")


def read(data: bytes, *, max_items: int | None = None,
         caps: limits.Limits = limits.WEB) -> list[ItemRecord]:
    """Read every question; non-multichoice questions are refused one by one."""
    try:
        root = limits.parse_xml(limits.slices(data), caps)
    except limits.MalformedXml as error:
        raise UnreadableFile(N_("不是有效的 XML 文件（或含有不允许的 DTD/实体）。")) from error
    if root.tag != "quiz":
        raise UnreadableFile(N_("不是 Moodle XML 文件（根元素应为 quiz）。"))
    questions = [q for q in root.findall("question") if q.get("type") != "category"]
    if max_items is not None and len(questions) > max_items:
        raise UnreadableFile(N_("文件中的题目超过 %(n)d 道，请用命令行导入。"), n=max_items)
    return [_read_question(question, number) for number, question in enumerate(questions, 1)]


def _read_question(question, location: int) -> ItemRecord:
    kind = question.get("type", "")
    # The idnumber is the stable id; a name is only a label and may repeat.
    name = (question.findtext("idnumber") or "").strip()
    if kind != "multichoice":
        return ItemRecord(location, name or None, None, (extras.unsupported(kind),))
    record, problems = extras.load(question.findtext("sw_extras") or "{}")
    record["external_id"] = name
    record["stem"] = question.findtext("questiontext/text") or ""
    record["explanation"] = question.findtext("generalfeedback/text") or ""
    single = (question.findtext("single") or "true").strip().lower() == "true"
    record["type"] = "SINGLE" if single else "MULTI"
    record["fixed_order"] = (question.findtext("shuffleanswers") or "1").strip() in ("0", "false")
    options, keys = [], []
    for index, answer in enumerate(question.findall("answer")):
        options.append(answer.findtext("text") or "")
        try:
            correct = float(answer.get("fraction", "0")) > 0
        except ValueError:
            correct = False
        if correct:
            keys.append(LETTERS[index] if index < len(LETTERS) else "?")
    record["options"], record["keys"] = options, keys
    tags = [tag.findtext("text") or "" for tag in question.findall("tags/tag")]
    if tags:
        record["tags"] = tags
    parsed = from_record(record, location)
    if problems:
        return ItemRecord(location, parsed.external_id, None, tuple(problems) + parsed.problems)
    return parsed
