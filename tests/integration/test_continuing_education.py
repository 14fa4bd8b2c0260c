"""Continuing education and registration (issue 21): courses and completions recorded by
their provider (once per person and course), registration of a qualification, hours
credited to the period, the renewal window, renewal decided once, the CE transcript
verified on the public page and offline, the notices, and who may see what."""

import io
import json
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.audit import AuditEvent
from exam_portal.models.continuing_education import (
    CeCompletion,
    CeCourse,
    CePeriod,
    CeRegistration,
    CeRenewal,
    CeTranscript,
    RenewalStatus,
)
from exam_portal.models.institutions import Institution, InstitutionMember
from exam_portal.models.sittings import ExamSession, Qualification
from exam_portal.services import ServiceError
from exam_portal.services.certification import ce_courses, ce_registrations
from exam_portal.services.platform import notifications
from question_bank import certificates as signing
from question_bank import credentials as offline
from question_bank.continuing_education import CourseCategory, Delivery
from question_bank.institutions import InstitutionKind

from .. import evidence_files
from ..factories import logged_in, make_user
from .test_certificates import _achieved, admin  # noqa: F401  (admin: a fixture)
from .test_credentials import KEYS_URL, _offline_app

pytestmark = pytest.mark.db


def _institution(app, admin_id, trainer_id, name="城市社工学院") -> int:  # noqa: F811
    with app.app_context():
        institution = Institution(name=name, kind=InstitutionKind.UNIVERSITY,
                                  created_by_id=admin_id)
        db.session.add(institution)
        db.session.flush()
        db.session.add(InstitutionMember(institution_id=institution.id, user_id=trainer_id,
                                         is_admin=True))
        db.session.commit()
        return institution.id


def _course(app, institution_id, trainer_id, *, hours="36", starts=date(2026, 1, 5),
            ends=date(2026, 12, 31), title="社会工作伦理专题") -> int:
    with app.app_context():
        from decimal import Decimal

        course = ce_courses.create_course(ce_courses.CourseFields(
            institution_id, title, Decimal(hours), CourseCategory.ETHICS, Delivery.ONLINE,
            starts, ends), db.session.get(User, trainer_id))
        db.session.commit()
        return course.id


def _passed_on(app, qualification_id) -> date:
    with app.app_context():
        qualification = db.session.get(Qualification, qualification_id)
        return ce_registrations.passed_on(qualification,
                                          db.session.get(ExamSession, qualification.session_id))


def _register(app, user_id, qualification_id, today) -> int:
    with app.app_context():
        registration = ce_registrations.register_issued(db.session.get(User, user_id),
                                                        qualification_id, today)
        db.session.commit()
        return registration.id


def _complete(app, course_id, user_id, trainer_id, day) -> None:
    with app.app_context():
        email = db.session.get(User, user_id).email
        ce_courses.record_completion(db.session.get(CeCourse, course_id), email, day,
                                     db.session.get(User, trainer_id))
        db.session.commit()


@pytest.fixture
def world(app, admin):  # noqa: F811
    """A provider with its trainer and a course, and holder A registered on the day
    results were published (period 1 from that day), with 36 of 72 hours."""
    trainer = make_user(app, Role.TRAINER, email="ce-trainer@example.com")
    outsider = make_user(app, Role.TRAINER, email="ce-outsider@example.com")
    institution = _institution(app, admin, trainer)
    qualification_id, holder = _achieved(app, admin)
    passed = _passed_on(app, qualification_id)
    registration = _register(app, holder, qualification_id, passed)
    course = _course(app, institution, trainer, starts=passed, ends=passed + timedelta(days=400))
    _complete(app, course, holder, trainer, passed + timedelta(days=30))
    return {"admin": admin, "trainer": trainer, "outsider": outsider, "holder": holder,
            "institution": institution, "registration": registration, "course": course,
            "passed": passed, "qualification": qualification_id}


def _period(app, registration_id, number=1) -> CePeriod:
    with app.app_context():
        period = db.session.scalar(sa.select(CePeriod).where(
            CePeriod.registration_id == registration_id, CePeriod.number == number))
        db.session.expunge(period)
        return period


def _actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


# Registration ------------------------------------------------------------------------------

