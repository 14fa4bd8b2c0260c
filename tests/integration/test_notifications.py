"""The notification service: once per event, in the recipient's language, as the user
chose; fan-out to a whole audience as a job, idempotent and paced; the centre and the
preferences pages."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import gettext, lazy_gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.mail import OutboxMail
from exam_portal.models.notifications import Notification
from exam_portal.models.types import utcnow
from exam_portal.services.platform import mail_delivery, notifications

from ..factories import make_user

pytestmark = pytest.mark.db

KIND = "test_notice"
OPT_IN = "test_opt_in"


@pytest.fixture(autouse=True)
def test_kinds():
    """Two kinds for the tests, removed after (the registry is the process's)."""
    @notifications.kind(KIND, label=lazy_gettext("通知"))
    def _render(params):
        return notifications.Notice(
            title=gettext("通知") + "：" + params["name"],
            body=gettext("还没有通知。"), link=("notifications.centre", {}))

    @notifications.kind(OPT_IN, opt_in=True)
    def _render_opt_in(params):
        return notifications.Notice(title=gettext("今日复习"))

    @notifications.audience("test_everyone")
    def _everyone(params):
        return sa.select(User.id.label("user_id")).where(User.role == Role.CANDIDATE)

    yield
    notifications.KINDS.pop(KIND)
    notifications.KINDS.pop(OPT_IN)
    notifications.AUDIENCES.pop("test_everyone")


def _user(app, locale=None, **kwargs):
    user_id = make_user(app, **kwargs)
    if locale:
        with app.app_context():
            db.session.get(User, user_id).locale = locale
            db.session.commit()
    return user_id


def _notices(app, user_id=None):
    with app.app_context():
        query = sa.select(Notification).order_by(Notification.id)
        if user_id is not None:
            query = query.where(Notification.user_id == user_id)
        return db.session.scalars(query).all()


def _mails(app):
    with app.app_context():
        return db.session.scalars(sa.select(OutboxMail).order_by(OutboxMail.id)).all()


def test_an_event_is_told_once_however_often_it_is_notified(app):
    first, second = _user(app), _user(app)
    with app.app_context():
        assert notifications.notify([first, second], KIND, {"name": "2026"},
                                    event="session:1") == 2
        db.session.commit()
        assert notifications.notify([first, second], KIND, {"name": "2026"},
                                    event="session:1") == 0
        assert notifications.notify(first, KIND, {"name": "2026"}, event="session:1") == 0
        # Another event of the same kind is another notice.
        assert notifications.notify(first, KIND, {"name": "2027"}, event="session:2") == 1
        db.session.commit()
    assert len(_notices(app, first)) == 2 and len(_notices(app, second)) == 1
    assert len(_mails(app)) == 3


def test_each_user_reads_the_notice_and_the_mail_in_their_own_language(app):
    chinese, english = _user(app, "zh_CN"), _user(app, "en")
    with app.app_context():
        notifications.notify([chinese, english], KIND, {"name": "2026"}, event="e")
        db.session.commit()
        assert mail_delivery.deliver(now=utcnow() + timedelta(hours=1)).sent == 2
    by_address = {mail.to_address: mail for mail in _mails(app)}
    with app.app_context():
        chinese_mail = by_address[db.session.get(User, chinese).email]
        english_mail = by_address[db.session.get(User, english).email]
    assert chinese_mail.subject == "通知：2026"
    assert "还没有通知。" in chinese_mail.body and "/notifications/" in chinese_mail.body
    assert english_mail.subject == "Notifications：2026"
    assert "No notifications yet." in english_mail.body


def test_a_kind_turned_off_sends_nothing_on_that_channel(app):
    quiet, mail_only, app_only = _user(app), _user(app), _user(app)
    with app.app_context():
        for user_id, in_app, email in ((quiet, False, False), (mail_only, False, True),
                                       (app_only, True, False)):
            notifications.set_preferences(
                db.session.get(User, user_id),
                {(KIND, notifications.IN_APP): in_app, (KIND, notifications.EMAIL): email},
                now=utcnow())
        db.session.commit()
        assert notifications.notify([quiet, mail_only, app_only], KIND, {"name": "x"},
                                    event="e") == 2
        db.session.commit()
        assert notifications.unread_count(mail_only) == 0
        assert notifications.unread_count(app_only) == 1
        assert notifications.unread_count(quiet) == 0
        mail_address = db.session.get(User, mail_only).email
    assert [mail.to_address for mail in _mails(app)] == [mail_address]
    assert _notices(app, quiet) == []


def test_an_opt_in_kind_is_off_until_the_user_turns_it_on(app):
    user_id, keen = _user(app), _user(app)
    with app.app_context():
        notifications.set_preferences(db.session.get(User, keen),
                                      {(OPT_IN, notifications.IN_APP): True}, now=utcnow())
        assert notifications.notify([user_id, keen], OPT_IN, {}, event="day:1") == 1
        db.session.commit()
        assert notifications.preferences(db.session.get(User, user_id))[
            (OPT_IN, notifications.IN_APP)] is False
    assert _notices(app, user_id) == [] and len(_notices(app, keen)) == 1
    assert _mails(app) == []  # the e-mail channel was not turned on


def test_the_fan_out_job_tells_everyone_once_and_paces_the_mail(make_app):
    app = make_app(NOTIFICATION_MAIL_PER_MINUTE=60)
    users = [_user(app) for _ in range(7)]
    admin = make_user(app, Role.ADMIN)
    job_params = {"audience": "test_everyone", "audience_params": {}, "kind": KIND,
                  "params": {"name": "2026"}, "event": "session:9"}
    with app.app_context():
        summary = notifications.run_fan_out(job_params, batch=3)
        assert summary == {"audience": 7, "created": 7}
        # Run again (a job restarted): nothing new.
        assert notifications.run_fan_out(job_params, batch=2)["created"] == 0
        with app.test_request_context(method="POST"):
            job = notifications.fan_out("test_everyone", {}, KIND, {"name": "2026"},
                                        event="session:9", target_id=9,
                                        actor=db.session.get(User, admin))
            assert job.summary == {"audience": 7, "created": 0}
    assert sorted(notice.user_id for notice in _notices(app)) == users
    mails = _mails(app)
    assert len(mails) == 7
    times = sorted(mail.next_attempt_at for mail in mails)
    assert all(later - earlier == timedelta(seconds=1)
               for earlier, later in zip(times, times[1:], strict=False))


def test_mark_read_only_touches_the_owners_notices(app):
    owner, other = _user(app), _user(app)
    with app.app_context():
        notifications.notify([owner, other], KIND, {"name": "x"}, event="e")
        db.session.commit()
        [owned] = _notices(app, owner)
        assert notifications.mark_read(other, owned.id, now=utcnow()) is False
        assert notifications.unread_count(owner) == 1
        assert notifications.mark_read(owner, owned.id, now=utcnow()) is True
        assert notifications.unread_count(owner) == 0
        assert notifications.mark_all_read(other, now=utcnow()) == 1
        db.session.commit()


def test_notices_of_one_event_from_many_threads_at_once_are_made_once(app):
    with app.app_context():
        if db.session.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite's one write lock serialises the writers")
    users = [_user(app) for _ in range(30)]
    barrier, created, errors = threading.Barrier(4), [], []

    def tell(index):
        with app.app_context(), app.test_request_context(method="POST"):
            try:
                barrier.wait(timeout=30)
                if index % 2:
                    count = notifications.notify(users, KIND, {"name": "x"}, event="race")
                else:
                    count = notifications.run_fan_out(
                        {"audience": "test_everyone", "audience_params": {}, "kind": KIND,
                         "params": {"name": "x"}, "event": "race"}, batch=7)["created"]
                db.session.commit()
                created.append(count)
            except Exception as error:  # noqa: BLE001 - a deadlock would land here
                db.session.rollback()
                errors.append(error)

    threads = [threading.Thread(target=tell, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(created) == 30
    assert sorted(notice.user_id for notice in _notices(app)) == users
    assert len(_mails(app)) == 30
