"""extensions.no_write_lock ends the request's transaction for slow work that writes
nothing: it refuses to do so when that transaction has written anything, flushed or not,
because ending it would silently drop the write."""

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db, no_write_lock
from exam_portal.models.accounts import User

from ..factories import make_user

pytestmark = pytest.mark.db


@pytest.mark.parametrize("write", ["pending", "flushed", "statement"])
def test_no_write_lock_refuses_a_transaction_that_wrote(app, write):
    user_id = make_user(app, email="writer@example.com")
    with app.app_context():
        user = db.session.get(User, user_id)
        if write == "statement":
            db.session.execute(sa.update(User).where(User.id == user_id)
                               .values(locale="en"))
        else:
            user.locale = "en"
            if write == "flushed":
                db.session.flush()
        with pytest.raises(RuntimeError, match="commit them first"), no_write_lock():
            pass  # pragma: no cover - never entered
        db.session.commit()
        assert db.session.get(User, user_id).locale == "en"  # nothing was dropped


def test_no_write_lock_after_a_commit_reads_and_lets_the_next_write_in(app):
    user_id = make_user(app, email="reader@example.com")
    with app.app_context():
        user = db.session.get(User, user_id)
        user.locale = "en"
        db.session.commit()
        with no_write_lock():
            assert db.session.get(User, user_id).locale == "en"
        user.locale = "zh_CN"
        db.session.commit()
        assert db.session.scalar(sa.select(User.locale).where(User.id == user_id)) == "zh_CN"
