"""Trainers: the review workflow, versions, import all-or-nothing, export, the item list."""

import dataclasses
import io

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.audit import AuditEvent
from exam_portal.models.bank import Item, ItemVersion
from exam_portal.services import ServiceError
from exam_portal.services.item_bank import approvals, authoring
from question_bank.formats import csv_format, json_format, limits, xlsx_format
from question_bank.workflow import ItemStatus

from ..conftest import PASSWORD
from ..factories import make_user
from ..unit.bank_samples import CASE, LAW, MULTI, SINGLE


@pytest.fixture
def trainers(app):
    return (make_user(app, Role.TRAINER, email="author@example.com"),
            make_user(app, Role.TRAINER, email="reviewer@example.com"))


def _login(app, email):
    client = app.test_client()
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _user(user_id):
    return db.session.get(User, user_id)


def _create(app, author_id, content=SINGLE, external_id=None) -> int:
    with app.app_context():
        item = authoring.create_item(content, _user(author_id), external_id=external_id)
        db.session.commit()
        return item.id


def _publish(app, item_id, author_id, reviewer_id):
    with app.app_context():
        item = db.session.get(Item, item_id)
        if item.status is ItemStatus.DRAFT:
            authoring.submit_item(item, _user(author_id))
        authoring.approve_item(item, _user(reviewer_id), "内容准确")
        db.session.commit()


def test_an_author_cannot_approve_their_own_item(app, trainers):
    author, _ = trainers
    item_id = _create(app, author)
    with app.app_context():
        item = db.session.get(Item, item_id)
        authoring.submit_item(item, _user(author))
        db.session.commit()
        with pytest.raises(ServiceError, match="另一位培训师"):
            authoring.approve_item(item, _user(author), "我觉得很好")
        db.session.rollback()
    client = _login(app, "author@example.com")
    client.post(f"/authoring/items/{item_id}/review", data={"comment": "好", "approve": "1"})
    with app.app_context():
        assert db.session.get(Item, item_id).status is ItemStatus.REVIEW


def test_review_needs_a_comment_and_rejection_returns_a_draft(app, trainers):
    author, reviewer = trainers
    item_id = _create(app, author)
    with app.app_context():
        item = db.session.get(Item, item_id)
        authoring.submit_item(item, _user(author))
        with pytest.raises(ServiceError):
            authoring.reject_item(item, _user(reviewer), "  ")
        authoring.reject_item(item, _user(reviewer), "选项 C 表述不清")
        db.session.commit()
        assert item.status is ItemStatus.DRAFT and item.published_version is None
        assert item.current_version.reviews[0].comment == "选项 C 表述不清"


def test_editing_a_published_item_keeps_candidates_on_the_approved_version(app, trainers):
    author, reviewer = trainers
    item_id = _create(app, author)
    _publish(app, item_id, author, reviewer)
    with app.app_context():
        item = db.session.get(Item, item_id)
        first = item.published_version
        first_id, first_stem = first.id, first.content["stem"]
        authoring.revise_item(item, dataclasses.replace(SINGLE, stem="改写后的题干（  ）。"),
                              _user(author))
        db.session.commit()
        assert item.current_version.number == 2 and item.status is ItemStatus.REVIEW
        assert authoring.published_content(item).stem == first_stem
    _publish(app, item_id, author, reviewer)
    with app.app_context():
        item = db.session.get(Item, item_id)
        assert authoring.published_content(item).stem == "改写后的题干（  ）。"
        old = db.session.get(ItemVersion, first_id)
        # A reference to version 1 still finds exactly what it pointed at.
        assert old.status is ItemStatus.SUPERSEDED and old.content["stem"] == first_stem


def test_candidates_never_get_unpublished_or_retired_versions(app, trainers):
    author, reviewer = trainers
    item_id = _create(app, author)
    with app.app_context():
        assert authoring.published_content(db.session.get(Item, item_id)) is None
    _publish(app, item_id, author, reviewer)
    with app.app_context():
        item = db.session.get(Item, item_id)
        authoring.retire_item(item, _user(reviewer))
        db.session.commit()
        assert authoring.published_content(item) is None


