"""Venues and seats imported from a sheet (GB18030 or UTF-8; preview, confirm, all or
nothing, idempotent), a session's timetable (national times by default, editable), and
the admission ticket that carries both, printed only for a complete registration."""

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.audit import AuditEvent
from exam_portal.models.seating import SeatAssignment, SubjectTime
from exam_portal.models.sittings import ExamSession, Registration, SessionMode
from exam_portal.services.accounts import photos
from exam_portal.services.exam_sessions import timetables
from question_bank.subjects import Subject

from .. import evidence_files
from ..factories import make_user
from .test_fees import EXAM_CLOSES, EXAM_OPENS, fee_session, pay, verified
from .test_sittings import NOW, _candidate
from .test_sittings_pages import _signed_in

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HEADER = ["准考证号", "考点名称", "考点地址", "考场", "座位号", "科目", "开考时间"]


@pytest.fixture
def admin(app) -> int:
    return make_user(app, Role.ADMIN, email="seats-admin@example.com")


def _admin(app):
    return _signed_in(app, "seats-admin@example.com")


def _numbers(app, *registration_ids) -> list[str]:
    with app.app_context():
        return [db.session.get(Registration, i).admission_number for i in registration_ids]


def _seats_fixture(numbers) -> bytes:
    data = (FIXTURES / "seats_gb18030.csv").read_bytes()
    for index, number in enumerate(numbers, start=1):
        data = data.replace(f"202600111100000{index}".encode(), number.encode())
    return data


def _csv(rows) -> bytes:
    return ("\ufeff" + "\r\n".join(",".join(row) for row in [HEADER, *rows]) + "\r\n").encode()


def _upload(client, session_id, data, name="seats.csv"):
    return client.post(f"/admin/sessions/{session_id}/seats/import",
                       data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _token(preview) -> str | None:
    found = re.search(r'name="token" type="hidden" value="([^"]+)"',
                      preview.get_data(as_text=True))
    return found.group(1) if found else None


def _confirm(client, session_id, preview):
    return client.post(f"/admin/sessions/{session_id}/seats/import/confirm",
                       data={"token": _token(preview)}, follow_redirects=True)


def _seats(app) -> list[tuple]:
    with app.app_context():
        return [(s.registration_id, s.subject, s.room, s.seat) for s in db.session.scalars(
            sa.select(SeatAssignment).order_by(SeatAssignment.registration_id,
                                               SeatAssignment.id))]


def _paper_session(app, admin) -> tuple[int, int, int]:
    """A paper session with a fee and two registrations, the first paid in full."""
    session_id = fee_session(app, admin, mode=SessionMode.PAPER)
    first = verified(app, admin, session_id, user_id=_candidate(app))
    second = verified(app, admin, session_id)
    pay(app, admin, first, 14000, "WX-1")
    return session_id, first, second


def test_a_gb18030_seat_sheet_previews_then_imports_and_importing_it_again_changes_nothing(
        app, admin):
    session_id, first, second = _paper_session(app, admin)
    data = _seats_fixture(_numbers(app, first, second))
    with freeze_time(NOW + timedelta(days=2)):
        client = _admin(app)
        preview = _upload(client, session_id, data)
        assert "新安排的考生：2" in preview.get_data(as_text=True)
        assert "导入完成：新安排 2 名考生" in _confirm(client, session_id, preview).get_data(
            as_text=True)
        assert "未变：2" in _upload(client, session_id, data).get_data(as_text=True)
        assert _token(_upload(client, session_id, data)) is None
        # The second candidate moves to one venue for both subjects: the sheet's rows
        # for a registration replace all it had; the first candidate keeps its seat.
        moved = _upload(client, session_id, _csv([
            [_numbers(app, second)[0], "北京市第四考点", "北京市东城区", "第009考场", "30",
             "", ""]]))
        assert "修改安排的考生：1" in moved.get_data(as_text=True)
        _confirm(client, session_id, moved)
    assert _seats(app) == [(first, None, "第012考场", "08"), (second, None, "第009考场", "30")]
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent.details).where(
            AuditEvent.action == "session.seats_imported").order_by(AuditEvent.id)).all()
        assert [(e["new"], e["changed"], e["unchanged"]) for e in map(json.loads, events)] == [
            (2, 0, 0), (0, 1, 0)]


def test_seat_rows_that_do_not_fit_the_registration_or_the_session_block_the_sheet(
        app, admin):
    session_id, first, second = _paper_session(app, admin)
    number, other = _numbers(app, first, second)
    with freeze_time(NOW + timedelta(days=2)):
        preview = _upload(_admin(app), session_id, _csv([
            [number, "一中", "一路", "1", "1", "COMP_MID", ""],
            ["2026999111999999", "一中", "一路", "1", "2", "", ""],
            [other, "一中", "一路", "1", "3", "COMP_JR", "2026-06-01 09:00:00"]]))
    page = preview.get_data(as_text=True)
    assert "错误：3" in page and _token(preview) is None
    for text in ("这个科目不属于所报考的级别", "本考试批次没有这个准考证号",
                 "开考时间不在本批次的考试时间内"):
        assert text in page
    assert _seats(app) == []


