"""Writing IMS QTI 2.1 content packages: one assessmentItem per choice item, listed in an
IMS Content Packaging 1.1 manifest (imsmanifest.xml); both valid against the IMS XSDs.

Each item is a choiceInteraction (maxChoices 1 for SINGLE, 0 = any for MULTI) with its
correct response; shuffle = not fixed order; a line break in a text is <br/>; the
explanation is a modal feedback shown once the item is answered. responseProcessing
states the official scoring (scoring.score_choice) so other systems score as the exam
does: SINGLE, the key → 1 point, else 0; MULTI, blank or any wrong option → 0, every key
and nothing else → 2 points, otherwise 0.5 per option chosen.

The manifest carries the fields QTI has no place for (external id, subject, difficulty,
syllabus, source, tags, legal reference) as JSON in an <sw:extras> element of each
resource's metadata, in this portal's own namespace, which other systems ignore.
"""

import io
import json
import xml.etree.ElementTree as ET  # noqa: S405 - only for writing
import zipfile

from ..items import CHOICE_POINTS, LETTERS, ItemType, Problem
from ..scoring import MULTI_PARTIAL_PER_OPTION
from . import extras
from .records import to_record

QTI = "http://www.imsglobal.org/xsd/imsqti_v2p1"
CP = "http://www.imsglobal.org/xsd/imscp_v1p1"
SW = "urn:x-social-work-exam-portal:extras"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
QTI_XSD = "http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
CP_XSD = "http://www.imsglobal.org/xsd/imscp_v1p1.xsd"
ITEM_TYPE = "imsqti_item_xmlv2p1"
TOOL = "exam-portal"


def write(items) -> tuple[bytes, list[tuple[str | None, Problem]]]:
    """Write the choice items as a QTI 2.1 package; return it and the refused items."""
    ET.register_namespace("sw", SW)
    ET.register_namespace("xsi", XSI)
    manifest = ET.Element(f"{{{CP}}}manifest", {
        "identifier": "manifest", f"{{{XSI}}}schemaLocation": f"{CP} {CP_XSD}"})
    metadata = ET.SubElement(manifest, f"{{{CP}}}metadata")
    ET.SubElement(metadata, f"{{{CP}}}schema").text = "QTIv2.1 Package"
    ET.SubElement(metadata, f"{{{CP}}}schemaversion").text = "1.0.0"
    ET.SubElement(manifest, f"{{{CP}}}organizations")
    resources = ET.SubElement(manifest, f"{{{CP}}}resources")
    refused, files = [], {}
    for number, (external_id, content) in enumerate(items, 1):
        if not content.item_type.is_choice:
            refused.append((external_id, extras.unsupported(content.item_type.value)))
            continue
        identifier, href = f"item{number}", f"items/item{number}.xml"
        files[href] = item_xml(identifier, content)
        resource = ET.SubElement(resources, f"{{{CP}}}resource", identifier=identifier,
                                 type=ITEM_TYPE, href=href)
        payload = json.loads(extras.dump(to_record(external_id, content)))
        if external_id:
            payload["external_id"] = external_id
        metadata = ET.SubElement(resource, f"{{{CP}}}metadata")
        ET.SubElement(metadata, f"{{{SW}}}extras").text = json.dumps(payload,
                                                                    ensure_ascii=False)
        ET.SubElement(resource, f"{{{CP}}}file", href=href)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("imsmanifest.xml", _serialise(manifest, CP))
        for href, data in files.items():
            package.writestr(href, data)
    return buffer.getvalue(), refused


def _q(name: str) -> str:
    return f"{{{QTI}}}{name}"


def _put_text(element, text: str) -> None:
    """Put *text* in *element*, each line break as <br/>."""
    first, *rest = text.split("\n")
    element.text = first
    for line in rest:
        ET.SubElement(element, _q("br")).tail = line


