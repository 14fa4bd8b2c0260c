"""Importing as a trainer does it: files from Moodle (GIFT, XML) with the file's
defaults, the preview per question, the mode (representable questions or all or
nothing), the rejects sheet, completing the imported drafts in bulk, approving a whole
filtered list as a job, and the round trip of the portal's own items.

SQLite only: what these pages do does not depend on the database; the set-based
approval and the incremental pools run on both legs in test_authoring and
test_bank_changes."""

import dataclasses
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.audit import AuditEvent
from exam_portal.models.bank import Item
from question_bank.formats import json_format, xlsx_format
from question_bank.formats.foreign import EXPLANATION_TO_WRITE
from question_bank.formats.rejects import ORIGINAL, PLACE, REASONS
from question_bank.workflow import ItemStatus

from ..conftest import PASSWORD
from ..factories import make_user
from ..unit.bank_samples import SINGLE

FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"
GIFT = (FIXTURES / "moodle_export.gift").read_bytes()
MOODLE_XML = (FIXTURES / "moodle_export.xml").read_bytes()


@pytest.fixture(scope="module")
def database(sqlite_template):
    return "sqlite", sqlite_template


@pytest.fixture
def trainers(app):
    return (make_user(app, Role.TRAINER, email="author@example.com"),
            make_user(app, Role.TRAINER, email="reviewer@example.com"))


def _login(app, email="author@example.com"):
    client = app.test_client()
    assert client.post("/auth/login", data={"email": email, "password": PASSWORD}
                       ).status_code == 302
    return client


def _upload(client, name, data, **options):
    form = {"file": (io.BytesIO(data), name), "encoding": "auto", "subject": "",
            "difficulty": "3", "node": "", "explanation": EXPLANATION_TO_WRITE, **options}
    return client.post("/authoring/import", data=form, content_type="multipart/form-data")


def _hidden(page, name):
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page.get_data(as_text=True))
    return found.group(1) if found else None


def _confirm(client, preview, mode=None):
    data = {name: _hidden(preview, name) or "" for name in
            ("token", "encoding", "subject", "difficulty", "node", "explanation")}
    checked = re.search(r'<input checked[^>]*name="mode"[^>]*value="(\w+)"',
                        preview.get_data(as_text=True))
    data["mode"] = mode or checked.group(1)
    return client.post("/authoring/import/confirm", data=data)


def _count(text, label):
    return int(re.search(rf"<li>{label}：(\d+)</li>", text).group(1))


def _items(app):
    with app.app_context():
        return {item.external_id: (item.status, item.needs_completing, item.subject.value,
                                   item.current_version.to_domain())
                for item in db.session.scalars(sa.select(Item).order_by(Item.id))}


def _rejects(client, page):
    token = re.search(r"rejects\.xlsx\?token=([\w-]+)", page.get_data(as_text=True)).group(1)
    response = client.get(f"/authoring/import/rejects.xlsx?token={token}")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    return xlsx_format.read_rows(response.data)


@pytest.mark.parametrize("name, data, imported, refused", [
    ("moodle_export.gift", GIFT, 10, 11),
    ("moodle_export.xml", MOODLE_XML, 8, 9),
])
def test_a_moodle_export_imports_every_representable_question_as_drafts_to_complete(
        app, trainers, name, data, imported, refused):
    client = _login(app)
    preview = _upload(client, name, data)
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200, text
    assert (_count(text, "新建"), _count(text, "不能导入")) == (imported, refused)
    assert "不支持的题型：essay" in text and "含有题库不能显示的内容：img" in text
    assert '<input checked class="form-check-input" id="mode-0" name="mode" type="radio" ' \
           'value="partial">' in text  # another system's file: the default
    sheet = _rejects(client, preview)
    assert sheet[0][-3:] == [PLACE, REASONS, ORIGINAL] and len(sheet) == refused + 1
    assert all(row[-3] and row[-2] and row[-1] for row in sheet[1:])  # place, reason, text
    result = _confirm(client, preview)
    assert result.status_code == 302 and "/authoring/import/done" in result.location
    done = client.get(result.location).get_data(as_text=True)
    assert f"{refused} 道题目没有导入" in done and f"{imported} 道导入的题目填入了默认值" in done
    assert len(_rejects(client, client.get(result.location))) == refused + 1
    items = _items(app)
    assert len(items) == imported
    assert {status for status, *_ in items.values()} == {ItemStatus.DRAFT}
    # The category path names the subject; the difficulty always came from the defaults.
    assert all("difficulty" in fields and "subject" not in fields
               for _, fields, *_ in items.values())
    placeholders = [content for *_, content in items.values()
                    if content.explanation == EXPLANATION_TO_WRITE]
    assert placeholders and all(
        "explanation" in items[key][1] for key in items
        if items[key][3].explanation == EXPLANATION_TO_WRITE)
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "item.imported")).one()
        assert '"mode":"partial"' in event.details
    # The same file again: nothing changes, the drafts keep their marks.
    again = _upload(client, name, data).get_data(as_text=True)
    assert (_count(again, "新建"), _count(again, "未变")) == (0, imported)


