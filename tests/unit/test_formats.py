"""Import/export formats: lossless round trips, clear refusals for bad and hostile files."""

import csv
import dataclasses
import io
import json
import zipfile

import openpyxl
import pytest

from question_bank.formats import (
    csv_format,
    gift,
    json_format,
    limits,
    moodle_xml,
    qti,
    xlsx_format,
)
from question_bank.formats.limits import UnreadableFile

from .bank_samples import ALL

FORMATS = {"json": json_format, "csv": csv_format, "xlsx": xlsx_format}
ITEMS = [(f"ext-{name}", content) for name, content in ALL.items()] + [(None, ALL["single"])]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_item_type_survives_a_round_trip(fmt):
    module = FORMATS[fmt]
    records = module.read(module.write(ITEMS))
    assert [r.problems for r in records] == [()] * len(ITEMS)
    assert [(r.external_id, r.content) for r in records] == ITEMS


@pytest.mark.parametrize("fmt", FORMATS)
def test_too_many_items_for_the_web_are_refused(fmt):
    module = FORMATS[fmt]
    with pytest.raises(UnreadableFile, match="命令行"):
        module.read(module.write(ITEMS), max_items=3)


def test_row_errors_name_the_row_and_field():
    data = csv_format.write(ITEMS).decode("utf-8-sig").splitlines()
    text = "\n".join(data).replace("COMP_JR,SINGLE", "COMP_JR,TRUE_FALSE", 1)
    records = csv_format.read(text.encode())
    bad = [r for r in records if r.problems]
    assert len(bad) == 1 and bad[0].location == 2
    assert bad[0].problems[0].field == "type"


@pytest.mark.parametrize("data, message", [
    (b"\xff\xfe\x00garbage", "UTF-8"),
    (b"", "空"),
    ("科目,题型\nCOMP_JR,SINGLE\n".encode(), "缺少列"),
])
def test_unreadable_csv_is_refused_as_a_whole(data, message):
    with pytest.raises(UnreadableFile) as raised:
        csv_format.read(data)
    assert message in raised.value.message % raised.value.params


@pytest.mark.parametrize("data", [b"{", b'{"items": 3}', b"[" * 100_000 + b"]" * 100_000, b"\xff"])
def test_malformed_json_is_refused(data):
    with pytest.raises(UnreadableFile):
        json_format.read(data)


def test_json_records_with_wrong_types_get_problems_not_crashes():
    data = json.dumps([{"subject": 5, "type": [], "stem": {}, "options": "abc",
                        "difficulty": "hard", "syllabus": None, "sub_questions": 7}, "text"])
    records = json_format.read(data.encode())
    assert all(record.problems and record.content is None for record in records)


def test_xlsx_formula_cells_are_refused():
    book = openpyxl.load_workbook(io.BytesIO(xlsx_format.write(ITEMS[:1])))
    book.active["D2"] = "=1+1"
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(UnreadableFile, match="公式"):
        xlsx_format.read(buffer.getvalue())


def test_xlsx_text_that_looks_like_a_formula_is_written_as_text():
    book = openpyxl.load_workbook(io.BytesIO(xlsx_format.write(ITEMS[:1])))
    assert all(cell.data_type != "f" for row in book.active.iter_rows() for cell in row)


def test_not_an_xlsx_file_is_refused():
    with pytest.raises(UnreadableFile, match="XLSX"):
        xlsx_format.read(b"PK\x03\x04 not really a zip")


def test_an_xlsx_zip_bomb_is_refused_before_parsing():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml",
                         b"<a>" + b" " * (limits.WEB.member_bytes + 1) + b"</a>")
    with pytest.raises(UnreadableFile, match="过大"):
        xlsx_format.read(buffer.getvalue())


def test_xlsx_with_entity_expansion_is_refused():
    source = io.BytesIO(xlsx_format.write(ITEMS[:1]))
    laughs = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 9))
    bomb = ('<?xml version="1.0"?><!DOCTYPE w [<!ENTITY l0 "lol">' + laughs + ']>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&l8;</t></is></c></row>'
            '</sheetData></worksheet>').encode()
    out = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(out, "w") as patched:
        for info in original.infolist():
            data = original.read(info.filename)
            patched.writestr(info, bomb if info.filename == "xl/worksheets/sheet1.xml" else data)
    with pytest.raises(UnreadableFile, match="XLSX"):
        xlsx_format.read(out.getvalue())


def test_the_xlsx_template_has_chinese_headers():
    book = openpyxl.load_workbook(io.BytesIO(xlsx_format.template()))
    headers = [cell.value for cell in book.active[1]]
    assert headers[:4] == ["外部编号", "科目", "题型", "题干"]


CHOICE_FORMATS = {"gift": gift, "moodle_xml": moodle_xml, "qti": qti}
CHOICE_ITEMS = [(external_id, content) for external_id, content in ITEMS
                if content.item_type.is_choice]


@pytest.mark.parametrize("fmt", CHOICE_FORMATS)
def test_choice_items_survive_gift_moodle_and_qti(fmt):
    module = CHOICE_FORMATS[fmt]
    data, refused = module.write(ITEMS)
    assert sorted(external_id for external_id, _ in refused) == ["ext-case", "ext-essay",
                                                                 "ext-plan"]
    assert all("不能表达" in problem.render() for _, problem in refused)
    records = module.read(data)
    assert [r.problems for r in records] == [()] * len(CHOICE_ITEMS)
    assert [(r.external_id, r.content) for r in records] == CHOICE_ITEMS


