"""WCAG 2.1 AA in the browser: axe-core finds nothing serious or critical on any page a
visitor, a candidate, a trainer or an administrator reaches, in Chinese on a 1366 px
screen and a 360 px phone, in English on the wide screen; and what axe cannot judge (a skip link, a
visible focus ring, the delivery page by keyboard and by screen reader) is tried here.

With DOCS_SCREENSHOTS=1 the page walk also saves each page (Chinese, 1366 px wide, the
whole page) as docs/screenshots/<endpoint>[-<variant>].png for the user guides
(scripts/screenshots.sh), and the stops marked in_english in English too, as
<endpoint>[-<variant>]-en.png.
"""

import itertools
import os
import re
import threading
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import expect
from werkzeug.serving import make_server

from exam_portal import create_app
from exam_portal.extensions import db
from exam_portal.models.attempts import Attempt, Response
from exam_portal.models.types import utcnow

from ..conftest import PASSWORD, migrate_to_head, portal_config
from ..factories import make_user
from . import tour

# One worker walks every page: the portal below (the demo seed and the tour) is built
# once, not once per worker (scripts/test.sh runs with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("accessibility")

WIDE, PHONE = {"width": 1366, "height": 900}, {"width": 360, "height": 740}
LANGUAGES = ("zh-CN", "en")
# WCAG 2.0 and 2.1, levels A and AA, and axe's best practices; only serious and critical
# findings fail the test (moderate and minor ones are printed by -rA, not enforced).
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": [
    "wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "resultTypes": ["violations"]}
FAILING_IMPACTS = ("serious", "critical")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="session")
def portal(tmp_path_factory):
    """A portal of its own (the demo seed and more, see tour.py), served in a thread."""
    path = tmp_path_factory.mktemp("a11y") / "portal.db"
    url = f"sqlite:///{path}"
    migrate_to_head(url)
    evidence = tmp_path_factory.mktemp("a11y-evidence")
    app = create_app(portal_config(url, TESTING=False, WTF_CSRF_ENABLED=True,
                                   EVIDENCE_DIR=str(evidence)))
    data = tour.build(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    data.app, data.url, data.database_url = app, f"http://127.0.0.1:{server.server_port}", url
    data.evidence_dir = str(evidence)
    try:
        yield data
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _new_page(browser, viewport=WIDE):
    context = browser.new_context(locale="zh-CN", viewport=viewport)
    return context.new_page()


def log_in(page, base_url, email, password=None):
    page.goto(base_url + "/auth/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password or tour.PASSWORDS[email])
    page.locator("form [type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/auth/login"))


def switch_language(page, lang):
    """Press the language switch in the menu, as a person would, unless the page is in
    *lang* already (a signed-in user's pages are in the language they chose last)."""
    if page.locator("html").get_attribute("lang") == lang:
        return
    button = page.locator("form[action$='/language'] button[name=locale]")
    if not button.is_visible():
        page.locator(".navbar-toggler").click()
    button.click()
    expect(page.locator("html")).to_have_attribute("lang", lang)


def _serious(results: dict) -> list[dict]:
    return [v for v in results["violations"] if v["impact"] in FAILING_IMPACTS]


def _report(found: dict) -> str:
    """One paragraph per violation: the rule, its help, and each element with what is
    wrong with it and the pages it is on."""
    lines = [f"{len(found)} serious or critical accessibility violations:"]
    for (rule, impact, help_text), nodes in found.items():
        lines.append(f"{rule} ({impact}): {help_text}")
        for (target, summary), pages in list(nodes.items())[:12]:
            lines.append(f"    {target}: {summary}")
            lines.append(f"        on {', '.join(pages[:4])}"
                         + (f" and {len(pages) - 4} more" if len(pages) > 4 else ""))
        if len(nodes) > 12:
            lines.append(f"    … and {len(nodes) - 12} more elements")
    return "\n".join(lines)


def _collect(found: dict, where: str, violations: list[dict]) -> None:
    for violation in violations:
        nodes = found.setdefault((violation["id"], violation["impact"], violation["help"]), {})
        for node in violation["nodes"]:
            target = " ".join(map(str, node["target"]))
            summary = " ".join(node.get("failureSummary", "").split())
            nodes.setdefault((target, summary), []).append(where)


def _resize(page, viewport):
    """Change the window's size and let the page's resize handlers run."""
    page.set_viewport_size(viewport)
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => "
                  "requestAnimationFrame(done)))")


