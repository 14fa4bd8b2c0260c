"""IMS QTI 2.x items: content packages (a zip with imsmanifest.xml) and single
assessmentItem files, as this portal (qti_export.py) and other tools write them.

Reading is by local names, so QTI 2.0, 2.1 and 2.2 namespaces all read alike:

- Items are the manifest's resources of type imsqti_item_xmlv2p*, at their href (or
  first <file>), relative to the package root and its xml:base.
- The item must have exactly one interaction, a choiceInteraction, found at any depth
  of the itemBody. An item with another interaction (extendedText, textEntry, order,
  ...) is reported as an unsupported type; one with several (a choice and an essay) is
  reported too, never imported with a part lost.
- Stem: the itemBody's text in document order (paragraphs, divs, lists; html_text.py),
  with the interaction's <prompt> where the interaction stands, and the choices, rubric
  and feedback blocks left out.
- Keys: correctResponse; without it, the mapping that map_response templates score
  with (mapEntry with a positive mappedValue). cardinality="single" or maxChoices="1"
  is SINGLE, anything else MULTI (foreign.keys_from_weights).
- Explanation: the item's modal feedback when it has exactly one; several (right/wrong
  variants) are not kept, with a warning. Inline and block feedback is not kept either.
- shuffle="false" is a fixed option order; choices with fixed="true" in a shuffled list
  fix the whole order, with a warning.
- Tags: the resource's LOM keywords (imsmd/lom metadata in the manifest), which are also
  mapped to syllabus nodes.
- Id: this portal's external id from its extras; otherwise foreign.StableIds from the
  manifest's identifier and the item's.
"""

import posixpath
from urllib.parse import unquote

from ..i18n import N_
from ..items import LETTERS, Problem
from . import extras, limits
from .foreign import (
    FileDefaults,
    Parsed,
    StableIds,
    dropped_feedback,
    dropped_links,
    finish,
    keys_from_weights,
    unshowable,
    unsupported_type,
)
from .html_text import element_to_text, local_name
from .limits import UnreadableFile
from .qti_export import CP, ITEM_TYPE, QTI, SW, item_xml, response_processing, write
from .records import ItemRecord, Place

__all__ = ["CP", "ITEM_TYPE", "QTI", "SW", "item_xml", "read", "read_item_tree",
           "response_processing", "write"]
_NOT_QTI = N_("不是有效的 QTI 压缩包（zip）或 QTI 题目 XML 文件。")
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_LEFT_OUT = frozenset({"simpleChoice", "rubricBlock", "feedbackBlock", "feedbackInline",
                       "templateBlock", "templateInline", "modalFeedback"})
_FEEDBACK = frozenset({"feedbackBlock", "feedbackInline"})
_ORIGINAL_LIMIT = 30_000


def read(data: bytes, *, max_items: int | None = None, caps: limits.Limits = limits.WEB,
         defaults: FileDefaults | None = None) -> list[ItemRecord]:
    """Read the items of a QTI package (or of one assessmentItem file)."""
    if not data.startswith(b"PK"):
        try:
            root = limits.parse_xml(limits.slices(data), caps)
        except limits.MalformedXml as error:
            raise UnreadableFile(_NOT_QTI) from error
        if local_name(root.tag) != "assessmentItem":
            raise UnreadableFile(_NOT_QTI)
        return read_item_tree(root, max_items=max_items, defaults=defaults,
                              original=data.decode("utf-8", "replace"))
    with limits.Package(data, caps, _NOT_QTI) as package:
        manifest = _parse(package, "imsmanifest.xml")[0]
        resources = [r for r in manifest.iter() if local_name(r.tag) == "resource"
                     and r.get("type", "").startswith("imsqti_item_xmlv2p")]
        if max_items is not None and len(resources) > max_items:
            raise UnreadableFile(N_("文件中的题目超过 %(n)d 道，请用命令行导入。"), n=max_items)
        bases = _bases(manifest)
        ids = StableIds("qti")
        scope = (manifest.get("identifier", ""),)
        parsed = [_read_resource(package, resource, number, bases, ids, scope)
                  for number, resource in enumerate(resources, 1)]
    return [finish(question, defaults) for question in parsed]


