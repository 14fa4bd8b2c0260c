"""Integer rows between the database and numpy (services/platform/bulk.py): what goes
into a temporary table comes back row for row, however the stream is cut."""

import numpy as np
import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.services.platform import bulk

from ..factories import make_user


@pytest.mark.parametrize("block_bytes", [bulk._BLOCK_BYTES, 100, 19])
def test_rows_written_to_a_temporary_table_read_back_unchanged(app, monkeypatch, block_bytes):
    monkeypatch.setattr(bulk, "_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(7)
    a = rng.integers(-2**31, 2**31 - 1, size=2_345)
    b = np.arange(2_345)
    with app.app_context():
        with bulk.int_table(a=a, b=b) as table:
            blocks = list(bulk.int_rows(sa.select(table.c.b, table.c.a).order_by(table.c.b)))
            assert db.session.scalar(sa.select(sa.func.count()).select_from(table)) == 2_345
        db.session.rollback()
    rows = np.concatenate(blocks)
    assert rows.shape == (2_345, 2) and rows.dtype == np.int64
    assert (rows[:, 0] == b).all() and (rows[:, 1] == a).all()


@pytest.mark.parametrize("block_bytes", [bulk._BLOCK_BYTES, 100, 12])
def test_rows_packed_by_a_column_read_back_as_the_same_rows(app, monkeypatch, block_bytes):
    """PostgreSQL sends a row per value of the group column, packed; what comes back
    is the same rows (in another order), however the stream is cut."""
    monkeypatch.setattr(bulk, "_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(8)
    paper = np.repeat(np.arange(1, 41), 25)  # 40 papers of 25 answers
    value = rng.integers(-2**31, 2**31 - 1, size=len(paper))
    position = np.tile(np.arange(25), 40)
    with app.app_context():
        with bulk.int_table(p=paper, n=position, v=value) as table:
            query = sa.select(table.c.p, table.c.n, table.c.v)
            blocks = list(bulk.int_rows(query, group_by=0))
            assert list(bulk.int_rows(query.where(table.c.p < 0), group_by=0)) == []
        db.session.rollback()
    rows = np.concatenate(blocks)
    assert rows.dtype == np.int64
    expected = np.column_stack([paper, position, value])
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, expected.tolist()))