def test_the_holder_sees_the_period_window_hours_and_shortfall(app, world):
    period = _period(app, world["registration"])
    assert period.starts_on == world["passed"]
    assert period.ends_on == world["passed"].replace(year=world["passed"].year + 3) \
        - timedelta(days=1)
    with freeze_time(datetime.combine(world["passed"] + timedelta(days=60),
                                      datetime.min.time(), UTC)):
        page = logged_in(app, world["holder"]).get("/account/ce").get_data(as_text=True)
    assert "社会工作伦理专题" in page and "城市社工学院" in page
    assert ">72<" in page and ">36<" in page  # required, credited
    assert "text-danger\">36<" in page  # the shortfall
    assert "申请续期" not in page.split("本期计入")[0].split("</dl>")[1]  # not in the window
    assert "续期申请自" in page


def test_registration_is_refused_a_day_after_the_limit(app, admin):  # noqa: F811
    qualification_id, holder = _achieved(app, admin)
    passed = _passed_on(app, qualification_id)
    last = passed.replace(year=passed.year + 1)
    with app.app_context():
        with pytest.raises(ServiceError, match="已超过期限"):
            ce_registrations.register_issued(db.session.get(User, holder), qualification_id,
                                             last + timedelta(days=1))
        db.session.rollback()
    _register(app, holder, qualification_id, last)  # the last day is in time
    with app.app_context(), pytest.raises(ServiceError, match="已经登记过"):
        ce_registrations.register_issued(db.session.get(User, holder), qualification_id, last)


def test_registering_from_the_page_and_nobody_registers_anothers_qualification(app, admin):  # noqa: F811
    qualification_id, holder = _achieved(app, admin)
    _other_q, other = _achieved(app, admin)
    passed = _passed_on(app, qualification_id)
    with freeze_time(datetime.combine(passed + timedelta(days=10), datetime.min.time(), UTC)):
        stranger = logged_in(app, other)
        stranger.post(f"/account/ce/qualifications/{qualification_id}/register")
        owner = logged_in(app, holder)
        assert "登记截止" in owner.get("/account/ce").get_data(as_text=True)
        response = owner.post(f"/account/ce/qualifications/{qualification_id}/register",
                              follow_redirects=True)
    assert "登记成功" in response.get_data(as_text=True)
    with app.app_context():
        rows = db.session.execute(sa.select(CeRegistration.user_id)).scalars().all()
    assert rows == [holder]


def test_a_declared_qualification_is_verified_by_an_administrator(app, admin):  # noqa: F811
    from exam_portal.services.platform.clock import today_local

    holder = make_user(app, email="declarer@example.com")
    other = make_user(app, email="declarer-b@example.com")
    client = logged_in(app, holder)
    response = client.post("/account/ce/declare", data={
        "level": "INTERMEDIATE", "passed_on": (today_local() - timedelta(days=30)).isoformat(),
        "certificate_number": "2025ZJ0001",
        "document": (io.BytesIO(evidence_files.pdf("Certificate")), "证书.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        registration = db.session.scalars(sa.select(CeRegistration)).one()
        assert registration.status.value == "PENDING" and not registration.periods
        registration_id = registration.id
    assert client.get(f"/account/ce/registrations/{registration_id}/document").status_code == 200
    assert logged_in(app, other).get(
        f"/account/ce/registrations/{registration_id}/document").status_code == 404
    admin_client = logged_in(app, admin)
    assert "2025ZJ0001" in admin_client.get("/admin/ce").get_data(as_text=True)
    assert admin_client.get(
        f"/admin/ce/registrations/{registration_id}/document").status_code == 200
    refused = admin_client.post(f"/admin/ce/registrations/{registration_id}/decide",
                                data={"action": "reject", "reason": ""}, follow_redirects=True)
    assert "驳回须填写原因" in refused.get_data(as_text=True)
    admin_client.post(f"/admin/ce/registrations/{registration_id}/decide",
                      data={"action": "approve"})
    with app.app_context():
        registration = db.session.get(CeRegistration, registration_id)
        assert registration.status.value == "ACTIVE" and len(registration.periods) == 1
    assert {"ce.declared", "ce.document_viewed", "ce.declaration_verified"} <= set(
        _actions(app))


# Courses and completions -------------------------------------------------------------------

def test_a_completion_is_recorded_once_per_person_and_course(app, world):
    trainer = logged_in(app, world["trainer"])
    with app.app_context():
        email = db.session.get(User, world["holder"]).email
    url = f"/ce/courses/{world['course']}"
    again = trainer.post(f"{url}/completions", data={"email": email})
    assert again.status_code == 422 and "每人每门课程只记录一次" in again.get_data(as_text=True)
    unknown = trainer.post(f"{url}/completions", data={"email": "nobody@example.com"})
    assert "没有使用这个邮箱的考生账户" in unknown.get_data(as_text=True)
    late = trainer.post(f"{url}/completions", data={"email": email,
                                                    "completed_on": "2099-01-01"})
    assert late.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CeCompletion.id))) == 1


