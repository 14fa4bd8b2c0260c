"""Relinking 2018 items to the 2025 syllabus: the trainers' page lists published 2018
items with the crosswalk's proposal; accepting one item or a selection publishes a new
version with the 2025 links (audited), the old version keeps its own, nothing else
changes, and two trainers accepting at once make one new version."""

import dataclasses
import threading

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.audit import AuditEvent
from exam_portal.models.bank import Item, ItemLink, ItemVersion
from exam_portal.services import ServiceError
from exam_portal.services.item_bank import authoring, relinking
from question_bank.subjects import Subject
from question_bank.workflow import ItemStatus

from ..factories import make_user
from ..unit.bank_samples import LAW, MULTI, SINGLE
from .practice_support import candidate, login, publish, trainers
from .test_state_races import _stop_after, interleave

# SINGLE links COMP_JR.04 (个案工作方法), which became 2025's chapter COMP_JR.06 ("same");
# a 2018 志愿者 point moved to 2025's chapter 10; a 2018 目标 point has only a broader node.
MOVED, BROADER = "COMP_JR.07.04.01", "COMP_JR.01.02.01"


@pytest.fixture
def bank(app):
    """Published 2018 items (by the author, approved by the reviewer), one 2025 item and
    one 2018 item being revised; return (author, reviewer, ids by name)."""
    author, reviewer = trainers(app)
    old = publish(app, [
        SINGLE,
        dataclasses.replace(SINGLE, stem="志愿者参与危险活动前（  ）。", syllabus=(MOVED,)),
        dataclasses.replace(MULTI, syllabus=(BROADER, "COMP_JR.01.02")),
        LAW,
    ], "2018")
    [new] = publish(app, [dataclasses.replace(SINGLE, stem="新大纲下的题（  ）。",
                                              syllabus=("COMP_JR.03",))], "2025")
    [revising] = publish(app, [dataclasses.replace(SINGLE, stem="正在修改的题（  ）。")], "2018")
    with app.app_context():
        authoring.revise_item(db.session.get(Item, revising),
                              dataclasses.replace(SINGLE, stem="正在修改的题，第二版（  ）。"),
                              db.session.get(User, author))
        db.session.commit()
    names = dict(zip(("same", "moved", "broader", "law"), old, strict=True))
    return author, reviewer, {**names, "new": new, "revising": revising}


def _client(app, user_id):
    with app.app_context():
        return login(app, db.session.get(User, user_id).email)


def _current(app, item_id):
    with app.app_context():
        item = db.session.get(Item, item_id)
        return item.current_version_id, item.current_version.syllabus_version


def test_the_page_lists_published_2018_items_with_the_proposal_and_fit(app, bank):
    _author, reviewer, ids = bank
    page = _client(app, reviewer).get("/authoring/relink").get_data(as_text=True)
    for name in ("same", "moved", "broader", "law"):
        assert f'href="/authoring/items/{ids[name]}"' in page, name
    for name in ("new", "revising"):
        assert f'href="/authoring/items/{ids[name]}"' not in page, name
    assert "待改关联 4 道" in page and "另有 1 道正在修改或审核中" in page
    assert "COMP_JR.10.03.01" in page and "移至他章" in page and "范围更宽" in page
    assert "相同" in page and "个案工作方法" in page
    filtered = _client(app, reviewer).get("/authoring/relink?subject=LAW_MID").get_data(
        as_text=True)
    assert f'href="/authoring/items/{ids["law"]}"' in filtered and "待改关联 1 道" in filtered
    for odd in ("?subject=NOPE", "?page=-1", "?page=99999", "?page=%EF%BC%92"):
        assert _client(app, reviewer).get("/authoring/relink" + odd).status_code == 200


def test_the_page_pages_through_many_items(app):
    _author, reviewer = trainers(app)
    publish(app, [dataclasses.replace(SINGLE, stem=f"第 {n} 道旧题（  ）。") for n in range(25)],
            "2018")
    client = _client(app, reviewer)
    first = client.get("/authoring/relink").get_data(as_text=True)
    second = client.get("/authoring/relink?page=2").get_data(as_text=True)
    assert "第 1 / 2 页" in first and "第 2 / 2 页" in second
    assert first.count('name="selected"') + second.count('name="selected"') == 25