def test_the_ticket_of_a_complete_registration_carries_times_venues_and_seats(app, admin):
    session_id, first, second = _paper_session(app, admin)
    pay(app, admin, second, 14000, "WX-2")
    with freeze_time(NOW + timedelta(days=2)):
        client = _admin(app)
        _confirm(client, session_id, _upload(client, session_id, _seats_fixture(
            _numbers(app, first, second))))
    with app.app_context():
        email = db.session.get(User, db.session.get(Registration, second).candidate_id).email
    with freeze_time(NOW + timedelta(days=40)):
        ticket = _signed_in(app, email).get(f"/exams/registrations/{second}/ticket")
    page = re.sub(r"\s+", " ", re.sub(r"</?span[^>]*>", "", ticket.get_data(as_text=True)))
    # 综合能力 at the national time (day two, 9:00-11:00); 实务 where its venue starts it
    # at 14:30, for the national two hours.
    assert re.search(r"社会工作综合能力（初级）</td> <td[^>]*>2026-05-10 09:00 – 2026-05-10 11:00"
                     r"</td> <td>北京市第二考点", page)
    assert re.search(r"社会工作实务（初级）</td> <td[^>]*>2026-05-10 14:30 – 2026-05-10 16:30"
                     r"</td> <td>北京市第三考点.*?第107考场.*?>15<", page)
    assert 'data-action="print"' in page and "未上传证件照" in page
    assert "暂不能打印" not in page
    # With the ID photo uploaded, the ticket prints it, served to its owner.
    with app.app_context():
        candidate = db.session.get(User, db.session.get(Registration, second).candidate_id)
        photos.replace(candidate, photos.store(evidence_files.photo()), now=NOW)
        db.session.commit()
        candidate_id = candidate.id
    with freeze_time(NOW + timedelta(days=40)):
        client = _signed_in(app, email)
        page = client.get(f"/exams/registrations/{second}/ticket").get_data(as_text=True)
        assert client.get(f"/evidence/photos/{candidate_id}").data == evidence_files.photo()
    assert f'src="/evidence/photos/{candidate_id}"' in page and "未上传证件照" not in page


def test_the_timetable_starts_from_the_national_times_and_the_administrator_sets_it(
        app, admin):
    session_id = fee_session(app, admin, fee_fen=0, deadline=None)
    with app.app_context():
        national = timetables.timetable_of(db.session.get(ExamSession, session_id))
        assert {s: (e.starts_at.isoformat(), e.source) for s, e in national.items()} == {
            Subject.COMP_JR: ("2026-05-10T01:00:00+00:00", "national"),
            Subject.PRAC_JR: ("2026-05-10T06:00:00+00:00", "national"),
            Subject.COMP_MID: ("2026-05-10T01:00:00+00:00", "national"),
            Subject.LAW_MID: ("2026-05-09T06:00:00+00:00", "national"),
            Subject.PRAC_MID: ("2026-05-10T06:00:00+00:00", "national")}
    form = {"COMP_JR_starts": "2026-05-09T09:00", "COMP_JR_ends": "2026-05-09T11:00",
            "PRAC_JR_starts": "2026-05-09T10:00", "PRAC_JR_ends": "2026-05-09T12:00",
            "COMP_MID_starts": "2026-05-10T09:00", "COMP_MID_ends": "2026-05-10T11:00",
            "LAW_MID_starts": "2026-05-09T14:00", "LAW_MID_ends": "2026-05-09T16:00",
            "PRAC_MID_starts": "2026-05-10T14:00", "PRAC_MID_ends": "2026-05-10T16:30"}
    with freeze_time(NOW):
        client = _admin(app)
        page = client.get(f"/admin/sessions/{session_id}/timetable").get_data(as_text=True)
        assert "全国统一时间" in page and 'value="2026-05-09T14:00"' in page
        clash = client.post(f"/admin/sessions/{session_id}/timetable", data=form)
        assert "属于同一级别，考试时间不能重叠" in clash.get_data(as_text=True)
        outside = client.post(f"/admin/sessions/{session_id}/timetable", data={
            **form, "PRAC_JR_starts": "2026-05-08T14:00", "PRAC_JR_ends": "2026-05-08T16:00"})
        assert "时间应在本批次的考试时间之内" in outside.get_data(as_text=True)
        saved = client.post(f"/admin/sessions/{session_id}/timetable", data={
            **form, "PRAC_JR_starts": "2026-05-09T14:00", "PRAC_JR_ends": "2026-05-09T16:00"},
            follow_redirects=True)
        assert "考试日程已保存" in saved.get_data(as_text=True)
    with app.app_context():
        stored = {row.subject: row.starts_at for row in db.session.scalars(
            sa.select(SubjectTime))}
        assert stored[Subject.PRAC_JR] == datetime(2026, 5, 9, 6, 0, tzinfo=UTC)
        assert len(stored) == 5
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "session.timetable_set")) == 1


def test_a_session_open_for_days_has_no_time_of_day_but_its_window(app, admin):
    session_id = fee_session(app, admin, fee_fen=0, deadline=None,
                             exam_opens_at=EXAM_OPENS + timedelta(hours=7),
                             exam_closes_at=EXAM_CLOSES + timedelta(days=20))
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        entries = timetables.timetable_of(session)
        # Day one opens at 15:00: 法规与政策's 14:00 no longer fits; day two's do.
        assert entries[Subject.LAW_MID].source == "window"
        assert (entries[Subject.LAW_MID].starts_at, entries[Subject.LAW_MID].ends_at) == (
            session.exam_opens_at, session.exam_closes_at)
        assert entries[Subject.COMP_JR].source == "national"
