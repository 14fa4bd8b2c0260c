"""Mock contests (模考大赛) through the portal: an administrator schedules one paper for a
window, candidates who start it in the window are ranked with ties, overall and in
their province, with each item's national correct rate; late takers get the report
unranked; keys stay hidden until the last paper in the window has ended."""

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import CandidateProfile, Role
from exam_portal.models.attempts import Attempt
from exam_portal.models.audit import AuditEvent
from exam_portal.models.contests import Contest, ContestEntry, ContestItemRate, ContestStanding
from exam_portal.models.types import utcnow
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank.subjects import Subject

from ..factories import make_user
from .practice_support import (
    candidate,
    login,
    objective_bank,
    open_attempt,
    save,
    shown_keys,
    wrong_choice,
)


def _local(moment) -> str:
    return moment.astimezone(LOCAL_ZONE).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def admin_client(app):
    make_user(app, Role.ADMIN, email="contest-admin@example.com")
    return login(app, "contest-admin@example.com")


def _schedule(admin_client, **fields) -> tuple[int, str]:
    now = utcnow()
    data = {"title": "2026 年冬季模考大赛", "subject": "COMP_JR", "source": "spec",
            "opens_at": _local(now - timedelta(hours=1)),
            "closes_at": _local(now + timedelta(hours=1)), **fields}
    response = admin_client.post("/admin/contests/new", data=data)
    page = response.get_data(as_text=True)
    if response.status_code != 302:
        return 0, page
    return int(response.headers["Location"].rsplit("/", 1)[1]), page


def _sitter(app, region=None):
    user_id, client = candidate(app)
    if region:
        with app.app_context():
            db.session.add(CandidateProfile(user_id=user_id, region=region))
            db.session.commit()
    return user_id, client


def _sit(app, client, contest_id, wrong: int) -> int:
    """Start the contest paper, answer it with *wrong* choice items wrong, hand it in."""
    response = client.post(f"/contests/{contest_id}/start")
    assert response.status_code == 302, response.status_code
    attempt_id = int(response.headers["Location"].rsplit("/", 1)[1])
    device = open_attempt(client, attempt_id)["device"]
    keys = shown_keys(app, attempt_id)
    for seq, position in enumerate(sorted(keys), 1):
        answer = wrong_choice(keys[position]) if position <= wrong else keys[position]
        assert save(client, attempt_id, position, device, seq, answer).status_code == 200
    client.post(f"/practice/attempts/{attempt_id}/submit")
    return attempt_id


def _close_window(app, contest_id):
    """Move the window into the past, as if its last paper ended an hour ago."""
    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        contest.closes_at = utcnow() - timedelta(minutes=contest.minutes + 60)
        contest.opens_at = contest.closes_at - timedelta(hours=2)
        db.session.commit()


