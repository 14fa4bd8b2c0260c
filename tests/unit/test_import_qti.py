"""QTI 2.1 as three kinds of tools write it, single item files, and the portal's own export:
valid against the IMS schemas, scored by the official rule in its response processing."""

import dataclasses
import io
import itertools
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
import xmlschema
from defusedxml import ElementTree as SafeET

from question_bank import syllabus
from question_bank.formats import moodle_xml, qti
from question_bank.formats.foreign import FileDefaults, syllabus_finder
from question_bank.formats.html_text import local_name
from question_bank.items import ItemType
from question_bank.scoring import score_choice
from question_bank.subjects import Subject

from .bank_samples import ALL, MULTI, SINGLE

FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"
SCHEMAS = (FIXTURES / "schemas").resolve()
DEFAULTS = FileDefaults(subject=Subject.PRAC_JR, difficulty=3, syllabus=("PRAC_JR.01",),
                        find_node=syllabus_finder(syllabus.load("2025")))


def _package(folder: str) -> bytes:
    """A tool's package as the tool zips it: the folder's files at the archive's root."""
    root = FIXTURES / "qti" / folder
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()


def test_a_tool_writing_correct_response_and_lom_keywords():
    first, second, image, text_entry = qti.read(_package("tool_a"), defaults=DEFAULTS)
    assert first.place.path == "items/i5f2a9c01/qti.xml" and first.place.name == "接案面谈的任务"
    assert first.content.stem == ("社区居民李女士因与儿子关系紧张，主动来到社会工作服务站求助。\n"
                                  "在第一次接案面谈中，社会工作者的主要任务是（ ）。")
    assert (first.content.item_type, first.content.keys) == (ItemType.SINGLE, ("B",))
    assert first.content.explanation.startswith("接案面谈的任务是澄清服务对象的问题")
    assert first.content.tags == ("接案", "PRAC_JR.01.01.02")
    assert first.content.syllabus == ("PRAC_JR.01.01", "PRAC_JR.01.01.02")
    assert (second.content.item_type, second.content.keys) == (ItemType.MULTI, ("A", "B", "D"))
    assert second.content.syllabus == ("PRAC_JR.01.02.03",)
    assert image.content is None and image.problems[0].params == {"kinds": "img"}
    assert image.fields["stem"].endswith("图中王大爷关系最紧张的是（ ）。")
    assert text_entry.problems[0].params == {"type": "textEntryInteraction"}


def test_a_tool_writing_map_response_only():
    single, multi, weighted, keyless = qti.read(_package("tool_b"), defaults=DEFAULTS)
    assert single.place.path == "content/Q1.xml"  # the resources' xml:base
    assert (single.content.item_type, single.content.keys) == (ItemType.SINGLE, ("B",))
    assert single.content.stem.startswith("某社区为刚退休的居民开展“退休生活适应”小组。")
    assert single.content.explanation.startswith("小组开始阶段组员之间陌生")
    assert (multi.content.item_type, multi.content.keys) == (ItemType.MULTI, ("A", "B", "D"))
    assert multi.warnings == ()
    assert weighted.content.keys == ("A", "B", "C")
    assert {w.field for w in weighted.warnings} == {"keys", "explanation"}
    assert keyless.content is None and "correctResponse" in keyless.problems[0].render()


def test_a_tool_writing_prompts_inside_interactions_and_div_wrapped_stems():
    crisis, mixed, disability, math, missing = qti.read(_package("tool_c"), defaults=DEFAULTS)
    assert crisis.place.path == "crisis intervention.xml"
    assert crisis.content.stem == (
        "服务对象王女士的丈夫三天前因车祸去世。\n"
        "王女士连续几天无法入睡，情绪崩溃，对社会工作者说“活着没有意思”。\n"
        "社会工作者此时首先应当采用的介入模式是（ ）。")
    # cardinality="multiple" but maxChoices="1": one answer
    assert (crisis.content.item_type, crisis.content.keys) == (ItemType.SINGLE, ("A",))
    assert crisis.content.options == ("危机介入模式", "任务中心模式", "叙事治疗模式",
                                      "以上都不适合")
    assert crisis.content.fixed_order
    assert {w.field for w in crisis.warnings} == {"options", "fixed_order"}
    assert mixed.content is None and mixed.problems[0].params["kinds"] == (
        "choiceInteraction、extendedTextInteraction")
    assert disability.content.stem == ("从残疾的社会模式看，下列做法中体现该模式的有（ ）：\n"
                                       "• 可以多选；\n• Select all that apply.")
    assert disability.content.keys == ("A", "B", "C")
    assert disability.content.syllabus == ("PRAC_JR.07.01.01",)
    assert math.problems[0].params == {"kinds": "math"}
    assert missing.problems[0].params == {"name": "not-in-the-package.xml"}


def test_an_item_with_a_choice_and_an_essay_is_never_imported_as_a_choice_item():
    [record] = qti.read(_package("tool_c"))[1:2]
    assert record.content is None and record.fields["type"] == (
        "choiceInteraction+extendedTextInteraction")


def test_foreign_items_get_stable_ids_from_the_package_and_item_identifiers():
    ids = [r.external_id for r in qti.read(_package("tool_a"))]
    assert len(set(ids)) == 4 and all(i.startswith("qti-") for i in ids)
    assert [r.external_id for r in qti.read(_package("tool_a"))] == ids


