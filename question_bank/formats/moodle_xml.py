"""Moodle XML: this portal's SINGLE and MULTI items, and the questions Moodle exports.

Written (and read back without loss): idnumber (and name) = external id, questiontext =
stem, answers with fractions, single = SINGLE or MULTI, shuffleanswers = not fixed
order, generalfeedback = explanation, tags, and the subject as the category. Fields
Moodle has no place for go into an <sw_extras> element that Moodle ignores on import;
a question with it is read exactly as written.

Read from Moodle (4.x exports, as its XML format documentation describes them):

- <question type="category"> entries file the questions after them; the path
  ($course$/top/社会工作综合能力（初级）/第四章 …) is kept on each record for syllabus
  mapping (foreign.py).
- "multichoice" questions are read; every other type (truefalse, shortanswer,
  numerical, essay, description, cloze, matching, ...) is reported, one by one, with its
  type named.
- <single>: true or 1 = one answer (SINGLE), false or 0 = several (MULTI), as Moodle's
  own reader takes it. Answer fractions (100, 50, 33.33333, -100, ...) give the keys
  (foreign.keys_from_weights).
- Texts: format="html" (Moodle's default; CDATA or escaped) and moodle_auto_format are
  converted from HTML (html_text.py); plain_text and markdown are kept as written,
  trimmed. Images (<img> with embedded <file>s), tables, media and math make the
  question unrepresentable: it is reported, not stripped.
- idnumber is the id; a question without one gets foreign.StableIds from its category
  path and name, so a second import updates instead of adding copies.
- generalfeedback = explanation; tags = tags; per-answer feedback is not kept (the
  portal has no place for it) and is warned about; the combined feedback
  (correct/partially correct/incorrect), penalties and grades are Moodle's quiz
  settings and are not read.
"""

import copy
import dataclasses
import xml.etree.ElementTree as ET  # noqa: S405 - writing; reading is limits.parse_xml
from collections.abc import Iterator

from ..i18n import N_
from ..items import LETTERS, Problem
from . import extras, limits
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
from .html_text import html_to_text, plain_text
from .limits import UnreadableFile
from .records import ItemRecord, Place, to_record

_ORIGINAL_LIMIT = 30_000


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


def read(data: bytes, *, max_items: int | None = None, caps: limits.Limits = limits.WEB,
         defaults: FileDefaults | None = None) -> list[ItemRecord]:
    """Read every question: the representable ones as items, the rest with the reason.

    An .xml file may also be a single QTI 2.x assessmentItem: it is read as QTI."""
    root = _root(data, caps)
    if _is_qti(root):
        return _qti_item(root, data, max_items, defaults)
    parsed = []
    for question in _questions(root):
        parsed.append(question)
        if max_items is not None and len(parsed) > max_items:
            raise UnreadableFile(N_("文件中的题目超过 %(n)d 道，请用命令行导入。"), n=max_items)
    return [_finished(element, question, defaults) for element, question in parsed]


def records(data: bytes, *, caps: limits.Limits = limits.WEB,
            defaults: FileDefaults | None = None) -> Iterator[ItemRecord]:
    """What read() returns, one record at a time after the file is parsed, with no
    limit on the number of questions (the command line's import)."""
    root = _root(data, caps)
    if _is_qti(root):
        yield from _qti_item(root, data, None, defaults)
        return
    for element, question in _questions(root):
        yield _finished(element, question, defaults)


def _qti_item(root, data: bytes, max_items: int | None,
              defaults: FileDefaults | None) -> list[ItemRecord]:
    """The records of an .xml file that is a single QTI assessmentItem, parsed already."""
    from . import qti  # here: most .xml files are Moodle's

    return qti.read_item_tree(root, max_items=max_items, defaults=defaults,
                              original=data.decode("utf-8", "replace"))


def _root(data: bytes, caps: limits.Limits):
    try:
        root = limits.parse_xml(limits.slices(data), caps)
    except limits.MalformedXml as error:
        raise UnreadableFile(N_("不是有效的 XML 文件（或含有不允许的 DTD/实体）。")) from error
    if root.tag != "quiz" and not _is_qti(root):
        raise UnreadableFile(N_("不是 Moodle XML 文件（根元素应为 quiz）。"))
    return root


