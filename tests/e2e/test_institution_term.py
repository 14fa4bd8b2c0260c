"""A training institution's term in the browser: an administrator creates the
institution, its admin invites a second trainer, opens a class and sets a mock paper;
a candidate joins with the code and hands the paper in; the trainers watch progress on
the class dashboard, the second trainer marks the case analysis, and the candidate is
notified and reads the marks and comments in the review.

With DOCS_SCREENSHOTS=1 each step is kept as docs/screenshots/term-<step>.png (the
trainers' and candidates' guides show them)."""

import os
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from exam_portal.models.accounts import Role
from exam_portal.models.types import utcnow
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank.items import ItemContent, ItemType, KeyPoint, SubQuestion
from question_bank.subjects import Subject

from ..conftest import PASSWORD
from ..factories import make_user
from ..integration.class_support import (
    ClassWorld,
    assign,
    enrol,
    hand_in_paper,
    start_assignment,
)
from ..integration.practice_support import objective_bank, publish
from .test_accessibility import AXE_OPTIONS, AXE_SCRIPT, SCREENSHOTS, _serious, _shrink

ANSWER = "先评估服务对象的需要：生理照料、社会交往和情绪支持；再链接社区志愿者和居家养老服务。"
COMMENT = "需要结合案例中的具体情况展开，说明依据。"


def _log_in(page, base_url, email):
    page.context.clear_cookies()
    page.goto(base_url + "/auth/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form [type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/auth/login"))