def read_item_tree(root, *, max_items: int | None = None,
                   defaults: FileDefaults | None = None, original: str = "") -> list[ItemRecord]:
    """Read one assessmentItem document already parsed (an .xml upload)."""
    if max_items is not None and max_items < 1:
        raise UnreadableFile(N_("文件中的题目超过 %(n)d 道，请用命令行导入。"), n=max_items)
    question = Parsed(1, Place(index=1, name=root.get("title", "")),
                      original=original[:_ORIGINAL_LIMIT])
    _read_item(question, root, StableIds("qti"), (), [])
    return [finish(question, defaults)]


def _parse(package: limits.Package, name: str):
    """(tree, bytes) of the package member *name*."""
    try:
        return package.read_xml(name)
    except KeyError as error:
        raise UnreadableFile(N_("压缩包中缺少 %(name)s。"), name=name[:100]) from error
    except limits.MalformedXml as error:
        raise UnreadableFile(N_("%(name)s 不是有效的 XML（或含有不允许的 DTD/实体）。"),
                             name=name[:100]) from error


def _bases(manifest) -> dict:
    """The xml:base in force for each resource (from its <resources> and itself)."""
    bases = {}
    for holder in manifest.iter():
        if local_name(holder.tag) == "resources":
            for resource in holder:
                bases[resource] = (holder.get(_XML_BASE) or "") + (resource.get(_XML_BASE) or "")
    return bases


def _href(resource, bases) -> str | None:
    href = resource.get("href")
    if not href:
        href = next((child.get("href") for child in resource
                     if local_name(child.tag) == "file" and child.get("href")), None)
    if not href:
        return None
    path = posixpath.normpath(unquote(bases.get(resource, "") + href)).lstrip("/")
    return None if path.startswith("..") or path == "." else path


def _read_resource(package, resource, number: int, bases, ids, scope) -> Parsed:
    href = _href(resource, bases)
    question = Parsed(number, Place(index=number, path=href or ""))
    payload, keywords = None, []
    for element in resource.iter():
        name = local_name(element.tag)
        if element.tag == f"{{{SW}}}extras":
            payload = element.text or "{}"
        elif name == "keyword":
            texts = [" ".join(part.itertext()).strip() for part in element] or \
                [(element.text or "").strip()]
            keywords += [text for text in texts if text]
    if payload is not None:
        question.native = True
        values, trouble = extras.load(payload)
        question.fields.update(values)
        question.problems += trouble
        external_id = extras.raw_value(payload, "external_id")
        if isinstance(external_id, str):
            question.fields["external_id"] = external_id
    if href is None:
        question.problems.append(Problem("item", N_("清单中的题目没有给出文件路径。")))
        return question
    if not package.has(href):
        question.problems.append(Problem("item", N_("压缩包中缺少 %(name)s。"),
                                         {"name": href[:100]}))
        return question
    root, data = _parse(package, href)
    question.original = data.decode("utf-8", "replace")[:_ORIGINAL_LIMIT]
    question.place = Place(index=number, name=root.get("title", ""), path=href)
    if local_name(root.tag) != "assessmentItem":
        message = N_("不是 QTI 题目（根元素应为 assessmentItem）。")
        question.problems.append(Problem("item", message))
        return question
    _read_item(question, root, ids, scope, keywords)
    return question


def _children(element, name: str) -> list:
    return [child for child in element if local_name(child.tag) == name]