def test_a_contest_ranks_its_window_sitters_with_ties_overall_and_by_province(
        one_leg, app, admin_client):
    objective_bank(app, singles=70, multis=25, chapters=3)
    contest_id, page = _schedule(admin_client)
    assert contest_id, page
    beijing, guangdong = "110101", "440106"
    sitters = {name: _sitter(app, region) for name, region in
               (("best", beijing), ("tie_a", beijing), ("tie_b", guangdong),
                ("last", guangdong), ("nowhere", None))}
    wrong = {"best": 0, "tie_a": 5, "tie_b": 5, "last": 20, "nowhere": 30}
    attempts = {name: _sit(app, client, contest_id, wrong[name])
                for name, (_user_id, client) in sitters.items()}

    # Handed in, but the window is open: no rank yet and no keys.
    _best_id, best = sitters["best"]
    report = best.get(f"/contests/{contest_id}/report").get_data(as_text=True)
    assert "之后公布" in report and "第 1 名" not in report
    result = best.get(f"/practice/attempts/{attempts['best']}/result")
    assert result.status_code == 302 and f"/contests/{contest_id}/report" in result.location
    assert "答案和解析在" in report
    # Ranking now is refused: papers started in the window may still be running.
    admin_client.post(f"/admin/contests/{contest_id}/rank")
    with app.app_context():
        assert db.session.get(Contest, contest_id).ranked_at is None

    _close_window(app, contest_id)
    late_id, late = _sitter(app, beijing)
    late_attempt = _sit(app, late, contest_id, 0)
    response = admin_client.post(f"/admin/contests/{contest_id}/rank")
    assert response.status_code == 302
    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        assert contest.ranked_sitters == 5
        standings = {row.candidate_id: row for row in db.session.scalars(
            sa.select(ContestStanding).where(ContestStanding.contest_id == contest_id))}
        assert late_id not in standings
        assert db.session.get(ContestEntry, (contest_id, late_id)).late
        by_name = {name: standings[user_id] for name, (user_id, _c) in sitters.items()}
        assert [by_name[n].rank for n in ("best", "tie_a", "tie_b", "last", "nowhere")] == \
            [1, 2, 2, 4, 5]
        assert [by_name[n].below for n in ("best", "tie_a", "tie_b", "last", "nowhere")] == \
            [4, 2, 2, 1, 0]
        assert (by_name["tie_a"].province_rank, by_name["tie_a"].province_sitters) == (2, 2)
        assert (by_name["tie_b"].province_rank, by_name["tie_b"].province_sitters) == (1, 2)
        assert by_name["nowhere"].province_rank is None
        # Each item's national rate counts the five ranked sitters, not the late one.
        rates = db.session.scalars(sa.select(ContestItemRate)
                                   .where(ContestItemRate.contest_id == contest_id)).all()
        assert len(rates) == len(contest.items) and {r.answered for r in rates} == {5}
        sitter_ids = [user_id for user_id, _client in sitters.values()]
        wrong_total = sum(db.session.get(Attempt, attempts[name]).full_halves
                          - db.session.get(Attempt, attempts[name]).score_halves > 0
                          for name in sitters)
        assert wrong_total == 4  # everyone but the best lost marks
        assert sum(r.answered - r.right for r in rates) == 5 + 5 + 20 + 30
        assert len(sitter_ids) == 5
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "contest.ranked")) == 1

    report = sitters["tie_b"][1].get(f"/contests/{contest_id}/report").get_data(as_text=True)
    assert "第 2 名" in report and "超过了 40.0% 的考生" in report
    assert "第 1 名" in report and "超过了 50.0% 的本省考生" in report
    assert "各题全国正确率" in report and re.search(r"\d+%</td>", report)
    nowhere = sitters["nowhere"][1].get(f"/contests/{contest_id}/report").get_data(as_text=True)
    assert "没有所在地区" in nowhere and "超过了 0.0% 的考生" in nowhere
    late_report = late.get(f"/contests/{contest_id}/report").get_data(as_text=True)
    assert "不参与排名" in late_report and "各题全国正确率" in late_report
    # The window has ended: the review with keys is open, with the national rates.
    review = best.get(f"/practice/attempts/{attempts['best']}/result")
    assert review.status_code == 200
    assert late.get(f"/practice/attempts/{late_attempt}/result").status_code == 200
    detail = admin_client.get(f"/admin/contests/{contest_id}").get_data(as_text=True)
    assert "已排名" in detail and "6 人开考" in detail and "1 人在窗口结束后开考" in detail


def test_a_candidate_sees_only_their_own_report_and_no_staff_page(one_leg, app, admin_client):
    objective_bank(app, singles=70, multis=25, chapters=3)
    contest_id, _page = _schedule(admin_client)
    _user_id, sitter = _sitter(app)
    _sit(app, sitter, contest_id, 3)
    _other_id, other = _sitter(app)
    assert other.get(f"/contests/{contest_id}/report").status_code == 404
    assert other.get(f"/admin/contests/{contest_id}").status_code == 403
    assert other.post(f"/admin/contests/{contest_id}/rank").status_code == 403
    listing = other.get("/contests").get_data(as_text=True)
    assert "2026 年冬季模考大赛" in listing and "开始" in listing
    # Starting twice resumes or reports the one paper.
    again = sitter.post(f"/contests/{contest_id}/start")
    assert again.status_code == 302 and "/report" in again.location
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ContestEntry)) == 1


