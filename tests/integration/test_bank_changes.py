"""Cached drawing pools follow the bank by its changes: a publish, a bulk approval or a
retirement re-reads only the items it touched, and a pool whose history is gone is
built again from scratch. Both database legs: the revision upsert and its lock differ."""

import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.attempts import BankChange
from exam_portal.models.bank import Item
from exam_portal.services.item_bank import approvals, authoring, pools
from question_bank.items import ItemType
from question_bank.subjects import Subject

from ..bank_factory import bank_item, publish, trainers

SUBJECT = Subject.PRAC_JR


def _reads(monkeypatch) -> list:
    """Record each read of published versions: None for a whole subject, else the ids."""
    reads, read = [], pools._published_entries

    def recording(subject, version, *, item_ids=None):
        reads.append(None if item_ids is None else sorted(item_ids))
        return read(subject, version, item_ids=item_ids)

    monkeypatch.setattr(pools, "_published_entries", recording)
    return reads


def _draft(app, number: int, chapter: str = "PRAC_JR.02") -> int:
    author_id, _ = trainers(app)
    with app.app_context():
        item = authoring.create_item(bank_item(SUBJECT, ItemType.SINGLE, number, chapter),
                                     db.session.get(User, author_id))
        authoring.submit_item(item, db.session.get(User, author_id))
        db.session.commit()
        return item.id


def test_publishing_and_retiring_update_a_cached_pool_item_by_item(app, monkeypatch):
    published = publish(app, [bank_item(SUBJECT, ItemType.SINGLE, n, f"PRAC_JR.0{n % 3 + 1}")
                              for n in range(1, 7)])
    drafts = [_draft(app, 100 + n) for n in range(3)]
    _, reviewer_id = trainers(app)
    reads = _reads(monkeypatch)
    with app.app_context():
        version = "2025"
        pools.forget()
        warm = pools.current_pool(SUBJECT, version)
        assert set(warm.by_item) == set(published) and reads == [None]
        reviewer = db.session.get(User, reviewer_id)
        authoring.approve_item(db.session.get(Item, drafts[0]), reviewer, "通过")
        db.session.commit()
        after = pools.current_pool(SUBJECT, version)
        assert set(after.by_item) == {*published, drafts[0]} and reads[-1] == [drafts[0]]
        approvals.approve_items(drafts[1:], reviewer, "通过")
        authoring.retire_item(db.session.get(Item, published[0]), reviewer)
        db.session.commit()
        latest = pools.current_pool(SUBJECT, version)
        assert set(latest.by_item) == {*published[1:], *drafts}
        assert reads[-1] == sorted([*drafts[1:], published[0]]) and None not in reads[1:]
        # The same as building it again from scratch.
        pools.forget()
        fresh = pools.current_pool(SUBJECT, version)
        assert fresh.pool._index == latest.pool._index and fresh.by_item == latest.by_item


def test_a_pool_whose_history_is_gone_is_built_again(app, monkeypatch):
    publish(app, [bank_item(SUBJECT, ItemType.SINGLE, n, "PRAC_JR.01") for n in range(1, 4)])
    draft = _draft(app, 50)
    _, reviewer_id = trainers(app)
    reads = _reads(monkeypatch)
    with app.app_context():
        pools.forget()
        pools.current_pool(SUBJECT, "2025")
        authoring.approve_item(db.session.get(Item, draft), db.session.get(User, reviewer_id),
                               "通过")
        db.session.execute(sa.delete(BankChange))  # as if pruned past KEPT_REVISIONS
        db.session.commit()
        assert draft in pools.current_pool(SUBJECT, "2025").by_item
        assert reads == [None, None]