@pytest.mark.parametrize("reader", [qti.read, moodle_xml.read,
                                    lambda data, **kw: list(moodle_xml.records(data, **kw))])
def test_a_single_item_file_reads_on_its_own(reader):
    [record] = reader((FIXTURES / "qti" / "single_item.xml").read_bytes(), defaults=DEFAULTS)
    assert record.content.keys == ("C",) and record.content.stem.startswith("志愿服务组织安排")
    assert record.content.explanation.startswith("《志愿服务条例》规定")
    assert record.original.startswith("<?xml") and record.place.name == "志愿者保险"


CHOICES = [(f"e-{name}", content) for name, content in ALL.items() if content.item_type.is_choice]
EDGE = [("e-spaces", dataclasses.replace(SINGLE, stem="\n  以换行开头\n\n空行之后  ")),
        ("e-five", dataclasses.replace(MULTI, keys=("A", "B", "C", "D")))]


@pytest.fixture(scope="module")
def schemas():
    item = xmlschema.XMLSchema(str(SCHEMAS / "imsqti_v2p1_subset.xsd"))
    manifest = xmlschema.XMLSchema(str(SCHEMAS / "imscp_v1p1_subset.xsd"),
                                   locations=[(qti.SW, str(SCHEMAS / "sw_extras.xsd"))])
    return item, manifest


def _errors(schema, document: bytes) -> list[str]:
    return [str(error) for error in schema.iter_errors(io.BytesIO(document),
                                                       use_location_hints=False)]


def test_the_exported_package_validates_against_the_qti_and_cp_schemas(schemas):
    item_schema, manifest_schema = schemas
    data, refused = qti.write(list(ALL.items()) + EDGE)
    assert len(refused) == 3
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        names = package.namelist()
        assert names[0] == "imsmanifest.xml" and len(names) == 6
        assert _errors(manifest_schema, package.read("imsmanifest.xml")) == []
        for name in names[1:]:
            assert _errors(item_schema, package.read(name)) == [], name


def test_the_schemas_refuse_what_the_specification_refuses(schemas):
    item_schema, manifest_schema = schemas
    document = qti.item_xml("item1", SINGLE)
    assert _errors(item_schema, document.replace(b' maxChoices="1"', b"")) != []
    assert _errors(item_schema, document.replace(b'identifier="A"', b'identifier="1A"')) != []
    data, _ = qti.write([("x", SINGLE)])
    manifest = zipfile.ZipFile(io.BytesIO(data)).read("imsmanifest.xml")
    assert _errors(manifest_schema, manifest.replace(b' type="imsqti_item_xmlv2p1"', b"")) != []


def _evaluate(rules, response: frozenset, correct: frozenset) -> Decimal:
    """Run QTI response rules (the expressions the export uses) on one response."""
    outcomes = {"SCORE": Decimal(0)}

    def value(expression):
        name = local_name(expression.tag)
        if name == "variable":
            return response or None  # an empty response is NULL
        if name == "correct":
            return correct
        if name == "baseValue":
            text = expression.text or ""
            return Decimal(text) if expression.get("baseType") == "float" else text
        values = [value(child) for child in expression]
        if name == "isNull":
            return values[0] is None
        if name == "match":
            return None if None in values else values[0] == values[1]
        if name == "member":
            return None if None in values else values[0] in values[1]
        if name == "or":
            return True if True in values else (None if None in values else False)
        if name == "containerSize":
            return Decimal(len(values[0] or ()))
        if name == "product":
            result = Decimal(1)
            for number in values:
                result *= number
            return result
        raise AssertionError(name)

    def run(children) -> None:
        for rule in children:
            name = local_name(rule.tag)
            if name == "setOutcomeValue":
                outcomes[rule.get("identifier")] = value(rule[0])
            elif name == "responseCondition":
                for branch in rule:
                    if local_name(branch.tag) == "responseElse":
                        run(list(branch))
                        break
                    if value(branch[0]) is True:
                        run(list(branch)[1:])
                        break

    run(list(rules))
    return outcomes["SCORE"]


@pytest.mark.parametrize("content", [SINGLE, MULTI, EDGE[1][1],
                                     dataclasses.replace(MULTI, keys=("B", "E"))],
                         ids=["single", "multi-3-keys", "multi-4-keys", "multi-2-keys"])
def test_the_exported_response_processing_scores_by_the_official_rule(content):
    root = SafeET.fromstring(qti.item_xml("item1", content))
    rules = next(child for child in root if local_name(child.tag) == "responseProcessing")
    correct = frozenset(content.keys)
    points = Decimal(1) if content.item_type is ItemType.SINGLE else Decimal(2)
    most = 1 if content.item_type is ItemType.SINGLE else 5
    for size in range(most + 1):
        for chosen in itertools.combinations("ABCDE"[:len(content.options)], size):
            expected = score_choice(content.item_type, content.keys, chosen, points)
            assert _evaluate(rules, frozenset(chosen), correct) == expected, chosen


def test_the_portals_own_items_come_back_exactly_from_qti():
    data, _ = qti.write(CHOICES + EDGE)
    records = qti.read(data, defaults=DEFAULTS)
    assert [(r.external_id, r.content, r.defaulted) for r in records] == \
        [(external_id, content, ()) for external_id, content in CHOICES + EDGE]
