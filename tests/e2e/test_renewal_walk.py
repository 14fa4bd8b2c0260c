"""A holder's renewal (登记续期) in the browser: the holder sees the hours and the window,
applies, an administrator approves, and the holder downloads the CE transcript of the
new period's predecessor. With DOCS_SCREENSHOTS=1 the stops are saved as
docs/screenshots/renewal-*.png for the guides."""

import os
import re
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.continuing_education import (
    CeCompletion,
    CeCourse,
    CePeriod,
    CeRegistration,
    CeRegistrationStatus,
    CompletionSource,
    RegistrationBasis,
)
from exam_portal.models.institutions import Institution, InstitutionMember
from exam_portal.services.platform.clock import today_local
from question_bank.continuing_education import CourseCategory, Delivery
from question_bank.institutions import InstitutionKind
from question_bank.levels import Level

from ..conftest import PASSWORD
from ..factories import make_user
from ..integration.test_sittings import _candidate

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _holder_in_the_window(app) -> tuple[str, str]:
    """A 助理 holder whose first period ends in 20 days, with 72 of 72 hours credited;
    returns (holder e-mail, administrator e-mail)."""
    admin = make_user(app, Role.ADMIN, email="renewal-admin@example.com")
    trainer = make_user(app, Role.TRAINER, email="renewal-trainer@example.com")
    holder = _candidate(app)
    today = today_local()
    starts = today.replace(year=today.year - 3) + timedelta(days=20)
    with app.app_context():
        institution = Institution(name="滨江社会工作协会", kind=InstitutionKind.ASSOCIATION,
                                  created_by_id=admin)
        institution.members.append(InstitutionMember(user_id=trainer, is_admin=True))
        registration = CeRegistration(
            user_id=holder, level=Level.ASSISTANT, basis=RegistrationBasis.DECLARED,
            passed_on=starts - timedelta(days=40), registered_on=starts,
            certificate_number="ZJ2023-0042", status=CeRegistrationStatus.ACTIVE,
            document_key="doc-renewal-walk", document_type="application/pdf",
            document_name="证书.pdf", document_sha256="0" * 64)
        db.session.add_all([institution, registration])
        db.session.flush()
        db.session.add(CePeriod(registration_id=registration.id, number=1, starts_on=starts,
                                ends_on=today + timedelta(days=19)))
        for title, half_hours, days in (("社会工作伦理专题研修", 80, 200),
                                        ("社区治理与服务创新", 64, 600)):
            course = CeCourse(institution_id=institution.id, title=title,
                              half_hours=half_hours, category=CourseCategory.PRACTICE,
                              delivery=Delivery.ONLINE, starts_on=starts + timedelta(days=days),
                              ends_on=starts + timedelta(days=days + 2), created_by_id=trainer)
            db.session.add(course)
            db.session.flush()
            db.session.add(CeCompletion(course_id=course.id, user_id=holder,
                                        completed_on=course.ends_on,
                                        source=CompletionSource.IMPORT, recorded_by_id=trainer))
        db.session.commit()
        return db.session.get(User, holder).email, "renewal-admin@example.com"


def _log_in(page, base_url, email):
    page.goto(base_url + "/auth/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form [type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/auth/login"))


def _stop(page, shot, name):
    shot(page, name)
    if os.environ.get("DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)


def test_a_holder_renews_and_downloads_the_transcript(browser, live_app, live_server, shot):
    holder_email, admin_email = _holder_in_the_window(live_app)
    holder = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900},
                                 accept_downloads=True).new_page()
    _log_in(holder, live_server, holder_email)
    holder.get_by_role("button", name="考试与证书").click()
    holder.get_by_role("link", name="登记与继续教育").click()
    standing = holder.locator(".ce-standing")
    expect(standing).to_contain_text("72")
    expect(holder.get_by_text("社区治理与服务创新")).to_be_visible()
    _stop(holder, shot, "renewal-holder")
    holder.get_by_role("button", name="申请续期").click()
    expect(holder.get_by_text("续期申请已提交，等待管理员审核。").first).to_be_visible()
    _stop(holder, shot, "renewal-applied")

    admin = browser.new_context(locale="zh-CN",
                                viewport={"width": 1366, "height": 900}).new_page()
    _log_in(admin, live_server, admin_email)
    admin.get_by_role("button", name="培训与继续教育").click()
    admin.get_by_role("link", name="登记与续期").click()
    expect(admin.get_by_text(holder_email)).to_be_visible()
    admin.get_by_label("批准").first.check()
    _stop(admin, shot, "renewal-admin")
    admin.get_by_role("button", name="提交").first.click()
    expect(admin.get_by_text("续期已批准。")).to_be_visible()
    expect(admin.get_by_text("没有待审核的续期申请。")).to_be_visible()

    holder.reload()
    expect(holder.get_by_text("本期续期已批准。")).to_be_visible()
    holder.get_by_role("button", name="开具本期学时证明").click()
    expect(holder.get_by_text(re.compile("学时证明已开具，编号 CE-"))).to_be_visible()
    with holder.expect_download() as download:
        holder.get_by_role("link", name="PDF").first.click()
    path = download.value.path()
    assert Path(path).read_bytes().startswith(b"%PDF")
    assert re.fullmatch(r"CE-[0-9A-Z]{16}\.pdf", download.value.suggested_filename)
    _stop(holder, shot, "renewal-transcript")
    with live_app.app_context():
        periods = db.session.scalars(sa.select(CePeriod).order_by(CePeriod.number)).all()
        assert [p.number for p in periods] == [1, 2]
        assert periods[1].starts_on == periods[0].ends_on + timedelta(days=1)
