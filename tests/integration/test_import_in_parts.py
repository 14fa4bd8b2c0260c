"""The command line's import reads the file in a child process and plans and writes it
in parts as they arrive, in one transaction: the outcome is the same as reading it
whole. An error in a later part still imports nothing (all or nothing); --partial
imports every good row of every part; an external id repeated across parts is an
error; a file the reader gives up on after some parts were written leaves nothing."""

import dataclasses
import time

import pytest
import sqlalchemy as sa

from exam_portal.commands import cli
from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.bank import Item, ItemVersion
from question_bank.formats import csv_format, table
from question_bank.formats.limits import UnreadableFile

from ..factories import make_user
from ..unit.bank_samples import MULTI, SINGLE


@pytest.fixture
def small_parts(app, monkeypatch):
    """Three records a part, so a short file is read in several."""
    monkeypatch.setattr(cli, "_IMPORT_BATCH", 3)
    make_user(app, Role.TRAINER, email="parts@example.com")


def _file(tmp_path, items) -> str:
    path = tmp_path / "bank.csv"
    path.write_bytes(csv_format.write(items))
    return str(path)


def _import(app, path, *options):
    return app.test_cli_runner().invoke(
        args=["bank", "import", path, "--as", "parts@example.com", *options])


def _items(app) -> list[str]:
    with app.app_context():
        return db.session.scalars(sa.select(Item.external_id).order_by(Item.external_id)).all()


def _stems(n: int):
    return [(f"part-{k:02d}", dataclasses.replace(SINGLE if k % 2 else MULTI,
                                                   stem=f"分批导入的第 {k} 道题目（  ）。"))
            for k in range(n)]


def test_a_file_read_in_parts_imports_every_item_with_its_own_text(app, small_parts, tmp_path):
    result = _import(app, _file(tmp_path, _stems(10)))
    assert result.exit_code == 0 and "create 10," in result.output, result.output
    assert _items(app) == [f"part-{k:02d}" for k in range(10)]
    with app.app_context():
        stems = dict(db.session.execute(
            sa.select(Item.external_id, ItemVersion.content["stem"].as_string())
            .join(ItemVersion, ItemVersion.id == Item.current_version_id)).all())
    assert stems == {f"part-{k:02d}": f"分批导入的第 {k} 道题目（  ）。" for k in range(10)}


def _with_error_at(items, index):
    broken = list(items)
    external_id, content = broken[index]
    broken[index] = (external_id, dataclasses.replace(content, keys=()))  # no key: invalid
    return broken


def test_an_error_in_a_later_part_imports_nothing(app, small_parts, tmp_path):
    result = _import(app, _file(tmp_path, _with_error_at(_stems(10), 8)))
    assert result.exit_code == 1 and "nothing was imported" in result.output, result.output
    assert _items(app) == []


def test_partial_imports_every_good_row_of_every_part(app, small_parts, tmp_path):
    result = _import(app, _file(tmp_path, _with_error_at(_stems(10), 4)), "--partial")
    assert result.exit_code == 0 and "create 9," in result.output, result.output
    assert _items(app) == [f"part-{k:02d}" for k in range(10) if k != 4]


def test_an_external_id_repeated_in_another_part_is_an_error(app, small_parts, tmp_path):
    items = _stems(8)
    items[7] = (items[1][0], items[7][1])
    result = _import(app, _file(tmp_path, items))
    assert result.exit_code == 1 and "外部编号在文件中重复" in result.output, result.output
    assert _items(app) == []


def test_a_file_given_up_on_after_parts_were_written_leaves_nothing(app, small_parts,
                                                                    tmp_path, monkeypatch):
    records = table.table_records

    def failing_late(rows):
        for number, record in enumerate(records(rows)):
            if number == 7:
                raise UnreadableFile("文件中的题目超过 %(n)d 道，请用命令行导入。", n=7)
            yield record

    monkeypatch.setattr(csv_format, "table_records", failing_late)
    result = _import(app, _file(tmp_path, _stems(10)))
    # The reason comes across from the reading process whole, and in the user's words.
    assert result.exit_code == 1 and "超过 7 道" in result.output, result.output
    assert _items(app) == []


def test_the_search_index_is_merged_beside_a_long_write(app, database_url):
    """PostgreSQL: the pending search entries of an uncommitted import are merged from a
    second connection while it writes, so little is left to merge after the commit."""
    from exam_portal.services.item_bank import authoring

    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: its search index is merged after the commit")
    author = make_user(app, Role.TRAINER, email="merge@example.com")
    with app.app_context():
        from exam_portal.models.accounts import User

        user = db.session.get(User, author)
        with authoring.search_entries_merged_meanwhile(every=0.05):
            authoring.create_items(_stems(30), user)
            pending = sa.select(sa.func.gin_clean_pending_list(
                sa.text(f"'{authoring.SEARCH_INDEX}'::regclass")))
            db.session.flush()
            time.sleep(1)  # twenty merges' time
        assert db.session.scalar(pending) == 0  # nothing left: merged meanwhile
        db.session.commit()
        found = db.session.scalars(sa.select(Item.external_id).join(
            ItemVersion, ItemVersion.item_id == Item.id).where(
            ItemVersion.search_text.like("%第 17 道%"))).all()
    assert found == ["part-17"]