def _wait_until_ready(page, stop):
    if stop.ready:
        expect(page.locator(stop.ready).first).to_be_visible()
    if page.locator("#save-status").count():
        expect(page.locator("#save-status")).to_have_class(re.compile("status-saved"))


def _screenshot(page, app, stop, lang):
    name = tour.endpoint_of(app, stop.path) + (f"-{stop.variant}" if stop.variant else "")
    name += "" if lang == "zh-CN" else f"-{lang}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{name}.png"
    # A framed PDF (the review page) is drawn by the browser's viewer once it has loaded.
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(target), full_page=True, animations="disabled", caret="hide")
    _shrink(target)


def _shrink(path: Path):
    """A 256-colour palette: a page of text and flat colours looks the same at a
    third of the size."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


# Every role's pages in Chinese; in English those of the public and candidates (staff
# pages are the same templates and widgets, with every message translated: the i18n
# tests check that; a walk of them in English costs 70 s of the suite's ten minutes).
# DOCS_SCREENSHOTS=1 walks every pair, for the docs' English screenshots.
# The longest walks go to workers of their own (each builds its own portal): on the
# 2-core machine one worker walking them all was the suite's longest path.
_WALK_GROUPS = {("candidate", "zh-CN"): "walk-candidate", ("admin", "zh-CN"): "walk-staff",
                ("trainer", "zh-CN"): "walk-staff"}
WALKS = [pytest.param(role, lang, marks=[pytest.mark.xdist_group(_WALK_GROUPS[role, lang])]
                      if (role, lang) in _WALK_GROUPS else [])
         for lang in LANGUAGES
         for role in ("visitor", "candidate", "examinee", "trainer", "admin")
         if lang == "zh-CN" or role in ("visitor", "candidate", "examinee")
         or os.environ.get("DOCS_SCREENSHOTS") == "1"]


@pytest.mark.parametrize(("role", "lang"), WALKS)
def test_no_serious_accessibility_violation_on_any_page(browser, portal, role, lang):
    page = _new_page(browser)
    shots = os.environ.get("DOCS_SCREENSHOTS") == "1"
    found = {}
    try:
        if role in tour.LOGINS:
            log_in(page, portal.url, tour.LOGINS[role])
        page.goto(portal.url + "/")
        switch_language(page, lang)
        for stop in tour.stops(portal)[role]:
            page.set_viewport_size(WIDE)
            response = page.goto(portal.url + stop.path)
            assert response.ok, (stop.path, response.status)
            _wait_until_ready(page, stop)
            assert page.locator("html").get_attribute("lang") == lang, stop.path
            if shots and (lang == "zh-CN" or stop.in_english):
                _screenshot(page, portal.app, stop, lang)
            page.evaluate(AXE_SCRIPT)  # once: both widths run the same engine
            # The phone layout is the same markup at another width: checked in Chinese,
            # whose pages every role sees first; English at the wide width.
            for viewport in (WIDE, PHONE) if lang == "zh-CN" else (WIDE,):
                _resize(page, viewport)
                where = f"{stop.path} ({viewport['width']} px)"
                _collect(found, where, _serious(page.evaluate(
                    "options => axe.run(document, options)", AXE_OPTIONS)))
    finally:
        page.context.close()
    if found:
        pytest.fail(_report(found), pytrace=False)


# What axe cannot judge ------------------------------------------------------------------

_emails = itertools.count(1)


def _candidate(portal) -> tuple[int, str]:
    email = f"keyboard{next(_emails)}@example.com"
    return make_user(portal.app, email=email), email


def _focused(page) -> dict:
    return page.evaluate("""() => {
        const el = document.activeElement, style = getComputedStyle(el);
        return {tag: el.tagName.toLowerCase(), id: el.id, cls: el.className,
                text: (el.getAttribute('aria-label') || el.textContent || '').trim(),
                outline: style.outlineStyle, width: parseFloat(style.outlineWidth)};
    }""")


def _tab_to(page, selector, limit=60, key="Tab"):
    """Press Tab until the element matching *selector* has the focus."""
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{limit} presses of {key} never reached {selector}: {_focused(page)}")


def _attempt_ready(page):
    expect(page.locator("#q-1")).to_be_visible()
    expect(page.locator("#save-status")).to_have_class(re.compile("status-saved"))


def test_the_skip_link_comes_first_and_jumps_to_the_main_content(browser, portal):
    page = _new_page(browser)
    try:
        log_in(page, portal.url, tour.ADMIN)
        switch_language(page, "zh-CN")
        page.goto(portal.url + "/admin/sessions")
        page.keyboard.press("Tab")
        link = page.locator(":focus")
        expect(link).to_have_class(re.compile("skip-link"))
        expect(link).to_have_text("跳到主要内容")
        assert link.bounding_box()["y"] >= 0  # shown once focused
        page.keyboard.press("Enter")
        expect(page.locator("main")).to_be_focused()
        page.keyboard.press("Tab")  # the first control of the page itself
        assert page.evaluate("document.querySelector('main').contains(document.activeElement)")
    finally:
        page.context.close()


FOCUS_PAGES = {tour.ADMIN: ("/admin/sessions", "/admin/users/new"),
               tour.CANDIDATE: ("/practice/", "/account/profile")}


def test_every_control_shows_a_focus_ring(browser, portal):
    """Tab through whole pages: whatever has the focus wears a solid ring of 2 px or
    more (the portal's :focus-visible style), on the blue menu as on the page."""
    missing = []
    for email, paths in FOCUS_PAGES.items():
        page = _new_page(browser)
        try:
            log_in(page, portal.url, email)
            for path in paths:
                page.goto(portal.url + path)
                seen = set()
                for _ in range(80):
                    page.keyboard.press("Tab")
                    focused = _focused(page)
                    key = (focused["tag"], focused["id"], focused["text"])
                    if key in seen or focused["tag"] == "body":
                        break
                    seen.add(key)
                    if focused["outline"] in ("none", "hidden") or focused["width"] < 2:
                        missing.append(f"{path}: {focused}")
                assert len(seen) > 5, (path, seen)
        finally:
            page.context.close()
    assert not missing, "no visible focus ring:\n" + "\n".join(missing)


def test_a_paper_is_answered_flagged_and_handed_in_with_the_keyboard_alone(browser, portal):
    user_id, email = _candidate(portal)
    attempt_id = tour.mock_paper(portal.app, user_id)
    page = _new_page(browser)
    try:
        log_in(page, portal.url, email, PASSWORD)
        page.goto(f"{portal.url}/practice/attempts/{attempt_id}")
        _attempt_ready(page)
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")  # the skip link
        # Question 1: the first option by Space, then the next one with the arrow key.
        _tab_to(page, "#q-1 .options input")
        page.keyboard.press("Space")
        page.keyboard.press("ArrowDown")
        expect(page.locator("#q-1 .options input").nth(1)).to_be_checked()
        _tab_to(page, "#q-1 [data-action=flag]")
        page.keyboard.press("Enter")
        expect(page.locator("#q-1 [data-action=flag]")).to_have_attribute("aria-pressed", "true")
        _tab_to(page, "#q-1 [data-action=next]")
        page.keyboard.press("Enter")
        expect(page.locator("#q-2 .question-title")).to_be_focused()  # read out next
        # Question 2 by a single-key shortcut (C), back and forth with the buttons.
        page.keyboard.press("c")
        expect(page.locator("#q-2 .options input[value=C]")).to_be_checked()
        _tab_to(page, "#q-2 [data-action=prev]")
        page.keyboard.press("Enter")
        expect(page.locator("#q-1 .question-title")).to_be_focused()
        # The answer card: one tab stop, the arrow keys move, Enter opens question 5.
        _tab_to(page, ".nav-cell[data-goto]")
        expect(page.locator(":focus")).to_have_attribute("data-goto", "1")
        for _ in range(4):
            page.keyboard.press("ArrowRight")
        expect(page.locator(":focus")).to_have_attribute("data-goto", "5")
        page.keyboard.press("Enter")
        expect(page.locator("#q-5 .question-title")).to_be_focused()
        _tab_to(page, "#q-5 .options input")
        page.keyboard.press("Space")
        expect(page.locator("#save-status")).to_have_text("✓ 已保存")
        # Hand in: the button, the dialog's confirmation, all by keyboard.
        _tab_to(page, "#submit-button", key="Shift+Tab")
        page.keyboard.press("Enter")
        dialog = page.locator("#submit-dialog")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("还有 77 道题未作答")
        _tab_to(page, "#confirm-submit")
        page.keyboard.press("Enter")
        # Marking the paper and loading its 80-item review can take longer than the
        # default 5 s when the suite's workers share two cores: the wait is not a target.
        expect(page).to_have_url(re.compile(rf"/practice/attempts/{attempt_id}/result$"),
                                 timeout=20_000)
    finally:
        page.context.close()
    with portal.app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        rows = {r.position: r for r in db.session.scalars(
            sa.select(Response).where(Response.attempt_id == attempt_id))}
        assert attempt.submitted_at is not None
        assert sorted(rows) == [1, 2, 5] and all(rows[p].selected for p in rows)
        assert [p for p in rows if rows[p].is_flagged] == [1]
        db.session.remove()


def _set_deadline(app, attempt_id, left: timedelta):
    with app.app_context():
        db.session.get(Attempt, attempt_id).deadline_at = utcnow() + left
        db.session.commit()
        db.session.remove()


def test_screen_readers_hear_the_save_state_and_the_time_warnings(browser, portal):
    user_id, email = _candidate(portal)
    attempt_id = tour.mock_paper(portal.app, user_id)
    page = _new_page(browser)
    status, warning = page.locator("#save-status"), page.locator("#time-warning")
    try:
        log_in(page, portal.url, email, PASSWORD)
        page.goto(f"{portal.url}/practice/attempts/{attempt_id}")
        _attempt_ready(page)
        expect(status).to_have_attribute("role", "status")
        expect(status).to_have_attribute("aria-live", "polite")
        expect(warning).to_have_attribute("aria-live", "assertive")
        expect(warning).to_have_text("")  # 100 minutes left: nothing to say
        page.evaluate("""() => { window.heard = [];
            new MutationObserver(() => window.heard.push(
                document.getElementById('save-status').textContent))
            .observe(document.getElementById('save-status'),
                     {childList: true, characterData: true, subtree: true}); }""")
        page.locator("#q-1 .options input").first.check()
        expect(status).to_have_text("✓ 已保存")
        page.context.set_offline(True)
        page.locator("#q-1 .options input").nth(1).check()
        expect(status).to_have_text("网络已断开：1 个答案暂存在本机，联网后自动发送")
        page.context.set_offline(False)
        expect(status).to_have_text("✓ 已保存")
        heard = page.evaluate("window.heard")
        assert "正在保存…" in heard and heard.index("正在保存…") < heard.index("✓ 已保存"), heard
        assert heard[-1] == "✓ 已保存", heard

        _set_deadline(portal.app, attempt_id, timedelta(minutes=14, seconds=50))
        page.reload()
        _attempt_ready(page)
        expect(warning).to_have_text("剩余时间：15 分钟。")
        _set_deadline(portal.app, attempt_id, timedelta(minutes=4, seconds=50))
        page.reload()
        _attempt_ready(page)
        expect(warning).to_have_text("剩余时间：5 分钟，请检查答案，按时交卷。")
    finally:
        page.context.close()


def test_the_answer_card_tells_its_states_apart_without_colour(browser, portal):
    user_id, email = _candidate(portal)
    attempt_id = tour.checked_practice(portal.app, user_id)
    page = _new_page(browser)
    try:
        log_in(page, portal.url, email, PASSWORD)
        page.goto(f"{portal.url}/practice/attempts/{attempt_id}")
        _attempt_ready(page)
        cells = page.locator("#navigator .nav-cell[data-goto]")
        expected = {1: "第 1 题：已答、回答正确", 2: "第 2 题：已答、回答错误",
                    3: "第 3 题：已答、已标记", 4: "第 4 题：未答、已标记", 5: "第 5 题：未答"}
        for position, name in expected.items():
            expect(cells.nth(position - 1)).to_have_attribute("aria-label", name)
        expect(cells.nth(0)).to_have_attribute("aria-current", "true")
        # The symbols drawn beside the colours: the same in black and white.
        marks = page.evaluate("""() => [...document.querySelectorAll(
            '#navigator .nav-cell[data-goto]')].slice(0, 5).map(cell => [
            getComputedStyle(cell, '::before').content,
            getComputedStyle(cell, '::after').content])""")
        assert marks == [["none", '"✓"'], ["none", '"✗"'], ['"⚑"', '"●"'], ['"⚑"', "none"],
                         ["none", "none"]], marks
        legend = page.locator(".nav-legend")
        for words in ("已答", "未答", "已标记", "回答正确", "回答错误", "尚未保存到服务器"):
            expect(legend).to_contain_text(words)
        # Offline, an answer waits on this device: the card says so in words too.
        page.context.set_offline(True)
        cells.nth(4).click()
        page.locator("#q-5 .options input").first.check()
        expect(cells.nth(4)).to_have_attribute("aria-label", "第 5 题：已答、尚未保存到服务器")
        expect(cells.nth(4)).to_have_css("border-top-style", "dashed")
        page.context.set_offline(False)
        expect(cells.nth(4)).to_have_attribute("aria-label", "第 5 题：已答")
    finally:
        page.context.close()


# Every page as the server sends it ------------------------------------------------------

class _PageText(HTMLParser):
    """The text a reader sees (no scripts, styles or attributes; nor <code>, which
    shows a stored record verbatim, such as an audit event's JSON details) and the first
    element the Tab key reaches."""

    FOCUSABLE = {"a", "button", "input", "select", "textarea", "summary"}

    def __init__(self):
        super().__init__()
        self.text, self.first_focusable, self._skip = [], None, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style", "template", "code"):
            self._skip += 1
        focusable = ((tag in self.FOCUSABLE and (tag != "a" or "href" in attrs)
                      and attrs.get("type") != "hidden" and "disabled" not in attrs
                      and attrs.get("tabindex") != "-1")
                     or attrs.get("tabindex", "-1") != "-1")
        if focusable and self.first_focusable is None:
            self.first_focusable = (tag, attrs)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template", "code"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


@pytest.fixture(scope="session")
def rendered(portal):
    """Every page of the tour, in both languages, as {(language, path): HTML}."""
    app = create_app(portal_config(portal.database_url,  # no CSRF: a test client
                                   EVIDENCE_DIR=portal.evidence_dir))
    pages = {}
    for role, stops in tour.stops(portal).items():
        client = app.test_client()
        if role in tour.LOGINS:
            email = tour.LOGINS[role]
            answer = client.post("/auth/login", data={"email": email,
                                                      "password": tour.PASSWORDS[email]})
            assert answer.status_code == 302, email
        for lang in LANGUAGES:
            client.post("/language", data={"locale": lang.replace("-", "_"), "next": "/"})
            for stop in stops:
                answer = client.get(stop.path)
                assert answer.status_code == 200, (lang, stop.path, answer.status_code)
                pages[(lang, stop.path)] = answer.get_data(as_text=True)
    return pages


def test_the_first_tab_stop_of_every_page_is_the_skip_link(rendered):
    wrong = []
    for (lang, path), html in rendered.items():
        parsed = _PageText()
        parsed.feed(html)
        tag, attrs = parsed.first_focusable
        if not (tag == "a" and attrs.get("href") == "#main" and "skip-link" in attrs["class"]):
            wrong.append(f"{path} ({lang}): first is <{tag} {attrs}>")
        if 'id="main"' not in html:
            wrong.append(f"{path} ({lang}): no element with id main")
    assert not wrong, "\n".join(wrong)


# One way to write a date and a time: 2026-12-06 and 2026-12-06 18:20 (clock.py). These
# are the other ways Babel and browsers write them.
OTHER_DATE_FORMATS = re.compile(
    r"\d{4}/\d{1,2}/\d{1,2}|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\d{4}年\d{1,2}月\d{1,2}日"
    r"|\b\d{4}-\d{1,2}-\d{1,2}\b(?<!\d{4}-\d{2}-\d{2})|\d{4}\.\d{1,2}\.\d{1,2}"
    r"|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2}, \d{4}"
    r"|\d{1,2}:\d{2}(?::\d{2})?\s?(?:AM|PM|am|pm)\b|[上下]午\s?\d{1,2}:\d{2}"
    r"|\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")
ONE_FORMAT = re.compile(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}\b")


def test_dates_and_times_are_written_one_way_in_both_languages(rendered):
    """Every page in Chinese and in English: dates as 2026-12-06, times as 2026-12-06
    18:20, never 2026/12/6 18:20, 12/6/26, Dec 6, 2026, 6:20 PM or with seconds."""
    wrong, shown = [], set()
    for (lang, path), html in rendered.items():
        parsed = _PageText()
        parsed.feed(html)
        text = " ".join(" ".join(parsed.text).split())
        wrong += [f"{path} ({lang}): {match.group()!r} in "
                  f"…{text[max(0, match.start() - 40):match.end() + 20]}…"
                  for match in OTHER_DATE_FORMATS.finditer(text)]
        if ONE_FORMAT.search(text):
            shown.add(lang)
    assert not wrong, "dates or times in another format:\n" + "\n".join(wrong)
    assert shown == set(LANGUAGES)  # the pages do show times, in both languages


# The menu -------------------------------------------------------------------------------

def _one_row(page) -> list[str]:
    """What in the menu bar sits off the bar's one row (or is hidden)."""
    return page.evaluate("""() => {
        const bar = document.querySelector('.portal-nav .container-fluid');
        const brand = bar.querySelector('.navbar-brand').getBoundingClientRect();
        const middle = brand.top + brand.height / 2, off = [];
        const parts = bar.querySelectorAll('.navbar-brand, .navbar-nav > .nav-item, '
            + 'form[action$="/language"] button, .account-email, form[action$="/logout"] button');
        for (const part of parts) {
            const box = part.getBoundingClientRect();
            if (!box.width || Math.abs(box.top + box.height / 2 - middle) > 8) {
                off.push(part.textContent.trim());
            }
        }
        return off;
    }""")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_menu_fits_one_row_at_1366_px_and_folds_on_a_phone(browser, portal, lang):
    for role in ("candidate", "trainer", "admin"):
        page = _new_page(browser)
        try:
            log_in(page, portal.url, tour.LOGINS[role])
            switch_language(page, lang)
            page.goto(portal.url + "/account/")
            language = page.locator("form[action$='/language'] button")
            expect(page.locator(".navbar-toggler")).to_be_hidden()
            expect(language).to_be_visible()
            assert _one_row(page) == [], (role, lang, _one_row(page))
            assert page.locator(".portal-nav").bounding_box()["height"] < 70, (role, lang)

            page.set_viewport_size(PHONE)
            expect(language).to_be_hidden()
            page.get_by_role("button", name=re.compile("菜单|Menu")).click()
            # Unfolded ("show"), not still unfolding, before anything in it is clicked.
            expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))
            expect(language).to_be_visible()
            if role == "admin":
                system = page.locator(".portal-nav .dropdown-toggle").filter(
                    has_text=re.compile("系统管理|System"))
                system.click()
                users = page.locator(".portal-nav .dropdown-menu a[href$='/admin/users']")
                expect(users).to_be_visible()
                users.click()
                expect(page).to_have_url(re.compile(r"/admin/users$"))
                # The URL changes when the new page commits, before its stylesheet
                # applies; measured unstyled, its table would overflow the phone.
                page.wait_for_load_state("load")
                expect(system).to_have_attribute(
                    "aria-current", "true")
            assert page.evaluate("document.documentElement.scrollWidth <= innerWidth + 1")
        finally:
            page.context.close()


