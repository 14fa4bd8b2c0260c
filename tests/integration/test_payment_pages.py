"""Exam fees through the pages: a provider's statement (GB18030 or UTF-8) previewed with
row-level errors then recorded all or nothing, and once only; late payments reported
for refund; the payment list by state; payments by hand; fee settings; what candidates
see of their own fees, and only of their own."""

import io
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.audit import AuditEvent
from exam_portal.models.payments import Payment, PaymentSource
from exam_portal.models.sittings import Registration
from exam_portal.services.exam_sessions import fees
from exam_portal.services.exam_sessions.fees import PaymentState

from ..factories import make_user
from .test_fees import AFTER_DEADLINE, DEADLINE, account, fee_session, verified
from .test_sittings import NOW, _candidate, _register
from .test_sittings_pages import _signed_in

# Pages, forms and access rules: they read and write alike on both databases.
pytestmark = pytest.mark.usefixtures("one_leg")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
STATEMENT_DAY = NOW + timedelta(days=4)  # 2026-03-14, after the fixture's payments


@pytest.fixture
def admin(app) -> int:
    return make_user(app, Role.ADMIN, email="payments-admin@example.com")


def _admin(app):
    """The administrator signed in now (under the test's frozen clock)."""
    return _signed_in(app, "payments-admin@example.com")


def _email(app, user_id) -> str:
    with app.app_context():
        return db.session.get(User, user_id).email


def _numbers(app, *registration_ids) -> list[str]:
    with app.app_context():
        return [db.session.get(Registration, i).admission_number for i in registration_ids]


def _fixture(name, numbers) -> bytes:
    """A fixture statement with its admission numbers replaced by this test's."""
    data = (FIXTURES / name).read_bytes()
    for index, number in enumerate(numbers, start=1):
        data = data.replace(f"202600111100000{index}".encode(), number.encode())
    return data


def _csv(rows) -> bytes:
    return "\r\n".join(",".join(row) for row in rows).encode("gb18030") + b"\r\n"


def _upload(client, session_id, data, name="statement.csv"):
    return client.post(f"/admin/sessions/{session_id}/payments/import",
                       data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _token(preview) -> str | None:
    found = re.search(r'name="token" type="hidden" value="([^"]+)"',
                      preview.get_data(as_text=True))
    return found.group(1) if found else None


def _confirm(client, session_id, preview):
    return client.post(f"/admin/sessions/{session_id}/payments/import/confirm",
                       data={"token": _token(preview)}, follow_redirects=True)


def _payments(app) -> list[tuple]:
    with app.app_context():
        return [(p.reference, p.amount_fen, p.source) for p in db.session.scalars(
            sa.select(Payment).order_by(Payment.id))]


@pytest.mark.parametrize("name", ["payments_gb18030.csv", "payments_utf8_bom.csv"])
def test_a_statement_previews_then_records_and_importing_it_again_changes_nothing(
        app, admin, name):
    session_id = fee_session(app, admin)
    first, second = verified(app, admin, session_id), verified(app, admin, session_id)
    data = _fixture(name, _numbers(app, first, second))
    with freeze_time(STATEMENT_DAY):
        admin_client = _admin(app)
        preview = _upload(admin_client, session_id, data, name)
        page = preview.get_data(as_text=True)
        assert "按期缴费，计入考试费：3" in page and "错误：0" in page
        done = _confirm(admin_client, session_id, preview).get_data(as_text=True)
        assert "新增缴费 3 笔" in done
        assert account(app, first).state is account(app, second).state is PaymentState.COMPLETE
        again = _upload(admin_client, session_id, data, name)
        assert "已记录过：3" in again.get_data(as_text=True)
        assert _token(again) is None
        # The same payments in the other encoding are the same payments.
        other = "payments_utf8_bom.csv" if "gb" in name else "payments_gb18030.csv"
        assert "已记录过：3" in _upload(admin_client, session_id, _fixture(
            other, _numbers(app, first, second)), other).get_data(as_text=True)
    assert _payments(app) == [("WX4200000001202603120001", 14000, PaymentSource.IMPORT),
                              ("ZFB2026031221001004", 7000, PaymentSource.IMPORT),
                              ("ZFB2026031321001077", 7000, PaymentSource.IMPORT)]
    with app.app_context():
        (event,) = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "session.payments_imported")).all()
        details = json.loads(event.details)
        assert (details["new"], details["late"], details["amount_fen"]) == (3, [], 28000)