def test_gift_escapes_its_special_characters():
    tricky = dataclasses.replace(ALL["single"], stem="a~b=c#d{e}f:g\\h\n第二行",
                                 options=("1=1", "~2", "{3}", "4#"))
    data, _ = gift.write([("x:1", tricky)])
    assert "\\~" in data.decode() and "\\{" in data.decode()
    [record] = gift.read(data)
    assert record.content == tricky and record.external_id == "x:1"


def test_gift_from_another_system_reads_with_defaults_missing():
    data = "::q1::题干 {=对 ~错 ~错 ~错}\n".encode()
    [record] = gift.read(data)
    assert record.content is None and {p.field for p in record.problems} >= {"subject"}


def test_a_foreign_moodle_question_type_is_refused_individually():
    data, _ = moodle_xml.write(CHOICE_ITEMS[:1])
    data = data.replace(b"</quiz>", b'<question type="truefalse"><name><text>tf</text></name>'
                                    b"</question></quiz>")
    first, second = moodle_xml.read(data)
    assert first.content is not None
    assert second.content is None and "truefalse" in second.problems[0].render()


@pytest.mark.parametrize("module", [moodle_xml])
def test_xml_with_a_dtd_or_entities_is_refused(module):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE quiz [<!ENTITY a "aaaaaaaa">]>'
            b"<quiz><question type=\"multichoice\"><name><text>&a;</text></name></question></quiz>")
    with pytest.raises(UnreadableFile, match="DTD"):
        module.read(bomb)


def test_a_qti_package_with_an_entity_in_an_item_is_refused():
    data, _ = qti.write(CHOICE_ITEMS[:1])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as original, zipfile.ZipFile(out, "w") as patched:
        for info in original.infolist():
            body = original.read(info.filename)
            if info.filename.startswith("items/"):
                body = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM '
                        b'"file:///etc/passwd">]><x>&e;</x>')
            patched.writestr(info, body)
    with pytest.raises(UnreadableFile):
        qti.read(out.getvalue())


def test_not_a_qti_zip_is_refused():
    with pytest.raises(UnreadableFile, match="zip"):
        qti.read(b"not a zip")


def test_csv_export_defuses_formula_triggers_and_reads_them_back():
    risky = dataclasses.replace(ALL["single"], options=("-2+3+cmd|' /C calc'!A0", "'quoted",
                                                        "\t制表开头", "正常"))
    data = csv_format.write([("x", risky)])
    _, cells = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    assert "'-2+3+cmd|' /C calc'!A0" in cells and "''quoted" in cells
    assert not any(cell.startswith(("=", "+", "-", "@", "\t")) for cell in cells)
    [record] = csv_format.read(data)
    assert record.content == risky


def test_xlsx_dates_and_numbers_typed_in_excel_are_read_as_text():
    book = openpyxl.load_workbook(io.BytesIO(xlsx_format.write([("law-1", ALL["law"])])))
    sheet = book.active
    headers = [cell.value for cell in sheet[1]]
    from datetime import datetime

    sheet.cell(row=2, column=headers.index("生效日期") + 1, value=datetime(2019, 1, 1))
    sheet.cell(row=2, column=headers.index("难度") + 1, value=3)
    buffer = io.BytesIO()
    book.save(buffer)
    [record] = xlsx_format.read(buffer.getvalue())
    assert record.problems == () and record.content == ALL["law"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_tag_holding_a_line_break_or_backslash_stays_one_tag(fmt):
    module = FORMATS[fmt]
    tagged = dataclasses.replace(ALL["single"], tags=("第一行\n第二行", "C:\\new", "普通"))
    [record] = module.read(module.write([("x", tagged)]))
    assert record.content.tags == tagged.tags


def test_a_tag_cell_typed_in_excel_reads_a_lone_backslash_as_it_is():
    data = csv_format.write([("x", ALL["single"])]).decode("utf-8-sig")
    data = data.replace("个案工作\n接案", "个案\\工作\n接案")
    [record] = csv_format.read(data.encode())
    assert record.content.tags == ("个案\\工作", "接案")


def _demo_bank():
    from importlib import resources

    folder = resources.files("question_bank") / "data" / "demo_bank"
    records = []
    for entry in sorted(folder.iterdir(), key=lambda path: path.name):
        if entry.name.endswith(".json"):
            records += json_format.read(entry.read_bytes())
    return [(record.external_id, record.content) for record in records]


def test_the_demo_bank_round_trips_losslessly_in_all_six_formats():
    bank = _demo_bank()
    choices = [(external_id, content) for external_id, content in bank
               if content.item_type.is_choice]
    assert len(bank) >= 500 and len(choices) < len(bank)
    for module in FORMATS.values():
        records = module.read(module.write(bank), max_items=None)
        assert [(r.external_id, r.content) for r in records] == bank, module.__name__
    for module in CHOICE_FORMATS.values():
        data, refused = module.write(bank)
        assert len(refused) == len(bank) - len(choices)
        records = module.read(data)
        assert [(r.external_id, r.content) for r in records] == choices, module.__name__
