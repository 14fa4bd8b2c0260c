"""The hot paths in front of Flask (save an answer, load the delivery page, hand an exam
paper in at time-up): they only
ever answer what the Flask views would answer, and hand everything else to the views."""

import json
import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.attempts import Attempt, AttemptStatus, EndedBy
from exam_portal.models.bank import ItemPool
from exam_portal.models.types import utcnow
from exam_portal.services.delivery import hand_in, pages, responses
from question_bank.levels import Level
from question_bank.subjects import Subject

from ..conftest import PASSWORD
from ..factories import make_user
from .form_support import lock_forms
from .practice_support import (
    candidate,
    login,
    objective_bank,
    open_attempt,
    run_marking,
    save,
    start,
)
from .test_online_exams import EXAM_OPENS, _start, verified_registration
from .test_practice import _responses
from .test_sittings import _session


def _counted(monkeypatch, owner, name) -> list:
    """The calls of owner.name from now on (it still runs)."""
    calls = []
    real = getattr(owner, name)

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return calls


@pytest.fixture
def view_calls(monkeypatch):
    """Count the saves that reached the Flask view."""
    return _counted(monkeypatch, responses, "save_response")


def _csrf_client(make_app, email="fast@example.com"):
    """A candidate signed in through the real form, with CSRF protection on."""
    app = make_app(WTF_CSRF_ENABLED=True)
    objective_bank(app)
    make_user(app, email=email)
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    page = client.get("/practice/").get_data(as_text=True)  # signing in starts a new session
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return app, client, token


def _put(client, attempt_id, device, seq, token=None, base_url=None, **headers):
    if token is not None:
        headers["X-CSRFToken"] = token
    return client.put(f"/practice/attempts/{attempt_id}/responses/1", headers=headers,
                      base_url=base_url,
                      json={"seq": seq, "device": device, "selected": ["A"], "flagged": False})


def _start_and_open(client, token) -> tuple[int, str]:
    response = client.post("/practice/subjects/COMP_JR/start",
                           data={"mode": "MOCK", "csrf_token": token})
    attempt_id = int(re.search(r"/attempts/(\d+)", response.headers["Location"]).group(1))
    opened = client.post(f"/practice/attempts/{attempt_id}/open", headers={"X-CSRFToken": token})
    return attempt_id, opened.get_json()["device"]


def test_a_save_that_lands_never_reaches_the_flask_view(app, view_calls):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    response = save(client, attempt_id, 1, device, 1, ["B"])
    assert response.status_code == 200
    assert response.get_json() == {"saved": True, "position": 1, "seq": 1}
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert view_calls == []
    assert _responses(app, attempt_id)[1][2] == 1


def test_refusals_go_to_the_view_and_change_nothing(app, view_calls):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    assert save(client, attempt_id, 1, device, 5).status_code == 200
    stale = save(client, attempt_id, 1, device, 4, ["C"])
    assert stale.status_code == 409 and stale.get_json()["code"] == "stale"
    wrong_device = save(client, attempt_id, 1, "not-this-device", 6)
    assert wrong_device.status_code == 409
    _, intruder = candidate(app, "intruder@example.com")
    assert save(intruder, attempt_id, 1, device, 7).status_code == 404
    anonymous = app.test_client()
    assert save(anonymous, attempt_id, 1, device, 8).status_code == 401
    assert len(view_calls) == 3  # the anonymous save is refused before the view
    assert _responses(app, attempt_id)[1][2] == 5


def test_a_retry_of_a_stored_save_is_answered_by_the_view_as_saved(app, view_calls):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    assert save(client, attempt_id, 1, device, 3, ["D"]).status_code == 200
    again = save(client, attempt_id, 1, device, 3, ["D"])
    assert again.status_code == 200 and again.get_json()["seq"] == 3
    assert len(view_calls) == 1


def test_with_csrf_on_a_save_needs_the_session_token(make_app, view_calls):
    app, client, token = _csrf_client(make_app)
    attempt_id, device = _start_and_open(client, token)
    assert _put(client, attempt_id, device, 1).status_code == 400
    assert _put(client, attempt_id, device, 2, token="forged." + token).status_code == 400
    assert 2 not in {row[2] for row in _responses(app, attempt_id).values()}
    assert _put(client, attempt_id, device, 3, token=token).status_code == 200
    assert len(view_calls) == 0  # the bad tokens were refused by CSRFProtect itself
    assert _responses(app, attempt_id)[1][2] == 3


def test_over_https_a_foreign_referrer_is_refused(make_app, view_calls):
    app, client, token = _csrf_client(make_app, "https@example.com")
    attempt_id, device = _start_and_open(client, token)
    foreign = _put(client, attempt_id, device, 1, token=token,
                   Referer="https://evil.example/page", base_url="https://localhost")
    assert foreign.status_code == 400
    assert _responses(app, attempt_id) == {}


