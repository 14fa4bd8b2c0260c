"""Reading a payment provider's statement and a seat sheet: encodings (UTF-8 with or
without a BOM, GB18030 as Excel in China writes it), header names, amounts in yuan,
Beijing times, references, duplicates, whole-file refusals; the national timetable."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from question_bank import payment_sheet, seat_sheet, timetable
from question_bank.formats import csv_format
from question_bank.formats.limits import UnreadableFile
from question_bank.sheets import beijing_time
from question_bank.subjects import Subject

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _statement(*rows):
    return payment_sheet.read_sheet([["准考证号", "金额", "缴费时间", "交易流水号"], *rows])


@pytest.mark.parametrize("name", ["payments_gb18030.csv", "payments_utf8_bom.csv"])
def test_a_statement_reads_the_same_in_gb18030_and_in_utf8_with_a_bom(name):
    data = (FIXTURES / name).read_bytes()
    sheet = payment_sheet.read_sheet(csv_format.read_rows(data, gb18030=True))
    assert [(r.number, r.admission_number, r.amount_fen, r.paid_at, r.reference, r.problems)
            for r in sheet] == [
        (2, "2026001111000001", 14000, datetime(2026, 3, 12, 1, 15, tzinfo=UTC),
         "WX4200000001202603120001", []),
        (3, "2026001111000002", 7000, datetime(2026, 3, 12, 2, 2, tzinfo=UTC),
         "ZFB2026031221001004", []),
        (4, "2026001111000002", 7000, datetime(2026, 3, 13, 0, 30, tzinfo=UTC),
         "ZFB2026031321001077", []),
    ]


def test_gb18030_is_read_only_where_the_caller_allows_it():
    data = (FIXTURES / "payments_gb18030.csv").read_bytes()
    with pytest.raises(UnreadableFile, match="UTF-8"):
        csv_format.read_rows(data)  # the item bank's files stay UTF-8
    assert csv_format.read_rows(data, gb18030=True)[1][1] == "林晓"
    assert csv_format.read_rows("准考证号\r\n".encode(), gb18030=True) == [["准考证号"]]
    with pytest.raises(UnreadableFile, match="GB18030"):
        csv_format.read_rows(b"\x81\x30\x81", gb18030=True)  # a cut four-byte sequence


@pytest.mark.parametrize("text, moment", [
    ("2026-03-12 09:15:00", datetime(2026, 3, 12, 1, 15, tzinfo=UTC)),
    ("2026-03-12 09:15", datetime(2026, 3, 12, 1, 15, tzinfo=UTC)),
    ("2026-03-12T09:15:00", datetime(2026, 3, 12, 1, 15, tzinfo=UTC)),
    ("2026-03-12T01:15:00Z", datetime(2026, 3, 12, 1, 15, tzinfo=UTC)),
    ("2026-03-12T09:15:00+08:00", datetime(2026, 3, 12, 1, 15, tzinfo=UTC)),
    ("2026-03-12T01:15:00.123+00:00", datetime(2026, 3, 12, 1, 15, 0, 123000, tzinfo=UTC)),
    ("2026/3/12 9:15", datetime(2026, 3, 12, 1, 15, tzinfo=UTC)),
    ("2026/03/12 09:15:30", datetime(2026, 3, 12, 1, 15, 30, tzinfo=UTC)),
    ("2026-03-12", None), ("2026-02-30 09:00:00", None), ("2026-03-12 25:00:00", None),
    ("12/03/2026 09:15", None), ("yesterday", None), ("", None),
])
def test_times_are_read_as_beijing_time_unless_they_carry_an_offset(text, moment):
    assert beijing_time(text) == moment


@pytest.mark.parametrize("text, fen", [
    ("70", 7000), ("70.5", 7050), ("140.00", 14000), ("0.01", 1), (" 80 ", 8000),
    ("¥70.00", 7000), ("70.001", None), ("70,00", None), ("1,000", None), ("-70", None),
    ("+70", None), ("7e1", None), ("七十", None), ("７０", None), ("", None),
    ("1000000", None),
])
def test_amounts_are_yuan_with_at_most_two_decimals(text, fen):
    assert payment_sheet.amount_fen(text) == fen


@pytest.mark.parametrize("cells, column", [
    (["", "70", "2026-03-12 09:15:00", "R1"], "准考证号"),
    (["2026001111000001", "七十", "2026-03-12 09:15:00", "R1"], "金额"),
    (["2026001111000001", "0.00", "2026-03-12 09:15:00", "R1"], "金额"),
    (["2026001111000001", "70", "2026-03-12", "R1"], "缴费时间"),
    (["2026001111000001", "70", "2026-03-12 09:15:00", ""], "交易流水号"),
    (["2026001111000001", "70", "2026-03-12 09:15:00", "4.2E+17"], "交易流水号"),
    (["2026001111000001", "70", "2026-03-12 09:15:00", "R 1"], "交易流水号"),
    (["2026001111000001", "70", "2026-03-12 09:15:00", "R" * 65], "交易流水号"),
])
def test_a_bad_cell_is_a_problem_of_its_row_and_column(cells, column):
    (row,) = _statement(cells)
    assert [problem.field for problem in row.problems] == [column]


def test_a_reference_twice_in_the_file_is_a_problem_of_the_second_row():
    rows = _statement(["2026001111000001", "70", "2026-03-12 09:15:00", "R1"],
                      ["2026001111000002", "70", "2026-03-12 09:16:00", "R1"],
                      ["2026001111000002", "70", "2026-03-12 09:17:00", "'R2"])
    assert [[p.render() for p in r.problems]
            for r in rows] == [[], ["交易流水号与第 2 行重复。"], []]
    assert rows[2].reference == "R2"  # Excel's text mark taken off


def test_english_headers_and_extra_columns_are_accepted():
    (row,) = payment_sheet.read_sheet([
        ["Name", "Reference", "Amount", "Time", "Admission number"],
        ["林晓", "R1", "70", "2026-03-12 09:15:00", "2026001111000001"]])
    assert (row.admission_number, row.amount_fen, row.reference) == (
        "2026001111000001", 7000, "R1")


@pytest.mark.parametrize("rows, message", [
    ([], "文件是空的。"),
    ([["准考证号", "金额", "交易流水号"]], "缺少列：缴费时间。"),
    ([["准考证号", "金额", "缴费时间", "交易流水号"], ["", "", "", ""]], "文件中没有缴费记录。"),
])
def test_a_statement_without_payments_is_refused_as_a_whole(rows, message):
    with pytest.raises(UnreadableFile) as refused:
        payment_sheet.read_sheet(rows)
    assert str(refused.value) == message


def test_a_seat_sheet_in_gb18030_gives_one_row_for_all_subjects_or_one_per_subject():
    data = (FIXTURES / "seats_gb18030.csv").read_bytes()
    sheet = seat_sheet.read_sheet(csv_format.read_rows(data, gb18030=True))
    assert [(r.admission_number, r.venue[:7], r.room, r.seat, r.subject, r.starts_at,
             r.problems) for r in sheet] == [
        ("2026001111000001", "北京市第一考点", "第012考场", "08", None, None, []),
        ("2026001111000002", "北京市第二考点", "第003考场", "21", Subject.COMP_JR, None, []),
        ("2026001111000002", "北京市第三考点", "第107考场", "15", Subject.PRAC_JR,
         datetime(2026, 5, 10, 6, 30, tzinfo=UTC), []),
    ]


def test_a_seat_sheet_refuses_mixed_rows_duplicates_and_empty_cells():
    header = ["准考证号", "考点名称", "考点地址", "考场", "座位号", "科目", "开考时间"]
    sheet = seat_sheet.read_sheet([
        header,
        ["A1", "一中", "一路", "1", "1", "", ""],
        ["A1", "一中", "一路", "1", "1", "COMP_JR", ""],       # after "all subjects"
        ["A2", "二中", "二路", "2", "2", "COMP_JR", ""],
        ["A2", "二中", "二路", "2", "3", "COMP_JR", ""],       # the same subject again
        ["A2", "二中", "二路", "2", "4", "", ""],              # after per-subject rows
        ["A3", "", "三路", "3", "1", "", ""],                  # no venue
        ["A4", "四中", "四路", "4", "1", "概论", ""],           # unknown subject
        ["A5", "五中", "五路", "5", "1", "", "2026-05-10 09:00"],  # a time needs a subject
        ["A6", "六中", "六路", "6", "1" * 21, "PRAC_JR", "明天"],
    ])
    assert [[p.field for p in row.problems] for row in sheet] == [
        [], ["科目"], [], ["准考证号"], ["科目"], ["考点名称"], ["科目"], ["开考时间"],
        ["座位号", "开考时间"]]


def test_the_national_timetable_spans_two_days_and_no_level_sits_two_subjects_at_once():
    first = date(2026, 5, 9)
    assert timetable.national_times(Subject.LAW_MID, first) == (
        datetime(2026, 5, 9, 14), datetime(2026, 5, 9, 16))
    assert timetable.national_times(Subject.PRAC_SR, first) == (
        datetime(2026, 5, 10, 14), datetime(2026, 5, 10, 17))
    levels = {"助理": (Subject.COMP_JR, Subject.PRAC_JR),
              "社会工作师": (Subject.LAW_MID, Subject.COMP_MID, Subject.PRAC_MID),
              "高级": (Subject.PRAC_SR,)}
    for subjects in levels.values():
        assert timetable.overlapping(
            {s: timetable.national_times(s, first) for s in subjects}) is None
    assert timetable.overlapping({
        Subject.COMP_JR: (datetime(2026, 5, 10, 9), datetime(2026, 5, 10, 11)),
        Subject.PRAC_JR: (datetime(2026, 5, 10, 10), datetime(2026, 5, 10, 12))}) == (
        Subject.COMP_JR, Subject.PRAC_JR)