def test_any_row_error_is_shown_by_row_and_nothing_is_recorded(app, admin):
    session_id = fee_session(app, admin)
    paid, owing = verified(app, admin, session_id), verified(app, admin, session_id)
    unreviewed = _register(app, _candidate(app), session_id).id
    paid_number, owing_number, unreviewed_number = _numbers(app, paid, owing, unreviewed)
    with freeze_time(STATEMENT_DAY):
        admin_client = _admin(app)
        first_statement = _csv([
            ["准考证号", "金额", "缴费时间", "交易流水号"],
            [paid_number, "140.00", "2026-03-12 09:00:00", "OLD-1"]])
        assert "新增缴费 1 笔" in _confirm(admin_client, session_id, _upload(
            admin_client, session_id, first_statement)).get_data(as_text=True)
        preview = _upload(admin_client, session_id, _csv([
            ["准考证号", "金额", "缴费时间", "交易流水号"],
            [owing_number, "70.00", "2026-03-13 10:00:00", "OK-1"],          # 2: fine
            ["2026999111999999", "70", "2026-03-13 10:00:00", "X-1"],        # 3: unknown
            [owing_number, "七十", "2026-03-13 10:00:00", "X-2"],            # 4: amount
            [owing_number, "70", "2026-03-13 10:00:00", "OK-1"],             # 5: repeated
            [unreviewed_number, "140", "2026-03-13 10:00:00", "X-3"],        # 6: not reviewed
            [paid_number, "140", "2026-03-13 10:00:00", "X-4"],              # 7: paid already
            [owing_number, "70", "2026-03-13 10:00:00", "OLD-1"],            # 8: recorded
            [owing_number, "80", "2026-03-13 10:00:00", "X-5"],              # 9: too much
        ]))
    page = preview.get_data(as_text=True)
    assert "错误：7" in page and _token(preview) is None
    for row, text in ((3, "本考试批次没有这个准考证号"), (4, "金额应为以元为单位的数字"),
                      (5, "交易流水号与第 2 行重复"), (6, "还没有审核通过，不在待缴费状态"),
                      (7, "已缴清考试费，不在待缴费状态"),
                      (8, f"交易流水号已记录为另一笔缴费（准考证号 {paid_number}"),
                      (9, "金额 80.00 元超过尚需缴纳的 70.00 元")):
        assert re.search(rf"<td>{row}</td>.*?{re.escape(text)}", page, re.S), (row, text)
    refused = _admin(app).post(f"/admin/sessions/{session_id}/payments/import/confirm",
                               data={"token": "x" * 32}, follow_redirects=True)
    assert "预览已过期" in refused.get_data(as_text=True)
    assert [reference for reference, *_ in _payments(app)] == ["OLD-1"]


def test_a_late_payment_is_recorded_and_listed_for_refund(app, admin):
    session_id = fee_session(app, admin)
    late, in_time = verified(app, admin, session_id), verified(app, admin, session_id)
    late_number, in_time_number = _numbers(app, late, in_time)
    with freeze_time(AFTER_DEADLINE):
        admin_client = _admin(app)
        preview = _upload(admin_client, session_id, _csv([
            ["准考证号", "金额", "缴费时间", "交易流水号"],
            [late_number, "140", "2026-04-21 08:00:00", "LATE-1"],
            # Paid a minute before the deadline, in the statement of the next morning.
            [in_time_number, "140", "2026-04-20 23:59:00", "NIGHT-1"]]))
        page = preview.get_data(as_text=True)
        assert "逾期缴费，记录并待退款：1" in page and "LATE-1" in page
        assert "逾期缴费 1 笔" in _confirm(admin_client, session_id, preview).get_data(
            as_text=True)
        refunds = admin_client.get(f"/admin/sessions/{session_id}/payments?show=refund")
        lapsed = admin_client.get(f"/admin/sessions/{session_id}/payments?show=lapsed")
    assert late_number in refunds.get_data(as_text=True)
    assert in_time_number not in refunds.get_data(as_text=True)
    assert late_number in lapsed.get_data(as_text=True)
    assert account(app, late, AFTER_DEADLINE).refund_fen == 14000
    assert account(app, in_time, AFTER_DEADLINE).state is PaymentState.COMPLETE
    with app.app_context():
        (event,) = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "session.payments_imported")).all()
        assert json.loads(event.details)["late"] == [[late_number, "LATE-1", 14000]]


