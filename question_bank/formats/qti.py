"""IMS QTI 2.1 content packages (a zip of assessmentItem files) for SINGLE and MULTI.

Each item is a choiceInteraction with its correct response, shuffle = not fixed order,
and the explanation as modal feedback. The manifest lists the items and carries the
fields QTI has no place for (external id, subject, difficulty, syllabus, source, tags,
legal reference) in an extension element that other systems ignore.
"""

import io
import json
import xml.etree.ElementTree as ET  # noqa: S405 - only for writing; reading uses defusedxml
import zipfile

from ..i18n import N_
from ..items import LETTERS, Problem
from . import extras, limits
from .limits import UnreadableFile
from .records import ItemRecord, from_record, to_record

QTI = "http://www.imsglobal.org/xsd/imsqti_v2p1"
CP = "http://www.imsglobal.org/xsd/imscp_v1p1"
SW = "urn:x-social-work-exam-portal:extras"
_MATCH_CORRECT = "http://www.imsglobal.org/question/qti_v2p1/rptemplates/match_correct"


def write(items) -> tuple[bytes, list[tuple[str | None, Problem]]]:
    """Write the choice items as a QTI 2.1 package; return it and the refused items."""
    ET.register_namespace("", CP)
    ET.register_namespace("sw", SW)
    manifest = ET.Element(f"{{{CP}}}manifest", identifier="manifest")
    ET.SubElement(manifest, f"{{{CP}}}organizations")
    resources = ET.SubElement(manifest, f"{{{CP}}}resources")
    refused, files = [], {}
    for number, (external_id, content) in enumerate(items, 1):
        if not content.item_type.is_choice:
            refused.append((external_id, extras.unsupported(content.item_type.value)))
            continue
        identifier, href = f"item{number}", f"items/item{number}.xml"
        files[href] = _item_xml(identifier, content)
        resource = ET.SubElement(resources, f"{{{CP}}}resource", identifier=identifier,
                                 type="imsqti_item_xmlv2p1", href=href)
        record = to_record(external_id, content)
        payload = json.loads(extras.dump(record))
        if external_id:
            payload["external_id"] = external_id
        metadata = ET.SubElement(resource, f"{{{CP}}}metadata")
        ET.SubElement(metadata, f"{{{SW}}}extras").text = json.dumps(payload, ensure_ascii=False)
        ET.SubElement(resource, f"{{{CP}}}file", href=href)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("imsmanifest.xml", ET.tostring(manifest, encoding="utf-8",
                                                        xml_declaration=True))
        for href, data in files.items():
            package.writestr(href, data)
    return buffer.getvalue(), refused


def _item_xml(identifier: str, content) -> bytes:
    ET.register_namespace("", QTI)
    q = f"{{{QTI}}}"
    item = ET.Element(f"{q}assessmentItem", identifier=identifier, title=content.stem[:60],
                      adaptive="false", timeDependent="false")
    single = content.item_type.value == "SINGLE"
    declaration = ET.SubElement(item, f"{q}responseDeclaration", identifier="RESPONSE",
                                cardinality="single" if single else "multiple",
                                baseType="identifier")
    correct = ET.SubElement(declaration, f"{q}correctResponse")
    for key in content.keys:
        ET.SubElement(correct, f"{q}value").text = key
    ET.SubElement(item, f"{q}outcomeDeclaration", identifier="SCORE", cardinality="single",
                  baseType="float")
    body = ET.SubElement(item, f"{q}itemBody")
    ET.SubElement(body, f"{q}div", {"class": "stem"}).text = content.stem
    interaction = ET.SubElement(body, f"{q}choiceInteraction", responseIdentifier="RESPONSE",
                                shuffle=str(not content.fixed_order).lower(),
                                maxChoices="1" if single else "0")
    for letter, option in zip(LETTERS, content.options, strict=False):
        ET.SubElement(interaction, f"{q}simpleChoice", identifier=letter).text = option
    ET.SubElement(item, f"{q}responseProcessing", template=_MATCH_CORRECT)
    feedback = ET.SubElement(item, f"{q}modalFeedback", outcomeIdentifier="FEEDBACK",
                             identifier="EXPLANATION", showHide="show")
    feedback.text = content.explanation
    return ET.tostring(item, encoding="utf-8", xml_declaration=True)


def read(data: bytes, *, max_items: int | None = None,
         caps: limits.Limits = limits.WEB) -> list[ItemRecord]:
    """Read the items a QTI package's manifest lists."""
    with limits.Package(data, caps, N_("不是有效的 QTI 压缩包（zip）。")) as package:
        manifest = _parse(package, "imsmanifest.xml")
        resources = [r for r in manifest.iter(f"{{{CP}}}resource")
                     if r.get("type", "").startswith("imsqti_item_xmlv2p")]
        if max_items is not None and len(resources) > max_items:
            raise UnreadableFile(N_("文件中的题目超过 %(n)d 道，请用命令行导入。"), n=max_items)
        return [_read_resource(package, resource, number)
                for number, resource in enumerate(resources, 1)]


def _parse(package: limits.Package, name: str):
    try:
        return package.parse_xml(name)
    except KeyError as error:
        raise UnreadableFile(N_("压缩包中缺少 %(name)s。"), name=name[:100]) from error
    except limits.MalformedXml as error:
        raise UnreadableFile(N_("%(name)s 不是有效的 XML（或含有不允许的 DTD/实体）。"),
                             name=name[:100]) from error


def _read_resource(package, resource, location: int) -> ItemRecord:
    payload = resource.findtext(f"{{{CP}}}metadata/{{{SW}}}extras") or "{}"
    record, problems = extras.load(payload)
    try:
        external_id = json.loads(payload).get("external_id")
    except (ValueError, AttributeError):
        external_id = None
    if isinstance(external_id, str):
        record["external_id"] = external_id
    item = _parse(package, resource.get("href", ""))
    q = f"{{{QTI}}}"
    interaction = item.find(f"{q}itemBody/{q}choiceInteraction")
    if interaction is None or len(item.findall(f".//{q}itemBody//{q}*Interaction")) > 1:
        return ItemRecord(location, record.get("external_id"), None,
                          (*problems, extras.unsupported("QTI")))
    declaration = item.find(f"{q}responseDeclaration")
    single = declaration is not None and declaration.get("cardinality") == "single"
    choices = interaction.findall(f"{q}simpleChoice")
    letters = {choice.get("identifier"): LETTERS[i] if i < 5 else "?"
               for i, choice in enumerate(choices)}
    correct = [value.text for value in item.iterfind(f"{q}responseDeclaration/"
                                                     f"{q}correctResponse/{q}value")]
    record.update({
        "type": "SINGLE" if single else "MULTI",
        "stem": "".join(item.find(f"{q}itemBody/{q}div").itertext())
        if item.find(f"{q}itemBody/{q}div") is not None else "",
        "options": ["".join(choice.itertext()) for choice in choices],
        "keys": sorted(letters.get(value, "?") for value in correct),
        "fixed_order": interaction.get("shuffle", "true") == "false",
        "explanation": "".join(item.find(f"{q}modalFeedback").itertext())
        if item.find(f"{q}modalFeedback") is not None else "",
    })
    parsed = from_record(record, location)
    if problems:
        return ItemRecord(location, parsed.external_id, None, tuple(problems) + parsed.problems)
    return parsed
