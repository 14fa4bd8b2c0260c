"""Races against a real multi-process server (gunicorn, 4 workers) on both databases:
parallel submits, parallel starts, many writers at once."""

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.attempts import Attempt, AttemptStatus, Response, ReviewCard

from ..conftest import PASSWORD
from ..factories import make_user
from .practice_support import objective_bank, shown_keys, wrong_choice

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server(database_url, app, tmp_path):
    """The portal under gunicorn with 4 worker processes, on this test's database."""
    port = _free_port()
    log = (tmp_path / "gunicorn.log").open("wb")
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key",
           "PYTHONPATH": str(ROOT)}
    env.pop("PORTAL_ENV", None)
    process = subprocess.Popen(
        [str(GUNICORN), "-w", "4", "--preload", "-b", f"127.0.0.1:{port}", "--timeout", "60",
         "--log-level", "warning", "exam_portal:create_app()"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).close()
            break
        except OSError:
            if process.poll() is not None:
                log.close()
                pytest.fail("gunicorn exited: " + (tmp_path / "gunicorn.log").read_text()[-2000:])
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("gunicorn did not answer within 30 s")
    try:
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        errors = (tmp_path / "gunicorn.log").read_text()
        assert "Traceback" not in errors, errors[-3000:]


class Browser:
    """A logged-in candidate speaking HTTP the way the delivery page does."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            _NoRedirect())
        self.token = None

    def request(self, method, path, *, form=None, body=None):
        data, headers = None, {"Accept": "application/json"}
        if form is not None:
            data = urllib.parse.urlencode({**form, "csrf_token": self.token}, doseq=True).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
        elif body is not None:
            data = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", "Accept": "application/json",
                       "X-CSRFToken": self.token}
        request = urllib.request.Request(self.base + path, data=data, headers=headers,
                                         method=method)
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.headers

    def refresh_token(self, path):
        _, page, _ = self.request("GET", path)
        self.token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                               page).group(1)

    def login(self, email):
        self.refresh_token("/auth/login")
        status, _, _ = self.request("POST", "/auth/login",
                                    form={"email": email, "password": PASSWORD})
        assert status == 302
        self.refresh_token("/practice/subjects/COMP_JR")
        return self

    def start_mock(self) -> tuple[int, str]:
        status, _, headers = self.request("POST", "/practice/subjects/COMP_JR/start",
                                          form={"mode": "MOCK"})
        assert status == 302, status
        attempt_id = int(headers["Location"].rsplit("/", 1)[1])
        status, body, _ = self.request("POST", f"/practice/attempts/{attempt_id}/open", body={})
        assert status == 200, body
        return attempt_id, json.loads(body)["device"]

    def save(self, attempt_id, position, device, seq, selected):
        return self.request("PUT", f"/practice/attempts/{attempt_id}/responses/{position}",
                            body={"seq": seq, "device": device, "selected": selected})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _all_at_once(count, call):
    barrier = threading.Barrier(count)

    def run(index):
        barrier.wait()
        return call(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_twenty_concurrent_submits_of_one_attempt_mark_it_exactly_once(app, server):
    objective_bank(app)
    make_user(app, email="racer@example.com")
    browser = Browser(server).login("racer@example.com")
    attempt_id, device = browser.start_mock()
    keys = shown_keys(app, attempt_id)
    for seq, position in enumerate(range(1, 11), 1):
        status, body, _ = browser.save(attempt_id, position, device, seq,
                                       wrong_choice(keys[position]))
        assert status == 200, body
    results = _all_at_once(20, lambda _: browser.request(
        "POST", f"/practice/attempts/{attempt_id}/submit", body={}))
    assert all(status in (200, 409) for status, _, _ in results), results
    assert any(status == 200 for status, _, _ in results)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.status is AttemptStatus.SUBMITTED and attempt.score_halves == 0
        # Marking twice would have counted each wrong answer twice.
        assert db.session.scalars(sa.select(ReviewCard.times_wrong)).all() == [1] * 10


def test_twenty_concurrent_starts_open_one_mock_paper(app, server):
    objective_bank(app)
    make_user(app, email="starter@example.com")
    browser = Browser(server).login("starter@example.com")
    results = _all_at_once(20, lambda _: browser.request(
        "POST", "/practice/subjects/COMP_JR/start", form={"mode": "MOCK"}))
    assert all(status == 302 for status, _, _ in results), [r[:2] for r in results]
    targets = {headers["Location"] for _, _, headers in results}
    assert len(targets) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Attempt.id))) == 1


def test_many_writers_at_once_all_get_their_answers_stored(app, server):
    objective_bank(app)
    make_user(app, email="busy@example.com")
    browser = Browser(server).login("busy@example.com")
    attempt_id, device = browser.start_mock()

    def write(index):
        statuses = []
        for round_ in range(5):
            position = index * 5 + round_ + 1
            statuses.append(browser.save(attempt_id, position, device, position, ["A"])[0])
        return statuses

    statuses = [s for batch in _all_at_once(16, write) for s in batch]
    assert statuses == [200] * 80
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 80