def item_xml(identifier: str, content) -> bytes:
    """One choice item as a QTI 2.1 assessmentItem document."""
    ET.register_namespace("xsi", XSI)
    single = content.item_type is ItemType.SINGLE
    item = ET.Element(_q("assessmentItem"), {
        f"{{{XSI}}}schemaLocation": f"{QTI} {QTI_XSD}", "identifier": identifier,
        "title": " ".join(content.stem.split())[:60], "adaptive": "false",
        "timeDependent": "false", "toolName": TOOL})
    declaration = ET.SubElement(item, _q("responseDeclaration"), identifier="RESPONSE",
                                cardinality="single" if single else "multiple",
                                baseType="identifier")
    correct = ET.SubElement(declaration, _q("correctResponse"))
    for key in content.keys:
        ET.SubElement(correct, _q("value")).text = key
    points = CHOICE_POINTS[content.item_type]
    for name, base, value in (("SCORE", "float", "0"), ("MAXSCORE", "float", _n(points)),
                              ("FEEDBACK", "identifier", None)):
        outcome = ET.SubElement(item, _q("outcomeDeclaration"), identifier=name,
                                cardinality="single", baseType=base)
        if value is not None:
            default = ET.SubElement(outcome, _q("defaultValue"))
            ET.SubElement(default, _q("value")).text = value
    body = ET.SubElement(item, _q("itemBody"))
    _put_text(ET.SubElement(body, _q("div"), {"class": "stem"}), content.stem)
    interaction = ET.SubElement(body, _q("choiceInteraction"), responseIdentifier="RESPONSE",
                                shuffle=str(not content.fixed_order).lower(),
                                maxChoices="1" if single else "0")
    for letter, option in zip(LETTERS, content.options, strict=False):
        _put_text(ET.SubElement(interaction, _q("simpleChoice"), identifier=letter), option)
    item.append(response_processing(content))
    feedback = ET.SubElement(item, _q("modalFeedback"), outcomeIdentifier="FEEDBACK",
                             identifier="EXPLANATION", showHide="show")
    _put_text(feedback, content.explanation)
    return _serialise(item, QTI)


def _serialise(element, default: str) -> bytes:
    # The prefix registry is global: say which namespace is the default right before
    # writing (ElementTree's default_namespace option refuses unprefixed attributes).
    ET.register_namespace("", default)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def _n(value) -> str:
    return format(value.normalize(), "f")


def _set(parent, identifier: str, expression) -> None:
    ET.SubElement(parent, _q("setOutcomeValue"), identifier=identifier).append(expression)


def _value(base: str, text: str):
    element = ET.Element(_q("baseValue"), baseType=base)
    element.text = text
    return element


def _response():
    return ET.Element(_q("variable"), identifier="RESPONSE")


def response_processing(content):
    """The official scoring of one choice item as QTI response rules."""
    rules = ET.Element(_q("responseProcessing"))
    condition = ET.SubElement(rules, _q("responseCondition"))
    full = _value("float", _n(CHOICE_POINTS[content.item_type]))
    zero = _value("float", "0")
    matched = ET.Element(_q("match"))
    matched.extend([_response(), ET.Element(_q("correct"), identifier="RESPONSE")])
    if content.item_type is ItemType.SINGLE:
        when = ET.SubElement(condition, _q("responseIf"))
        when.append(matched)
        _set(when, "SCORE", full)
        _set(ET.SubElement(condition, _q("responseElse")), "SCORE", zero)
    else:
        blank = ET.SubElement(condition, _q("responseIf"))
        ET.SubElement(blank, _q("isNull")).append(_response())
        _set(blank, "SCORE", zero)
        right = ET.SubElement(condition, _q("responseElseIf"))
        right.append(matched)
        _set(right, "SCORE", full)
        wrong_options = [letter for letter in LETTERS[:len(content.options)]
                         if letter not in content.keys]
        wrong = ET.SubElement(condition, _q("responseElseIf"))
        chose_wrong = ET.SubElement(wrong, _q("or"))
        for letter in wrong_options:
            member = ET.SubElement(chose_wrong, _q("member"))
            member.extend([_value("identifier", letter), _response()])
        _set(wrong, "SCORE", _value("float", "0"))
        partial = ET.Element(_q("product"))
        size = ET.Element(_q("containerSize"))
        size.append(_response())
        partial.extend([_value("float", _n(MULTI_PARTIAL_PER_OPTION)), size])
        _set(ET.SubElement(condition, _q("responseElse")), "SCORE", partial)
    _set(rules, "FEEDBACK", _value("identifier", "EXPLANATION"))
    return rules
