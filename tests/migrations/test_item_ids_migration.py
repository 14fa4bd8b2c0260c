"""Migration 3c8e5a1f9b21: every item without an external id gets a stable random one,
so exporting and importing the bank again updates items instead of adding copies."""

import re

import flask_migrate
import sqlalchemy as sa

from exam_portal import create_app
from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.bank import Item
from exam_portal.services.accounts import accounts
from exam_portal.services.item_bank import authoring

from ..conftest import portal_config
from ..unit.bank_samples import MULTI, SINGLE
from .test_migrations import empty_database_url  # noqa: F401 - the two database legs

BEFORE = "164bad1c7395"


def test_items_without_an_external_id_get_one_and_keep_theirs(empty_database_url):  # noqa: F811
    app = create_app(portal_config(empty_database_url))
    with app.app_context():
        flask_migrate.upgrade()
        author = accounts.create_user("migration-trainer@example.com",
                                      "a long enough password", Role.TRAINER)
        authoring.create_items([("kept-1", SINGLE), (None, MULTI)], author)
        db.session.execute(sa.update(Item).where(Item.external_id != "kept-1")
                           .values(external_id=None))  # as the editor left them before
        db.session.commit()
        flask_migrate.downgrade(revision=BEFORE)
        flask_migrate.upgrade()
        ids = db.session.scalars(sa.select(Item.external_id).order_by(Item.id)).all()
        assert ids[0] == "kept-1" and re.fullmatch(r"item-[0-9a-f]{16}", ids[1])
        db.session.remove()
        db.engine.dispose()
