"""The secure pool: exam content only administrators and exam authors see, only exam
authors write and review, and every look at which is audited; ordinary trainers and
candidates never meet it. Exposure is counted per item in the database."""

import json

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.attempts import AttemptItem
from exam_portal.models.audit import AuditEvent
from exam_portal.models.bank import Item, ItemExposure, ItemPool
from exam_portal.services import ServiceError
from exam_portal.services.item_bank import authoring, pools
from question_bank.formats import json_format
from question_bank.items import ItemContent, ItemType
from question_bank.subjects import Subject

from ..bank_factory import publish
from ..factories import make_user
from .practice_support import candidate, login, objective_bank, start

pytestmark = pytest.mark.db

SECRET = "保密考题的题干：社区矫正对象的社会支持网络"


def _secret_item() -> ItemContent:
    return ItemContent(subject=Subject.COMP_JR, item_type=ItemType.SINGLE,
                       stem=f"{SECRET}（  ）。", options=("甲", "乙", "丙", "丁"), keys=("A",),
                       explanation="解析", difficulty=3, syllabus=("COMP_JR.01",))


@pytest.fixture
def secure_item(app) -> int:
    [item_id] = publish(app, [_secret_item()], pool=ItemPool.SECURE)
    with app.app_context():
        db.session.get(Item, item_id).external_id = "SECRET-1"
        db.session.commit()
    return item_id


def _events(app, action):
    with app.app_context():
        return [json.loads(e.details) | {"actor": e.actor_id, "target": e.target_id}
                for e in db.session.scalars(sa.select(AuditEvent).where(
                    AuditEvent.action == action).order_by(AuditEvent.id))]


def test_an_ordinary_trainer_never_sees_a_secure_item(one_leg, app, secure_item):
    make_user(app, Role.TRAINER, email="plain@example.com")
    client = login(app, "plain@example.com")
    for url in ("/authoring/items", "/authoring/items?q=社区矫正对象",
                "/authoring/items?pool=SECURE", "/authoring/export?format=json"):
        assert SECRET not in client.get(url).get_data(as_text=True), url
    for url in (f"/authoring/items/{secure_item}", f"/authoring/items/{secure_item}/edit"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/authoring/items/{secure_item}/retire",
                       data={"confirm": "y"}).status_code in (400, 404)
    # An import naming its external id neither updates it nor says whose it is.
    upload = json_format.write([("SECRET-1", _secret_item())])
    page = client.post("/authoring/import", data={"file": (__import__("io").BytesIO(upload),
                                                           "items.json")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "外部编号已被占用" in page
    with app.app_context():
        trainer = db.session.scalar(sa.select(User).where(User.email == "plain@example.com"))
        with pytest.raises(ServiceError, match="命题人员"):
            authoring.create_item(_secret_item(), trainer, pool=ItemPool.SECURE)
    assert not _events(app, "item.secure_viewed")


def test_an_exam_author_sees_secure_items_and_every_look_is_audited(one_leg, app, secure_item):
    author_id = make_user(app, Role.TRAINER, email="author@example.com")
    with app.app_context():
        db.session.get(User, author_id).is_exam_author = True
        db.session.commit()
    client = login(app, "author@example.com")
    listing = client.get("/authoring/items?pool=SECURE").get_data(as_text=True)
    assert "保密题库" in listing and "保密考题" in listing
    assert SECRET in client.get(f"/authoring/items/{secure_item}").get_data(as_text=True)
    exported = json_format.read(client.get("/authoring/export?format=json&pool=SECURE").data)
    assert [record.external_id for record in exported] == ["SECRET-1"]
    assert [(e["via"], e["actor"]) for e in _events(app, "item.secure_viewed")] == [
        ("list", author_id), ("detail", author_id), ("export", author_id)]


def test_administrators_name_exam_authors_and_a_role_change_ends_it(one_leg, app):
    from .test_sittings_pages import _admin_client

    trainer_id = make_user(app, Role.TRAINER, email="to-be-author@example.com")
    admin = _admin_client(app)
    page = admin.get(f"/admin/users/{trainer_id}").get_data(as_text=True)
    assert "指定为命题人员" in page
    admin.post(f"/admin/users/{trainer_id}/exam-author", data={"exam_author": "1"})
    with app.app_context():
        assert db.session.get(User, trainer_id).is_exam_author
    admin.post(f"/admin/users/{trainer_id}/role", data={"role": "admin"})
    with app.app_context():
        assert not db.session.get(User, trainer_id).is_exam_author
    assert [e["after"] for e in _events(app, "admin.set_exam_author")] == [True]


def test_each_paper_drawn_counts_a_use_of_its_items_in_the_database(app):
    objective_bank(app, Subject.COMP_JR)
    _, client = candidate(app)
    first = start(client, mode="RANDOM", count="10")
    second = start(client, mode="MOCK")
    with app.app_context():
        drawn = [item for attempt in (first, second) for item in db.session.scalars(
            sa.select(AttemptItem.item_id).where(AttemptItem.attempt_id == attempt))]
        uses = dict(db.session.execute(sa.select(ItemExposure.item_id, ItemExposure.uses)).all())
        assert uses == {item: drawn.count(item) for item in set(drawn)}
        # A new app process reads them back for its exposure control.
        pools.forget()
        cached = pools.current_pool(Subject.COMP_JR, "2025")
        assert cached.uses == len(drawn)
