"""Error reports (纠错) for trainers: the list beside the bank and on the item's page,
resolving one with a reply (confirmed, audited, mailed once), and the candidate hearing
back; two trainers resolving one report at once resolve it once."""

import threading

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.audit import AuditEvent
from exam_portal.models.bank import Item, ItemPool
from exam_portal.models.mail import OutboxMail
from exam_portal.models.notes import ErrorReport
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.item_bank import error_reports
from exam_portal.services.platform import mail_delivery
from question_bank.item_feedback import ReportStatus

from ..factories import make_user
from .practice_support import candidate, login, objective_bank
from .test_item_notes import practised

pytestmark = pytest.mark.usefixtures("one_leg")

REPORT = "答案应为乙：教材第三章写明了这一点。"


@pytest.fixture
def reported(app):
    """A candidate who practised ten items and reported an error in the first; a
    trainer's client. Returns (candidate id, candidate client, item id, report id,
    trainer client)."""
    objective_bank(app, singles=10, multis=0, chapters=1)
    user_id, client = candidate(app)
    with app.app_context():
        db.session.get(User, user_id).real_name = "甲某某"
        db.session.commit()
    _attempt_id, items = practised(app, client)
    item_id = items[1].item_id
    client.post(f"/practice/items/{item_id}/report", data={"kind": "KEY", "text": REPORT})
    with app.app_context():
        report_id = db.session.scalar(sa.select(ErrorReport.id))
    make_user(app, Role.TRAINER, email="report-trainer@example.com")
    return user_id, client, item_id, report_id, login(app, "report-trainer@example.com")


def _report(app, report_id) -> ErrorReport:
    with app.app_context():
        report = db.session.get(ErrorReport, report_id)
        db.session.expunge(report)
        return report


def _mails(app) -> list[OutboxMail]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMail).where(
            OutboxMail.kind == error_reports.RESOLVED_MAIL)).all()
        db.session.expunge_all()
        return rows


def _audits(app) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "item.error_report_resolved")).all()
        db.session.expunge_all()
        return rows


def test_trainers_see_open_reports_beside_the_bank_without_who_filed_them(app, reported):
    user_id, _client, item_id, report_id, trainer = reported
    with app.app_context():
        email = db.session.get(User, user_id).email
    page = trainer.get("/authoring/reports").get_data(as_text=True)
    assert REPORT in page and "答案有误" in page and "待处理（1）" in page
    assert f'action="/authoring/reports/{report_id}/resolve"' in page
    assert f'href="/authoring/items/{item_id}#reports"' in page
    assert email not in page and "甲某某" not in page
    assert REPORT in trainer.get("/authoring/reports?status=all").get_data(as_text=True)
    assert REPORT not in trainer.get("/authoring/reports?status=ACCEPTED").get_data(as_text=True)
    assert REPORT in trainer.get("/authoring/reports?status=bogus").get_data(as_text=True)
    detail = trainer.get(f"/authoring/items/{item_id}").get_data(as_text=True)
    assert REPORT in detail and f'action="/authoring/reports/{report_id}/resolve"' in detail
    assert email not in detail
    assert "考生纠错" in trainer.get("/authoring/items").get_data(as_text=True)


def test_the_list_pages_and_filters_resolved_reports(make_app):
    app = make_app(PAGE_SIZE=2)
    objective_bank(app, singles=10, multis=0, chapters=1)
    user_id, client = candidate(app)
    _attempt_id, items = practised(app, client)
    for position in (1, 2, 3):
        client.post(f"/practice/items/{items[position].item_id}/report",
                    data={"kind": "WORDING", "text": f"第 {position} 处题干有错别字。"})
    trainer_id = make_user(app, Role.TRAINER, email="pager@example.com")
    trainer = login(app, "pager@example.com")
    first = trainer.get("/authoring/reports").get_data(as_text=True)
    assert "第 1 处" in first and "第 2 处" in first and "第 3 处" not in first  # oldest first
    assert "第 3 处" in trainer.get("/authoring/reports?page=2").get_data(as_text=True)
    with app.app_context():
        report = db.session.scalar(sa.select(ErrorReport).where(ErrorReport.text.like("第 2 处%")))
        error_reports.resolve(report, db.session.get(User, trainer_id), "REJECTED", "无误。",
                              now=utcnow())
        db.session.commit()
    rejected = trainer.get("/authoring/reports?status=REJECTED").get_data(as_text=True)
    assert "第 2 处" in rejected and "第 1 处" not in rejected and "无误。" in rejected
    assert "第 2 处" not in trainer.get("/authoring/reports").get_data(as_text=True)


