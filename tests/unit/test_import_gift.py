"""GIFT as Moodle 4.x exports it and as trainers write it: every representable question
imports, every other one is reported where it is, and the portal's own items come back
exactly as they left."""

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from question_bank import syllabus
from question_bank.formats import gift
from question_bank.formats.foreign import EXPLANATION_TO_WRITE, FileDefaults, syllabus_finder
from question_bank.formats.limits import UnreadableFile
from question_bank.subjects import Subject

from .bank_samples import MULTI, SINGLE

FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"
EXPORT = (FIXTURES / "moodle_export.gift").read_bytes()
DEFAULTS = FileDefaults(subject=Subject.COMP_JR, difficulty=3,
                        find_node=syllabus_finder(syllabus.load("2025")))
WITH_NODE = dataclasses.replace(DEFAULTS, syllabus=("COMP_JR.04",))
# title: (line, type, keys) for what imports, (line, reason) for what does not
EXPECTED = {
    "保密原则的例外": (7, "SINGLE", ("A",)),
    "专业价值观的内容": (17, "MULTI", ("A", "B")),
    "知情同意": (31, "MULTI", ("A", "B", "C")),
    "练习题": (41, "SINGLE", ("A",)),
    "特殊字符": (59, "SINGLE", ("A",)),
    "Client self-determination": (68, "SINGLE", ("A",)),
    "部分得分": (77, "SINGLE", ("A",)),
    "同一性": (89, "SINGLE", ("A",)),
    "需要层次": (97, "truefalse"),
    "生态系统": (100, "truefalse"),
    "论述题": (103, "essay"),
    "阅读材料": (106, "description"),
    "老年人年龄": (109, "numerical"),
    "理论与代表人物": (112, "matching"),
    "家谱图名称": (119, "shortanswer"),
    "生态图识读": (122, "img"),
    "支持网络对比": (130, "table"),
    "信度系数": (138, "TeX"),
    "延伸阅读": (146, "SINGLE", ("A",)),
    "保护令时限": (158, "法规题须注明法规名称"),
}


@pytest.fixture(scope="module")
def records():
    return gift.read(EXPORT, defaults=DEFAULTS)


def _by_title(records):
    found = {}
    for record in records:
        found.setdefault(record.place.name, record)
    return found


def test_a_moodle_export_imports_every_representable_question(records):
    assert len(records) == 21  # the two categories are not questions
    by_title = _by_title(records)
    assert set(by_title) == set(EXPECTED)
    for title, expected in EXPECTED.items():
        record = by_title[title]
        assert record.place.line == expected[0], title
        if len(expected) == 3:
            assert record.problems == (), (title, record.problems)
            assert (record.content.item_type.value, record.content.keys) == expected[1:], title
        else:
            assert record.content is None, title
            assert expected[1] in " ".join(p.render() for p in record.problems), title
    second = [r for r in records if r.place.name == "练习题"][1]
    assert second.content.stem.startswith("社会工作者对服务对象的行为") and second.place.line == 49


@pytest.mark.parametrize("kind", ["truefalse", "essay", "description", "numerical", "matching",
                                  "shortanswer"])
def test_other_question_types_are_reported_by_name_not_refused_with_the_file(records, kind):
    reported = [r for r in records if any(p.params.get("type") == kind for p in r.problems)]
    assert reported and all(r.content is None for r in reported)
    assert all(r.fields["type"] == kind and r.fields["stem"] for r in reported)


def test_category_lines_file_the_questions_after_them(records):
    by_title = _by_title(records)
    assert by_title["保密原则的例外"].category == (
        "Default for 社工初级班", "社会工作综合能力（初级）", "社会工作服务专业价值观与道德规范")
    assert by_title["同一性"].category[-1] == "人类行为与社会环境"
    assert by_title["保护令时限"].category[-2:] == ("社会工作法规与政策",
                                                   "反家庭暴力与家庭教育促进")


def test_html_and_format_markers_become_the_portals_text(records):
    by_title = _by_title(records)
    first = by_title["保密原则的例外"].content
    assert first.stem == ("社会工作者小周在会谈中得知服务对象小林（16 岁）打算离家后伤害自己。"
                          "根据社会工作伦理，小周首先应当（   ）。")
    assert first.options[0] == "向督导报告并及时采取保护措施"
    assert first.explanation.startswith("保密原则存在例外：")
    assert by_title["专业价值观的内容"].content.stem == (
        "下列关于社会工作专业价值观的说法中，正确的有（   ）。\n"
        "• 请选择所有正确的选项；\n• 错选不得分。")
    english = by_title["Client self-determination"].content
    assert english.stem == ("Which principle means that the client has the right to make "
                            "his or her own choices?")
    assert english.explanation.startswith("Self-determination & its limits")
    assert not any("[html]" in r.fields.get("stem", "") or "<p>" in r.fields.get("stem", "")
                   for r in records)
    markdown = by_title["同一性"]
    assert markdown.content.stem.startswith("**埃里克森**认为")
    assert [w.field for w in markdown.warnings] == ["markdown"]


