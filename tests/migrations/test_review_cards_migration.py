"""Migration b4e81c07d2a5: the items in a candidate's wrong-answer book become review
cards due at once; items that had left the book are not carried over; the downgrade
gives the book back."""

from datetime import UTC, datetime

import flask_migrate
import sqlalchemy as sa

from exam_portal import create_app
from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.attempts import ReviewCard
from exam_portal.models.bank import Item
from exam_portal.services.accounts import accounts
from exam_portal.services.item_bank import authoring

from ..conftest import portal_config
from ..unit.bank_samples import MULTI, SINGLE
from .test_migrations import empty_database_url  # noqa: F401 - the two database legs

BEFORE = "7d2f6b3a0c42"
WRONG_AT = datetime(2026, 11, 3, 4, 5, tzinfo=UTC)


def test_the_wrong_answer_book_becomes_cards_due_at_once(empty_database_url):  # noqa: F811
    app = create_app(portal_config(empty_database_url))
    with app.app_context():
        flask_migrate.upgrade()
        author = accounts.create_user("migration-trainer@example.com",
                                      "a long enough password", Role.TRAINER)
        learner_id = accounts.create_user("migration-learner@example.com",
                                          "a long enough password", Role.CANDIDATE).id
        authoring.create_items([("in-book", SINGLE), ("left-book", MULTI)], author)
        db.session.commit()
        in_book, left = db.session.scalars(sa.select(Item.id).order_by(Item.id)).all()
        db.session.commit()
        flask_migrate.downgrade(revision=BEFORE)
        # The table as that revision has it: no model of wrong_answers is left.
        wrong_answers = sa.table(
            "wrong_answers", sa.column("candidate_id"), sa.column("item_id"),
            sa.column("subject"), sa.column("in_book"), sa.column("streak"),
            sa.column("times_wrong"), sa.column("last_wrong_at"), sa.column("updated_at"))
        db.session.execute(sa.insert(wrong_answers), [
            {"candidate_id": learner_id, "item_id": in_book, "subject": "COMP_JR",
             "in_book": True, "streak": 1, "times_wrong": 3, "last_wrong_at": WRONG_AT,
             "updated_at": WRONG_AT},
            {"candidate_id": learner_id, "item_id": left, "subject": "COMP_JR",
             "in_book": False, "streak": 0, "times_wrong": 1, "last_wrong_at": WRONG_AT,
             "updated_at": WRONG_AT}])
        db.session.commit()
        flask_migrate.upgrade()
        cards = db.session.scalars(sa.select(ReviewCard)).all()
        assert [(c.item_id, c.times_wrong, c.in_book, c.state, c.step, c.reviews)
                for c in cards] == [(in_book, 3, True, 1, 0, 0)]
        assert cards[0].due == cards[0].last_wrong_at == WRONG_AT
        db.session.commit()
        flask_migrate.downgrade(revision=BEFORE)
        back = db.session.execute(sa.text(
            "SELECT item_id, in_book, times_wrong FROM wrong_answers")).all()
        assert [tuple(row) for row in back] == [(in_book, True, 3)]
        db.session.commit()
        flask_migrate.upgrade()
        db.session.remove()
        db.engine.dispose()