def test_bad_contest_input_is_refused_with_a_reason_and_changes_nothing(
        one_leg, app, admin_client):
    objective_bank(app, singles=70, multis=25, chapters=3)
    now = utcnow()
    cases = [
        ({"closes_at": _local(now - timedelta(hours=2))}, "结束时间必须晚于开始时间"),
        ({"subject": "PRAC_MID"}, "不是有效的选择"),
        ({"source": "999999"}, "不是有效的选择"),
        ({"title": "   "}, "必填"),
        ({"opens_at": "tomorrow"}, "日期"),
    ]
    for fields, reason in cases:
        contest_id, page = _schedule(admin_client, **fields)
        shown = re.findall(r"(?:feedback|alert)[^>]*>([^<]*)", page)
        assert contest_id == 0 and reason in page, (fields, shown)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Contest.id))) == 0


def test_a_contest_nobody_started_can_be_cancelled_one_started_cannot(
        one_leg, app, admin_client):
    objective_bank(app, singles=70, multis=25, chapters=3)
    later = utcnow() + timedelta(days=2)
    upcoming, _page = _schedule(admin_client, opens_at=_local(later),
                                closes_at=_local(later + timedelta(hours=3)))
    running, _page = _schedule(admin_client)
    _user_id, sitter = _sitter(app)
    refused = sitter.post(f"/contests/{upcoming}/start", follow_redirects=True)
    assert "还没有开始" in refused.get_data(as_text=True)
    _sit(app, sitter, running, 0)
    admin_client.post(f"/admin/contests/{upcoming}/cancel")
    page = admin_client.post(f"/admin/contests/{running}/cancel",
                             follow_redirects=True).get_data(as_text=True)
    assert "不能取消" in page
    with app.app_context():
        assert db.session.get(Contest, upcoming).cancelled_at is not None
        assert db.session.get(Contest, running).cancelled_at is None
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "contest.cancelled")) == 1
    assert sitter.post(f"/contests/{upcoming}/start").status_code == 404
    assert "2026 年冬季模考大赛" in sitter.get("/contests").get_data(as_text=True)


@pytest.mark.db
def test_starting_a_contest_from_several_devices_at_once_makes_one_paper(app):
    from exam_portal.models.accounts import User
    from exam_portal.services.exam_sessions import contests

    objective_bank(app, singles=70, multis=25, chapters=3)
    admin_id = make_user(app, Role.ADMIN, email="race-admin@example.com")
    user_id, _client = candidate(app)
    now = utcnow()
    with app.app_context():
        contest_id = contests.schedule(contests.ContestFields(
            "并发开考", Subject.COMP_JR, None, now - timedelta(hours=1),
            now + timedelta(hours=1)), db.session.get(User, admin_id), now=now).id
        db.session.commit()
    barrier, started, errors = threading.Barrier(4), [], []

    def start():
        with app.app_context(), app.test_request_context(method="POST"):
            try:
                barrier.wait(timeout=10)
                attempt = contests.start(db.session.get(Contest, contest_id),
                                         db.session.get(User, user_id), now=utcnow())
                db.session.commit()
                started.append(attempt.id)
            except BaseException as error:  # noqa: BLE001 - the test reads it
                db.session.rollback()
                errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert len(set(started)) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Attempt.id)).where(
            Attempt.candidate_id == user_id)) == 1
        entry = db.session.get(ContestEntry, (contest_id, user_id))
        assert entry.attempt_id == started[0]