def test_gift_escapes_are_read(records):
    content = _by_title(records)["特殊字符"].content
    assert "“总分 = 各题得分之和”，第 #3 题反向计分，量表满分 {100} 分" in content.stem
    assert content.stem.endswith("（  ）:")
    assert content.options[3] == "总分 = 得分最高一题的分数"
    assert "再与其他题相加: 总分不能用约数（~）代替" in content.explanation


def test_per_answer_feedback_is_split_off_and_reported_as_not_kept(records):
    record = _by_title(records)["保密原则的例外"]
    assert "正确" not in "".join(record.content.options)
    assert [w.params for w in record.warnings] == [{"n": 3}]
    assert "选项反馈未导入" in record.warnings[0].render()


def test_weights_mark_the_keys_of_a_multiple_answer_question(records):
    by_title = _by_title(records)
    assert by_title["知情同意"].warnings == ()  # 33.33333 × 3: the official rule fits
    partial = by_title["部分得分"]
    assert partial.content.keys == ("A",) and "B" in partial.warnings[0].render()


def test_answers_inside_the_text_leave_a_blank_there(records):
    fields = _by_title(records)["保护令时限"].fields
    assert fields["stem"] == ("根据《中华人民共和国反家庭暴力法》，"
                              "人民法院受理人身安全保护令申请后，应当在（  ）内作出"
                              "人身安全保护令或者驳回申请；情况紧急的，应当在二十四小时内作出。")
    assert fields["options"] == ["七十二小时", "二十四小时", "十五日", "三十日"]


def test_images_tables_and_formulas_are_reported_not_dropped(records):
    by_title = _by_title(records)
    image = by_title["生态图识读"]
    assert image.problems[0].field == "stem" and image.problems[0].params == {"kinds": "img"}
    assert image.fields["options"] == ["邻居", "子女", "社区卫生服务中心", "老年协会"]
    assert by_title["延伸阅读"].warnings[0].field == "stem"  # a link's address


def test_ids_are_moodles_idnumber_or_stable_digests_not_titles(records):
    by_title = _by_title(records)
    assert by_title["保密原则的例外"].external_id == "SWJR-VAL-001"
    practice = [r.external_id for r in records if r.place.name == "练习题"]
    assert practice[1] == practice[0] + "-2" and practice[0].startswith("gift-")
    assert len({r.external_id for r in records}) == len(records)
    edited = EXPORT.replace("~朋友关系".encode(), "~同事关系".encode())
    assert [r.external_id for r in gift.read(edited)] == [r.external_id for r in records]


def test_the_category_path_and_tags_map_to_syllabus_nodes(records):
    by_title = _by_title(records)
    first = by_title["保密原则的例外"]
    assert first.content.tags == ("伦理", "保密与知情同意")
    assert first.content.syllabus == ("COMP_JR.04", "COMP_JR.04.04.01")
    assert by_title["专业价值观的内容"].content.syllabus == ("COMP_JR.04", "COMP_JR.04.04.02")
    assert by_title["同一性"].content.syllabus == ("COMP_JR.05",)
    law = by_title["保护令时限"]
    assert (law.fields["subject"], law.fields["syllabus"]) == ("LAW_MID", ["LAW_MID.05.05"])


def test_fields_other_systems_lack_come_from_the_files_defaults_and_say_so(records):
    by_title = _by_title(records)
    assert by_title["保密原则的例外"].defaulted == ("difficulty",)
    unexplained = by_title["练习题"]
    assert unexplained.defaulted == ("difficulty", "explanation")
    assert unexplained.content.explanation == EXPLANATION_TO_WRITE
    assert unexplained.needs_completing and unexplained.content.difficulty == 3


def test_without_defaults_nothing_is_filled_in():
    records = gift.read(EXPORT)
    assert all(r.content is None and r.defaulted == () for r in records)
    first = records[0]
    assert {p.field for p in first.problems} == {"subject", "difficulty"}
    assert first.fields["stem"].startswith("社会工作者小周")


def test_utf8_with_a_bom_and_windows_line_ends_reads_as_it_is():
    [record] = gift.read((FIXTURES / "gift_utf8_bom_crlf.gift").read_bytes(), defaults=WITH_NODE)
    assert record.place.line == 2 and "\r" not in record.content.stem
    assert record.content.options[0] == "为志愿者购买相应的人身意外伤害保险"


