"""Moodle XML as Moodle 4.x exports it: categories tracked, HTML converted, fractions read
as keys, idnumber-less questions given stable ids, other types reported one by one."""

import dataclasses
from pathlib import Path

import pytest

from question_bank import syllabus
from question_bank.formats import moodle_xml
from question_bank.formats.foreign import EXPLANATION_TO_WRITE, FileDefaults, syllabus_finder
from question_bank.subjects import Subject

from .bank_samples import MULTI, SINGLE

FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"
EXPORT = (FIXTURES / "moodle_export.xml").read_bytes()
DEFAULTS = FileDefaults(subject=Subject.PRAC_JR, difficulty=3,
                        find_node=syllabus_finder(syllabus.load("2025")))
# name: (type, keys) for what imports, (reason,) for what does not, in file order
EXPECTED = [
    ("怀旧治疗的目的", "SINGLE", ("A",)),
    ("练习 1", "SINGLE", ("A",)),
    ("居家养老服务内容", "MULTI", ("A", "B", "C")),
    ("练习 1", "SINGLE", ("A",)),
    ("老年节", "truefalse"),
    ("个案分析", "essay"),
    ("案例材料", "description"),
    ("完形填空", "cloze"),
    ("服务与对象", "matching"),
    ("简答", "shortanswer"),
    ("年龄", "numerical"),
    ("生态图", "img"),
    ("照顾者压力", "SINGLE", ("A",)),
    ("部分得分单选", "SINGLE", ("A",)),
    ("两个满分", "都得满分"),
    ("Reminiscence", "SINGLE", ("A",)),
    ("小组开始阶段", "SINGLE", ("A",)),
]


@pytest.fixture(scope="module")
def records():
    return moodle_xml.read(EXPORT, defaults=DEFAULTS)


def test_a_moodle_export_imports_every_representable_question(records):
    assert [(r.place.index, r.place.name) for r in records] == \
        [(number, name) for number, (name, *_) in enumerate(EXPECTED, 1)]
    for record, (name, *expected) in zip(records, EXPECTED, strict=True):
        if len(expected) == 2:
            assert record.problems == (), (name, record.problems)
            assert (record.content.item_type.value, record.content.keys) == tuple(expected)
        else:
            assert record.content is None, name
            assert expected[0] in " ".join(p.render() for p in record.problems), name


def test_single_is_read_as_moodle_reads_it(records):
    # <single>true</single>, <single>1</single>: one answer; false: several
    assert [r.content.item_type.value for r in records[:4]] == ["SINGLE", "SINGLE", "MULTI",
                                                                  "SINGLE"]


def test_html_in_cdata_or_escaped_becomes_trimmed_text_with_entities_decoded(records):
    first = records[0].content
    assert first.stem == ("社会工作者为养老院的老人开展“老照片里的故事”怀旧小组。\n"
                          "怀旧治疗主要希望帮助老人（   ）。")
    assert first.options[0] == "肯定自己的人生价值，增强自尊"
    escaped = records[1].content
    assert escaped.stem == "生命回顾与一般怀旧相比，更强调（  ）。"
    assert escaped.explanation.endswith("接纳尚未解决的冲突。")
    assert records[2].content.stem == ("社区居家养老服务中，社会工作者可以提供的服务有（   ）：\n"
                                       "1. 面向老人本人；\n2. 面向家庭照顾者。")
    plain = records[15].content
    assert plain.stem == ("In reminiscence work with older adults, the social worker mainly "
                          "helps them to (  ).")
    assert plain.options[0] == "affirm the value of their lives"
    assert plain.explanation == "Reminiscence helps older adults affirm the value of their lives."


def test_auto_format_keeps_its_line_breaks_and_markdown_is_kept_with_a_warning(records):
    assert records[12].content.stem.split("\n")[1] == "社会工作者首先可以为她提供的支持是（ ）。"
    markdown = records[16]
    assert markdown.content.stem == "小组**开始阶段**，组员最常见的表现是（  ）。"
    assert [w.field for w in markdown.warnings] == ["markdown"]


def test_generalfeedback_is_the_explanation_or_a_placeholder_to_complete(records):
    assert records[0].content.explanation.startswith("怀旧治疗通过引导老人回顾过去的经历")
    assert records[3].content.explanation == EXPLANATION_TO_WRITE
    assert records[3].defaulted == ("difficulty", "explanation")


def test_fractions_become_keys_and_what_cannot_be_kept_is_warned(records):
    assert records[2].warnings == ()  # 33.33333 × 3 and -50 × 2
    assert "B" in records[13].warnings[0].render()  # a 50% answer in a one-answer question
    assert records[0].warnings[0].params == {"n": 2}  # two answers had feedback


def test_questions_without_idnumber_get_stable_ids_from_category_and_name(records):
    assert records[0].external_id == "SWPJ-OLD-001"
    first, second = records[1].external_id, records[3].external_id
    assert first.startswith("moodle-") and second == first + "-2"
    again = moodle_xml.read(EXPORT.replace("只回忆愉快的往事".encode(), "只谈高兴的事".encode()))
    assert [r.external_id for r in again] == [r.external_id for r in records]
    moved = moodle_xml.read(EXPORT.replace("怀旧与生命回顾</text>".encode(),
                                           "生命回顾</text>".encode()))
    assert moved[1].external_id != first  # another category, another question


def test_categories_and_tags_map_subject_and_syllabus_nodes(records):
    assert records[0].category[-2:] == ("老年人领域社会工作服务", "怀旧与生命回顾")
    assert records[0].content.syllabus == ("PRAC_JR.05.03.01",)
    assert records[0].content.tags == ("怀旧", "小组工作")
    assert records[2].content.syllabus == ("PRAC_JR.05.03.01", "PRAC_JR.05.02.01")
    group = records[16]  # filed under "COMP_JR.07 小组工作方法"
    assert group.content.subject is Subject.COMP_JR
    assert group.content.syllabus == ("COMP_JR.07", "COMP_JR.07.03.02")
    assert group.defaulted == ("difficulty",)


def test_shuffleanswers_false_is_a_fixed_order(records):
    assert [r.content.fixed_order for r in records if r.content][:2] == [False, True]


def test_an_image_question_is_reported_and_its_text_kept_for_fixing(records):
    image = records[11]
    assert image.content is None and image.problems[0].params == {"kinds": "img"}
    assert image.fields["options"][0] == "与女儿的关系"
    assert "iVBORw0KGgo" not in image.original and "<name>" in image.original


def test_the_portals_own_questions_come_back_exactly():
    spaced = dataclasses.replace(SINGLE, stem="  前后有空格  ", explanation="解析\n第二行 ")
    data, _ = moodle_xml.write([("x-1", spaced), (None, MULTI)])
    first, second = moodle_xml.read(data, defaults=DEFAULTS)
    assert (first.external_id, first.content, first.defaulted) == ("x-1", spaced, ())
    assert (second.external_id, second.content) == (None, MULTI)
