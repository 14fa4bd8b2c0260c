"""Browser tests: a live portal on SQLite, driven by Debian's headless Chromium."""

import os
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from ..conftest import migrate_to_head, portal_config

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# How long an expectation waits for the page to reach its state. Playwright's default
# (5 s) is a clock, not a state: on a loaded 2-core machine (the whole suite, other
# work) a page, a save or a server restart takes longer, and a test that waits for
# the state passes as soon as it is reached, so a large bound costs nothing.
EXPECT_TIMEOUT_MS = 60_000
expect.set_options(timeout=EXPECT_TIMEOUT_MS)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        reason = f"Chromium not found at {CHROMIUM}: run scripts/test.sh, which installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN",
            "viewport": {"width": 1100, "height": 900}}


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """The portal the browser talks to; tests may use it to set up data."""
    from exam_portal import create_app

    path = tmp_path_factory.mktemp("e2e") / "portal.db"
    url = f"sqlite:///{path}"
    migrate_to_head(url)
    return create_app(portal_config(url, TESTING=False, WTF_CSRF_ENABLED=True))


@pytest.fixture(scope="session")
def live_server(live_app):
    app = live_app
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def shot():
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    return take
