"""Reading a paper sitting's score sheet: headers, subjects by code or name, scores,
duplicates, and whole-file refusals."""

from decimal import Decimal

import pytest

from question_bank.formats.limits import UnreadableFile
from question_bank.score_sheet import read_sheet
from question_bank.subjects import Subject, subject_named


def test_rows_read_with_subjects_by_code_or_official_name():
    sheet = read_sheet([
        ["姓名", "准考证号", "科目", "成绩"],
        ["林晓", "2026001111000001", "COMP_JR", "72.5"],
        ["林晓", "2026001111000001", "社会工作实务(初级)", " 60 "],
        ["", "", "", ""],
        ["王芳", "2026001111000002", "comp_jr", "59.5"],
    ])
    assert [(r.number, r.admission_number, r.subject, r.score, r.name, r.problems)
            for r in sheet] == [
        (2, "2026001111000001", Subject.COMP_JR, Decimal("72.5"), "林晓", []),
        (3, "2026001111000001", Subject.PRAC_JR, Decimal("60"), "林晓", []),
        (5, "2026001111000002", Subject.COMP_JR, Decimal("59.5"), "王芳", []),
    ]


@pytest.mark.parametrize("cells, field", [
    (["", "COMP_JR", "60"], "准考证号"),
    (["2026001111000001", "社会工作概论", "60"], "科目"),
    (["2026001111000001", "COMP_JR", "六十"], "成绩"),
    (["2026001111000001", "COMP_JR", "NaN"], "成绩"),
    (["2026001111000001", "COMP_JR", "Infinity"], "成绩"),
    (["2026001111000001", "COMP_JR", "1e1"], "成绩"),
    (["2026001111000001", "COMP_JR", "7_0"], "成绩"),
    (["2026001111000001", "COMP_JR", "+60"], "成绩"),
    (["2026001111000001", "COMP_JR", "６０"], "成绩"),
    (["2026001111000001", "COMP_JR", "-5"], "成绩"),
])
def test_a_bad_cell_is_a_problem_of_its_row(cells, field):
    (row,) = read_sheet([["准考证号", "科目", "成绩"], cells])
    assert [problem.field for problem in row.problems] == [field]


def test_the_same_subject_twice_for_one_number_is_a_problem():
    sheet = read_sheet([["准考证号", "科目", "成绩"], ["1", "COMP_JR", "60"],
                        ["1", "COMP_JR", "61"]])
    assert sheet[0].problems == [] and sheet[1].problems[0].params == {"n": 2}


@pytest.mark.parametrize("rows", [[], [["", ""]], [["准考证号", "成绩"], ["1", "60"]],
                                  [["准考证号", "科目", "成绩"]]])
def test_a_file_without_headers_or_scores_is_refused_whole(rows):
    with pytest.raises(UnreadableFile):
        read_sheet(rows)


def test_subject_names_tolerate_bracket_widths_and_nothing_else():
    assert subject_named("社会工作综合能力（中级）") is Subject.COMP_MID
    assert subject_named("社会工作综合能力(中级)") is Subject.COMP_MID
    assert subject_named("社会工作法规与政策") is Subject.LAW_MID
    assert subject_named("社会工作综合能力") is None


def test_a_leading_apostrophe_keeping_a_number_as_text_is_dropped():
    (row,) = read_sheet([["准考证号", "科目", "成绩"], ["'2026001111000001", "COMP_JR", "60"]])
    assert row.admission_number == "2026001111000001" and row.problems == []