def test_the_files_defaults_fill_what_it_lacks_and_a_node_gives_its_subject(app, trainers):
    client = _login(app)
    question = "::Q1::下列说法正确的是（  ）。{=甲 ~乙 ~丙 ~丁}\n".encode()
    preview = _upload(client, "q.gift", question, difficulty="4", node="PRAC_JR.05",
                      explanation="待写解析")
    assert _count(preview.get_data(as_text=True), "新建") == 1
    _confirm(client, preview)
    [(status, fields, subject, content)] = _items(app).values()
    assert (subject, content.difficulty, content.syllabus, content.explanation) == (
        "PRAC_JR", 4, ("PRAC_JR.05",), "待写解析")
    assert set(fields) == {"subject", "difficulty", "syllabus", "explanation"}
    # A node outside the chosen subject is refused before anything is read.
    refused = _upload(client, "q.gift", question, subject="COMP_JR", node="PRAC_JR.05")
    assert "所选大纲知识点不属于所选科目" in refused.get_data(as_text=True)
    # Without a subject or a node, the question says why it cannot be imported.
    bare = _upload(client, "q2.gift", question.replace(b"Q1", b"Q2"), difficulty="")
    text = bare.get_data(as_text=True)
    assert _count(text, "不能导入") == 1 and "subject" in text and "difficulty" in text


@pytest.mark.parametrize("mode, imported", [(None, 0), ("partial", 1)])
def test_the_portals_own_files_are_all_or_nothing_unless_asked(app, trainers, mode, imported):
    bad = dataclasses.replace(SINGLE, keys=("A", "B"))
    client = _login(app)
    preview = _upload(client, "bank.json", json_format.write([("e-1", SINGLE), ("e-2", bad)]))
    text = preview.get_data(as_text=True)
    assert "单选题只能有 1 个正确答案" in text
    assert re.search(r'<input checked[^>]*value="all"', text)  # the default here
    response = _confirm(client, preview, mode)
    assert response.status_code == 302
    assert set(_items(app)) == ({"e-1"} if imported else set())
    if not imported:
        assert "未导入任何题目" in client.get("/authoring/import").get_data(as_text=True)


def test_imported_drafts_are_completed_in_bulk_then_submitted(app, trainers):
    client = _login(app)
    _confirm(client, _upload(client, "moodle_export.gift", GIFT))
    with app.app_context():
        ids = db.session.scalars(sa.select(Item.id).order_by(Item.id)).all()
        written = {item.id for item in db.session.scalars(sa.select(Item))
                   if "explanation" not in item.needs_completing}
    listing = client.get("/authoring/completion")
    assert listing.status_code == 200 and f"待补全 {len(ids)} 道" in listing.get_data(as_text=True)
    chosen = [str(item_id) for item_id in ids]

    def bulk(action, **values):
        return client.post("/authoring/completion", data={
            "item_id": chosen, "action": action, "confirmed": "y", "node": "",
            "subject": "COMP_JR", "difficulty": "3", **values})

    # Unconfirmed: nothing changes.
    client.post("/authoring/completion", data={"item_id": chosen, "action": "difficulty",
                                               "difficulty": "5"})
    assert {content.difficulty for *_, content in _items(app).values()} == {3}
    assert bulk("submit").status_code == 302  # refused: defaults still there
    assert {status for status, *_ in _items(app).values()} == {ItemStatus.DRAFT}
    bulk("node", node="COMP_JR.04")
    bulk("difficulty", difficulty="2")
    items = _items(app)
    assert {(content.syllabus, content.difficulty) for *_, content in items.values()} == {
        (("COMP_JR.04",), 2)}
    response = bulk("submit")
    flashed = client.get("/authoring/completion").get_data(as_text=True)
    assert response.status_code == 302 and f"已提交审核 {len(written)} 道题目" in flashed
    with app.app_context():
        statuses = {item.id: item.status for item in db.session.scalars(sa.select(Item))}
    assert {i for i, status in statuses.items() if status is ItemStatus.REVIEW} == written
    # The rest still need their explanation written, one by one in the editor.
    assert f"待补全 {len(ids) - len(written)} 道" in flashed