def test_a_trainer_creates_courses_only_for_their_institution(app, world):
    trainer = logged_in(app, world["trainer"])
    form = {"institution": world["institution"], "title": "危机干预", "hours": "7.5",
            "category": "PRACTICE", "delivery": "IN_PERSON", "starts_on": "2026-05-01",
            "ends_on": "2026-05-02"}
    assert trainer.post("/ce/courses/new", data=form).status_code == 302
    bad = trainer.post("/ce/courses/new", data={**form, "hours": "7.25"})
    assert "半小时" in bad.get_data(as_text=True)
    outsider = logged_in(app, world["outsider"])
    assert outsider.get("/ce/courses/new").status_code == 404  # no institution of theirs
    assert outsider.post("/ce/courses/new", data=form).status_code == 404
    assert outsider.get(f"/ce/courses/{world['course']}").status_code == 404
    assert "社会工作伦理专题" not in outsider.get("/ce/courses").get_data(as_text=True)
    assert outsider.post(f"/ce/courses/{world['course']}/completions",
                         data={"email": "x@example.com"}).status_code == 404
    with app.app_context():
        hours = db.session.scalar(sa.select(CeCourse.half_hours).where(
            CeCourse.title == "危机干预"))
    assert hours == 15
    assert "危机干预" in logged_in(app, world["admin"]).get("/ce/courses").get_data(
        as_text=True)


def test_an_attendance_sheet_records_all_rows_or_none(app, world):
    a = make_user(app, email="att-a@example.com")
    b = make_user(app, email="att-b@example.com")
    assert a and b
    trainer = logged_in(app, world["trainer"])
    url = f"/ce/courses/{world['course']}/import"
    day = (world["passed"] + timedelta(days=40)).isoformat()
    bad = f"邮箱,完成日期\natt-a@example.com,{day}\nnobody@example.com,{day}\n".encode()
    response = trainer.post(url, data={"file": (io.BytesIO(bad), "签到.csv")},
                            content_type="multipart/form-data")
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "第 3 行" in text and "未导入任何记录" in text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CeCompletion.id))) == 1
    good = f"\ufeffemail,date\nATT-A@example.com,{day}\natt-b@example.com,\n".encode()
    response = trainer.post(url, data={"file": (io.BytesIO(good), "签到.csv")},
                            content_type="multipart/form-data", follow_redirects=True)
    assert "已导入 2 条完成记录" in response.get_data(as_text=True)
    repeat = trainer.post(url, data={"file": (io.BytesIO(good), "签到.csv")},
                          content_type="multipart/form-data")
    assert repeat.status_code == 422 and "只记录一次" in repeat.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CeCompletion.id))) == 3
    assert "ce.attendance_imported" in _actions(app)


# Renewal ---------------------------------------------------------------------------------

def _in_window(app, world) -> datetime:
    period = _period(app, world["registration"])
    return datetime.combine(period.ends_on - timedelta(days=10), datetime.min.time(), UTC)


def _top_up(app, world, hours="36") -> None:
    """A second course whose completion brings A to exactly 72 hours."""
    course = _course(app, world["institution"], world["trainer"], hours=hours,
                     starts=world["passed"], ends=world["passed"] + timedelta(days=900),
                     title="社区治理实务")
    _complete(app, course, world["holder"], world["trainer"],
              world["passed"] + timedelta(days=800))