def test_accepting_one_item_publishes_a_new_version_and_keeps_the_old_one(app, bank):
    author, reviewer, ids = bank
    item_id = ids["broader"]
    old_id, _ = _current(app, item_id)
    with app.app_context():
        old_links = sorted(db.session.scalars(sa.select(ItemLink.code).where(
            ItemLink.version_id == old_id)))
        old_content = db.session.get(ItemVersion, old_id).content
    response = _client(app, reviewer).post(f"/authoring/items/{item_id}/relink",
                                           data={"version_id": old_id})
    assert response.status_code == 302
    with app.app_context():
        item = db.session.get(Item, item_id)
        new = item.current_version
        assert item.published_version_id == new.id != old_id
        assert item.status is ItemStatus.PUBLISHED
        assert (new.number, new.syllabus_version, new.status) == (2, "2025",
                                                                  ItemStatus.PUBLISHED)
        assert new.author_id == author  # the wording is the author's
        assert [r.reviewer_id for r in new.reviews] == [reviewer]
        # A point and a section with no equal node: the nodes that hold them.
        assert new.to_domain().syllabus == ("COMP_JR.01.02", "COMP_JR.01")
        old = db.session.get(ItemVersion, old_id)
        assert old.syllabus_version == "2018" and old.status is ItemStatus.SUPERSEDED
        assert old.content == old_content
        assert sorted(link.code for link in old.links) == old_links
        event = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "item.relinked")).one()
        assert event.target_id == str(item_id) and event.actor_id == reviewer
        assert '"broader"' in event.details and BROADER in event.details
    # Nothing else moved: every other 2018 item is as it was.
    for name in ("same", "moved", "law", "revising"):
        assert _current(app, ids[name])[1] == "2018", name


def test_the_item_page_offers_the_proposal_to_another_trainer_only(app, bank):
    author, reviewer, ids = bank
    page = _client(app, reviewer).get(f"/authoring/items/{ids['moved']}").get_data(
        as_text=True)
    assert "接受建议关联并发布新版本" in page and "COMP_JR.10.03.01" in page
    own = _client(app, author).get(f"/authoring/items/{ids['moved']}").get_data(as_text=True)
    assert "接受建议关联并发布新版本" not in own and "另一位培训师" in own
    assert "接受建议关联" not in _client(app, reviewer).get(
        f"/authoring/items/{ids['new']}").get_data(as_text=True)


def test_the_author_of_the_current_version_cannot_accept_it(app, bank):
    author, _reviewer, ids = bank
    version_id, _ = _current(app, ids["same"])
    _client(app, author).post(f"/authoring/items/{ids['same']}/relink",
                              data={"version_id": version_id})
    assert _current(app, ids["same"]) == (version_id, "2018")


def test_bulk_acceptance_needs_the_confirmation_and_reports_what_it_left(app, bank):
    author, reviewer, ids = bank
    client = _client(app, reviewer)
    versions = {name: _current(app, ids[name])[0] for name in ids}
    chosen = [versions["same"], versions["moved"], versions["law"], versions["new"],
              versions["revising"]]
    unconfirmed = client.post("/authoring/relink", data={"selected": chosen},
                              follow_redirects=True)
    assert "确认已核对建议关联" in unconfirmed.get_data(as_text=True)
    assert all(_current(app, ids[name])[1] == "2018" for name in ("same", "moved", "law"))
    done = client.post("/authoring/relink", data={"selected": chosen, "confirmed": "y"},
                       follow_redirects=True).get_data(as_text=True)
    assert "已为 3 道题目接受建议关联" in done
    assert f"题目 {ids['new']} 未改关联" in done and f"题目 {ids['revising']} 未改关联" in done
    for name in ("same", "moved", "law"):
        assert _current(app, ids[name])[1] == "2025", name
    assert _current(app, ids["broader"])[1] == "2018"  # not ticked
    assert _current(app, ids["revising"]) == (versions["revising"], "2018")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "item.relinked")) == 3
        moved = db.session.get(Item, ids["moved"]).current_version
        assert moved.chapter_code == "COMP_JR.10"


def test_a_stale_proposal_is_refused(app, bank):
    _author, reviewer, ids = bank
    version_id, _ = _current(app, ids["same"])
    client = _client(app, reviewer)
    client.post(f"/authoring/items/{ids['same']}/relink", data={"version_id": version_id})
    again = client.post(f"/authoring/items/{ids['same']}/relink",
                        data={"version_id": version_id}, follow_redirects=True)
    assert "已有新的版本" in again.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.get(Item, ids["same"]).versions) == 2