def test_a_tampered_login_cookie_is_not_signed_in(app, view_calls):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    cookie = client.get_cookie("session")
    value = cookie.value
    client.set_cookie("session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert save(client, attempt_id, 1, device, 1).status_code == 401
    assert _responses(app, attempt_id) == {}


def test_a_login_elsewhere_supersedes_the_fast_path_too(app, view_calls):
    objective_bank(app)
    _, client = candidate(app, "twice@example.com")
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    login(app, "twice@example.com")  # rotates the session token
    refused = save(client, attempt_id, 1, device, 1)
    assert refused.status_code == 409 and refused.get_json()["code"] == "superseded"
    assert _responses(app, attempt_id) == {}


@pytest.fixture
def page_views(monkeypatch):
    """Count the delivery pages the Flask view rendered."""
    from exam_portal.blueprints.candidate import views

    calls = []
    real = views.fragments.delivery_shell  # the view's call; the hot path never makes it

    def counting(attempt, total, language):
        calls.append(attempt.id)
        return real(attempt, total, language)

    monkeypatch.setattr(views.fragments, "delivery_shell", counting)
    return calls


def _page(client, attempt_id) -> str:
    response = client.get(f"/practice/attempts/{attempt_id}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    return response.get_data(as_text=True)


def _without_csrf(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""', html)


def test_the_delivery_page_from_the_hot_path_is_the_views_page(app, page_views):
    objective_bank(app)
    _, client = candidate(app, "page@example.com")
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    assert save(client, attempt_id, 3, device, 7, ["B"], flagged=True).status_code == 200
    rendered = _page(client, attempt_id)  # the view renders it and keeps the shell
    assert page_views == [attempt_id]
    served = _page(client, attempt_id)
    assert page_views == [attempt_id], "the second page should skip the view"
    assert _without_csrf(served) == _without_csrf(rendered)
    assert "{{slot:" not in served and "page@example.com" in served
    data = json.loads(re.search(r'id="attempt-data">(.*?)</script>', served, re.S).group(1))
    assert data["state"]["responses"]["3"]["seq"] == 7
    assert data["state"]["responses"]["3"]["flagged"] is True
    assert data["state"]["max_seq"] == 7 and 7000 < data["state"]["remaining"] <= 120 * 60
    # The form token of the hot path's page is accepted by the submit form.
    token = re.search(r'id="submit-form">\s*<input type="hidden" name="csrf_token" '
                      r'value="([^"]+)"', served).group(1)
    assert token


def test_the_hot_path_page_follows_answers_bookmarks_and_language(app, page_views):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]
    _page(client, attempt_id)
    assert save(client, attempt_id, 1, device, 1, ["A"]).status_code == 200
    assert client.post(f"/practice/attempts/{attempt_id}/responses/2/bookmark",
                       json={"bookmarked": True}).status_code == 200
    data = json.loads(re.search(r'id="attempt-data">(.*?)</script>',
                                _page(client, attempt_id), re.S).group(1))
    assert "1" in data["state"]["responses"] and data["bookmarked"] == [2]
    assert len(page_views) == 1
    client.post("/language", data={"locale": "en", "next": "/"})
    english = _page(client, attempt_id)
    assert 'lang="en"' in english and len(page_views) == 2  # a new language: the view
    assert 'lang="en"' in _page(client, attempt_id) and len(page_views) == 2


def test_the_page_of_another_candidate_or_a_finished_attempt_goes_to_the_view(app, page_views):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    open_attempt(client, attempt_id)
    _page(client, attempt_id)
    _, intruder = candidate(app, "page-intruder@example.com")
    assert intruder.get(f"/practice/attempts/{attempt_id}").status_code == 404
    assert app.test_client().get(f"/practice/attempts/{attempt_id}").status_code == 302
    assert client.post(f"/practice/attempts/{attempt_id}/submit").status_code == 302
    finished = client.get(f"/practice/attempts/{attempt_id}")
    assert finished.status_code == 302 and "/result" in finished.headers["Location"]


def test_an_expired_csrf_token_is_refused_although_its_pair_was_verified(make_app):
    start_time = utcnow()
    with freeze_time(start_time) as clock:
        app = make_app(WTF_CSRF_ENABLED=True, WTF_CSRF_TIME_LIMIT=60)
        objective_bank(app)
        make_user(app, email="expiry@example.com")
        client = app.test_client()
        page = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        client.post("/auth/login", data={"email": "expiry@example.com", "password": PASSWORD,
                                         "csrf_token": token})
        page = client.get("/practice/").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        attempt_id, device = _start_and_open(client, token)
        assert _put(client, attempt_id, device, 1, token=token).status_code == 200
        clock.tick(61)
        assert _put(client, attempt_id, device, 2, token=token).status_code == 400
    assert _responses(app, attempt_id)[1][2] == 1


def test_a_page_read_never_waits_for_an_sqlite_writer(tmp_path):
    """SQLite only (one write lock); PostgreSQL readers never wait for writers."""
    import sqlite3

    from exam_portal import create_app
    from exam_portal.extensions import db
    from exam_portal.services.delivery import paper_cache

    from ..conftest import migrate_to_head, portal_config

    database_url = f"sqlite:///{tmp_path / 'portal.db'}"
    migrate_to_head(database_url)
    app = create_app(portal_config(database_url))
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    open_attempt(client, attempt_id)
    _page(client, attempt_id)
    paper_cache.clear()  # the hot path must read the layout again
    writer = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        began = time.monotonic()
        assert client.get(f"/practice/attempts/{attempt_id}").status_code == 200
        assert time.monotonic() - began < 2
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        with app.app_context():
            db.engine.dispose()
        paper_cache.clear()


def test_ids_no_column_can_hold_are_not_found(app):
    _, client = candidate(app)
    huge = 99999999999999999999999
    assert save(client, huge, 1, "device", 1).status_code == 404
    assert client.get(f"/practice/attempts/{huge}").status_code == 404
    assert client.post(f"/practice/attempts/{2**31}/open").status_code == 404
    assert client.post(f"/practice/attempts/{2**31}/submit", json={}).status_code == 404


def test_a_failing_hot_path_hands_the_request_to_the_view(app, monkeypatch):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    device = open_attempt(client, attempt_id)["device"]

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the hot path")

    monkeypatch.setattr(responses, "try_save", broken)
    monkeypatch.setattr(pages, "delivery_page_data", broken)
    assert save(client, attempt_id, 1, device, 1).status_code == 200  # stored by the view
    assert client.get(f"/practice/attempts/{attempt_id}").status_code == 200
    assert _responses(app, attempt_id)[1][2] == 1


# The hand-in of an exam paper at time-up ----------------------------------------------

@pytest.fixture
def hand_in_views(monkeypatch):
    """Count the hand-ins that reached the Flask view."""
    return _counted(monkeypatch, hand_in, "submit_attempt")


def _exam_sitting(app, candidates: int = 1) -> list[tuple[int, str]]:
    """Verified 助理 registrations of an online session with locked forms: each one's id
    and candidate's e-mail."""
    admin = make_user(app, Role.ADMIN, email="hot-admin@example.com")
    objective_bank(app, Subject.COMP_JR, pool=ItemPool.SECURE)
    objective_bank(app, Subject.PRAC_JR, pool=ItemPool.SECURE)
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    lock_forms(app, session_id, admin)
    return [verified_registration(app, admin, session_id)[::2] for _ in range(candidates)]


def _paper(app, attempt_id) -> Attempt:
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        db.session.expunge(attempt)
        return attempt


def _submit(client, attempt_id, **headers):
    return client.post(f"/practice/attempts/{attempt_id}/submit", json={}, headers=headers)


def test_an_exam_paper_handed_in_at_time_up_never_reaches_the_flask_view(app, hand_in_views):
    [(registration_id, email)] = _exam_sitting(app)
    with freeze_time(EXAM_OPENS + timedelta(hours=1)):
        client = login(app, email)
        attempt_id = _start(client, registration_id)
        device = open_attempt(client, attempt_id)["device"]
        assert save(client, attempt_id, 1, device, 1, ["A"]).status_code == 200
        response = _submit(client, attempt_id)
        assert response.status_code == 200
        assert response.get_json() == {"submitted": True,
                                       "result_url": f"/practice/attempts/{attempt_id}/result"}
        assert response.headers["Cache-Control"] == "no-store"
        assert hand_in_views == []
        paper = _paper(app, attempt_id)
        assert paper.status is AttemptStatus.SUBMITTED and paper.ended_by is EndedBy.CANDIDATE
        assert paper.submitted_at == utcnow() and paper.marked_at is None  # marked later
        refused = save(client, attempt_id, 1, device, 2, ["B"])
        assert refused.status_code == 409 and refused.get_json()["code"] == "closed"
        again = _submit(client, attempt_id)  # handed in already: the view says so
        assert again.status_code == 200 and again.get_json()["submitted"] is True
        assert len(hand_in_views) == 1
    assert "1 exam papers marked" in run_marking(app)
    paper = _paper(app, attempt_id)
    assert paper.marked_at is not None and paper.score_halves is not None


def test_what_the_hand_in_hot_path_cannot_take_goes_to_the_view(app, hand_in_views):
    [(registration_id, email)] = _exam_sitting(app)
    with freeze_time(EXAM_OPENS + timedelta(hours=1)):
        client = login(app, email)
        attempt_id = _start(client, registration_id)
        _, intruder = candidate(app, "hand-in-intruder@example.com")
        assert _submit(intruder, attempt_id).status_code == 404
        assert _submit(app.test_client(), attempt_id).status_code == 401
        assert len(hand_in_views) == 0  # both refused before the view's hand-in
        assert _paper(app, attempt_id).is_open
        deadline = _paper(app, attempt_id).deadline_at
    with freeze_time(deadline + timedelta(seconds=app.config["ATTEMPT_GRACE_SECONDS"] + 1)):
        late = _submit(client, attempt_id)  # past the grace: handed in by the deadline
        assert late.status_code == 200 and len(hand_in_views) == 1
        assert _paper(app, attempt_id).ended_by is EndedBy.DEADLINE


def test_a_practice_paper_is_handed_in_and_marked_by_the_view(app, hand_in_views):
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    assert _submit(client, attempt_id).status_code == 200
    assert len(hand_in_views) == 1
    paper = _paper(app, attempt_id)
    assert paper.marked_at is not None and paper.score_halves == 0


def test_an_exam_hand_in_needs_its_csrf_token(make_app, hand_in_views):
    app = make_app(WTF_CSRF_ENABLED=True)
    [(registration_id, email)] = _exam_sitting(app)
    with freeze_time(EXAM_OPENS + timedelta(hours=1)):
        client = app.test_client()
        page = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        client.post("/auth/login", data={"email": email, "password": PASSWORD,
                                         "csrf_token": token})
        page = client.get("/exams").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        started = client.post(f"/exams/registrations/{registration_id}/subjects/COMP_JR/start",
                              data={"csrf_token": token})
        attempt_id = int(started.headers["Location"].rsplit("/", 1)[1])
        assert _submit(client, attempt_id).status_code == 400
        assert _submit(client, attempt_id, **{"X-CSRFToken": "forged." + token}
                       ).status_code == 400
        assert _paper(app, attempt_id).is_open and hand_in_views == []
        assert _submit(client, attempt_id, **{"X-CSRFToken": token}).status_code == 200
        assert hand_in_views == [] and not _paper(app, attempt_id).is_open


# The "handed in" page the browser loads after the hand-in ------------------------------

@pytest.fixture
def submitted_views(monkeypatch):
    """Count the "handed in" pages the Flask view rendered."""
    from exam_portal.blueprints.candidate import views

    return _counted(monkeypatch, views.fragments, "submitted_shell")


def _submitted_page(client, attempt_id) -> str:
    response = client.get(f"/practice/attempts/{attempt_id}/result")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    return response.get_data(as_text=True)


def _unread(app, email) -> int:
    from exam_portal.models.accounts import User
    from exam_portal.services.platform import notifications

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        return notifications.unread_count(user.id)


def test_the_handed_in_page_is_shared_by_the_subjects_candidates_and_shows_each_their_own(
        app, submitted_views):
    """The view renders the page once per subject and language; the hot path serves it
    to every candidate with their own e-mail, form tokens and notification badge."""
    from exam_portal.models.accounts import User
    from exam_portal.models.notifications import Notification

    (first_registration, first), (second_registration, second) = _exam_sitting(app, 2)
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.email == second))
        db.session.add_all(Notification(user_id=user_id, kind="test", event=f"unread-{n}")
                           for n in range(3))
        db.session.commit()
    assert _unread(app, second) != _unread(app, first)
    with freeze_time(EXAM_OPENS + timedelta(hours=1)):
        one, two = login(app, first), login(app, second)
        papers = [_start(one, first_registration), _start(two, second_registration)]
        for client, attempt_id in zip((one, two), papers, strict=True):
            _page(client, attempt_id)  # as the browser does (its session gets a CSRF token)
            assert _submit(client, attempt_id).status_code == 200
        rendered = _submitted_page(one, papers[0])  # the view renders it, keeps the shell
        assert len(submitted_views) == 1
        served = _submitted_page(one, papers[0])
        assert len(submitted_views) == 1, "the second page should skip the view"
        assert _without_csrf(served) == _without_csrf(rendered)
        other = _submitted_page(two, papers[1])
        assert len(submitted_views) == 1
        assert "{{slot:" not in served + other and "已交卷" in other
        assert first in served and second not in served
        assert second in other and first not in other
        for page, email in ((served, first), (other, second)):
            count = _unread(app, email)
            assert f"（{count} 条未读）" in page if count else "条未读" not in page
        with two.session_transaction() as session:
            session["locale"] = "en"
        english = _submitted_page(two, papers[1])  # rendered once more, in English
        assert len(submitted_views) == 2 and "Handed in" in english
        again = _submitted_page(two, papers[1])  # from the hot path, in English
        assert len(submitted_views) == 2 and _without_csrf(again) == _without_csrf(english)
        # Another candidate's paper, or a paper not handed in: the view (404, redirect).
        assert one.get(f"/practice/attempts/{papers[1]}/result").status_code == 404
