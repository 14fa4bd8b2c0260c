"""Notes and error reports: what may be kept and sent, and how a report is answered."""

import pytest

from question_bank.item_feedback import (
    NOTE_MAX_CHARS,
    REPLY_MAX_CHARS,
    REPORT_MAX_CHARS,
    REPORT_MIN_CHARS,
    ReportKind,
    ReportStatus,
    clean_text,
    note_problem,
    report_problem,
    resolution_problem,
)


@pytest.mark.parametrize(("raw", "kept"), [
    (None, ""), ("", ""), ("  \n\t ", ""), ("  要点：先评估 \r\n再介入\r", "要点：先评估 \n再介入"),
])
def test_text_is_kept_with_one_kind_of_line_break_and_no_surrounding_blanks(raw, kept):
    assert clean_text(raw) == kept


def test_a_note_may_be_empty_and_up_to_its_limit_in_characters_not_bytes():
    assert note_problem("") is None
    assert note_problem("笔" * NOTE_MAX_CHARS) is None  # 6,000 bytes in UTF-8
    problem = note_problem("笔" * (NOTE_MAX_CHARS + 1))
    assert problem.field == "text" and problem.render() == f"笔记最多 {NOTE_MAX_CHARS} 个字。"


@pytest.mark.parametrize(("kind", "text", "field"), [
    (None, "答案应为 B，见教材第三章。", "kind"),
    ("key", "答案应为 B，见教材第三章。", "kind"),  # the member's name, exactly
    ("KEY", "", "text"),
    ("KEY", "错" * (REPORT_MIN_CHARS - 1), "text"),
    ("OTHER", "错" * (REPORT_MAX_CHARS + 1), "text"),
])
def test_a_report_needs_a_kind_and_a_text_of_reasonable_length(kind, text, field):
    assert report_problem(kind, text).field == field


@pytest.mark.parametrize("kind", list(ReportKind))
def test_every_kind_with_a_short_or_long_text_is_a_valid_report(kind):
    assert report_problem(kind.value, "错" * REPORT_MIN_CHARS) is None
    assert report_problem(kind.value, "错" * REPORT_MAX_CHARS) is None


def test_an_open_report_is_resolved_accepted_or_rejected_with_a_reply():
    assert resolution_problem(ReportStatus.OPEN, "ACCEPTED", "已更正答案，谢谢。") is None
    assert resolution_problem(ReportStatus.OPEN, "REJECTED", "答案无误。") is None
    assert resolution_problem(ReportStatus.OPEN, "REJECTED", "回" * REPLY_MAX_CHARS) is None
    assert resolution_problem(ReportStatus.OPEN, "OPEN", "……").field == "outcome"
    assert resolution_problem(ReportStatus.OPEN, None, "……").field == "outcome"
    assert resolution_problem(ReportStatus.OPEN, "ACCEPTED", "").field == "reply"
    assert resolution_problem(ReportStatus.OPEN, "ACCEPTED",
                              "回" * (REPLY_MAX_CHARS + 1)).field == "reply"


@pytest.mark.parametrize("status", [ReportStatus.ACCEPTED, ReportStatus.REJECTED])
def test_a_resolved_report_is_never_resolved_again(status):
    assert status.is_resolved
    assert resolution_problem(status, "ACCEPTED", "再处理一次").message == "这条纠错已经处理过了。"