def _read_item(question: Parsed, root, ids, scope, keywords) -> None:
    fields, native = question.fields, question.native
    if not native:
        fields["external_id"] = ids(scope, root.get("identifier", "") or root.get("title", ""))
        if keywords:
            fields["tags"] = keywords
    body = next(iter(_children(root, "itemBody")), None)
    if body is None:
        question.problems.append(Problem("item", N_("QTI 题目没有 itemBody。")))
        return
    interactions = [element for element in body.iter()
                    if local_name(element.tag).endswith("Interaction")]
    fields["stem"] = _text(question, "stem", body,
                           skip=lambda element: local_name(element.tag) in _LEFT_OUT)
    kinds = [local_name(element.tag) for element in interactions]
    if len(interactions) > 1:
        question.problems.append(Problem("type", N_("QTI 题目含有 %(n)d 个作答交互（%(kinds)s），"
                                                    "只能导入只有一个选择交互的题目。"),
                                         {"n": len(kinds), "kinds": "、".join(kinds)}))
        fields["type"] = "+".join(kinds)
        return
    if kinds != ["choiceInteraction"]:
        question.problems.append(unsupported_type(kinds[0] if kinds else "—"))
        fields["type"] = kinds[0] if kinds else ""
        return
    _read_choices(question, root, interactions[0])
    feedback = _children(root, "modalFeedback")
    if native:
        feedback = [f for f in feedback if f.get("identifier") == "EXPLANATION"] or feedback
    if len(feedback) == 1:
        fields["explanation"] = _text(question, "explanation", feedback[0])
    elif feedback:
        question.warnings.append(Problem("explanation", N_("题目有 %(n)d 段反馈，未导入为解析。"),
                                         {"n": len(feedback)}))


def _read_choices(question: Parsed, root, interaction) -> None:
    fields = question.fields
    choices = _children(interaction, "simpleChoice")
    identifiers = [choice.get("identifier", "") for choice in choices]
    fields["options"] = [
        _text(question, f"options.{LETTERS[i] if i < 5 else i + 1}", choice,
              skip=lambda element: local_name(element.tag) in _FEEDBACK)
        for i, choice in enumerate(choices)]
    feedback = sum(1 for choice in choices for element in choice.iter()
                   if local_name(element.tag) in _FEEDBACK)
    if feedback and not question.native:
        question.warnings.append(dropped_feedback(feedback))
    shuffle = interaction.get("shuffle", "false").strip().lower() in ("true", "1")
    fixed = any(choice.get("fixed", "").strip().lower() in ("true", "1") for choice in choices)
    fields["fixed_order"] = not shuffle or fixed
    if shuffle and fixed:
        question.warnings.append(Problem("fixed_order", N_("部分选项在原题中固定位置，"
                                                           "导入后整题按固定顺序排列。")))
    declaration = next((d for d in _children(root, "responseDeclaration")
                        if d.get("identifier") == interaction.get("responseIdentifier")), None)
    if declaration is None:
        message = N_("QTI 题目没有作答声明（responseDeclaration）。")
        question.problems.append(Problem("keys", message))
        return
    single = declaration.get("cardinality") == "single" or \
        interaction.get("maxChoices", "").strip() == "1"
    weights = _weights(declaration, identifiers, single)
    if weights is None:
        question.problems.append(Problem("keys", N_("QTI 题目没有给出正确答案"
                                                    "（correctResponse 或 mapping）。")))
        return
    item_type, keys, problems, warnings = keys_from_weights(weights, single=single)
    fields.update({"type": item_type, "keys": keys})
    question.problems += problems
    question.warnings += warnings


def _weights(declaration, identifiers: list[str], single: bool) -> list[float] | None:
    """Each choice's share of the points, in percent, from correctResponse or mapping."""
    correct = [(value.text or "").strip()
               for holder in _children(declaration, "correctResponse")
               for value in _children(holder, "value")]
    if correct:
        share = 100.0 if single else 100.0 / len(correct)
        return [share if identifier in correct else 0.0 for identifier in identifiers]
    entries = {}
    for mapping in _children(declaration, "mapping"):
        for entry in _children(mapping, "mapEntry"):
            try:
                entries[entry.get("mapKey", "").strip()] = float(entry.get("mappedValue", ""))
            except ValueError:
                continue
    values = [entries.get(identifier, 0.0) for identifier in identifiers]
    positive = [value for value in values if value > 0]
    if not positive:
        return None
    scale = 100.0 / (max(positive) if single else sum(positive))
    return [value * scale for value in values]


def _text(question: Parsed, name: str, element, skip=None) -> str:
    converted = element_to_text(element, preserve=question.native, skip=skip)
    if converted.unshowable:
        question.problems.append(unshowable(name, converted.unshowable))
    if converted.dropped_links:
        question.warnings.append(dropped_links(name))
    return converted.text