def test_an_update_keeps_the_items_own_values_where_the_file_has_defaults(app, trainers):
    client = _login(app)
    _confirm(client, _upload(client, "moodle_export.gift", GIFT))
    with app.app_context():
        first = db.session.scalar(sa.select(Item.id).where(
            Item.external_id == "SWJR-VAL-001"))
    client.post("/authoring/completion", data={"item_id": [str(first)], "action": "difficulty",
                                               "difficulty": "5", "confirmed": "y"})
    edited = GIFT.replace("<strong>首先</strong>".encode(), "<strong>应当首先</strong>".encode())
    preview = _upload(client, "moodle_export.gift", edited, difficulty="1")
    assert _count(preview.get_data(as_text=True), "更新（生成待审核的新版本）") == 1
    _confirm(client, preview)
    status, fields, _, content = _items(app)["SWJR-VAL-001"]
    assert "应当首先" in content.stem and content.difficulty == 5 and "difficulty" not in fields


@pytest.mark.parametrize("fmt", ["xlsx", "json"])
def test_an_item_written_in_the_editor_round_trips_without_a_copy(app, trainers, fmt):
    client = _login(app)
    response = client.post("/authoring/items/new?subject=COMP_JR&item_type=SINGLE", data={
        "pool": "OPEN", "stem": "编辑器中写的题目（  ）。", "option_a": "甲", "option_b": "乙",
        "option_c": "丙", "option_d": "丁", "keys": ["A"], "explanation": "解析。",
        "difficulty": "3", "syllabus": ["COMP_JR.01"], "source": "original",
        "syllabus_version": "2025"})
    assert response.status_code == 302
    [external_id] = _items(app)
    assert re.fullmatch(r"item-[0-9a-f]{16}", external_id)
    exported = client.get(f"/authoring/export?format={fmt}").data
    assert "未变：1" in _upload(client, f"bank.{fmt}", exported).get_data(as_text=True)
    module = {"xlsx": xlsx_format, "json": json_format}[fmt]
    exported_item = _items(app)[external_id][3]
    changed = module.write([(external_id, dataclasses.replace(exported_item,
                                                              stem="改过的题干（  ）。"))])
    preview = _upload(client, f"bank.{fmt}", changed)
    assert "更新（生成待审核的新版本）：1" in preview.get_data(as_text=True)
    _confirm(client, preview)
    assert list(_items(app)) == [external_id]


def _import_and_submit(app, email, stems):
    client = _login(app, email)
    _confirm(client, _upload(client, "bank.json", json_format.write(
        [(f"{email[:6]}-{n}", dataclasses.replace(SINGLE, stem=stem))
         for n, stem in enumerate(stems)])))
    with app.app_context():
        ids = db.session.scalars(sa.select(Item.id).where(Item.status == ItemStatus.DRAFT)).all()
    client.post("/authoring/completion", data={"item_id": ids, "action": "submit",
                                               "confirmed": "y"})


def test_a_whole_filtered_list_under_review_is_approved_as_a_job(make_app):
    app = make_app(PAGE_SIZE=2)
    make_user(app, Role.TRAINER, email="author@example.com")
    make_user(app, Role.TRAINER, email="reviewer@example.com")
    _import_and_submit(app, "author@example.com", [f"第 {n} 题（  ）。" for n in range(5)])
    _import_and_submit(app, "reviewer@example.com", ["审核人自己写的题（  ）。"])
    reviewer = _login(app, "reviewer@example.com")
    page = reviewer.get("/authoring/items?status=REVIEW").get_data(as_text=True)
    assert "通过筛选出的全部 6 道题目" in page
    stale = reviewer.post("/authoring/items/approve-all?status=REVIEW",
                          data={"comment": "已核对", "expected": "5"})
    assert stale.status_code == 302 and "/authoring/items" in stale.location
    started = reviewer.post("/authoring/items/approve-all?status=REVIEW&subject=COMP_JR",
                            data={"comment": "已核对", "expected": "6"})
    assert "/authoring/approvals/" in started.location
    job = reviewer.get(started.location).get_data(as_text=True)
    assert re.search(r"已通过</th><td[^>]*>5<", job) and "不能审核自己编写的题目" in job
    with app.app_context():
        statuses = sorted(item.status.value for item in db.session.scalars(sa.select(Item)))
    assert statuses == ["PUBLISHED"] * 5 + ["REVIEW"]
    progress = reviewer.get(started.location + "/progress").get_json()
    assert progress["finished"] and progress["percent"] == 100
    assert reviewer.get("/authoring/approvals/999/progress").status_code == 404


