"""A candidate's notes on items (笔记) and error reports (纠错) from their pages: kept per
item for them alone, shown again wherever the item comes back, only on items they met
in practice, and in their data export."""

import json
import re

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.attempts import AttemptItem
from exam_portal.models.notes import ErrorReport, ItemNote
from question_bank.item_feedback import NOTE_MAX_CHARS, ReportKind, ReportStatus

from ..factories import make_user
from .practice_support import (
    SENTINEL,
    candidate,
    layout,
    login,
    objective_bank,
    open_attempt,
    save,
    shown_keys,
    start,
    wrong_choice,
)
from .test_online_exams import _start, admin, sitting  # noqa: F401 - the sitting's fixtures

# Pages and rules: alike on both databases (the race on a report runs on both in
# test_error_reports.py).
pytestmark = pytest.mark.usefixtures("one_leg")

NOTE = "要点：先评估需求，再链接资源。"


def practised(app, client, *, submit=True) -> tuple[int, dict[int, AttemptItem]]:
    """A ten-item practice set answered wrong throughout (so its items fill the
    wrong-answer book) and handed in; its id and items by position."""
    attempt_id = start(client, mode="RANDOM", count="10")
    device = open_attempt(client, attempt_id)["device"]
    for seq, (position, key) in enumerate(shown_keys(app, attempt_id).items(), 1):
        assert save(client, attempt_id, position, device, seq, wrong_choice(key)).status_code == 200
    if submit:
        assert client.post(f"/practice/attempts/{attempt_id}/submit").status_code == 302
    return attempt_id, {item.position: item for item in layout(app, attempt_id)}


@pytest.fixture
def bank(app):
    """Ten single-choice items in one chapter: every ten-item set holds all of them."""
    return objective_bank(app, singles=10, multis=0, chapters=1)


def _notes(app) -> list[tuple[int, int, str]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            sa.select(ItemNote.candidate_id, ItemNote.item_id, ItemNote.text)
            .order_by(ItemNote.candidate_id, ItemNote.item_id))]


def _reports(app) -> list[ErrorReport]:
    with app.app_context():
        rows = db.session.scalars(sa.select(ErrorReport).order_by(ErrorReport.id)).all()
        db.session.expunge_all()
        return rows


def _flashes(response) -> str:
    return response.get_data(as_text=True)


