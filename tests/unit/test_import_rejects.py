"""What an import did not take comes back as the XLSX template to fix and re-import; the
syllabus lookup behind the mapping of categories and tags."""

import io
from pathlib import Path

import openpyxl
import pytest

from question_bank import syllabus
from question_bank.formats import gift, moodle_xml, rejects, xlsx_format
from question_bank.formats.foreign import FileDefaults, syllabus_finder
from question_bank.formats.table import HEADERS
from question_bank.subjects import Subject

FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"
FINDER = syllabus_finder(syllabus.load("2025"))
DEFAULTS = FileDefaults(subject=Subject.COMP_JR, difficulty=3, find_node=FINDER)


def _sheet(data: bytes):
    book = openpyxl.load_workbook(io.BytesIO(data))
    rows = [[cell.value or "" for cell in row] for row in book.active.iter_rows()]
    return rows[0], [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_rejects_come_back_in_the_template_with_place_reason_and_original():
    records = gift.read((FIXTURES / "moodle_export.gift").read_bytes(), defaults=DEFAULTS)
    refused = [r for r in records if r.content is None]
    headers, rows = _sheet(rejects.write(records))
    assert headers == [*HEADERS, *rejects.EXTRA_HEADERS]
    assert len(rows) == len(refused) == 11
    truefalse = rows[0]
    assert truefalse["题型"] == "truefalse" and truefalse["题干"].startswith("马斯洛认为")
    assert truefalse[rejects.PLACE] == "第 97 行 “需要层次”"
    assert "truefalse" in truefalse[rejects.REASONS]
    assert truefalse[rejects.ORIGINAL].startswith("// question: 3202  name: 需要层次")
    image = next(row for row in rows if row["外部编号"] == refused[7].external_id)
    assert image["题干"] == "请根据下图判断服务对象最主要的支持来源是（  ）。\n〔图片：生态图〕"
    assert image["选项A"] == "邻居" and image["答案"] == "A" and image["科目"] == "COMP_JR"
    assert "stem: 含有题库不能显示的内容：img" in image[rejects.REASONS]


def test_a_fixed_reject_imports_from_the_returned_file():
    records = gift.read((FIXTURES / "moodle_export.gift").read_bytes(), defaults=DEFAULTS)
    book = openpyxl.load_workbook(io.BytesIO(rejects.write(records)))
    sheet = book.active
    headers = [cell.value for cell in sheet[1]]
    row = next(row for row in sheet.iter_rows(min_row=2)
               if row[headers.index("题干")].value.startswith("根据《中华人民共和国反家庭暴力法》"))
    row[headers.index("法规名称")].value = "中华人民共和国反家庭暴力法"
    row[headers.index("条款")].value = "第二十八条"
    row[headers.index("生效日期")].value = "2016-03-01"
    buffer = io.BytesIO()
    book.save(buffer)
    again = xlsx_format.read(buffer.getvalue())
    assert len(again) == 11
    # Rows of other types stay refused until fixed; a question whose image or table the
    # trainer leaves out says so in its text.
    fixed = [r for r in again if r.content is not None and "〔" not in r.content.stem
             and "$$" not in r.content.stem and "\\(" not in r.content.stem]
    assert len(fixed) == 1
    marked = [r.content.stem for r in again if r.content is not None and r not in fixed]
    assert len(marked) == 3
    assert all(any(mark in stem for mark in ("〔图片：生态图〕", "〔表格〕", "\\(\\alpha\\)"))
               for stem in marked)
    content = fixed[0].content
    assert (content.subject, content.syllabus, content.keys) == (Subject.LAW_MID,
                                                                 ("LAW_MID.05.05",), ("A",))
    assert content.law.statute == "中华人民共和国反家庭暴力法"
    assert fixed[0].external_id == next(r.external_id for r in records
                                        if r.place.name == "保护令时限")


def test_a_translator_renders_the_reasons():
    records = moodle_xml.read((FIXTURES / "moodle_export.xml").read_bytes(), defaults=DEFAULTS)
    _, rows = _sheet(rejects.write(records, translate=lambda text: text.replace("题型", "TYPE")))
    assert "TYPE" in rows[0][rejects.REASONS] and rows[0][rejects.PLACE] == "第 5 题 “老年节”"


def test_records_that_imported_are_not_handed_back():
    records = gift.read((FIXTURES / "gift_gb18030.gift").read_bytes(), encoding="gb18030",
                        defaults=DEFAULTS)
    assert records[0].content is not None and rejects.rows(records) == []


@pytest.mark.parametrize("text, subject, code", [
    ("COMP_JR.04.04.01", None, "COMP_JR.04.04.01"),
    ("comp_jr.04", None, "COMP_JR.04"),
    ("COMP_JR.07 小组工作方法", None, "COMP_JR.07"),
    ("第四章 社会工作服务专业价值观与道德规范", Subject.COMP_JR, "COMP_JR.04"),
    ("4. 社会工作服务专业价值观与道德规范", Subject.COMP_JR, "COMP_JR.04"),
    ("（二）危机介入模式", Subject.COMP_JR, "COMP_JR.06.03.02"),
    ("预估工具:家谱图、生态图与社会生活史", None, "PRAC_JR.01.02.03"),
    ("Nonexistent", None, None),
    ("COMP_JR.04", Subject.LAW_MID, None),  # a code of another subject
])
def test_the_finder_takes_codes_and_titles(text, subject, code):
    node = FINDER(text, subject)
    assert (node.code if node else None) == code


def test_a_title_several_nodes_share_names_none_of_them_without_a_subject():
    assert FINDER("危机介入模式", None) is None
    assert FINDER("危机介入模式", Subject.COMP_JR).code == "COMP_JR.06.03.02"


def test_defaults_never_touch_the_portals_own_items():
    from .bank_samples import SINGLE

    data, _ = gift.write([("x-1", SINGLE)])
    [record] = gift.read(data, defaults=FileDefaults(subject=Subject.LAW_MID, difficulty=5))
    assert record.content == SINGLE and record.defaulted == ()