def test_a_null_in_packed_rows_is_refused_not_dropped(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("packing is PostgreSQL's; SQLite reads rows as they are")
    with app.app_context():
        with bulk.int_table(p=np.array([1, 1, 2]), v=np.array([5, 6, 7])) as table:
            query = sa.select(table.c.p, sa.case((table.c.v == 6, None), else_=table.c.v))
            with pytest.raises(RuntimeError, match="NULL"):
                list(bulk.int_rows(query, group_by=0))
        db.session.rollback()


def test_no_rows_is_an_empty_read_and_an_empty_table(app):
    with app.app_context():
        with bulk.int_table(a=np.array([], dtype=np.int64)) as table:
            assert list(bulk.int_rows(sa.select(table.c.a))) == []
        db.session.rollback()


def test_an_update_from_the_temporary_table_changes_only_the_rows_it_names(app):
    ids = [make_user(app, email=f"bulk{n}@example.com") for n in range(3)]
    with app.app_context():
        users = User.__table__
        with bulk.int_table(i=np.array(ids[:2]), v=np.array([1, 0])) as new:
            db.session.execute(sa.update(users).where(users.c.id == new.c.i)
                               .values(is_exam_author=new.c.v == 1))
        db.session.commit()
        flags = dict(db.session.execute(sa.select(User.id, User.is_exam_author)).all())
    assert flags == {ids[0]: True, ids[1]: False, ids[2]: False}


def test_rows_of_any_columns_go_in_as_an_insert_would_write_them(app):
    """Enums, JSON, dates, text with COPY's special characters, NULLs: read back as
    written, on both databases."""
    from datetime import UTC, datetime

    from exam_portal.models.bank import Item, ItemPool, ItemType, ItemVersion
    from question_bank.subjects import Subject
    from question_bank.workflow import ItemStatus

    author = make_user(app, email="bulk-author@example.com")
    now = datetime(2026, 12, 7, 3, 4, 5, tzinfo=UTC)
    texts = ["制表\t换行\n反斜杠\\N 与 \\.", "", "引号\"'"]
    with app.app_context():
        first = (db.session.scalar(sa.select(sa.func.max(Item.id))) or 0) + 1
        bulk.insert_rows(Item.__table__, [
            {"id": first + n, "external_id": f"bulk-{n}", "subject": Subject.COMP_JR,
             "item_type": ItemType.SINGLE, "status": ItemStatus.DRAFT, "pool": ItemPool.OPEN,
             "defaulted_fields": text, "created_by_id": author, "created_at": now,
             "updated_at": now}
            for n, text in enumerate(texts)])
        bulk.insert_rows(ItemVersion.__table__, [
            {"item_id": first, "number": 1, "status": ItemStatus.DRAFT,
             "content": {"stem": texts[0], "keys": ["A"], "nested": {"n": None}},
             "content_hash": "0" * 64, "syllabus_version": "2025", "chapter_code": "X",
             "difficulty": 3, "fixed_order": True, "points_halves": None,
             "law_valid_from": None, "law_valid_to": None, "search_text": texts[0],
             "author_id": author, "created_at": now}])
        db.session.commit()
        items = db.session.scalars(sa.select(Item).where(Item.id >= first)
                                   .order_by(Item.id)).all()
        assert [(i.external_id, i.subject, i.pool, i.defaulted_fields, i.created_at)
                for i in items] == [(f"bulk-{n}", Subject.COMP_JR, ItemPool.OPEN, text, now)
                                    for n, text in enumerate(texts)]
        version = db.session.scalars(sa.select(ItemVersion).where(
            ItemVersion.item_id == first)).one()
        assert version.content == {"stem": texts[0], "keys": ["A"], "nested": {"n": None}}
        assert (version.fixed_order, version.points_halves, version.search_text,
                version.status) == (True, None, texts[0], ItemStatus.DRAFT)


def test_rows_over_several_statements_all_land_and_are_found_by_search(app, monkeypatch):
    """SQLite takes many rows per INSERT (the search index writes once per statement):
    rows cut over several statements all land, each found by its own text."""
    from datetime import UTC, datetime

    from exam_portal.models.bank import Item, ItemPool, ItemType, ItemVersion
    from exam_portal.services.item_bank.item_list import _text_match
    from question_bank.subjects import Subject
    from question_bank.workflow import ItemStatus

    monkeypatch.setattr(bulk, "_SQLITE_ROWS_PER_INSERT", 3)
    author = make_user(app, email="bulk-many@example.com")
    now = datetime(2026, 12, 7, tzinfo=UTC)
    with app.app_context():
        first = (db.session.scalar(sa.select(sa.func.max(Item.id))) or 0) + 1
        bulk.insert_rows(Item.__table__, [
            {"id": first + n, "external_id": f"many-{n}", "subject": Subject.COMP_JR,
             "item_type": ItemType.SINGLE, "status": ItemStatus.DRAFT, "pool": ItemPool.OPEN,
             "defaulted_fields": "", "created_by_id": author, "created_at": now,
             "updated_at": now} for n in range(8)])
        bulk.insert_rows(ItemVersion.__table__, [
            {"item_id": first + n, "number": 1, "status": ItemStatus.DRAFT,
             "content": {"stem": f"第{n}号独特题干"}, "content_hash": f"{n:064d}",
             "syllabus_version": "2025", "chapter_code": "X", "difficulty": 3,
             "fixed_order": False, "points_halves": None, "law_valid_from": None,
             "law_valid_to": None, "search_text": f"第{n}号独特题干", "author_id": author,
             "created_at": now} for n in range(8)])
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ItemVersion)) == 8
        for n in range(8):
            found = db.session.scalars(sa.select(ItemVersion.item_id).where(
                _text_match(f"第{n}号独特"))).all()
            assert found == [first + n]