def test_resolving_a_report_is_audited_mailed_once_and_heard_back_by_the_candidate(
        app, reported):
    user_id, client, _item_id, report_id, trainer = reported
    form = trainer.get("/authoring/reports").get_data(as_text=True)
    assert "data-confirm=" in form.split(f"/authoring/reports/{report_id}/resolve")[1][:200]
    response = trainer.post(f"/authoring/reports/{report_id}/resolve", data={
        "outcome": "ACCEPTED", "reply": " 已更正答案为乙，谢谢指正。 ",
        "next": "/authoring/reports"})
    assert response.status_code == 302 and response.headers["Location"] == "/authoring/reports"
    assert "已采纳，回复已发给考生。" in trainer.get("/authoring/reports").get_data(as_text=True)
    report = _report(app, report_id)
    assert (report.status, report.reply) == (ReportStatus.ACCEPTED, "已更正答案为乙，谢谢指正。")
    [event] = _audits(app)
    assert event.target_type == "ErrorReport" and event.target_id == str(report_id)
    # Again: refused, and nothing more happens.
    again = trainer.post(f"/authoring/reports/{report_id}/resolve",
                         data={"outcome": "REJECTED", "reply": "无误。"}, follow_redirects=True)
    assert "这条纠错已经处理过了。" in again.get_data(as_text=True)
    assert _report(app, report_id).status is ReportStatus.ACCEPTED
    assert len(_audits(app)) == 1
    [queued] = _mails(app)
    with app.app_context():
        email = db.session.get(User, user_id).email
        assert mail_delivery.deliver().sent == 1
    [sent] = _mails(app)
    assert queued.to_address == email == sent.to_address and sent.subject == "你的纠错已处理"
    assert REPORT in sent.body and "已更正答案为乙，谢谢指正。" in sent.body
    assert "/practice/reports" in sent.body
    # On the portal: a count on the dashboard until the list is opened.
    assert "你的 1 条纠错有了回复。" in client.get("/practice/").get_data(as_text=True)
    listed = client.get("/practice/reports").get_data(as_text=True)
    assert "已更正答案为乙，谢谢指正。" in listed and "新回复" in listed and "已采纳" in listed
    assert "有了回复" not in client.get("/practice/").get_data(as_text=True)
    assert "新回复" not in client.get("/practice/reports").get_data(as_text=True)


def test_the_mail_is_written_in_the_candidates_language(app, reported):
    user_id, _client, _item_id, report_id, trainer = reported
    with app.app_context():
        db.session.get(User, user_id).locale = "en"
        db.session.commit()
    trainer.post(f"/authoring/reports/{report_id}/resolve",
                 data={"outcome": "REJECTED", "reply": "答案无误。"})
    with app.app_context():
        mail_delivery.deliver()
    [sent] = _mails(app)
    assert sent.subject == "Your error report has been answered"


@pytest.mark.parametrize(("data", "message"), [
    ({"reply": "已更正。"}, "请选择采纳或不采纳。"),
    ({"outcome": "OPEN", "reply": "已更正。"}, "请选择采纳或不采纳。"),
    ({"outcome": "ACCEPTED", "reply": "  "}, "请填写给考生的回复。"),
    ({"outcome": "ACCEPTED", "reply": "回" * 1001}, "回复最多 1000 个字。"),
    ({"outcome": "ACCEPTED", "reply": "带\x07控制字符"}, "不能包含控制字符。"),
])
def test_an_incomplete_resolution_is_refused_with_the_reason_and_changes_nothing(
        app, reported, data, message):
    _user_id, _client, _item_id, report_id, trainer = reported
    response = trainer.post(f"/authoring/reports/{report_id}/resolve", data=data,
                            follow_redirects=True)
    assert message in response.get_data(as_text=True)
    assert _report(app, report_id).status is ReportStatus.OPEN
    assert _mails(app) == [] and _audits(app) == []


