"""A trainer writes an item in the editor and sees the live preview follow the typing."""

import re

from playwright.sync_api import expect

from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.services.accounts import accounts

PASSWORD = "a long trainer passphrase"


def test_trainer_writes_an_item_with_a_live_preview(page, live_server, live_app, shot):
    with live_app.app_context():
        accounts.create_staff("editor@example.com", PASSWORD, Role.TRAINER, actor=None)
        db.session.commit()
    page.goto(live_server + "/auth/login")
    page.get_by_label("电子邮箱").fill("editor@example.com")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(live_server + "/authoring/items/new")
    page.get_by_label("科目").select_option("COMP_JR")
    page.get_by_label("题型").select_option("SINGLE")
    page.get_by_role("button", name="继续").click()

    page.get_by_label("题干").fill("小组工作中，组员彼此熟悉、开始形成规范的阶段是（  ）。")
    preview = page.locator("#item-preview")
    expect(preview).to_contain_text("组员彼此熟悉")
    for letter, text in zip("ABCD", ["准备阶段", "形成阶段", "中期转折阶段", "结束阶段"],
                            strict=True):
        page.get_by_label(f"选项 {letter}").fill(text)
    page.get_by_label("B", exact=True).check()
    page.get_by_label("解析").fill("形成阶段组员开始相互熟悉，小组规范逐步建立。")
    page.get_by_label("大纲知识点").select_option("COMP_JR.05")
    expect(preview).to_contain_text("答案：B")
    expect(preview.locator(".alert-warning")).to_have_count(0)
    shot(page, "editor-preview")
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(r"/authoring/items/\d+$"))
    expect(page.get_by_text("题目已保存为草稿。")).to_be_visible()