def _step(page, name, *, axe=False):
    """Keep the step's screenshot for the docs; with *axe*, check the page (one of the
    class dashboard and marking pages, which the accessibility tour does not visit)."""
    if axe:
        page.evaluate(AXE_SCRIPT)
        found = _serious(page.evaluate("options => axe.run(document, options)", AXE_OPTIONS))
        assert not found, [(v["id"], [n["target"] for n in v["nodes"]][:5]) for v in found]
    if os.environ.get("DOCS_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS / f"term-{name}.png"
        page.screenshot(path=str(target), full_page=True, animations="disabled",
                        caret="hide")
        _shrink(target)


CASES = (
    ("社区的王奶奶今年 78 岁，独居，子女在外地工作。最近她很少出门，邻居反映她常常一个人"
     "坐在窗前发呆，饭也吃得很少。社区社会工作者小李准备为她提供服务。"),
    ("某小学四年级学生小明父母离异后跟随祖父母生活，近半年成绩明显下降，在学校常与同学"
     "发生冲突。学校社会工作者接到班主任的转介。"),
    ("某工业园区的外来务工青年下班后生活单调，园区社会工作站希望为他们开展服务，"
     "丰富业余生活、拓展社会支持。"),
)


def _readable_bank(app):
    """Case analyses and plan designs of 实务（中级） that read like the exam's."""
    contents = []
    for n in range(6):
        stem = CASES[n % len(CASES)]
        contents.append(ItemContent(
            subject=Subject.PRAC_MID, item_type=ItemType.CASE_ANALYSIS, stem=stem,
            explanation="评分时看是否结合案例、层次是否清楚。", difficulty=3,
            syllabus=(f"PRAC_MID.0{1 + n % 2}",), points=Decimal(20), sub_questions=(
                SubQuestion("分析服务对象的需要。", Decimal(10), (
                    KeyPoint("指出生理或生活照料方面的需要", Decimal(5)),
                    KeyPoint("指出社会交往和情绪支持方面的需要", Decimal(5)))),
                SubQuestion("提出服务策略。", Decimal(10), (
                    KeyPoint("链接社区资源，建立支持网络", Decimal(5)),
                    KeyPoint("说明服务的评估方法", Decimal(5)))))))
    for n in range(2):
        contents.append(ItemContent(
            subject=Subject.PRAC_MID, item_type=ItemType.PLAN_DESIGN, stem=CASES[2],
            explanation="方案要素齐全、目标可测。", difficulty=3,
            syllabus=(f"PRAC_MID.0{1 + n}",), points=Decimal(20),
            key_points=(KeyPoint("目标具体、可测量", Decimal(10)),
                        KeyPoint("活动安排与评估方法", Decimal(10)))))
    publish(app, contents)


@pytest.fixture
def people(live_app):
    _readable_bank(live_app)
    return {
        "admin": (make_user(live_app, Role.ADMIN, email="term-admin@example.com"),
                  "term-admin@example.com"),
        "head": (make_user(live_app, Role.TRAINER, email="term-head@example.com"),
                 "term-head@example.com"),
        "tutor": (make_user(live_app, Role.TRAINER, email="term-tutor@example.com"),
                  "term-tutor@example.com"),
        "candidate": (make_user(live_app, email="term-candidate@example.com"),
                      "term-candidate@example.com"),
    }


def _busier(app, class_id, people):
    """Five more candidates in the class, each with two handed-in papers of 综合能力
    （中级） set as assignments, some strong, most weak."""
    world = ClassWorld(0, class_id, [people["head"][0]], people["tutor"][0])
    objective_bank(app, Subject.COMP_MID)
    first = assign(app, world, Subject.COMP_MID, title="综合能力（中级）模拟卷一")
    second = assign(app, world, Subject.COMP_MID, title="综合能力（中级）模拟卷二")
    for n, (before, after) in enumerate(((0.3, 0.45), (0.35, 0.3), (0.5, 0.7),
                                         (0.2, 0.35), (0.75, 0.85))):
        user_id = make_user(app, email=f"term-member{n}@example.com")
        enrol(app, world, user_id)
        hand_in_paper(app, start_assignment(app, first, user_id), right=before)
        hand_in_paper(app, start_assignment(app, second, user_id), right=after)


def test_an_institutions_term_from_invitation_to_marked_answers(browser, live_server,
                                                                 live_app, people):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations say yes
    base = live_server
    try:
        # An administrator creates the institution and names its admin.
        _log_in(page, base, people["admin"][1])
        page.goto(base + "/admin/institutions/new")
        page.locator("#name").fill("晨光社会工作培训学校")
        page.locator("#admin_email").fill(people["head"][1])
        page.locator("main form [type=submit]").click()
        expect(page.get_by_text("机构已创建。")).to_be_visible()
        _step(page, "1-institution")

        # Its admin invites a second trainer, opens a class.
        _log_in(page, base, people["head"][1])
        page.goto(base + "/trainer/institutions")
        page.get_by_role("link", name=re.compile("管理培训师")).first.click()
        page.locator("#email").fill(people["tutor"][1])
        page.get_by_role("button", name="添加").click()
        expect(page.get_by_text("培训师已加入本机构。")).to_be_visible()
        _step(page, "2-trainers")
        page.goto(base + "/trainer/classes/new")
        page.locator("#name").fill("2027 社会工作师实务冲刺班")
        page.locator("#level").select_option("INTERMEDIATE")
        today = utcnow().astimezone(LOCAL_ZONE).date()
        page.locator("#starts_on").fill(today.isoformat())
        page.locator("#ends_on").fill((today + timedelta(days=120)).isoformat())
        page.locator("main form [type=submit]").click()
        expect(page.locator("#join-code")).to_be_visible()
        code = page.locator("#join-code").inner_text().strip()
        class_url = page.url
        _step(page, "3-class")

        # A mock paper of 实务（中级）, due in a week.
        page.get_by_role("link", name="布置作业").click()
        page.locator("#title").fill("实务（中级）模拟卷一")
        page.locator("#kind").select_option("mock")
        page.locator("#subject").select_option("PRAC_MID")
        due = utcnow().astimezone(LOCAL_ZONE) + timedelta(days=7)
        page.locator("#due_at").fill(due.strftime("%Y-%m-%dT%H:%M"))
        page.locator("main form [type=submit]").click()
        expect(page).to_have_url(class_url)
        _step(page, "4-assignment")

        # The candidate joins with the code, after reading what is shared.
        _log_in(page, base, people["candidate"][1])
        page.goto(base + "/classes/join")
        page.locator("#code").fill(code)
        page.locator("main form [type=submit]").click()
        _step(page, "5-join")
        page.locator("#consent").check()
        page.locator("main form [type=submit]").click()
        expect(page.get_by_text(re.compile("你已加入班级"))).to_be_visible()

        # … starts the assignment, writes the first case analysis, hands it in.
        page.goto(base + "/classes/assignments")
        page.get_by_role("button", name="开始").click()
        expect(page).to_have_url(re.compile(r"/practice/attempts/\d+$"))
        attempt_url = page.url
        expect(page.locator("#q-1")).to_be_visible()
        with page.expect_response(lambda r: "/responses/1" in r.url and r.ok):
            page.locator("#text-1").fill(ANSWER)
        expect(page.locator("#save-status")).to_have_class(re.compile("status-saved"))
        page.locator("#submit-button").click()
        expect(page.locator("#submit-dialog")).to_be_visible()
        page.locator("#confirm-submit").click()
        expect(page).to_have_url(re.compile(r"/result$"))

        # The trainers watch progress on the class dashboard …
        _log_in(page, base, people["tutor"][1])
        page.goto(class_url + "/dashboard")
        expect(page.get_by_role("heading", name=re.compile("班级看板"))).to_be_visible()
        expect(page.locator("tbody").first).to_contain_text("1 / 1")
        _step(page, "6-dashboard", axe=True)
        # … and, once more of the class has sat two papers of 综合能力（中级）, its
        # score distribution, trends, weak points and item statistics.
        _busier(live_app, int(class_url.rsplit("/", 1)[1]), people)
        page.goto(class_url + "/dashboard")
        expect(page.locator("svg.bars")).to_be_visible()
        expect(page.locator("svg.sparkline").first).to_be_visible()
        _step(page, "6-dashboard-scores", axe=True)

        # The second trainer marks the case analysis with a comment per key point.
        page.get_by_role("link", name=re.compile("批改主观题")).click()
        expect(page.get_by_text("待批改：1 份。")).to_be_visible()
        _step(page, "7-queue", axe=True)
        page.get_by_role("link", name="批改最早的一份").click()
        expect(page.get_by_text(ANSWER)).to_be_visible()
        points = page.locator("input[type=number]")
        for index in range(points.count()):
            points.nth(index).fill("1")
        page.locator("textarea").first.fill(COMMENT)
        _step(page, "7-mark", axe=True)
        page.get_by_role("button", name="保存", exact=True).click()
        expect(page.get_by_text("批改已保存，学员可以在试卷解析中看到。")).to_be_visible()

        # The candidate is notified and reads the marks in the review.
        _log_in(page, base, people["candidate"][1])
        page.goto(base + "/notifications/")
        expect(page.get_by_text(re.compile("作业已批改"))).to_be_visible()
        _step(page, "8-notified")
        page.goto(attempt_url + "/result")
        expect(page.get_by_text(re.compile("培训师批改："))).to_be_visible()
        expect(page.get_by_text(COMMENT)).to_be_visible()
        page.locator(".trainer-mark").first.scroll_into_view_if_needed()
        _step(page, "9-review", axe=True)
    finally:
        context.close()