def test_candidates_can_neither_list_nor_resolve_reports(app, reported):
    _user_id, client, _item_id, report_id, _trainer = reported
    _other_id, other = candidate(app)
    for who in (client, other):
        assert who.get("/authoring/reports").status_code == 403
        assert who.post(f"/authoring/reports/{report_id}/resolve",
                        data={"outcome": "ACCEPTED", "reply": "自己采纳"}).status_code == 403
    assert _report(app, report_id).status is ReportStatus.OPEN
    # Another candidate never sees the report or its text.
    assert REPORT not in other.get("/practice/reports").get_data(as_text=True)
    assert other.post("/authoring/reports/999999/resolve").status_code == 403


def test_reports_on_secure_items_stay_with_exam_authors(app):
    objective_bank(app, singles=10, multis=0, chapters=1, pool=ItemPool.SECURE)
    user_id = make_user(app, email="secure-reporter@example.com")
    trainer_id = make_user(app, Role.TRAINER, email="plain-trainer@example.com")
    with app.app_context():
        item = db.session.scalar(sa.select(Item).order_by(Item.id))
        report = error_reports.file_report(user_id, item.published_version, "KEY", REPORT,
                                           now=utcnow())
        db.session.commit()
        report_id = report.id
    trainer = login(app, "plain-trainer@example.com")
    assert REPORT not in trainer.get("/authoring/reports").get_data(as_text=True)
    assert trainer.post(f"/authoring/reports/{report_id}/resolve",
                        data={"outcome": "ACCEPTED", "reply": "好"}).status_code == 404
    assert trainer.post("/authoring/reports/999999/resolve",
                        data={"outcome": "ACCEPTED", "reply": "好"}).status_code == 404
    assert _report(app, report_id).status is ReportStatus.OPEN and trainer_id


@pytest.mark.both_databases
def test_two_trainers_resolving_one_report_at_once_resolve_it_once(app, reported):
    _user_id, _client, _item_id, report_id, _trainer = reported
    second = make_user(app, Role.TRAINER, email="second-resolver@example.com")
    with app.app_context():
        first = db.session.scalar(sa.select(User.id).where(
            User.email == "report-trainer@example.com"))
    outcomes, errors, barrier = [], [], threading.Barrier(2)

    def resolve(trainer_id, outcome):
        with app.app_context():
            # PostgreSQL: both trainers have read the open report before either writes.
            # SQLite: each transaction takes the write lock at its start, so reading
            # first would leave the second waiting at the barrier.
            postgresql = db.session.get_bind().dialect.name == "postgresql"
            if not postgresql:
                barrier.wait(timeout=30)
            report = db.session.get(ErrorReport, report_id)
            assert report.status is ReportStatus.OPEN or not postgresql
            if postgresql:
                barrier.wait(timeout=30)
            try:
                error_reports.resolve(report, db.session.get(User, trainer_id), outcome,
                                      f"{outcome} 的回复", now=utcnow())
                db.session.commit()
                outcomes.append(outcome)
            except ServiceError:
                db.session.rollback()
                outcomes.append("refused")
            except Exception as error:  # a deadlock would land here
                db.session.rollback()
                errors.append(error)

    threads = [threading.Thread(target=resolve, args=args)
               for args in ((first, "ACCEPTED"), (second, "REJECTED"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(outcomes) in (["ACCEPTED", "refused"], ["REJECTED", "refused"])
    report = _report(app, report_id)
    won = next(outcome for outcome in outcomes if outcome != "refused")
    assert (report.status.value, report.reply) == (won, f"{won} 的回复")
    assert len(_mails(app)) == 1 and len(_audits(app)) == 1