@pytest.mark.parametrize("form", [
    {"encoding": "ebcdic"}, {"node": "NOPE.99"}, {"subject": "X"}, {"difficulty": "9"},
    {"explanation": "解\x00析"}, {"explanation": "长" * 5000},
])
def test_hostile_import_options_are_refused_without_a_500(app, trainers, form):
    response = _upload(_login(app), "moodle_export.gift", GIFT, **form)
    assert response.status_code == 200 and "invalid-feedback" in response.get_data(as_text=True)
    assert _items(app) == {}


@pytest.mark.parametrize("name, data, encoding", [
    ("garbage.gift", bytes(range(256)) * 40, "auto"),
    ("cp1252.gift", (FIXTURES / "gift_windows1252.gift").read_bytes(), "utf-8"),
    ("quiz.xml", b"<?xml version='1.0'?><!DOCTYPE q [<!ENTITY a 'x'>]><quiz>&a;</quiz>", "auto"),
    ("pkg.zip", b"PK\x03\x04" + b"\0" * 100, "auto"),
])
def test_hostile_files_get_a_reason_and_change_nothing(app, trainers, name, data, encoding):
    response = _upload(_login(app), name, data, encoding=encoding)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "invalid-feedback" in text
    assert _items(app) == {}


def test_a_gift_file_in_windows_1252_reads_when_its_encoding_is_chosen(app, trainers):
    data = (FIXTURES / "gift_windows1252.gift").read_bytes()
    client = _login(app)
    refused = _upload(client, "legacy.gift", data, encoding="utf-8").get_data(as_text=True)
    assert "不是 UTF-8 编码" in refused
    preview = _upload(client, "legacy.gift", data, encoding="cp1252", subject="COMP_JR",
                      node="COMP_JR.01")
    assert _count(preview.get_data(as_text=True), "新建") >= 1


def test_reports_and_confirmations_are_the_uploaders_own(app, trainers):
    client = _login(app)
    preview = _upload(client, "moodle_export.gift", GIFT)
    token = re.search(r"rejects\.xlsx\?token=([\w-]+)", preview.get_data(as_text=True)).group(1)
    other = _login(app, "reviewer@example.com")
    assert other.get(f"/authoring/import/rejects.xlsx?token={token}").status_code == 404
    for bad in ("../../etc/passwd", "*", ""):
        assert client.get(f"/authoring/import/rejects.xlsx?token={bad}").status_code == 404
    assert client.get("/authoring/import/done?skipped=1e9&completing=-1").status_code == 200


def test_every_import_form_needs_its_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    make_user(app, Role.TRAINER, email="author@example.com")
    client = app.test_client()
    login = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    client.post("/auth/login", data={"email": "author@example.com", "password": PASSWORD,
                                     "csrf_token": token})
    for path in ("/authoring/import", "/authoring/import/confirm", "/authoring/completion",
                 "/authoring/items/approve-all?status=REVIEW"):
        assert client.post(path, data={"comment": "x", "expected": "1"}).status_code == 400, path
    assert _items(app) == {}


def test_the_command_line_imports_a_moodle_file_with_defaults_and_writes_the_rejects(
        app, trainers, tmp_path):
    path, rejects = tmp_path / "moodle.xml", tmp_path / "rejects.xlsx"
    path.write_bytes(MOODLE_XML)
    args = ["bank", "import", str(path), "--as", "author@example.com",
            "--default-difficulty", "2", "--rejects", str(rejects)]
    refused = app.test_cli_runner().invoke(args=args)
    assert refused.exit_code == 1 and "errors 9, to complete 8" in refused.output
    assert len(xlsx_format.read_rows(rejects.read_bytes())) == 10 and _items(app) == {}
    result = app.test_cli_runner().invoke(args=[*args, "--partial"])
    assert result.exit_code == 0, result.output
    items = _items(app)
    assert len(items) == 8 and {content.difficulty for *_, content in items.values()} == {2}