def test_the_history_page_shows_a_readable_diff(app, trainers):
    author, reviewer = trainers
    item_id = _create(app, author)
    _publish(app, item_id, author, reviewer)
    with app.app_context():
        authoring.revise_item(db.session.get(Item, item_id),
                              dataclasses.replace(SINGLE, explanation="新的解析。"), _user(author))
        db.session.commit()
    page = _login(app, "reviewer@example.com").get(f"/authoring/items/{item_id}?compare=2")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<ins class="diff-insert">' in text and "新的" in text


def _upload(client, name, data):
    return client.post("/authoring/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _confirm(client, preview):
    import re

    token = re.search(r'name="token" type="hidden" value="([^"]+)"', preview.get_data(as_text=True))
    return client.post("/authoring/import/confirm", data={"token": token.group(1)})


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_import_previews_then_creates_drafts_and_reimport_changes_nothing(app, trainers, fmt):
    module = {"xlsx": xlsx_format, "csv": csv_format, "json": json_format}[fmt]
    data = module.write([("e-1", SINGLE), ("e-2", MULTI), ("e-3", LAW), ("e-4", CASE)])
    client = _login(app, "author@example.com")
    preview = _upload(client, f"bank.{fmt}", data)
    assert preview.status_code == 200 and "新建：4" in preview.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 0
    assert _confirm(client, preview).status_code == 302
    with app.app_context():
        items = db.session.scalars(sa.select(Item)).all()
        assert len(items) == 4 and {i.status for i in items} == {ItemStatus.DRAFT}
    again = _upload(client, f"bank.{fmt}", data)
    assert "未变：4" in again.get_data(as_text=True)


def test_a_file_with_one_bad_row_imports_nothing(app, trainers):
    bad = dataclasses.replace(SINGLE, keys=("A", "B"))
    data = json_format.write([("e-1", SINGLE), ("e-2", bad)])
    client = _login(app, "author@example.com")
    preview = _upload(client, "bank.json", data)
    text = preview.get_data(as_text=True)
    assert "不能导入" in text and "单选题只能有 1 个正确答案" in text
    _confirm(client, preview)  # all or nothing, this format's default
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 0


@pytest.mark.parametrize("name, data", [
    ("bank.xlsx", b"PK\x03\x04 broken"),
    ("bank.csv", b"\xff\xfe"),
    ("bank.json", b"[" * 50_000),
    ("bank.exe", b"MZ"),
])
def test_unreadable_files_get_a_clear_error_and_change_nothing(app, trainers, name, data):
    response = _upload(_login(app, "author@example.com"), name, data)
    assert response.status_code == 200
    assert "invalid-feedback" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 0


def _with_far_cell(data: bytes, row: int) -> bytes:
    """The workbook with one empty cell added at column W of *row*."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                part = part.replace(b"</sheetData>",
                                    b'<row r="%d"><c r="W%d"/></row></sheetData>' % (row, row))
            target.writestr(info.filename, part)
    return out.getvalue()


# 30,000 rows × 23 columns: over the portal's cap on cells, far under the command line's.
WIDE = 30_000


def test_a_sheet_over_the_cell_cap_is_refused_with_the_cap_and_changes_nothing(app, trainers):
    data = _with_far_cell(xlsx_format.write([("far-1", SINGLE)]), WIDE)
    response = _upload(_login(app, "author@example.com"), "bank.xlsx", data)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "invalid-feedback" in text
    assert f"{limits.WEB.sheet_cells:,} 个单元格" in text and "xl/worksheets/sheet1.xml" in text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 0


def test_the_command_line_import_takes_files_over_the_portals_caps(app, trainers, tmp_path):
    path = tmp_path / "bank.xlsx"
    path.write_bytes(_with_far_cell(xlsx_format.write([("far-1", SINGLE)]), WIDE))
    result = app.test_cli_runner().invoke(
        args=["bank", "import", str(path), "--as", "author@example.com"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalars(sa.select(Item.external_id)).all() == ["far-1"]


def test_reimporting_a_changed_published_item_creates_a_pending_version(app, trainers):
    author, reviewer = trainers
    item_id = _create(app, author, external_id="e-1")
    _publish(app, item_id, author, reviewer)
    changed = dataclasses.replace(SINGLE, explanation="修订后的解析。")
    client = _login(app, "author@example.com")
    preview = _upload(client, "bank.json", json_format.write([("e-1", changed)]))
    assert "更新（生成待审核的新版本）：1" in preview.get_data(as_text=True)
    _confirm(client, preview)
    with app.app_context():
        item = db.session.get(Item, item_id)
        assert item.current_version.number == 2 and item.status is ItemStatus.REVIEW
        assert item.published_version.number == 1


def test_bulk_approval_approves_others_items_and_reports_own(app, trainers):
    author, reviewer = trainers
    mine = _create(app, reviewer)
    theirs = [_create(app, author), _create(app, author, MULTI)]
    with app.app_context():
        for item_id, who in [(mine, reviewer), *[(i, author) for i in theirs]]:
            authoring.submit_item(db.session.get(Item, item_id), _user(who))
        db.session.commit()
    client = _login(app, "reviewer@example.com")
    response = client.post("/authoring/items/approve", data={
        "item_id": [str(mine), *map(str, theirs)], "comment": "批量审核"})
    assert response.status_code == 302
    with app.app_context():
        statuses = {i.id: i.status for i in db.session.scalars(sa.select(Item))}
    assert statuses == {mine: ItemStatus.REVIEW, theirs[0]: ItemStatus.PUBLISHED,
                        theirs[1]: ItemStatus.PUBLISHED}


def test_item_list_filters_searches_and_exports(app, trainers):
    author, _ = trainers
    _create(app, author)
    _create(app, author, MULTI)
    _create(app, author, LAW)
    client = _login(app, "author@example.com")
    page = client.get("/authoring/items?subject=LAW_MID").get_data(as_text=True)
    assert "法规题干" in page and "接案" not in page
    page = client.get("/authoring/items?q=特殊字符").get_data(as_text=True)
    assert "含有特殊字符" in page and "法规题干" not in page
    assert "没有符合条件" in client.get("/authoring/items?q=%25_").get_data(as_text=True)
    export = client.get("/authoring/export?format=json&item_type=MULTI")
    records = json_format.read(export.data)
    assert [r.content for r in records] == [MULTI]


def test_candidates_cannot_open_the_bank(app, trainers):
    make_user(app, email="cand@example.com")
    assert _login(app, "cand@example.com").get("/authoring/items").status_code == 403


def _editor_data(**overrides):
    data = {"stem": "社区居民议事会的主要作用是（  ）。", "option_a": "协商公共事务",
            "option_b": "替代居委会", "option_c": "管理物业费", "option_d": "审批项目",
            "keys": ["A"], "explanation": "议事会是居民协商议事的平台。", "difficulty": "2",
            "syllabus": ["COMP_JR.06"], "tags": "社区工作，议事", "source": "original"}
    return {**data, **overrides}


def test_a_trainer_writes_an_item_in_the_editor_and_edits_it_after_publication(app, trainers):
    author, reviewer = trainers
    client = _login(app, "author@example.com")
    url = "/authoring/items/new?subject=COMP_JR&item_type=SINGLE"
    assert "选项 D" in client.get(url).get_data(as_text=True)
    response = client.post(url, data=_editor_data())
    assert response.status_code == 302
    with app.app_context():
        item = db.session.scalars(sa.select(Item)).one()
        content = item.current_version.to_domain()
        assert content.keys == ("A",) and content.tags == ("社区工作", "议事")
        item_id = item.id
    _publish(app, item_id, author, reviewer)
    edit = client.get(f"/authoring/items/{item_id}/edit").get_data(as_text=True)
    assert "协商公共事务" in edit and "待审核的新版本" in edit
    client.post(f"/authoring/items/{item_id}/edit", data=_editor_data(explanation="更清楚的解析。"))
    with app.app_context():
        item = db.session.get(Item, item_id)
        assert [v.number for v in item.versions] == [1, 2]
        assert item.published_version.number == 1 and item.status is ItemStatus.REVIEW


def test_the_editor_shows_each_problem_beside_its_field_and_saves_nothing(app, trainers):
    client = _login(app, "author@example.com")
    response = client.post("/authoring/items/new?subject=COMP_JR&item_type=MULTI",
                           data=_editor_data(keys=["A"], option_e="第五项"))
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "多选题需要 2 到 4 个正确答案" in text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 0


def test_the_live_preview_renders_the_item_or_its_problems(app, trainers):
    client = _login(app, "author@example.com")
    url = "/authoring/items/preview?subject=PRAC_MID&item_type=CASE_ANALYSIS"
    data = _editor_data(syllabus=["PRAC_MID.03"], points="20", stem="案例：<b>张某</b>……",
                        outline="## 分析需要 | 10\n- 经济需要 | 5\n- 情绪支持 | 5\n"
                                "## 介入策略 | 10\n- 链接资源 | 10")
    text = client.post(url, data=data).get_data(as_text=True)
    assert "不能包含 HTML 标签" in text and "<b>张某" not in text
    data["stem"] = "案例：张某失业后……"
    text = client.post(url, data=data).get_data(as_text=True)
    assert "分析需要" in text and "链接资源（10）" in text and "alert-warning" not in text


def test_search_finds_short_and_long_text_and_follows_edits(app, trainers):
    author, _ = trainers
    item_id = _create(app, author)
    client = _login(app, "author@example.com")
    assert "接案" in client.get("/authoring/items?q=小李").get_data(as_text=True)
    assert "接案" in client.get("/authoring/items?q=建立专业关系").get_data(as_text=True)
    with app.app_context():
        authoring.revise_item(db.session.get(Item, item_id),
                              dataclasses.replace(SINGLE, stem="督导会谈的首要目的（  ）。"),
                              _user(author))
        db.session.commit()
    assert "没有符合条件" in client.get("/authoring/items?q=小李在接案").get_data(as_text=True)
    assert "督导会谈" in client.get("/authoring/items?q=督导会谈").get_data(as_text=True)


def test_the_list_pages_through_many_items(app, trainers):
    author, _ = trainers
    with app.app_context():
        authoring.create_items([(f"p-{n}", dataclasses.replace(SINGLE, stem=f"第 {n} 题（  ）。"))
                                for n in range(45)], _user(author))
        db.session.commit()
    client = _login(app, "author@example.com")
    text = client.get("/authoring/items?page=3").get_data(as_text=True)
    assert "共 45 道" in text and "第 3 / 3 页" in text and "第 4 题" in text
    assert "第 3 / 3 页" in client.get("/authoring/items?page=99").get_data(as_text=True)


def test_a_bulk_create_leaves_the_search_index_merging_and_finds_every_item(app, trainers):
    """The bulk create holds its search entries back (SQLite: FTS5 segments unmerged,
    PostgreSQL: the trigram pending list) and leaves the index as it found it: merging
    on (SQLite) and nothing pending once merged."""
    author, _ = trainers
    with app.app_context():
        authoring.create_items([(f"m-{n}", dataclasses.replace(
            SINGLE, stem=f"合并检索第{n:04d}题（  ）。")) for n in range(300)], _user(author))
        db.session.commit()
        authoring.merge_search_entries()
        if db.engine.dialect.name == "sqlite":
            assert db.session.execute(sa.text(
                "SELECT v FROM item_search_config WHERE k = 'automerge'")).scalar() == 4
        else:
            assert db.session.execute(sa.text(  # the pages it would clean: none left
                "SELECT gin_clean_pending_list('ix_item_versions_search_trgm')")).scalar() == 0
    client = _login(app, "author@example.com")
    for n in (0, 137, 299):
        text = client.get(f"/authoring/items?q=检索第{n:04d}题").get_data(as_text=True)
        assert f"合并检索第{n:04d}题" in text and "共 1 道" in text


def test_a_search_finds_the_same_items_whether_its_matches_are_listed_or_joined(
        app, trainers, monkeypatch):
    """PostgreSQL looks the matching versions up first and names them by id, up to a
    limit, past which it joins by the text condition: both ways give the same list, and
    an item matches by its newest version only."""
    from exam_portal.services.item_bank import item_list

    author, _ = trainers
    with app.app_context():
        authoring.create_items([(f"s-{n}", dataclasses.replace(
            SINGLE, stem=f"链接资源第{n}题（  ）。")) for n in range(5)], _user(author))
        db.session.commit()
        first = db.session.scalar(sa.select(Item).where(Item.external_id == "s-0"))
        authoring.revise_item(first, dataclasses.replace(SINGLE, stem="督导会谈（  ）。"),
                              _user(author))
        db.session.commit()
    client = _login(app, "author@example.com")
    for limit in (100, 2):
        monkeypatch.setattr(item_list, "_LISTED_MATCHES", limit)
        text = client.get("/authoring/items?q=链接资源第").get_data(as_text=True)
        assert "共 4 道" in text and "链接资源第4题" in text and "链接资源第0题" not in text
        text = client.get("/authoring/items?q=链接资源第9").get_data(as_text=True)
        assert "没有符合条件" in text


INJECTIONS = ["' OR '1'='1", "1; DROP TABLE items; --",
              "%' UNION SELECT password_hash FROM users --", '" OR 1=1 --', "NEAR(a b) OR *",
              "\\", "%%", "1e309", "-1", "0x7fffffff"]


@pytest.mark.parametrize("param", ["q", "subject", "item_type", "status", "difficulty",
                                   "chapter", "page"])
def test_list_parameters_resist_sql_injection(app, trainers, param):
    author, _ = trainers
    _create(app, author)
    client = _login(app, "author@example.com")
    for payload in INJECTIONS:
        response = client.get("/authoring/items", query_string={param: payload})
        text = response.get_data(as_text=True)
        assert response.status_code == 200, payload
        assert "scrypt:" not in text and "syntax error" not in text.lower(), payload
        if param == "q":
            assert "没有符合条件" in text, payload
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 1


XSS = ['"onmouseover="alert(1)', "javascript:alert(1)", "' autofocus onfocus='alert(2)",
       "{{ 7*7 }}"]


def test_item_text_is_escaped_on_every_trainer_page(app, trainers):
    from html.parser import HTMLParser

    author, _ = trainers
    hostile = dataclasses.replace(SINGLE, stem=f"题干 {XSS[0]}（  ）。",
                                  options=tuple(XSS), explanation=f"解析 {XSS[1]}",
                                  tags=(XSS[2],))
    item_id = _create(app, author, hostile)
    client = _login(app, "author@example.com")

    class Attributes(HTMLParser):
        found: list = []

        def handle_starttag(self, tag, attrs):
            for name, value in attrs:
                if name.startswith("on") or name == "autofocus" or (
                        value or "").strip().lower().startswith("javascript:"):
                    self.found.append((tag, name, value))

    pages = ["/authoring/items", f"/authoring/items/{item_id}",
             f"/authoring/items/{item_id}/edit", "/authoring/items?q=onmouseover"]
    for path in pages:
        text = client.get(path).get_data(as_text=True)
        parser = Attributes()
        parser.found = []
        parser.feed(text)
        assert parser.found == [], path
        if "/edit" in path or path.endswith(str(item_id)):
            assert "{{ 7*7 }}" in text  # shown as text, never evaluated
    preview = client.post("/authoring/items/preview?subject=COMP_JR&item_type=SINGLE",
                          data=_editor_data(stem=XSS[0], option_a=XSS[1]))
    parser = Attributes()
    parser.found = []
    parser.feed(preview.get_data(as_text=True))
    assert parser.found == []


def test_two_reviewers_approving_at_once_publish_once(app, trainers):
    import threading

    author, reviewer = trainers
    second = make_user(app, Role.TRAINER, email="second@example.com")
    item_id = _create(app, author)
    with app.app_context():
        authoring.submit_item(db.session.get(Item, item_id), _user(author))
        db.session.commit()
    outcomes, barrier = [], threading.Barrier(2)

    def approve(user_id):
        with app.app_context():
            # On PostgreSQL both reviewers load the item before either approves. On
            # SQLite every transaction takes the write lock at its start, so loading
            # first would just make the second wait at the barrier forever.
            postgresql = db.session.get_bind().dialect.name == "postgresql"
            if not postgresql:
                barrier.wait(timeout=30)
            item = db.session.get(Item, item_id)
            if postgresql:
                barrier.wait(timeout=30)
            try:
                authoring.approve_item(item, _user(user_id), "通过")
                db.session.commit()
                outcomes.append("approved")
            except ServiceError:
                db.session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=approve, args=(uid,)) for uid in (reviewer, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["approved", "refused"]
    with app.app_context():
        item = db.session.get(Item, item_id)
        assert len(item.current_version.reviews) == 1


def test_bulk_and_single_approvals_racing_publish_each_item_once(app, trainers):
    import threading

    author, reviewer = trainers
    others = [make_user(app, Role.TRAINER, email=f"reviewer{n}@example.com") for n in (2, 3)]
    item_ids = [_create(app, author) for _ in range(6)]
    with app.app_context():
        authoring.submit_items(item_ids, _user(author))
        db.session.commit()
    approved, errors, barrier = [], [], threading.Barrier(3)

    def review(user_id, ids, bulk):
        with app.app_context():
            postgresql = db.session.get_bind().dialect.name == "postgresql"
            if not postgresql:  # SQLite: each transaction holds the write lock from its start
                barrier.wait(timeout=30)
            items = [db.session.get(Item, item_id) for item_id in ids]
            if postgresql:  # all three have read the items before any approves
                barrier.wait(timeout=30)
            try:
                if bulk:
                    count, _ = approvals.approve_items(ids, _user(user_id), "批量通过")
                else:
                    authoring.approve_item(items[0], _user(user_id), "通过")
                    count = 1
                db.session.commit()
                approved.append(count)
            except ServiceError:
                db.session.rollback()
                approved.append(0)
            except Exception as error:  # a deadlock would land here
                db.session.rollback()
                errors.append(error)

    threads = [threading.Thread(target=review, args=args) for args in (
        (reviewer, item_ids, True), (others[0], item_ids[::-1], True),
        (others[1], [item_ids[3]], False))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(approved) == len(item_ids)
    with app.app_context():
        for item_id in item_ids:
            item = db.session.get(Item, item_id)
            assert item.status is ItemStatus.PUBLISHED
            assert len(item.current_version.reviews) == 1


def test_a_preview_token_is_bound_to_its_user_and_works_once(app, trainers):
    client = _login(app, "author@example.com")
    preview = _upload(client, "我的题库.json", json_format.write([("e-1", SINGLE)]))
    import re

    token = re.search(r'name="token" type="hidden" value="([^"]+)"',
                      preview.get_data(as_text=True)).group(1)
    other = _login(app, "reviewer@example.com")
    assert other.post("/authoring/import/confirm", data={"token": token}).status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 0
    for attempt in ("../../etc/passwd", token + "/../x", "*"):
        client.post("/authoring/import/confirm", data={"token": attempt})
    assert client.post("/authoring/import/confirm", data={"token": token}).status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 1
        event = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "item.imported")).one()
        assert "我的题库.json" in event.details
    client.post("/authoring/import/confirm", data={"token": token})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Item.id))) == 1