@pytest.mark.parametrize("data", [
    {}, {"version_id": "abc"}, {"version_id": "-1"}, {"version_id": "99999999999"},
    {"version_id": "²"}, {"version_id": ["0", "abc"]},
])
def test_odd_input_never_relinks_nor_fails(app, bank, data):
    _author, reviewer, ids = bank
    before = _current(app, ids["same"])
    client = _client(app, reviewer)
    response = client.post(f"/authoring/items/{ids['same']}/relink", data=data)
    assert response.status_code in (302, 400)
    bulk = client.post("/authoring/relink", data={"selected": data.get("version_id", ""),
                                                  "confirmed": "y", "page": "x",
                                                  "subject": "<b>"})
    assert bulk.status_code == 302
    assert client.post("/authoring/items/999999/relink", data={"version_id": "1"}) \
        .status_code == 404
    assert _current(app, ids["same"]) == before


def test_candidates_get_no_relink_page_nor_action(app, bank):
    _author, _reviewer, ids = bank
    _user_id, client = candidate(app)
    version_id, _ = _current(app, ids["same"])
    assert client.get("/authoring/relink").status_code == 403
    assert client.post(f"/authoring/items/{ids['same']}/relink",
                       data={"version_id": version_id}).status_code == 403
    assert client.post("/authoring/relink", data={"selected": [version_id],
                                                  "confirmed": "y"}).status_code == 403
    assert _current(app, ids["same"]) == (version_id, "2018")


def test_an_administrator_may_accept(app, bank):
    _author, _reviewer, ids = bank
    admin = make_user(app, Role.ADMIN, email="relink-admin@example.com")
    version_id, _ = _current(app, ids["law"])
    _client(app, admin).post(f"/authoring/items/{ids['law']}/relink",
                             data={"version_id": version_id})
    assert _current(app, ids["law"])[1] == "2025"


def test_a_relinked_item_leaves_the_2018_pool_for_the_2025_one(app, bank):
    from exam_portal.services.item_bank import pools

    _author, reviewer, ids = bank
    with app.app_context():
        before = set(pools.current_pool(Subject.COMP_JR, "2018").by_item)
        assert ids["same"] in before
    version_id, _ = _current(app, ids["same"])
    _client(app, reviewer).post(f"/authoring/items/{ids['same']}/relink",
                                data={"version_id": version_id})
    with app.app_context():
        assert ids["same"] not in pools.current_pool(Subject.COMP_JR, "2018").by_item
        assert ids["same"] in pools.current_pool(Subject.COMP_JR, "2025").by_item


@pytest.mark.parametrize("pause_inside", [True, False])
def test_two_trainers_accepting_one_item_at_once_make_one_new_version(
        app, bank, monkeypatch, database_url, pause_inside):
    """One trainer stops with the item locked (or before locking it, having read the
    proposal); the other accepts meanwhile. Exactly one new version, the other refused."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite serialises writers: the race needs two server connections")
    _author, reviewer, ids = bank
    other = make_user(app, Role.TRAINER, email="relink-second@example.com")
    item_id = ids["same"]
    version_id, _ = _current(app, item_id)
    pauses = {}
    if pause_inside:
        _stop_after(monkeypatch, authoring, "lock_items", pauses)

    def first(pause):
        item = db.session.get(Item, item_id)
        if pause_inside:
            pauses[threading.get_ident()] = pause
        else:
            relinking.propose(item)  # as the page showed it
            pause()
        return relinking.accept(item, version_id, db.session.get(User, reviewer))

    def second():
        item = db.session.get(Item, item_id)
        return relinking.accept(item, version_id, db.session.get(User, other))

    one, two = interleave(app, first, second)
    assert sorted([one.done, two.done]) == [False, True], (one, two)
    refused = one if two.done else two
    assert isinstance(refused.error, ServiceError) and "已有新的版本" in str(refused.error)
    with app.app_context():
        item = db.session.get(Item, item_id)
        assert [v.number for v in item.versions] == [1, 2]
        assert item.current_version.syllabus_version == "2025"
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "item.relinked")) == 1
