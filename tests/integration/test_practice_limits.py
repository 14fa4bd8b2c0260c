"""A candidate may start only so many practice sets and mock papers in a time window;
an open paper is resumed instead, and exam sittings are never limited."""

from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.attempts import Attempt
from exam_portal.services.platform.clock import LOCAL_ZONE, today_local
from question_bank.practice import Mode
from question_bank.subjects import Subject

from ..factories import make_user
from .practice_support import candidate, objective_bank, start
from .test_concurrency import Browser, _all_at_once, server  # noqa: F401 - a fixture
from .test_online_exams import _start as start_sitting
from .test_online_exams import admin, sitting  # noqa: F401 - fixtures used below

LIMIT, MINUTES = 3, 10
# Tomorrow, 09:00:30 in Beijing: the tests sign in at that time too (a cookie signed
# later than the clock says would not be accepted).
NINE_AM = datetime.combine(today_local() + timedelta(days=1), time(9, 0, 30), LOCAL_ZONE)


@pytest.fixture
def app(make_app):
    return make_app(PRACTICE_START_LIMIT=LIMIT, PRACTICE_START_WINDOW_MINUTES=MINUTES)


def _attempts(app, mode=None) -> int:
    query = sa.select(sa.func.count(Attempt.id))
    if mode is not None:
        query = query.where(Attempt.mode == mode)
    with app.app_context():
        return db.session.scalar(query)


def _try_start(client, subject="COMP_JR", **fields):
    return client.post(f"/practice/subjects/{subject}/start", data={"count": "10", **fields})


def test_a_start_beyond_the_limit_is_refused_and_says_when_to_start_again(app):
    objective_bank(app)
    with freeze_time(NINE_AM) as clock:
        _, client = candidate(app)
        for _ in range(LIMIT):
            start(client, mode="RANDOM", count="10")
            clock.tick(60)
        refused = _try_start(client, mode="RANDOM")
        assert refused.status_code == 302
        assert refused.headers["Location"].endswith("/practice/subjects/COMP_JR")
        text = client.get(refused.headers["Location"]).get_data(as_text=True)
        # The first start leaves the window at 09:10:30: shown rounded up, local time.
        assert "10 分钟内最多可开始 3 次练习" in text and "09:11" in text
        assert _try_start(client, mode="CHAPTER", chapters=["COMP_JR.01"]).status_code == 302
        assert _attempts(app) == LIMIT
        clock.move_to(NINE_AM + timedelta(minutes=MINUTES, seconds=1))
        start(client, mode="RANDOM", count="10")
    assert _attempts(app) == LIMIT + 1


def test_the_refusal_is_in_english_for_an_english_speaker(app):
    objective_bank(app)
    with freeze_time(NINE_AM):
        _, client = candidate(app)
        for _ in range(LIMIT):
            start(client, mode="RANDOM", count="10")
        with client.session_transaction() as session:
            session["locale"] = "en"
        refused = _try_start(client, mode="RANDOM")
        text = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "at most 3 practice sets or mock papers in 10 minutes" in text and "09:11" in text


def test_an_open_mock_paper_and_todays_daily_set_are_resumed_not_counted(app):
    objective_bank(app)
    with freeze_time(NINE_AM):
        _, client = candidate(app)
        mock = start(client, mode="MOCK")
        daily = start(client, mode="DAILY")
        start(client, mode="RANDOM", count="10")
        assert start(client, mode="MOCK") == mock
        assert start(client, mode="DAILY") == daily
        assert _try_start(client, mode="RANDOM").headers["Location"].endswith(
            "/practice/subjects/COMP_JR")
    assert _attempts(app) == LIMIT


def test_exam_sittings_are_neither_limited_nor_counted(app, sitting):  # noqa: F811
    _session_id, registration_id, _user_id, client = sitting
    objective_bank(app, Subject.PRAC_JR)  # the sitting's own items are secure: practice these
    for _ in range(LIMIT):
        start(client, Subject.PRAC_JR, mode="RANDOM", count="10")
    assert _try_start(client, "PRAC_JR", mode="RANDOM").headers["Location"].endswith(
        "/practice/subjects/PRAC_JR")
    start_sitting(client, registration_id)
    assert (_attempts(app, Mode.EXAM), _attempts(app)) == (1, LIMIT + 1)


def test_a_new_candidate_has_their_own_allowance(app):
    objective_bank(app)
    with freeze_time(NINE_AM):
        _, first = candidate(app)
        _, second = candidate(app)
        for _ in range(LIMIT):
            start(first, mode="RANDOM", count="10")
        start(second, mode="RANDOM", count="10")
    assert _attempts(app) == LIMIT + 1


@pytest.fixture
def limited_server(monkeypatch, request):
    """The multi-process server of test_concurrency, with the limit set for it."""
    monkeypatch.setenv("PRACTICE_START_LIMIT", "5")
    monkeypatch.setenv("PRACTICE_START_WINDOW_MINUTES", "60")
    return request.getfixturevalue("server")


def test_parallel_starts_on_several_workers_stop_at_the_limit(app, limited_server):
    objective_bank(app)
    make_user(app, email="script@example.com")
    browser = Browser(limited_server).login("script@example.com")
    results = _all_at_once(20, lambda _: browser.request(
        "POST", "/practice/subjects/COMP_JR/start", form={"mode": "RANDOM", "count": "10"}))
    assert all(status == 302 for status, _, _ in results), [r[:2] for r in results]
    started = [h["Location"] for _, _, h in results if "/practice/attempts/" in h["Location"]]
    assert len(started) == 5
    assert _attempts(app) == 5