def test_a_holder_applies_in_the_window_and_an_administrator_approves(app, world):
    url = f"/account/ce/registrations/{world['registration']}/renewal"
    with freeze_time(_in_window(app, world)):
        holder = logged_in(app, world["holder"])
        short = holder.post(url, follow_redirects=True).get_data(as_text=True)
        assert "学时不足" in short and "还差 36" in short
        _top_up(app, world)
        assert "续期申请已提交" in holder.post(url, follow_redirects=True).get_data(
            as_text=True)
        assert "已经申请过续期" in holder.post(url, follow_redirects=True).get_data(
            as_text=True)
        admin_client = logged_in(app, world["admin"])
        assert "社区治理实务" not in admin_client.get("/admin/ce").get_data(as_text=True)
        with app.app_context():
            renewal_id = db.session.scalar(sa.select(CeRenewal.id))
        admin_client.post(f"/admin/ce/renewals/{renewal_id}/decide", data={"action": "approve"})
        again = admin_client.post(f"/admin/ce/renewals/{renewal_id}/decide",
                                  data={"action": "reject", "reason": "重复"},
                                  follow_redirects=True)
        assert "已经处理过" in again.get_data(as_text=True)
    first = _period(app, world["registration"])
    second = _period(app, world["registration"], 2)
    assert second.starts_on == first.ends_on + timedelta(days=1)
    with app.app_context():
        renewal = db.session.get(CeRenewal, renewal_id)
        assert renewal.status is RenewalStatus.APPROVED and renewal.new_period_id == second.id
        assert renewal.hours_credited == 72
        notices = [notifications.render(n).title for n in db.session.scalars(
            notifications.list_query(world["holder"]))]
    assert any("续期已批准" in title for title in notices)
    assert {"ce.renewal_applied", "ce.renewal_approved"} <= set(_actions(app))


def test_a_rejection_says_why_and_the_holder_may_apply_again(app, world):
    _top_up(app, world)
    when = _in_window(app, world)
    with freeze_time(when):
        with app.app_context():
            registration = db.session.get(CeRegistration, world["registration"])
            holder, admin_user = (db.session.get(User, world[k]) for k in ("holder", "admin"))
            renewal = ce_registrations.apply_for_renewal(registration, holder,
                                                         today=when.date(), now=when)
            with pytest.raises(ServiceError, match="驳回须填写原因"):
                ce_registrations.decide_renewal(renewal, False, " ", admin_user, now=when)
            ce_registrations.decide_renewal(renewal, False, "课程证明不清晰", admin_user,
                                            now=when)
            db.session.commit()
        page = logged_in(app, world["holder"]).get("/account/ce").get_data(as_text=True)
        assert "课程证明不清晰" in page and "申请续期" in page
        with app.app_context():
            notices = [notifications.render(n).body for n in db.session.scalars(
                notifications.list_query(world["holder"]))]
        assert any("课程证明不清晰" in body for body in notices)


def test_the_operator_may_let_the_rule_approve(make_app, app, world):
    _top_up(app, world)
    auto = make_app(CE_RENEWAL_AUTO_APPROVE=True)
    with freeze_time(_in_window(app, world)):
        response = logged_in(auto, world["holder"]).post(
            f"/account/ce/registrations/{world['registration']}/renewal", follow_redirects=True)
    assert "续期已批准" in response.get_data(as_text=True)
    with auto.app_context():
        renewal = db.session.scalars(sa.select(CeRenewal)).one()
        assert renewal.is_automatic and renewal.decided_by_id is None
    assert _period(auto, world["registration"], 2).number == 2


def _race(app, work, n=4) -> tuple[list, list]:
    barrier, done, errors = threading.Barrier(n), [], []

    def run():
        with app.app_context(), app.test_request_context(method="POST"):
            try:
                barrier.wait(timeout=10)
                done.append(work())
                db.session.commit()
            except ServiceError as error:
                db.session.rollback()
                errors.append(error)
            except BaseException as error:  # noqa: BLE001 - the test reads it
                db.session.rollback()
                errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return done, errors