@pytest.mark.parametrize("data, name, message", [
    (b"\xff\xfe\x00\x00", "statement.csv", "既不是 UTF-8 也不是 GB18030"),
    ("准考证号,金额\r\n".encode(), "statement.csv", "缺少列：缴费时间、交易流水号"),
    (b"PK\x03\x04", "statement.xlsx", "只支持 .csv 文件"),
])
def test_an_unreadable_statement_is_refused_as_a_whole(app, admin, data, name, message):
    session_id = fee_session(app, admin)
    response = _upload(_admin(app), session_id, data, name)
    assert response.status_code == 200 and message in response.get_data(as_text=True)


def test_fee_settings_and_a_payment_by_hand_through_the_pages(app, admin):
    session_id = fee_session(app, admin, fee_fen=0, deadline=None)
    registration_id = verified(app, admin, session_id)
    (number,) = _numbers(app, registration_id)
    with freeze_time(NOW + timedelta(days=1)):
        admin_client = _admin(app)
        assert admin_client.post(f"/admin/sessions/{session_id}/payments/settings", data={
            "fee": "75.5", "payment_deadline": "2026-04-20T23:59"}).status_code == 302
        refused = admin_client.post(f"/admin/sessions/{session_id}/payments/settings",
                                    data={"fee": "75.555"}, follow_redirects=True)
        assert "金额最多两位小数" in refused.get_data(as_text=True)
        page = admin_client.get(f"/admin/sessions/{session_id}/payments").get_data(
            as_text=True)
        assert number in page and "151.00" in page and "待缴费" in page
        url = f"/admin/sessions/{session_id}/registrations/{registration_id}/payments"
        bad = admin_client.post(url, data={"amount": "200", "reference": "RC-1",
                                           "note": "现场缴费"})
        assert bad.status_code == 422
        assert "超过尚需缴纳的 151.00 元" in bad.get_data(as_text=True)
        done = admin_client.post(url, data={"amount": "151", "reference": "RC-1",
                                            "paid_at": "2026-03-11T09:30",
                                            "note": "现场缴费，收据 0001"},
                                 follow_redirects=True)
        assert "缴费已记录。" in done.get_data(as_text=True)
        assert "RC-1" in done.get_data(as_text=True) and "已缴清" in done.get_data(
            as_text=True)
    assert _payments(app) == [("RC-1", 15100, PaymentSource.MANUAL)]
    with app.app_context():
        assert db.session.scalar(sa.select(Payment.paid_at)).isoformat() == (
            "2026-03-11T01:30:00+00:00")


def test_a_candidate_sees_what_is_missing_and_only_their_own_fees(app, admin):
    session_id = fee_session(app, admin)
    user_id = _candidate(app)
    registration_id = verified(app, admin, session_id, user_id=user_id)
    other_id = verified(app, admin, session_id)
    email = _email(app, user_id)
    with freeze_time(NOW + timedelta(days=1)):
        client = _signed_in(app, email)
        exams = client.get("/exams").get_data(as_text=True)
        assert "还需缴纳 140.00 元" in exams and "截止 2026-04-20 23:59" in exams
        ticket = client.get(f"/exams/registrations/{registration_id}/ticket").get_data(
            as_text=True)
        assert "暂不能打印准考证" in ticket and "还需缴纳考试费 140.00 元" in ticket
        assert 'data-action="print"' not in ticket
        assert client.get(f"/exams/registrations/{other_id}/ticket").status_code == 404
        for path in (f"/admin/sessions/{session_id}/payments",
                     f"/admin/sessions/{session_id}/registrations/{other_id}/payments"):
            assert client.get(path).status_code == 403
    with freeze_time(AFTER_DEADLINE):
        client = _signed_in(app, email)
        ticket = client.get(f"/exams/registrations/{registration_id}/ticket").get_data(
            as_text=True)
        assert "已失效" in ticket and 'data-action="print"' not in ticket
        assert "逾期未缴" in client.get("/exams").get_data(as_text=True)
    with app.app_context():
        assert fees.account(db.session.get(Registration, registration_id),
                            DEADLINE).owed_fen == 14000