# A candidate's week, on a wide screen and on a phone: practice, the review it leaves,
# the plan to the exam date, the week's report and a mock contest. DOCS_SCREENSHOTS=1
# keeps each step as docs/screenshots/week-<step>-<width>.png.
WEEK_WIDTHS = {"1366": WIDE, "360": PHONE}


def _fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _hand_in(page):
    page.locator("#submit-button").click()
    expect(page.locator("#submit-dialog")).to_be_visible()
    page.locator("#confirm-submit").click()


@pytest.mark.xdist_group("week")
@pytest.mark.parametrize("width", WEEK_WIDTHS)
def test_a_candidates_week_of_practice_review_plan_report_and_contest(browser, portal, width):
    _user_id, email = _candidate(portal)
    page = _new_page(browser, WEEK_WIDTHS[width])
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations say yes

    def step(name):
        assert _fits_the_width(page), f"{name} is wider than {width} px"
        if os.environ.get("DOCS_SCREENSHOTS") == "1":
            target = SCREENSHOTS / f"week-{name}-{width}.png"
            page.screenshot(path=str(target), full_page=True, animations="disabled",
                            caret="hide")
            _shrink(target)

    try:
        log_in(page, portal.url, email, PASSWORD)
        # Practice: a random set of 综合能力（初级）, two answers checked, handed in.
        page.goto(f"{portal.url}/practice/subjects/COMP_JR")
        page.locator("form.start-form[data-mode=RANDOM] button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/practice/attempts/\d+$"))
        _attempt_ready(page)
        for position, letter in ((1, "A"), (2, "B")):
            question = page.locator(f"#q-{position}")
            if position > 1:
                page.locator("#q-1 [data-action=next]").click()
            question.locator(f".options input[value={letter}]").check()
            expect(page.locator("#save-status")).to_have_class(re.compile("status-saved"))
            question.locator("[data-action=check]").click()
            expect(question.locator(".feedback")).to_be_visible()
        step("practice")
        _hand_in(page)
        expect(page).to_have_url(re.compile(r"/result$"))
        # The dashboard: today's review, the progress charts with their tables.
        page.goto(f"{portal.url}/practice/")
        expect(page.locator(".progress-charts svg[role=img]")).to_have_count(2)
        step("dashboard")
        page.goto(f"{portal.url}/practice/review")
        expect(page.locator("h1")).to_be_visible()
        step("review")
        # The plan to an exam date four months away.
        page.goto(f"{portal.url}/practice/plan")
        if page.locator("#exam_day").count():
            page.locator("#exam_day").fill(
                (utcnow() + timedelta(days=120)).date().isoformat())
            page.locator("main form [type=submit]").first.click()
        expect(page.locator("h1")).to_be_visible()
        step("plan")
        page.goto(f"{portal.url}/practice/report")
        expect(page.get_by_text("答选择题 2 道")).to_be_visible()
        step("report")
        # The mock contest open this week: started, one answer, handed in; its report
        # waits for the window's end before ranks and keys.
        page.goto(f"{portal.url}/contests")
        step("contests")
        page.locator("form[action$='/start'] button[type=submit]").first.click()
        expect(page).to_have_url(re.compile(r"/practice/attempts/\d+$"))
        _attempt_ready(page)
        page.locator("#q-1 .options input").first.check()
        expect(page.locator("#save-status")).to_have_class(re.compile("status-saved"))
        _hand_in(page)
        expect(page).to_have_url(re.compile(r"/contests/\d+/report$"), timeout=20_000)
        expect(page.get_by_text(re.compile("排名在 .* 之后公布"))).to_be_visible()
        step("contest-report")
    finally:
        page.context.close()