def test_two_administrators_approving_at_once_open_one_new_period(app, world, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite serialises writers: the race needs two server connections")
    _top_up(app, world)
    second_admin = make_user(app, Role.ADMIN, email="ce-admin-2@example.com")
    when = _in_window(app, world)
    with app.app_context():
        renewal = ce_registrations.apply_for_renewal(
            db.session.get(CeRegistration, world["registration"]),
            db.session.get(User, world["holder"]), today=when.date(), now=when)
        db.session.commit()
        renewal_id = renewal.id
    admins = iter([world["admin"], second_admin, world["admin"], second_admin])
    lock = threading.Lock()

    def approve():
        with lock:
            actor = next(admins)
        return ce_registrations.decide_renewal(db.session.get(CeRenewal, renewal_id), True, "",
                                               db.session.get(User, actor), now=when).id

    done, errors = _race(app, approve)
    assert len(done) == 1, errors
    assert all(isinstance(e, ServiceError) and "已经处理过" in str(e) for e in errors), errors
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CePeriod.id)).where(
            CePeriod.registration_id == world["registration"])) == 2
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "ce.renewal_approved")) == 1


def test_two_recordings_of_one_completion_at_once_make_one(app, world, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite serialises writers: the race needs two server connections")
    person = make_user(app, email="racer@example.com")

    def record():
        return ce_courses.record_completion(
            db.session.get(CeCourse, world["course"]), "racer@example.com",
            None, db.session.get(User, world["trainer"])).id

    done, errors = _race(app, record)
    assert len(done) == 1, errors
    assert all(isinstance(e, ServiceError) and "只记录一次" in str(e) for e in errors), errors
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CeCompletion.id)).where(
            CeCompletion.user_id == person)) == 1


# The transcript -----------------------------------------------------------------------------

def _transcript(app, world) -> CeTranscript:
    period = _period(app, world["registration"])
    holder = logged_in(app, world["holder"])
    response = holder.post(f"/account/ce/periods/{period.id}/transcripts", follow_redirects=True)
    assert "学时证明已开具" in response.get_data(as_text=True)
    with app.app_context():
        transcript = db.session.scalars(sa.select(CeTranscript)).one()
        db.session.expunge(transcript)
        return transcript


def test_the_transcript_is_signed_and_verified_on_the_public_page(app, world):
    transcript = _transcript(app, world)
    assert transcript.number.startswith("CE-") and transcript.key_id == "test-1"
    record = json.loads(transcript.payload)
    assert record["kind"] == "CE_TRANSCRIPT" and record["hours"] == {
        "required": "72", "credited": "36"}
    assert [c["title"] for c in record["courses"]] == ["社会工作伦理专题"]
    assert "*" in record["holder"]["id"]
    holder = logged_in(app, world["holder"])
    pdf = holder.get(f"/account/ce/transcripts/{transcript.id}/transcript.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    anyone = app.test_client()
    page = anyone.get(f"/verify?n={transcript.number}&c={transcript.verification_code}")
    text = page.get_data(as_text=True)
    assert "真实有效" in text and "社会工作伦理专题" in text
    wrong = anyone.get(f"/verify?n={transcript.number}&c=wrong").get_data(as_text=True)
    assert "没有找到" in wrong and "社会工作伦理专题" not in wrong
    with app.app_context():  # a record edited behind the portal fails its signature
        stored = db.session.get(CeTranscript, transcript.id)
        stored.payload = stored.payload.replace('"credited":"36"', '"credited":"72"')
        db.session.commit()
    edited = anyone.get(f"/verify?n={transcript.number}&c={transcript.verification_code}")
    assert "未通过签名校验" in edited.get_data(as_text=True)


def test_the_transcript_verifies_offline_like_a_certificate(app, world, tmp_path):
    transcript = _transcript(app, world)
    response = logged_in(app, world["holder"]).get(
        f"/account/ce/transcripts/{transcript.id}/transcript.jwt")
    assert response.status_code == 200 and response.mimetype == "application/jwt"
    keys = offline.parse_jwk_set(app.test_client().get(KEYS_URL).data)
    result = offline.verify(response.get_data(as_text=True), keys, now=datetime.now(UTC))
    assert result.is_valid and result.key_id == "test-1"
    assert result.payload["credentialSubject"]["licenseNumber"] == transcript.number
    assert result.payload["certificateRecord"]["courses"][0]["hours"] == "36"
    (tmp_path / "t.jwt").write_bytes(response.data)
    (tmp_path / "keys.json").write_bytes(app.test_client().get(KEYS_URL).data)
    stranger = _offline_app(CERT_SIGNING_KEYS=f"other:{signing.new_key_seed()}")
    alone = stranger.test_cli_runner().invoke(args=[
        "certificates", "verify", str(tmp_path / "t.jwt"), "--keys", str(tmp_path / "keys.json")])
    assert alone.exit_code == 0, alone.output
    assert transcript.number in alone.output and "VALID" in alone.output
    header, payload, signature = response.get_data(as_text=True).split(".")
    claims = json.loads(signing.from_b64url(payload))
    claims["certificateRecord"]["hours"]["credited"] = "90"
    (tmp_path / "forged.jwt").write_text(
        f"{header}.{signing.b64url(json.dumps(claims).encode())}.{signature}")
    forged = stranger.test_cli_runner().invoke(args=[
        "certificates", "verify", str(tmp_path / "forged.jwt"), "--keys",
        str(tmp_path / "keys.json")])
    assert forged.exit_code == 1 and "INVALID" in forged.output


# Who sees what ---------------------------------------------------------------------------

def test_a_holder_sees_only_their_own_registration_and_transcript(app, world, admin):  # noqa: F811
    transcript = _transcript(app, world)
    period = _period(app, world["registration"])
    _q, other = _achieved(app, admin)
    stranger = logged_in(app, other)
    page = stranger.get("/account/ce").get_data(as_text=True)
    assert "社会工作伦理专题" not in page and transcript.number not in page
    for url in (f"/account/ce/transcripts/{transcript.id}/transcript.pdf",
                f"/account/ce/transcripts/{transcript.id}/transcript.jwt",
                f"/account/ce/registrations/{world['registration']}/document"):
        assert stranger.get(url).status_code == 404, url
    for url in (f"/account/ce/periods/{period.id}/transcripts",
                f"/account/ce/registrations/{world['registration']}/renewal"):
        assert stranger.post(url).status_code == 404, url
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CeTranscript.id))) == 1
        assert db.session.scalar(sa.select(sa.func.count(CeRenewal.id))) == 0


