"""Importing a paper sitting's scores by admission number: preview with per-row errors,
all or nothing, idempotent, from CSV and XLSX, through the pages."""

import io
import json
import re

import openpyxl
import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.audit import AuditEvent
from exam_portal.models.sittings import Registration, SubjectResult

from .test_results_pages import AFTER_EXAM
from .test_sittings import NOW
from .test_sittings_pages import _admin_client, _create, _other_candidate, _signed_in


def _registered(app, session_id, count=2) -> list[str]:
    for _ in range(count):
        client = _signed_in(app, _other_candidate(app))
        assert client.post(f"/exams/sessions/{session_id}/register", data={
            f"s{session_id}-level": "ASSISTANT", f"s{session_id}-region": "11",
            f"s{session_id}-declared": "y"}).status_code == 302
    with app.app_context():
        return list(db.session.scalars(sa.select(Registration.admission_number)
                                       .order_by(Registration.id)))


def _csv(rows) -> bytes:
    return ("\ufeff" + "\r\n".join(",".join(row) for row in rows) + "\r\n").encode()


def _upload(admin, session_id, data: bytes, name="scores.csv"):
    return admin.post(f"/admin/sessions/{session_id}/scores/import",
                      data={"file": (io.BytesIO(data), name)},
                      content_type="multipart/form-data")


def _confirm(admin, session_id, preview, reason=""):
    token = re.search(r'name="token" type="hidden" value="([^"]+)"',
                      preview.get_data(as_text=True)).group(1)
    return admin.post(f"/admin/sessions/{session_id}/scores/import/confirm",
                      data={"token": token, "reason": reason}, follow_redirects=True)


def _scores(app) -> list[tuple]:
    with app.app_context():
        return [(r.subject.value, r.score_halves, r.passed) for r in db.session.scalars(
            sa.select(SubjectResult).order_by(SubjectResult.registration_id,
                                              SubjectResult.subject))]


@pytest.fixture
def paper_session(app):
    """A paper session with two verified registrations; the test runs after its exam."""
    with freeze_time(NOW):
        admin = _admin_client(app)
        session_id = _create(admin, mode="PAPER")
        numbers = _registered(app, session_id)
        _verify_all(app, admin, session_id)
    with freeze_time(AFTER_EXAM):
        yield _admin_client(app), session_id, numbers


def _verify_all(app, admin, session_id) -> None:
    with app.app_context():
        ids = [str(i) for i in db.session.scalars(sa.select(Registration.id))]
    assert admin.post(f"/admin/sessions/{session_id}/registrations/review", data={
        "registration": ids, "action": "verify"}).status_code == 302


def test_a_clean_file_previews_then_imports_and_importing_it_again_changes_nothing(
        app, paper_session):
    admin, session_id, (first, second) = paper_session
    data = _csv([["准考证号", "科目", "成绩", "姓名"], [first, "COMP_JR", "72.5", "林晓"],
                 [first, "社会工作实务（初级）", "60", ""], [second, "COMP_JR", "59.5", ""]])
    preview = _upload(admin, session_id, data)
    text = preview.get_data(as_text=True)
    assert "新增成绩：3" in text and "错误：0" in text
    assert _scores(app) == []  # a preview writes nothing
    done = _confirm(admin, session_id, preview).get_data(as_text=True)
    assert "新增 3 条" in done
    assert _scores(app) == [("COMP_JR", 145, None), ("PRAC_JR", 120, None),
                            ("COMP_JR", 119, None)]
    again = _upload(admin, session_id, data).get_data(as_text=True)
    assert "没有需要导入的变化" in again and 'name="token"' not in again
    corrected = _upload(admin, session_id, _csv([["准考证号", "科目", "成绩"],
                                                 [second, "COMP_JR", "61"]]))
    assert "59.5" in corrected.get_data(as_text=True)  # the change is shown before
    refused = _confirm(admin, session_id, corrected)
    assert "请填写修改原因" in refused.get_data(as_text=True)
    assert _scores(app)[2] == ("COMP_JR", 119, None)
    corrected = _upload(admin, session_id, _csv([["准考证号", "科目", "成绩"],
                                                 [second, "COMP_JR", "61"]]))
    _confirm(admin, session_id, corrected, reason="复核更正")
    assert _scores(app)[2] == ("COMP_JR", 122, None)
    with app.app_context():
        events = list(db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "session.scores_imported").order_by(AuditEvent.id)))
        assert len(events) == 2
        assert json.loads(events[-1].details)["changes"] == [[second, "COMP_JR", 119, 122]]


def test_any_bad_row_is_listed_and_nothing_is_written(app, paper_session):
    admin, session_id, (first, second) = paper_session
    preview = _upload(admin, session_id, _csv([
        ["准考证号", "科目", "成绩", "姓名"],
        [first, "COMP_JR", "72", ""],  # fine on its own
        ["2099999999999999", "COMP_JR", "60", ""],
        [second, "COMP_MID", "60", ""],
        [second, "PRAC_JR", "100.5", ""],
        [second, "COMP_JR", "60.3", ""],
        [first, "PRAC_JR", "60", "王芳"],
    ]))
    text = preview.get_data(as_text=True)
    for message in ("没有这个准考证号", "不属于所报考的级别", "0.5 分为单位", "姓名与报名信息不符"):
        assert message in text
    assert "错误：5" in text and 'name="token"' not in text
    assert _scores(app) == []