def test_a_note_is_kept_and_shown_in_the_review_the_wrong_answer_book_and_bookmarks(app, bank):
    user_id, client = candidate(app)
    attempt_id, items = practised(app, client)
    item_id = items[3].item_id
    review = client.get(f"/practice/attempts/{attempt_id}/result").get_data(as_text=True)
    assert f'action="/practice/items/{item_id}/note"' in review
    back = f"/practice/attempts/{attempt_id}/result#item-3"
    response = client.post(f"/practice/items/{item_id}/note", data={"text": f"  {NOTE}\r\n ",
                                                                    "next": back})
    assert response.status_code == 302 and response.headers["Location"] == back
    assert _notes(app) == [(user_id, item_id, NOTE)]
    review = client.get(f"/practice/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "笔记已保存。" in review and NOTE in review
    assert NOTE in client.get("/practice/wrong-answers").get_data(as_text=True)
    client.post(f"/practice/attempts/{attempt_id}/responses/3/bookmark", data={"bookmarked": "1"})
    assert NOTE in client.get("/practice/bookmarks").get_data(as_text=True)
    # Changed in place: still one note.
    client.post(f"/practice/items/{item_id}/note", data={"text": "改过的笔记"})
    assert _notes(app) == [(user_id, item_id, "改过的笔记")]


def test_an_empty_note_deletes_it_and_a_note_too_long_changes_nothing(app, bank):
    user_id, client = candidate(app)
    _attempt_id, items = practised(app, client)
    item_id = items[1].item_id
    client.post(f"/practice/items/{item_id}/note", data={"text": NOTE})
    too_long = client.post(f"/practice/items/{item_id}/note",
                           data={"text": "长" * (NOTE_MAX_CHARS + 1)}, follow_redirects=True)
    assert f"笔记最多 {NOTE_MAX_CHARS} 个字。" in _flashes(too_long)
    assert _notes(app) == [(user_id, item_id, NOTE)]
    control = client.post(f"/practice/items/{item_id}/note", data={"text": "带\x00控制字符"},
                          follow_redirects=True)
    assert "不能包含控制字符。" in _flashes(control) and _notes(app) == [(user_id, item_id, NOTE)]
    # A post without the note's field is not the note form: refused, the note kept.
    assert client.post(f"/practice/items/{item_id}/note", data={"next": "/"}).status_code == 400
    assert client.post(f"/practice/items/{item_id}/note", json={"text": ""}).status_code == 400
    assert _notes(app) == [(user_id, item_id, NOTE)]
    emptied = client.post(f"/practice/items/{item_id}/note", data={"text": " \n "},
                          follow_redirects=True)
    assert "笔记已删除。" in _flashes(emptied) and _notes(app) == []


def test_notes_and_reports_take_only_items_the_candidate_met_in_practice(app, bank):
    _user_id, client = candidate(app)
    _stranger_id, stranger = candidate(app)  # never practised
    _attempt_id, items = practised(app, client)
    item_id = items[1].item_id
    report = {"kind": "KEY", "text": "答案应为乙。"}
    for url, data in ((f"/practice/items/{item_id}/note", {"text": NOTE}),
                      (f"/practice/items/{item_id}/report", report)):
        assert stranger.post(url, data=data).status_code == 404
        assert client.post(url.replace(str(item_id), "999999"), data=data).status_code == 404
    assert stranger.get(f"/practice/items/{item_id}/notes").status_code == 404
    assert _notes(app) == [] and _reports(app) == []


def test_two_candidates_keep_their_own_notes_on_one_item(app, bank):
    a_id, a = candidate(app)
    b_id, b = candidate(app)
    a_attempt, a_items = practised(app, a)
    b_attempt, _ = practised(app, b)
    item_id = a_items[2].item_id
    a.post(f"/practice/items/{item_id}/note", data={"text": "甲的笔记"})
    b.post(f"/practice/items/{item_id}/note", data={"text": "乙的笔记"})
    assert _notes(app) == sorted([(a_id, item_id, "甲的笔记"), (b_id, item_id, "乙的笔记")])
    for page in (f"/practice/attempts/{b_attempt}/result", "/practice/wrong-answers",
                 f"/practice/items/{item_id}/notes"):
        text = b.get(page).get_data(as_text=True)
        assert "乙的笔记" in text and "甲的笔记" not in text
    assert b.get(f"/practice/attempts/{a_attempt}/result").status_code == 404
    # Emptying B's note deletes B's only.
    b.post(f"/practice/items/{item_id}/note", data={"text": ""})
    assert _notes(app) == [(a_id, item_id, "甲的笔记")]


def test_a_trainer_can_neither_write_nor_read_a_candidates_notes(app, bank):
    _user_id, client = candidate(app)
    _attempt_id, items = practised(app, client)
    item_id = items[1].item_id
    client.post(f"/practice/items/{item_id}/note", data={"text": "甲的笔记"})
    make_user(app, Role.TRAINER, email="note-trainer@example.com")
    trainer = login(app, "note-trainer@example.com")
    assert trainer.post(f"/practice/items/{item_id}/note", data={"text": "改"}).status_code == 403
    assert trainer.get(f"/practice/items/{item_id}/notes").status_code == 403
    assert "甲的笔记" not in trainer.get(f"/authoring/items/{item_id}").get_data(as_text=True)
    assert _notes(app)[0][2] == "甲的笔记"


def test_the_item_page_shows_the_item_without_its_key_and_the_delivery_page_links_it(app, bank):
    _user_id, client = candidate(app)
    attempt_id, items = practised(app, client, submit=False)  # still open: no key yet
    item_id = items[1].item_id
    paper = client.get(f"/practice/attempts/{attempt_id}/paper").get_data(as_text=True)
    assert f'href="/practice/items/{item_id}/notes"' in paper
    page = client.get(f"/practice/items/{item_id}/notes")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "笔记与纠错" in text
    assert SENTINEL not in text and "is-key" not in text and "正确答案" not in text
    assert f'action="/practice/items/{item_id}/note"' in text
    assert f'action="/practice/items/{item_id}/report"' in text


def test_exam_items_take_neither_notes_nor_reports(app, sitting):  # noqa: F811
    _session_id, registration_id, _user_id, client = sitting
    attempt_id = _start(client, registration_id)
    paper = client.get(f"/practice/attempts/{attempt_id}/paper").get_data(as_text=True)
    assert "/notes" not in paper
    item_id = layout(app, attempt_id)[0].item_id
    assert client.post(f"/practice/items/{item_id}/note", data={"text": NOTE}).status_code == 404
    assert client.post(f"/practice/items/{item_id}/report",
                       data={"kind": "KEY", "text": "答案应为乙。"}).status_code == 404
    assert client.get(f"/practice/items/{item_id}/notes").status_code == 404
    assert _notes(app) == [] and _reports(app) == []


def test_a_report_is_filed_against_the_version_seen_and_a_second_is_refused_while_open(
        app, bank):
    user_id, client = candidate(app)
    attempt_id, items = practised(app, client)
    item = items[4]
    back = f"/practice/attempts/{attempt_id}/result#item-4"
    response = client.post(f"/practice/items/{item.item_id}/report", data={
        "kind": "KEY", "text": "  答案应为乙，见教材第三章。 ",
        "version_id": str(item.item_version_id), "next": back})
    assert response.status_code == 302 and response.headers["Location"] == back
    [report] = _reports(app)
    assert (report.candidate_id, report.item_id, report.item_version_id, report.kind,
            report.text, report.status) == (user_id, item.item_id, item.item_version_id,
                                            ReportKind.KEY, "答案应为乙，见教材第三章。",
                                            ReportStatus.OPEN)
    review = client.get(f"/practice/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "纠错已提交" in review and "你对这道题的纠错正在处理中。" in review
    again = client.post(f"/practice/items/{item.item_id}/report",
                        data={"kind": "WORDING", "text": "题干有错别字。"}, follow_redirects=True)
    assert "你对这道题的纠错还在处理中" in _flashes(again)
    assert len(_reports(app)) == 1
    listed = client.get("/practice/reports").get_data(as_text=True)
    assert "答案应为乙，见教材第三章。" in listed and "待处理" in listed


def test_a_report_names_the_version_on_the_page_or_else_the_one_seen_last(app, bank):
    _user_id, client = candidate(app)
    _attempt_id, items = practised(app, client)
    client.post(f"/practice/items/{items[1].item_id}/report",
                data={"kind": "OTHER", "text": "选项重复了。", "version_id": "999999"})
    client.post(f"/practice/items/{items[2].item_id}/report",
                data={"kind": "OTHER", "text": "选项重复了。", "version_id": "１２"})
    assert [r.item_version_id for r in _reports(app)] == [items[1].item_version_id,
                                                          items[2].item_version_id]


@pytest.mark.parametrize(("data", "message"), [
    ({"text": "答案应为乙。"}, "请选择错误类型。"),
    ({"kind": "NONSENSE", "text": "答案应为乙。"}, "请选择错误类型。"),
    ({"kind": "KEY", "text": "  错 "}, "请说明错在哪里（至少 5 个字）。"),
    ({"kind": "KEY", "text": "错" * 1001}, "纠错说明最多 1000 个字。"),
])
def test_an_incomplete_report_is_refused_with_the_reason_and_nothing_filed(app, bank, data,
                                                                             message):
    _user_id, client = candidate(app)
    _attempt_id, items = practised(app, client)
    response = client.post(f"/practice/items/{items[1].item_id}/report", data=data,
                           follow_redirects=True)
    assert message in _flashes(response) and _reports(app) == []


def test_a_candidate_files_at_most_the_days_limit_of_reports(make_app):
    app = make_app(ERROR_REPORT_DAILY_LIMIT=2)
    objective_bank(app, singles=10, multis=0, chapters=1)
    _user_id, client = candidate(app)
    _attempt_id, items = practised(app, client)
    for position in (1, 2, 3):
        response = client.post(f"/practice/items/{items[position].item_id}/report",
                               data={"kind": "KEY", "text": "答案应为乙。"}, follow_redirects=True)
    assert "24 小时内最多可以提交 2 条纠错" in _flashes(response)
    assert len(_reports(app)) == 2


def test_the_forms_carry_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    objective_bank(app, singles=10, multis=0, chapters=1)
    user_id = make_user(app, email="csrf-notes@example.com")
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/auth/login", data={"email": "csrf-notes@example.com",
                                     "password": "correct horse battery staple",
                                     "csrf_token": token})
    with app.app_context():
        from exam_portal.models.types import utcnow
        from exam_portal.services.delivery import attempts
        from question_bank.practice import Mode
        from question_bank.subjects import Subject

        attempt = attempts.start_attempt(user_id, Subject.COMP_JR, Mode.RANDOM, now=utcnow(),
                                         count=10)
        db.session.commit()
        item_id = attempt.items[0].item_id
    text = client.get(f"/practice/items/{item_id}/notes").get_data(as_text=True)
    forms = re.findall(r"<form method=\"post\".*?</form>", text, re.S)
    assert len([f for f in forms if 'action="/practice/items/' in f]) == 2
    assert all('name="csrf_token"' in form for form in forms)
    assert client.post(f"/practice/items/{item_id}/note", data={"text": NOTE}).status_code == 400
    assert _notes(app) == []


def test_the_data_export_holds_the_candidates_notes_and_reports_only(app, bank):
    a_id, a = candidate(app)
    _b_id, b = candidate(app)
    _attempt, items = practised(app, a)
    practised(app, b)
    a.post(f"/practice/items/{items[1].item_id}/note", data={"text": "甲的笔记"})
    a.post(f"/practice/items/{items[1].item_id}/report",
           data={"kind": "OUTDATED_LAW", "text": "该条款已于 2024 年修订。"})
    b.post(f"/practice/items/{items[1].item_id}/note", data={"text": "乙的笔记"})
    data = json.loads(a.post("/account/export").get_data(as_text=True))
    assert [(n["item_id"], n["text"]) for n in data["item_notes"]] == [(items[1].item_id,
                                                                       "甲的笔记")]
    assert data["item_notes"][0]["item_stem"].startswith("第 ")
    assert [(r["kind"], r["text"], r["status"]) for r in data["error_reports"]] == [
        ("OUTDATED_LAW", "该条款已于 2024 年修订。", "OPEN")]
    assert "乙的笔记" not in json.dumps(data, ensure_ascii=False)