ROUTES = [  # (method, url template, who may: candidate / trainer / admin)
    ("GET", "/account/ce", "C"), ("POST", "/account/ce/declare", "C"),
    ("GET", "/ce/courses", "TA"), ("GET", "/ce/courses/new", "TA"),
    ("GET", "/ce/courses/{course}", "TA"), ("GET", "/admin/ce", "A"),
    ("POST", "/admin/ce/renewals/1/decide", "A"),
    ("POST", "/admin/ce/registrations/{registration}/decide", "A"),
    ("GET", "/admin/ce/registrations/{registration}/document", "A"),
]


def test_every_route_checks_the_role(app, world):
    clients = {"C": logged_in(app, world["holder"]), "T": logged_in(app, world["trainer"]),
               "A": logged_in(app, world["admin"])}
    for method, template, allowed in ROUTES:
        url = template.format(course=world["course"], registration=world["registration"])
        anonymous = app.test_client().open(url, method=method)
        assert anonymous.status_code == 302 and "/auth/login" in anonymous.location, url
        for role, client in clients.items():
            status = client.open(url, method=method).status_code
            if role in allowed:
                assert status != 403, (url, role)
            else:
                assert status == 403, (url, role, status)


# Notices ------------------------------------------------------------------------------------

def test_shortfall_and_window_notices_are_sent_once_per_period_and_threshold(app, world):
    period = _period(app, world["registration"])

    def sweep(day: date) -> list[str]:
        moment = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=4)
        with app.app_context():
            notifications.sweep(moment)
            db.session.commit()
            return [n.kind for n in db.session.scalars(
                notifications.list_query(world["holder"]))]

    from question_bank.dates import add_months

    end = period.ends_on + timedelta(days=1)
    assert sweep(add_months(end, -6) - timedelta(days=1)) == []
    assert sweep(add_months(end, -6)) == ["ce_shortfall"]
    assert sweep(add_months(end, -6) + timedelta(days=5)) == ["ce_shortfall"]  # not again
    kinds = sweep(add_months(end, -3))
    assert sorted(kinds) == ["ce_renewal_window_open", "ce_shortfall", "ce_shortfall"]
    assert sorted(sweep(period.ends_on)) == sorted(kinds)