@pytest.mark.parametrize("data, name, message", [
    (b"\xff\xfe\x00garbage", "scores.csv", "UTF-8"),
    (b"not a zip", "scores.xlsx", "XLSX"),
    (_csv([["准考证号", "成绩"], ["1", "60"]]), "scores.csv", "缺少列"),
    (b"whatever", "scores.pdf", "只支持"),
])
def test_an_unreadable_file_is_refused_whole(app, paper_session, data, name, message):
    admin, session_id, _numbers = paper_session
    response = _upload(admin, session_id, data, name)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert _scores(app) == []


def test_an_xlsx_file_imports_too(app, paper_session):
    admin, session_id, (first, _second) = paper_session
    book = openpyxl.Workbook()
    book.active.append(["准考证号", "科目", "成绩"])
    book.active.append([first, "COMP_JR", 88])
    buffer = io.BytesIO()
    book.save(buffer)
    preview = _upload(admin, session_id, buffer.getvalue(), "scores.xlsx")
    assert "新增成绩：1" in preview.get_data(as_text=True)
    _confirm(admin, session_id, preview)
    assert _scores(app) == [("COMP_JR", 176, None)]


def test_a_score_sheet_may_reach_far_past_the_cap_on_item_files(app, paper_session):
    # A session's sheet may hold 600,000 scores: its caps are its own, not the item import's.
    admin, session_id, (first, _second) = paper_session
    book = openpyxl.Workbook()
    book.active.append(["准考证号", "科目", "成绩"])
    book.active.append([first, "COMP_JR", 88])
    book.active.cell(row=200_000, column=5, value=" ")  # 200,000 rows × 5 columns
    buffer = io.BytesIO()
    book.save(buffer)
    preview = _upload(admin, session_id, buffer.getvalue(), "scores.xlsx")
    assert "新增成绩：1" in preview.get_data(as_text=True)


def test_scores_of_an_online_session_are_not_imported(app):
    with freeze_time(NOW):
        admin = _admin_client(app)
        session_id = _create(admin)  # ONLINE
        (number,) = _registered(app, session_id, count=1)
    with freeze_time(AFTER_EXAM):
        admin = _admin_client(app)
        response = _upload(admin, session_id, _csv([["准考证号", "科目", "成绩"],
                                                    [number, "COMP_JR", "60"]]))
        assert "网上考试的成绩来自考生的作答" in response.get_data(as_text=True)
    assert _scores(app) == []


def test_scores_wait_for_the_exam_and_for_verified_registrations(app):
    with freeze_time(NOW):
        admin = _admin_client(app)
        session_id = _create(admin, mode="PAPER")
        (number,) = _registered(app, session_id, count=1)
        sheet = _csv([["准考证号", "科目", "成绩"], [number, "COMP_JR", "60"]])
        early = _upload(admin, session_id, sheet)
        assert "考试结束后才能录入成绩" in early.get_data(as_text=True)
    with freeze_time(AFTER_EXAM):
        admin = _admin_client(app)
        unverified = _upload(admin, session_id, sheet).get_data(as_text=True)
        assert "还没有审核通过" in unverified and 'name="token"' not in unverified
    assert _scores(app) == []


def test_a_file_that_changes_nothing_has_nothing_to_confirm(app, paper_session):
    admin, session_id, (first, _second) = paper_session
    sheet = _csv([["准考证号", "科目", "成绩"], [first, "COMP_JR", "60"]])
    _confirm(admin, session_id, _upload(admin, session_id, sheet))
    again = _upload(admin, session_id, sheet).get_data(as_text=True)
    assert "未变：1" in again and 'name="token"' not in again


def test_an_admission_number_mangled_by_a_spreadsheet_is_explained(app, paper_session):
    admin, session_id, _numbers = paper_session
    preview = _upload(admin, session_id, _csv([["准考证号", "科目", "成绩"],
                                               ["2.026001111E+15", "COMP_JR", "60"]]))
    assert "设为文本" in preview.get_data(as_text=True)


def test_a_preview_token_works_once_and_only_for_its_uploader(app, paper_session):
    admin, session_id, (first, _second) = paper_session
    preview = _upload(admin, session_id, _csv([["准考证号", "科目", "成绩"],
                                               [first, "COMP_JR", "60"]]))
    other_admin = _admin_client(app)
    refused = _confirm(other_admin, session_id, preview)
    assert "预览已过期" in refused.get_data(as_text=True) and _scores(app) == []
    _confirm(admin, session_id, preview)
    assert len(_scores(app)) == 1
    assert "预览已过期" in _confirm(admin, session_id, preview).get_data(as_text=True)