def _is_qti(root) -> bool:
    return root.tag.endswith("}assessmentItem") and "imsqti" in root.tag


def _questions(root) -> Iterator[tuple]:
    """(element, parsed question) for each question in file order, each in the category
    the category questions before it set."""
    category, ids, number = (), StableIds("moodle"), 0
    for element in root.findall("question"):
        if element.get("type") == "category":
            category = category_path(_text_of(element, "category"))
            continue
        number += 1
        yield element, _read_question(element, number, category, ids)


def _finished(element, question: Parsed, defaults: FileDefaults | None) -> ItemRecord:
    record = finish(question, defaults)
    # The text as written is for handing a question back: only those not imported.
    return (record if record.content is not None
            else dataclasses.replace(record, original=_original(element)))


def _text_of(element, path: str) -> str:
    return element.findtext(f"{path}/text") or ""


def _read_question(element, number: int, category, ids: StableIds) -> Parsed:
    kind = element.get("type", "")
    name = _text_of(element, "name").strip()
    native = element.find("sw_extras") is not None
    question = Parsed(number, Place(index=number, name=name), category=category,
                      native=native)
    fields = question.fields
    if native:
        values, trouble = extras.load(element.findtext("sw_extras") or "{}")
        fields.update(values)
        question.problems += trouble
    idnumber = (element.findtext("idnumber") or "").strip()
    fields["stem"] = _converted(question, "stem", element.find("questiontext"))
    if native:
        fields["external_id"] = idnumber
    else:
        fields["external_id"] = idnumber or ids(category, name or fields["stem"])
    if kind != "multichoice":
        question.problems.append(unsupported_type(kind or "?"))
        fields["type"] = kind
        return question
    explanation = element.find("generalfeedback")
    if explanation is not None:
        fields["explanation"] = _converted(question, "explanation", explanation)
    single = (element.findtext("single") or "true").strip().lower() in ("true", "1")
    shuffle = (element.findtext("shuffleanswers") or "1").strip().lower()
    fields["fixed_order"] = shuffle in ("0", "false")
    options, weights, feedback = [], [], 0
    for index, answer in enumerate(element.findall("answer")):
        letter = LETTERS[index] if index < len(LETTERS) else str(index + 1)
        options.append(_converted(question, f"options.{letter}", answer))
        weight = parse_weight(answer.get("fraction", "0"))
        if weight is None:
            message = N_("答案分数 %(fraction)s 不是数字。")
            question.problems.append(Problem(f"options.{letter}", message,
                                             {"fraction": answer.get("fraction", "")[:20]}))
        weights.append(weight or 0.0)
        if not native and _text_of(answer, "feedback").strip():
            feedback += 1
    item_type, keys, problems, warnings = keys_from_weights(weights, single=single)
    fields.update({"type": item_type, "options": options, "keys": keys})
    question.problems += problems
    question.warnings += warnings
    if feedback:
        question.warnings.append(dropped_feedback(feedback))
    tags = [tag.findtext("text") or "" for tag in element.findall("tags/tag")]
    tags = [tag if native else tag.strip() for tag in tags if tag.strip()]
    if tags:
        fields["tags"] = tags
    return question


def _converted(question: Parsed, name: str, holder) -> str:
    """The text of a <questiontext>, <answer> or <generalfeedback>, as the portal holds it."""
    if holder is None:
        return ""
    raw = holder.findtext("text") or ""
    if question.native:
        return raw
    style = holder.get("format", "html")
    if style == "moodle_auto_format":  # Moodle shows its line breaks as <br>
        converted = html_to_text(raw.replace("\n", "<br>"))
    elif style == "html":
        converted = html_to_text(raw)
    else:
        converted = plain_text(raw)
        if style == "markdown":
            markdown_kept(question)
    if converted.unshowable:
        question.problems.append(unshowable(name, converted.unshowable))
    if converted.dropped_links:
        question.warnings.append(dropped_links(name))
    return converted.text


def _original(element) -> str:
    """The question as the file holds it, without embedded files (base64 images)."""
    element = copy.deepcopy(element)
    for holder in element.iter():
        for embedded in holder.findall("file"):
            holder.remove(embedded)
    text = ET.tostring(element, encoding="unicode")
    return text if len(text) <= _ORIGINAL_LIMIT else text[:_ORIGINAL_LIMIT] + "…"
