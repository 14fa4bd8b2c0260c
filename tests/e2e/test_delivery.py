"""The delivery page keeps a candidate's answers through a lost connection, a server
crash and a second device, and works on a 360 px phone.

The bank (tests/bank_factory.py) names every option after its own letter (甲 is A, 乙
is B, …), so a test picks options by text and knows which letters the server must
store, whatever order the paper shows them in.
"""

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from exam_portal import create_app
from exam_portal.extensions import db
from exam_portal.models.attempts import Attempt, AttemptStatus, EndedBy, Response
from exam_portal.models.types import utcnow
from question_bank.subjects import Subject

from ..bank_factory import WORDS, publish_bank
from ..conftest import PASSWORD, migrate_to_head, portal_config
from ..factories import make_user

SUBJECT = Subject.PRAC_JR  # 60 single-choice items (1 point each), then 20 multiple (2)
FIRST_MULTI = 61
SAVED = "✓ 已保存"
LETTER_OF = {word: letter for letter, word in WORDS.items()}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bank(live_app):
    return publish_bank(live_app, SUBJECT)


def _fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _log_in(page, base_url, email):
    page.goto(base_url + "/auth/login")
    page.get_by_label("电子邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(re.compile(r"/auth/login"))


def _start_mock(page, base_url) -> int:
    page.goto(f"{base_url}/practice/subjects/{SUBJECT.value}")
    page.locator('form[data-mode="MOCK"]').get_by_role("button", name="开始模拟考试").click()
    expect(page).to_have_url(re.compile(r"/practice/attempts/\d+$"))
    expect(page.locator("#save-status")).to_have_text(SAVED)  # the device is claimed
    return int(page.url.rsplit("/", 1)[1])


def _choose(page, position, *words):
    question = page.locator(f"#q-{position}")
    expect(question).to_be_visible()
    for word in words:
        question.locator("label.option", has_text=f"{word}做法").locator("input").check()


def _next(page, position):
    page.locator(f"#q-{position}").get_by_role("button", name="下一题").click()


def _checked_words(page, position) -> str:
    """The words of the checked options, in the order of their own letters."""
    labels = page.locator(f"#q-{position} label.option:has(input:checked)")
    words = [re.search(r"[甲乙丙丁戊](?=做法)", text).group()
             for text in labels.all_text_contents()]
    return "".join(sorted(words, key=LETTER_OF.get))


def _checked_letters(page, position) -> list[str]:
    """The shown letters of the checked options."""
    inputs = page.locator(f"#q-{position} .options input:checked")
    return [inputs.nth(i).get_attribute("value") for i in range(inputs.count())]


def _letters(words: str) -> str:
    return "".join(sorted(LETTER_OF[word] for word in words))


def _stored(app, attempt_id) -> dict[int, str]:
    """The item's own letters stored for each answered position."""
    with app.app_context():
        rows = db.session.scalars(sa.select(Response).where(Response.attempt_id == attempt_id))
        answers = {row.position: row.selected for row in rows}
        db.session.remove()
        return answers


def _timer_seconds(page) -> int:
    parts = [int(part) for part in page.locator("#timer").inner_text().split(":")]
    return sum(value * 60**power for power, value in enumerate(reversed(parts)))


def test_answers_given_offline_are_sent_when_the_connection_returns(
        page, live_server, live_app, bank, shot):
    email = "delivery.offline@example.com"
    make_user(live_app, email=email)
    _log_in(page, live_server, email)
    attempt_id = _start_mock(page, live_server)
    status = page.locator("#save-status")
    unsent = page.locator("#navigator [data-goto].unsent")
    answers = {1: "乙", 2: "丙", 3: "甲", FIRST_MULTI: "甲丁"}

    _choose(page, 1, "乙")
    expect(status).to_have_text(SAVED)
    page.context.set_offline(True)
    _next(page, 1)
    _choose(page, 2, "丙")
    _next(page, 2)
    _choose(page, 3, "甲")
    page.get_by_role("button", name=f"第 {FIRST_MULTI} 题").click()
    _choose(page, FIRST_MULTI, "甲", "丁")
    expect(status).to_have_text("网络已断开：3 个答案暂存在本机，联网后自动发送")
    expect(unsent).to_have_count(3)
    queued = page.evaluate(f"JSON.parse(localStorage.getItem('attempt:{attempt_id}:queue'))")
    assert {int(position): entry["selected"] for position, entry in queued.items()} == {
        position: _checked_letters(page, position) for position in (2, 3, FIRST_MULTI)}
    shot(page, "delivery-offline")
    assert _stored(live_app, attempt_id) == {1: "B"}

    page.context.set_offline(False)
    expect(status).to_have_text(SAVED)
    expect(unsent).to_have_count(0)
    assert _stored(live_app, attempt_id) == {
        position: _letters(words) for position, words in answers.items()}

    page.reload()
    expect(status).to_have_text(SAVED)
    expect(page.locator(f"#q-{FIRST_MULTI}")).to_be_visible()  # back where it was
    for position, words in answers.items():
        assert _checked_words(page, position) == words, position
    expect(page.locator("#navigator [data-goto].answered")).to_have_count(4)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PortalProcess:
    """The portal under gunicorn in its own process group, so that SIGKILL takes the
    master and its worker down at once, like a crashed machine."""

    def __init__(self, database_url, log_path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {**os.environ, "DATABASE_URL": database_url,
                    "SECRET_KEY": "e2e-fixed-secret-key-for-restarts", "MAIL_BACKEND": "outbox"}
        self.proc = None

    def start(self):
        """Start the portal and return once it serves requests: gunicorn's master
        accepts connections before its worker has loaded the app, which on a loaded
        machine takes seconds."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(REPO / ".venv/bin/gunicorn"), "-w", "1", "-b", f"127.0.0.1:{self.port}",
                 "exam_portal:create_app()"],
                cwd=REPO, env=self.env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 120  # a bound for a broken start, not a wait
        while True:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start: {self.log_path.read_text()}")
            time.sleep(0.1)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


@pytest.fixture
def portal_process(tmp_path):
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    migrate_to_head(url)
    app = create_app(portal_config(url))
    publish_bank(app, SUBJECT)
    portal = PortalProcess(url, tmp_path / "gunicorn.log")
    portal.app = app
    portal.start()
    yield portal
    portal.kill()
    with app.app_context():
        db.engine.dispose()


def test_an_answer_queued_while_the_server_is_down_is_sent_after_its_restart(
        page, portal_process, shot):
    portal, app = portal_process, portal_process.app
    email = "delivery.crash@example.com"
    make_user(app, email=email)
    _log_in(page, portal.url, email)
    attempt_id = _start_mock(page, portal.url)
    status = page.locator("#save-status")

    _choose(page, 1, "丁")
    _next(page, 1)
    _choose(page, 2, "乙")
    expect(status).to_have_text(SAVED)
    assert _stored(app, attempt_id) == {1: "D", 2: "B"}

    portal.kill()
    _next(page, 2)
    _choose(page, 3, "丙")
    expect(status).to_have_text("网络已断开：1 个答案暂存在本机，联网后自动发送")
    expect(page.locator("#navigator [data-goto].unsent")).to_have_count(1)
    # Meanwhile the server's clock moved on: 70 minutes have gone by.
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        attempt.deadline_at = utcnow() + timedelta(minutes=50)
        db.session.commit()
        deadline = attempt.deadline_at
        db.session.remove()

    portal.start()
    expect(status).to_have_text(SAVED)  # the page retries every 3 s
    assert _stored(app, attempt_id) == {1: "D", 2: "B", 3: "C"}

    page.reload()
    expect(status).to_have_text(SAVED)
    assert {p: _checked_words(page, p) for p in (1, 2, 3)} == {1: "丁", 2: "乙", 3: "丙"}
    # The server's time left (50 minutes, not the 120 the page counted down from), read
    # between two clock readings, so a slow page cannot push it out; the margin is
    # the server's whole seconds, the timer's rounding and once-a-second tick, and the
    # time its answer took to reach the page on a loaded machine.
    most = (deadline - utcnow()).total_seconds()
    shown = _timer_seconds(page)
    least = (deadline - utcnow()).total_seconds()
    assert least - 10 <= shown <= most + 10, (least, page.locator("#timer").inner_text(), most)
    shot(page, "delivery-after-restart")


def _expect_stopped(page, message):
    """The window shows why its answers are no longer saved, and takes none."""
    banner = page.locator("#device-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(message)
    expect(page.get_by_role("button", name="在这里继续作答")).to_be_visible()
    expect(page.locator("#q-3 input").first).to_be_disabled()
    expect(page.locator("#submit-button")).to_be_disabled()


def test_another_window_and_then_another_device_take_the_attempt_over(
        page, browser, live_server, live_app, bank, shot):
    email = "delivery.takeover@example.com"
    make_user(live_app, email=email)
    _log_in(page, live_server, email)
    attempt_id = _start_mock(page, live_server)
    attempt_url = f"{live_server}/practice/attempts/{attempt_id}"
    expect(page.locator("#device-banner")).to_be_hidden()
    _choose(page, 1, "甲")  # the key
    _next(page, 1)
    _choose(page, 2, "乙")  # wrong
    expect(page.locator("#save-status")).to_have_text(SAVED)

    # A second window of the same browser claims the attempt (POST …/open): the first
    # hears of it at its next save (409 superseded) and stops saving.
    window = page.context.new_page()
    window.goto(attempt_url)
    expect(window.locator("#save-status")).to_have_text(SAVED)
    _next(page, 2)
    _choose(page, 3, "丙")
    _expect_stopped(page, "这次练习已在另一台设备或另一个窗口中打开")
    shot(page, "delivery-superseded")
    assert _stored(live_app, attempt_id) == {1: "A", 2: "B"}

    # Signing in on another device ends this browser's session: the window that held
    # the attempt learns it at its next save, instead of taking a login page for a
    # receipt.
    device = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 900})
    try:
        other = device.new_page()
        _log_in(other, live_server, email)
        other.goto(attempt_url)
        expect(other.locator("#save-status")).to_have_text(SAVED)
        expect(other.locator("#device-banner")).to_be_hidden()
        assert (_checked_words(other, 1), _checked_words(other, 2)) == ("甲", "乙")
        window.get_by_role("button", name="第 3 题").click()
        _choose(window, 3, "丁")
        _expect_stopped(window, "在另一台设备")
        assert _stored(live_app, attempt_id) == {1: "A", 2: "B"}

        other.locator("#submit-button").click()
        summary = other.locator("#unanswered-summary")
        expect(summary).to_be_visible()
        expect(summary).to_contain_text("未作答")
        expect(summary).to_contain_text("还有 78 道题未作答：第 3、4、5、")
        shot(other, "delivery-submit-dialog")
        other.get_by_role("button", name="确认交卷").click()
        expect(other).to_have_url(re.compile(rf"/practice/attempts/{attempt_id}/result$"))
        expect(other.get_by_test_id("score")).to_have_text(re.compile(r"^1\s*/\s*100$"))
        with live_app.app_context():
            attempt = db.session.get(Attempt, attempt_id)
            assert (attempt.status, attempt.ended_by, attempt.score_halves) == (
                AttemptStatus.SUBMITTED, EndedBy.CANDIDATE, 2)
            db.session.remove()
    finally:
        device.close()


def test_delivery_and_result_pages_fit_a_360_px_phone(browser, live_server, live_app, bank,
                                                      shot):
    email = "delivery.phone@example.com"
    make_user(live_app, email=email)
    context = browser.new_context(locale="zh-CN", viewport={"width": 360, "height": 740})
    page = context.new_page()
    try:
        _log_in(page, live_server, email)
        _start_mock(page, live_server)
        assert _fits_the_screen(page)
        navigator = page.locator("#navigator")
        expect(navigator).to_be_hidden()
        shot(page, "phone-delivery")

        toggle = page.get_by_role("button", name="题号")
        toggle.click()
        expect(navigator).to_be_visible()
        assert _fits_the_screen(page)
        shot(page, "phone-delivery-navigator")
        page.get_by_role("button", name=f"第 {FIRST_MULTI} 题").click()
        _choose(page, FIRST_MULTI, "甲", "丙")
        expect(navigator.locator("[data-goto].answered")).to_have_count(1)
        toggle.click()
        expect(navigator).to_be_hidden()
        expect(page.locator("#save-status")).to_have_text(SAVED)

        page.locator("#submit-button").click()
        page.get_by_role("button", name="确认交卷").click()
        expect(page).to_have_url(re.compile(r"/result$"))
        expect(page.get_by_test_id("score")).to_have_text(re.compile(r"^2\s*/\s*100$"))
        assert _fits_the_screen(page)
        shot(page, "phone-result")
    finally:
        context.close()
