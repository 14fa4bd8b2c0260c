"""A newcomer signs up, fills the profile and reads the eligibility verdicts."""

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from exam_portal.extensions import db
from exam_portal.models.mail import OutboxMail
from exam_portal.services.platform import mail_delivery

EMAIL = "browser.user@example.com"
PASSWORD = "a long browser passphrase"


def _status(page, level):
    return page.locator(f'.verdict[data-level="{level}"] .verdict-status')


def _fits_the_screen(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth + 1"
    )


def _sign_up(page, live_app, live_server, email):
    """Ask to sign up, open the link the portal mails, choose the password."""
    page.goto(live_server + "/auth/sign-up")
    page.get_by_label("电子邮箱").fill(email)
    page.get_by_role("button", name="注册").click()
    expect(page).to_have_url(re.compile(r"/auth/sign-up/sent$"))
    expect(page.get_by_role("heading", name="请查收邮件")).to_be_visible()
    with live_app.app_context():
        mail_delivery.deliver()  # what the delivery job does after the request
        body = db.session.scalars(sa.select(OutboxMail.body).where(
            OutboxMail.to_address == email).order_by(OutboxMail.id.desc())).first()
    page.goto(live_server + re.search(r"/auth/sign-up/\S+", body).group(0))
    expect(page.get_by_text(email)).to_be_visible()
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    page.get_by_role("button", name="完成注册").click()
    expect(page).to_have_url(re.compile(r"/account/profile$"))


def test_sign_up_profile_eligibility_and_english(page, live_app, live_server, shot):
    _sign_up(page, live_app, live_server, EMAIL)

    page.get_by_label("真实姓名").fill("陈思远")
    page.get_by_label("居民身份证号码").fill("11010519491231002x")
    page.get_by_label(re.compile("我同意本门户")).check()
    page.get_by_label("最高学历").select_option("BACHELOR")
    page.get_by_label("所学专业").fill("社会工作")
    page.get_by_label("社会工作专业", exact=True).check()
    page.get_by_label("取得学历（毕业）日期").fill("2015-06-30")
    # The area down to the county: the province, then lists of what lies inside it.
    page.get_by_label("所在地区", exact=True).select_option("510000")
    page.get_by_label("所在地区 · 地级市、自治州或省直辖县").select_option("513400")
    page.get_by_label("所在地区 · 县、区或县级市").select_option("513401")
    page.get_by_role("button", name="保存资料").click()
    expect(page.get_by_text("个人资料已保存。")).to_be_visible()
    expect(page.get_by_text("110105********002X")).to_be_visible()
    expect(page.get_by_label("所在地区", exact=True)).to_have_value("510000")
    expect(page.get_by_label("所在地区 · 县、区或县级市")).to_have_value("513401")

    page.get_by_label("工作单位").fill("北京市某社会工作服务中心")
    page.get_by_label("开始日期").fill("2015-07-01")
    page.get_by_label("是，从事社会工作").check()
    page.get_by_role("button", name="添加工作经历").click()
    expect(page.get_by_text("工作经历已添加。")).to_be_visible()
    shot(page, "profile-zh")

    page.get_by_role("button", name="考试与证书").click()
    page.locator(".portal-nav").get_by_role("link", name="报考资格", exact=True).click()
    cards = page.locator(".verdict")
    expect(cards).to_have_count(3)
    expect(_status(page, "ASSISTANT")).to_have_text("符合报考条件")
    expect(_status(page, "INTERMEDIATE")).to_have_text("符合报考条件")
    senior = page.locator('.verdict[data-level="SENIOR"]')
    expect(senior.locator(".verdict-status")).to_have_text("暂不符合")
    expect(senior.locator(".shortfall")).to_contain_text("社会工作师证书")
    shot(page, "eligibility-zh")

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(_status(page, "ASSISTANT")).to_have_text("Eligible")
    expect(_status(page, "SENIOR")).to_have_text("Not yet eligible")
    shot(page, "eligibility-en")


def test_pages_fit_a_360_px_phone_screen(browser, live_app, live_server, shot):
    context = browser.new_context(locale="zh-CN", viewport={"width": 360, "height": 740})
    page = context.new_page()
    try:
        for path in ("/", "/auth/sign-up", "/auth/sign-up/sent", "/auth/login"):
            page.goto(live_server + path)
            assert _fits_the_screen(page), path
        _sign_up(page, live_app, live_server, "phone.user@example.com")
        for path in ("/account/eligibility", "/account/profile", "/account/password"):
            page.goto(live_server + path)
            assert _fits_the_screen(page), path
            shot(page, "phone" + path.replace("/", "-"))
        # The collapsed menu opens and shows the language switch.
        page.get_by_role("button", name="菜单").click()
        # Bootstrap marks the menu "show" once it has finished unfolding: a click while
        # it still unfolds (slow under load) can land on a box that is still moving.
        expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))
        page.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        assert _fits_the_screen(page)
        shot(page, "phone-en")
    finally:
        context.close()