def test_a_windows_1252_file_is_read_in_the_encoding_the_trainer_chooses():
    data = (FIXTURES / "gift_windows1252.gift").read_bytes()
    with pytest.raises(UnreadableFile) as refused:
        gift.read(data)
    assert "Windows-1252" in refused.value.message
    records = gift.read(data, encoding="cp1252", defaults=WITH_NODE)
    assert records[0].content.stem == ("A client’s information may be disclosed without "
                                       "consent when (  ).")
    assert records[1].content.stem.startswith("The “memory café” group")
    assert records[0].category == ("Social work ethics",)
    assert gift.read(data, encoding="auto")[1].fields["stem"] == records[1].content.stem


def test_a_gb18030_file_is_read_in_the_encoding_the_trainer_chooses():
    data = (FIXTURES / "gift_gb18030.gift").read_bytes()
    [record] = gift.read(data, encoding="gb18030", defaults=DEFAULTS)
    assert record.content.options[0] == "让有需要的人留在熟悉的社区中得到照顾"
    assert record.content.syllabus == ("COMP_JR.08",)  # 社区工作方法
    assert gift.guess_encoding(data) == "gb18030"


@pytest.mark.parametrize("name, encoding, message", [
    ("gift_windows1252.gift", "gb18030", "GB18030"),
    ("gift_gb18030.gift", "utf-8", "UTF-8"),
    ("gift_gb18030.gift", "latin-9", "不支持的编码"),
])
def test_a_file_that_is_not_in_the_chosen_encoding_is_refused_clearly(name, encoding, message):
    with pytest.raises(UnreadableFile) as refused:
        gift.read((FIXTURES / name).read_bytes(), encoding=encoding)
    assert message in refused.value.message % refused.value.params


def test_guessing_tells_windows_1252_from_gb18030_and_utf8():
    assert gift.guess_encoding((FIXTURES / "gift_windows1252.gift").read_bytes()) == "cp1252"
    assert gift.guess_encoding(EXPORT) == "utf-8"
    assert gift.guess_encoding("社会工作".encode("utf-16")) == "utf-16"


@pytest.mark.parametrize("stem", [
    "// 不是注释：题干以两个斜杠开头（  ）。",
    "$CATEGORY: 也不是分类（  ）。",
    "  前后有空格的题干（  ）。  ",
    "\n以换行开头的题干",
    "[html]看起来带有格式标记的题干",
])
def test_the_portals_own_items_come_back_exactly(stem):
    item = dataclasses.replace(SINGLE, stem=stem, options=(" 甲", "乙 ", "丙", "丁"),
                               explanation="解析 ")
    data, _ = gift.write([("x-1", item), (None, MULTI)])
    first, second = gift.read(data)
    assert (first.external_id, first.content) == ("x-1", item)
    assert (second.external_id, second.content) == (None, MULTI)


def test_the_portals_export_says_what_moodle_needs():
    data, _ = gift.write([("x-1", SINGLE)])
    text = data.decode()
    assert "$CATEGORY: $course$/top/COMP_JR" in text and "// [id:x-1]" in text
    assert "::x-1::[plain]" in text


def test_a_malformed_block_is_reported_and_the_rest_imports():
    data = "::坏题::题干 {=甲 ~乙\n\n::好题::题干（  ）。{=甲 ~乙 ~丙 ~丁}\n".encode()
    bad, good = gift.read(data, defaults=WITH_NODE)
    assert bad.content is None and bad.problems[0].field == "item"
    assert good.problems == () and good.place.line == 3


def _escaped_reference(text: str):
    """(index, character) of every character not escaped, as GIFT reads left to right."""
    index = 0
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        yield index, text[index]
        index += 1


@given(st.text(alphabet="\\:#{}=~->ab\n", max_size=40), st.integers(0, 5))
def test_escaped_characters_are_never_found(text, start):


    free = list(_escaped_reference(text))
    masked = gift._unescaped(text)
    for characters in ("{", "=~"):
        assert gift._positions(masked, characters, start) == [
            i for i, ch in free if ch in characters and i >= start]
    for token in ("::", "####", "#", "->"):
        expected = next((i for i, _ in free if i >= start and text.startswith(token, i)), -1)
        assert masked.find(token, start) == expected


@given(st.text(alphabet="\\~=#{}:na社 \n\ue004", max_size=30))
def test_unescaping_reads_escapes_left_to_right_as_the_pattern_does(text):
    pattern = gift._GIFT_ESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), text)
    assert gift._unescape(text) == pattern
