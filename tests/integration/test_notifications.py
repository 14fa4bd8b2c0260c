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

from ..factories import logged_in, make_user

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


def _user(app, locale=None, *, role=Role.CANDIDATE):
    user_id = make_user(app, role)
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


# The pages --------------------------------------------------------------------------

def _told_many(app, user_id, count):
    with app.app_context():
        for number in range(count):
            notifications.notify(user_id, KIND, {"name": f"第{number}批"},
                                 event=f"page:{number}")
        db.session.commit()


def test_the_centre_lists_newest_first_says_unread_in_words_and_pages(app, one_leg):
    user_id = _user(app)
    _told_many(app, user_id, 22)
    client = logged_in(app, user_id)
    page = client.get("/notifications/").get_data(as_text=True)
    assert page.index("第21批") < page.index("第20批")
    assert "第1批" not in page and "未读" in page and "22 条未读" in page
    assert "第1批" in client.get("/notifications/?page=2").get_data(as_text=True)
    with app.app_context():
        db.session.get(User, user_id).locale = "en"
        db.session.commit()
    english = logged_in(app, user_id)
    page = english.get("/notifications/").get_data(as_text=True)
    assert "Unread" in page and "22 unread" in page and "Mark all as read" in page


def test_reading_one_or_all_is_a_post_by_the_owner_only(app, one_leg):
    owner, other = _user(app), _user(app, role=Role.TRAINER)
    _told_many(app, owner, 2)
    [first, second] = [notice.id for notice in _notices(app, owner)]
    intruder = logged_in(app, other)
    for url in (f"/notifications/{first}/read", f"/notifications/{first}/open",
                "/notifications/999999/read"):
        assert intruder.post(url).status_code == 404
    client = logged_in(app, owner)
    assert client.get(f"/notifications/{first}/read").status_code == 405
    response = client.post(f"/notifications/{first}/open")
    assert response.status_code == 302 and response.headers["Location"].endswith("/notifications/")
    with app.app_context():
        assert notifications.unread_count(owner) == 1
    assert "（1 条未读）" in client.get("/account/").get_data(as_text=True)
    client.post("/notifications/read-all", follow_redirects=True)
    with app.app_context():
        assert notifications.unread_count(owner) == 0
        assert db.session.get(Notification, second).read_at is not None
    assert "条未读）" not in client.get("/account/").get_data(as_text=True)


def test_every_role_sees_the_unread_count_in_the_navigation(app, one_leg):
    for role in Role:
        user_id = _user(app, role=role)
        _told_many(app, user_id, 3)
        page = logged_in(app, user_id).get("/").get_data(as_text=True)
        assert 'href="/notifications/"' in page and "（3 条未读）" in page, role


def test_the_settings_page_saves_each_kind_and_channel(app, one_leg):
    user_id = _user(app)
    client = logged_in(app, user_id)
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert "需开启" in page and f'name="{KIND}:in_app" id' in page
    assert f'name="{KIND}:in_app" id="pref-{KIND}-in_app" checked' in page
    assert f'name="{OPT_IN}:in_app" id="pref-{OPT_IN}-in_app">' in page  # off by default
    # Tick the opt-in kind's in-app box, untick the other kind's e-mail box.
    client.post("/notifications/settings", data={f"{KIND}:in_app": "on",
                                                 f"{OPT_IN}:in_app": "on",
                                                 "unknown:in_app": "on"})
    with app.app_context():
        chosen = notifications.preferences(db.session.get(User, user_id))
    assert chosen[(KIND, "in_app")] and not chosen[(KIND, "email")]
    assert chosen[(OPT_IN, "in_app")] and not chosen[(OPT_IN, "email")]
    with app.app_context():
        db.session.get(User, user_id).locale = "en"
        db.session.commit()
    page = logged_in(app, user_id).get("/notifications/settings").get_data(as_text=True)
    assert "Notification settings" in page and "opt-in" in page and "E-mail" in page


class _Recorder(notifications.Channel):
    name = "sms"
    label = "短信"
    sent: list = []

    def send(self, user, notice):
        self.sent.append((user.id, user.locale, notice.title))


def test_a_plugged_in_channel_is_called_after_the_commit_for_those_who_turned_it_on(
        make_app, one_leg):
    app = make_app(NOTIFICATION_CHANNELS=[_Recorder])
    keen, plain = _user(app, "en"), _user(app)
    _Recorder.sent.clear()
    with app.app_context():
        notifications.set_preferences(db.session.get(User, keen), {(KIND, "sms"): True},
                                      now=utcnow())
        db.session.commit()
        notifications.notify([keen, plain], KIND, {"name": "x"}, event="e")
        assert _Recorder.sent == []  # nothing before the commit
        db.session.commit()
        assert _Recorder.sent == [(keen, "en", "Notifications：x")]
        notifications.notify([keen], KIND, {"name": "y"}, event="e2")
        db.session.rollback()
        db.session.commit()
    assert len(_Recorder.sent) == 1  # a rolled-back notice is never sent


def test_the_sweep_command_and_job_call_every_source_once_a_rerun_adds_nothing(app, one_leg):
    user_id = _user(app)
    calls = []

    @notifications.sweep_source("test_source")
    def _source(now):
        calls.append(now)
        notifications.notify(user_id, KIND, {"name": "x"}, event=f"day:{now.date()}")

    @notifications.sweep_source("test_broken")
    def _broken(now):
        raise RuntimeError("a broken source")

    try:
        runner = app.test_cli_runner()
        result = runner.invoke(args=["notifications", "sweep", "--now", "2026-11-30T01:00"])
        assert "test_source: ok" in result.output and "test_broken: failed" in result.output
        assert result.exit_code == 1
        runner.invoke(args=["notifications", "sweep", "--now", "2026-11-30T02:00"])
        assert len(_notices(app, user_id)) == 1 and len(calls) == 2
        with app.app_context(), app.test_request_context(method="POST"):
            admin = db.session.get(User, _user(app, role=Role.ADMIN))
            from exam_portal.services.platform import jobs

            job = jobs.submit(notifications.SWEEP_JOB, target_id=0, params={}, actor=admin)
            assert job.summary["test_source"] == "ok"
        assert len(_notices(app, user_id)) == 2  # today, another day
    finally:
        notifications.SWEEP_SOURCES.pop("test_source")
        notifications.SWEEP_SOURCES.pop("test_broken")


def test_a_notice_its_renderer_cannot_read_still_leaves_the_centre_working(app, one_leg):
    user_id = _user(app)
    with app.app_context():
        notifications.notify(user_id, KIND, {"unexpected": 1}, event="broken")
        db.session.commit()
    page = logged_in(app, user_id).get("/notifications/")
    assert page.status_code == 200 and "通知" in page.get_data(as_text=True)
