"""A portal with something on every page, and the pages each role visits.

The demo seed (accounts, item bank, an exam session open for registration, one whose
online exam is under way, a training programme) plus what the seed leaves out: a past
session whose results are published, with a certificate; a case-analysis paper handed
in and waiting for a marker; a practice paper half answered; a bookmark; a training
certificate; a registration awaiting its exam fee, half paid; a seat at a venue.
Built once per test module on its own database, so the demo bank never mixes with the
small banks other browser tests draw papers from.
"""

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from exam_portal.commands import demo
from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.attempts import Attempt, AttemptItem
from exam_portal.models.bank import Item
from exam_portal.models.certificates import Certificate
from exam_portal.models.contests import Contest
from exam_portal.models.evidence import EvidenceKind
from exam_portal.models.forms import ExamForm
from exam_portal.models.sittings import (
    ExamSession,
    Qualification,
    Registration,
    ResultSource,
    SessionMode,
    VerificationMode,
)
from exam_portal.models.training import TrainingProgramme
from exam_portal.models.types import utcnow
from exam_portal.services.accounts import photos
from exam_portal.services.certification import certificates, training_certificates
from exam_portal.services.delivery import (
    attempts,
    hand_in,
    item_notes,
    learning,
    pages,
    responses,
)
from exam_portal.services.exam_sessions import (
    evidence,
    exam_marking,
    online_exams,
    payments,
    registration_review,
    results,
    scores,
    seating,
    sittings,
)
from exam_portal.services.item_bank import authoring, error_reports
from question_bank import seat_sheet
from question_bank.items import ItemContent, ItemType
from question_bank.levels import Level
from question_bank.practice import Mode
from question_bank.subjects import Subject

from .. import evidence_files

CANDIDATE = "assistant@demo.example.com"
APPLICANT = "regional@demo.example.com"  # registers for 高级 with every proof
EXAMINEE = "intermediate@demo.example.com"
TRAINER = "trainer1@demo.example.com"
ADMIN = "admin@demo.example.com"
PASSWORDS = {CANDIDATE: demo.CANDIDATE_PASSWORD, EXAMINEE: demo.CANDIDATE_PASSWORD,
             TRAINER: demo.TRAINER_PASSWORD, ADMIN: demo.ADMIN_PASSWORD}
PAST_SESSION_NAME = "社会工作者职业资格考试（已发布成绩）"
BANK = demo.DEMO_BANK_SYLLABUS  # the version the tour's papers are drawn against
CASE_ANSWER = "先评估服务对象的需求，再链接社区资源，并与家属共同制定服务计划。"


@dataclass
class Tour:
    """Ids of what the pages show."""

    ids: dict = field(default_factory=dict)
    verify_query: str = ""


def _user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _session_named(name: str) -> ExamSession:
    return db.session.scalar(sa.select(ExamSession).where(ExamSession.name == name))


def build(app) -> Tour:
    """Seed the demo and the rest; return the ids the pages need."""
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    tour = Tour()
    with app.app_context():
        now = utcnow()
        admin, candidate, examinee = _user(ADMIN), _user(CANDIDATE), _user(EXAMINEE)
        trainer = _user(TRAINER)
        tour.ids.update(_published_session(admin, candidate, now))
        tour.ids.update(_marked_exam(examinee, trainer, now))
        tour.ids.update(_candidate_practice(candidate, now))
        tour.ids.update(_notes_and_reports(candidate, trainer, tour.ids["review"], now))
        tour.ids.update(_evidence(examinee, _user(APPLICANT), now))
        programme = db.session.scalar(sa.select(TrainingProgramme).where(
            TrainingProgramme.name == demo.DEMO_PROGRAMME_NAME))
        training_certificates.issue_for_programme(programme, examinee, admin, now=now)
        tour.ids["programme"] = programme.id
        live = _session_named(demo.DEMO_EXAM_NAME)
        tour.ids["live_session"] = live.id
        tour.ids["live_form"] = db.session.scalar(sa.select(ExamForm.id).where(
            ExamForm.session_id == live.id, ExamForm.subject == Subject.PRAC_MID))
        tour.ids["ticket"] = db.session.scalar(sa.select(Registration.id).where(
            Registration.session_id == live.id, Registration.candidate_id == candidate.id))
        tour.ids.update(_fees_and_seats(admin, candidate, tour.ids["score_report"], now))
        tour.ids["item"] = db.session.scalar(sa.select(sa.func.min(Item.id)))
        tour.ids["ce_course"] = db.session.scalar(sa.text("SELECT min(id) FROM ce_courses"))
        tour.ids["old_item"] = _items_of_2018(trainer)
        tour.ids["admin"], tour.ids["candidate"] = admin.id, candidate.id
        tour.ids["contest"] = db.session.scalar(sa.select(Contest.id).where(
            Contest.ranked_at.is_not(None)))
        from exam_portal.models.classes import TrainingClass

        demo_class = db.session.scalar(sa.select(TrainingClass).where(
            TrainingClass.name == demo.DEMO_CLASS_NAME))
        tour.ids["class"], tour.ids["institution"] = demo_class.id, demo_class.institution_id
        tour.ids.update(_class_marking())
        db.session.commit()
        certificate = db.session.get(Certificate, tour.ids["certificate"])
        tour.verify_query = f"n={certificate.number}&c={certificate.verification_code}"
        db.session.remove()
    return tour


def _class_marking() -> dict:
    """The demo's 社会工作师 class (trainer1@ runs it): one answer marked, one waiting."""
    from exam_portal.models.classes import TrainingClass
    from exam_portal.services.exam_sessions import class_marking

    class_id = db.session.scalar(sa.select(TrainingClass.id).where(
        TrainingClass.name == demo.DEMO_MARKING_CLASS_NAME))
    _count, [waiting] = class_marking.waiting(class_id)
    return {"marking_class": class_id, "waiting_attempt": waiting.attempt_id,
            "waiting_position": waiting.position}


def _published_session(admin: User, candidate: User, now) -> dict:
    """Last year's session: the candidate passed 助理, results published, certificate
    issued; the results computed by a background job (for the jobs pages)."""
    exam = now - timedelta(days=90)
    session = sittings.create_session(sittings.SessionFields(
        year=exam.year, name=PAST_SESSION_NAME, levels=(Level.ASSISTANT, Level.INTERMEDIATE),
        registration_opens_at=exam - timedelta(days=60),
        registration_closes_at=exam - timedelta(days=30),
        exam_opens_at=exam, exam_closes_at=exam + timedelta(days=1),
        mode=SessionMode.PAPER, syllabus_version="2018",
        law_cutoff=exam.date().replace(month=1, day=1) - timedelta(days=1),
        experience_cutoff=exam.date().replace(month=12, day=31),
        verification_mode=VerificationMode.BEFORE_EXAM), admin)
    registration = sittings.register(candidate, session, Level.ASSISTANT, "11", declared=True,
                                     now=exam - timedelta(days=45))
    registration_review.review([registration], verify=True, reason="", actor=admin,
                    now=exam - timedelta(days=40))
    for subject, score in ((Subject.COMP_JR, "72"), (Subject.PRAC_JR, "65.5")):
        scores.record_score(registration, subject, Decimal(score), source=ResultSource.PAPER,
                             now=session.exam_closes_at)
    db.session.commit()
    job = results.start_computing(session, admin)  # the inline runner: done on return
    session = db.session.get(ExamSession, session.id)
    results.publish(session, admin, now=now - timedelta(days=30))
    qualification = db.session.scalars(sa.select(Qualification).where(
        Qualification.session_id == session.id)).one()
    certificate = certificates.issue_for_qualification(qualification, admin,
                                                       now=now - timedelta(days=20))
    db.session.commit()
    return {"past_session": session.id, "score_report": registration.id,
            "certificate": certificate.id, "job": job.id}


def _fees_and_seats(admin: User, candidate: User, past_registration_id: int, now) -> dict:
    """The candidate registered for 助理 in the demo session open for registration
    (a fee of 70 yuan a subject), verified, 70 of 140 yuan paid by hand; a seat in last
    year's paper session."""
    session = _session_named(demo.DEMO_SESSION_NAME)
    registration = sittings.register(candidate, session, Level.ASSISTANT, "11",
                                     declared=True, now=now)
    registration_review.review([registration], verify=True, reason="", actor=admin, now=now)
    payments.record_payment(registration, amount_fen=7000, reference="WX4200000001DEMO0001",
                            paid_at=None, note="现场缴费（演示）", actor=admin, now=now)
    past = db.session.get(Registration, past_registration_id)
    seating.record(past.session, [seat_sheet.SeatRow(
        2, past.admission_number, "北京市第一考点（北京社会管理职业学院）",
        "北京市昌平区南口镇燕平路1号", "第012考场", "08")], admin, filename="seats.csv",
        now=now)
    db.session.commit()
    return {"fees_session": session.id, "unpaid": registration.id}


def _marked_exam(examinee: User, trainer: User, now) -> dict:
    """The 社会工作师 candidate sat 实务（中级） in the demo exam under way and handed it
    in; the trainer has taken its first case analysis to mark."""
    session = _session_named(demo.DEMO_EXAM_NAME)
    registration = db.session.scalar(sa.select(Registration).where(
        Registration.session_id == session.id, Registration.candidate_id == examinee.id))
    attempt = online_exams.start(registration, Subject.PRAC_MID, examinee,
                                 now=now - timedelta(minutes=50))
    device = pages.open_attempt(attempt, now=now - timedelta(minutes=50))["device"]
    positions = db.session.scalars(sa.select(AttemptItem.position).where(
        AttemptItem.attempt_id == attempt.id).order_by(AttemptItem.position)).all()
    for seq, position in enumerate(positions, start=1):
        responses.save_response(attempt.id, examinee.id, position,
                               {"seq": seq, "device": device, "text": CASE_ANSWER},
                               now=now - timedelta(minutes=40))
    hand_in.submit_attempt(attempt, now=now - timedelta(minutes=30))
    db.session.commit()
    mark = exam_marking.next_mark(session, trainer, now=now)
    db.session.commit()
    return {"live_session": session.id, "mark": mark.id, "exam_attempt": attempt.id}


def _candidate_practice(candidate: User, now) -> dict:
    """A mock paper of 实务（初级） a fifth answered (one flagged); a ten-item practice set
    of 综合能力（初级） with four answers checked; one of 实务（初级） handed in (its review);
    a bookmark; then an exam sitting of 综合能力（初级） just begun. The demo's mock papers
    give a history and a wrong-answer book."""
    mock = attempts.start_attempt(candidate.id, Subject.PRAC_JR, Mode.MOCK,
                                  now=now - timedelta(minutes=20), syllabus_version=BANK)
    _answer(mock, range(1, 21), now - timedelta(minutes=15), flagged={3})
    checked = attempts.start_attempt(candidate.id, Subject.COMP_JR, Mode.RANDOM,
                                     now=now - timedelta(minutes=12), count=10,
                                     syllabus_version=BANK)
    _answer(checked, range(1, 7), now - timedelta(minutes=11), flagged={5})
    for position in range(1, 5):
        responses.check_response(checked, position, now=now - timedelta(minutes=10))
    reviewed = attempts.start_attempt(candidate.id, Subject.PRAC_JR, Mode.RANDOM,
                                      now=now - timedelta(minutes=9), count=10,
                                      syllabus_version=BANK)
    _answer(reviewed, range(1, 10), now - timedelta(minutes=8))
    hand_in.submit_attempt(reviewed, now=now - timedelta(minutes=7))
    item = db.session.get(Item, db.session.scalar(sa.select(AttemptItem.item_id).where(
        AttemptItem.attempt_id == reviewed.id, AttemptItem.position == 2)))
    learning.set_bookmark(candidate.id, item, True)
    live = _session_named(demo.DEMO_EXAM_NAME)
    registration = db.session.scalar(sa.select(Registration).where(
        Registration.session_id == live.id, Registration.candidate_id == candidate.id))
    sitting = online_exams.start(registration, Subject.COMP_JR, candidate,
                                 now=now - timedelta(minutes=5))
    db.session.commit()
    return {"mock": mock.id, "checked": checked.id, "review": reviewed.id,
            "sitting": sitting.id}


def _notes_and_reports(candidate: User, trainer: User, attempt_id: int, now) -> dict:
    """On the handed-in practice set: a note, an error report still open, and one the
    trainer has answered."""
    first, second = (db.session.scalar(sa.select(AttemptItem.item_id).where(
        AttemptItem.attempt_id == attempt_id, AttemptItem.position == position))
        for position in (2, 3))
    item_notes.save_note(candidate.id, first, "先评估需求，再制定服务计划。", now=now)
    item_notes.report_error(candidate.id, first, None, "KEY", "答案应为 B：教材第三章写明了。",
                            now=now)
    answered = item_notes.report_error(candidate.id, second, None, "WORDING",
                                       "选项 C 有错别字。", now=now)
    error_reports.resolve(answered, trainer, "ACCEPTED", "已更正，谢谢指正。", now=now)
    db.session.commit()
    return {"noted_item": first}


def _evidence(examinee: User, applicant: User, now) -> dict:
    """Registrations for the demo session open now, under review before the exam: the
    examinee's for 社会工作师 with the degree uploaded (the proof of employment and the
    photo still missing); the applicant's for 高级 (西藏, her certificate's region) with
    the photo, the degree, a proof of her social work and her 社会工作师 certificate."""
    session = _session_named(demo.DEMO_SESSION_NAME)
    mine = sittings.register(examinee, session, Level.INTERMEDIATE, "31", declared=True,
                             now=now - timedelta(minutes=30))
    _attach(mine, examinee, evidence.Target(EvidenceKind.DEGREE),
            evidence_files.pdf("毕业证书", "姓名：王建国", "专业：社会工作（本科）"),
            "本科毕业证书.pdf")
    theirs = sittings.register(applicant, session, Level.SENIOR, "54", declared=True,
                               now=now - timedelta(minutes=20))
    period = applicant.employment_periods[0]
    certificate = next(c for c in applicant.held_certificates if c.level is Level.INTERMEDIATE)
    kinds = EvidenceKind
    for target, data, name in (
            (evidence.Target(kinds.DEGREE),
             evidence_files.pdf("学士学位证书", "姓名：扎西卓玛", "专业：社会学"), "学位证书.pdf"),
            (evidence.Target(kinds.EMPLOYMENT, period_id=period.id),
             evidence_files.jpeg("工作证明", f"兹证明扎西卓玛自 {period.start_on} 起",
                                 f"在{period.employer}从事社会工作。"), "在职证明.jpg"),
            (evidence.Target(kinds.CERTIFICATE, certificate_id=certificate.id),
             evidence_files.png("社会工作者职业资格证书", "级别：社会工作师（中级）",
                                f"取得日期：{certificate.obtained_on}"), "社会工作师证书.png")):
        _attach(theirs, applicant, target, data, name)
    photos.replace(applicant, photos.store(evidence_files.photo()), now=now)
    db.session.commit()
    return {"open_session": session.id, "documents": mine.id, "review": theirs.id}


def _attach(registration, user, target, data, name) -> None:
    checked, problems = evidence.check_document(data, name)
    assert not problems, problems
    evidence.attach(registration.id, user, target, evidence.store(checked))


def _items_of_2018(reviewer: User) -> int:
    """Three items still filed under the 2018 syllabus, written by the second demo
    trainer and approved by *reviewer* (for the relink page); the first one's id."""
    author = _user(demo.DEMO_REVIEWER)
    ids = []
    for number, code in enumerate(("COMP_JR.04.01.01", "COMP_JR.07.04.01",
                                   "COMP_JR.01.02.01"), start=1):
        content = ItemContent(
            subject=Subject.COMP_JR, item_type=ItemType.SINGLE,
            stem=f"按 2018 年版大纲编写的示例题 {number}：社会工作者首先应当（  ）。",
            options=("了解服务对象的需要", "直接提供物质帮助", "转介其他机构", "结束服务"),
            keys=("A",), explanation="先了解需要，再确定服务。", difficulty=2, syllabus=(code,))
        item = authoring.create_item(content, author, syllabus_version="2018")
        authoring.submit_item(item, author)
        authoring.approve_item(item, reviewer, "内容准确")
        ids.append(item.id)
    return ids[0]


def _answer(attempt: Attempt, positions, now, *, flagged=frozenset()) -> None:
    """Save an answer (option A, B, C or D in turn) at each position."""
    device = pages.open_attempt(attempt, now=now)["device"]
    for position in positions:
        responses.save_response(attempt.id, attempt.candidate_id, position,
                               {"seq": position, "device": device,
                                "selected": ["ABCD"[position % 4]],
                                "flagged": position in flagged}, now=now)


@dataclass(frozen=True)
class Stop:
    """A page on the tour: its path, and a name for a second view of one endpoint."""

    path: str
    variant: str = ""
    ready: str | None = None  # a selector the page shows once its script has run
    in_english: bool = False  # the guides show it in English too (<endpoint>-en.png)


def stops(tour: Tour) -> dict[str, list[Stop]]:
    """The pages each role visits: every menu entry and the main detail pages."""
    i = tour.ids
    return {
        "visitor": [
            Stop("/"), Stop("/auth/login"), Stop("/auth/sign-up"), Stop("/auth/sign-up/sent"),
            Stop("/auth/forgot-password"), Stop("/verify"),
            Stop(f"/verify?{tour.verify_query}", "found"),
            Stop("/areas?q=凉山", "found"),
        ],
        "candidate": [
            Stop("/practice/"), Stop(f"/practice/subjects/{Subject.PRAC_JR.value}"),
            Stop(f"/practice/attempts/{i['mock']}", ready="#q-1 .options"),
            Stop(f"/practice/attempts/{i['checked']}", "practice", ready="#q-1 .feedback"),
            Stop(f"/practice/attempts/{i['sitting']}", "exam", ready="#q-1 .options"),
            Stop(f"/practice/attempts/{i['review']}/result"),
            Stop("/practice/attempts"), Stop("/practice/wrong-answers"), Stop("/practice/review"),
            Stop("/practice/mastery?subject=COMP_JR"), Stop("/practice/plan"),
            Stop("/practice/report"), Stop("/contests"),
            Stop(f"/contests/{i['contest']}/report"),
            Stop("/classes"), Stop("/classes/assignments"), Stop("/classes/join"),
            Stop("/practice/bookmarks"), Stop(f"/practice/items/{i['noted_item']}/notes"),
            Stop("/practice/reports"), Stop("/account/eligibility"), Stop("/exams"),
            Stop(f"/exams/registrations/{i['ticket']}/ticket"),
            Stop(f"/exams/registrations/{i['unpaid']}/ticket", "awaiting-payment"),
            Stop(f"/exams/registrations/{i['score_report']}/ticket", "seats"),
            Stop(f"/exams/registrations/{i['score_report']}/results"),
            Stop("/account/certificates"), Stop("/account/profile"), Stop("/account/"),
            Stop("/account/password"), Stop("/notifications/"), Stop("/notifications/settings"),
            Stop("/account/ce"),
        ],
        "examinee": [
            Stop(f"/exams/registrations/{i['documents']}/documents"),
            Stop(f"/practice/attempts/{i['exam_attempt']}/result", "exam-submitted"),
            Stop("/account/certificates", "training"),
            Stop("/account/ce", "registered"),
        ],
        "trainer": [
            Stop("/authoring/items"), Stop(f"/authoring/items/{i['item']}"),
            Stop(f"/authoring/items/{i['item']}/edit", ready="#item-preview"),
            Stop("/authoring/items/new"), Stop("/authoring/import"), Stop("/authoring/relink"),
            Stop("/authoring/reports"),
            Stop(f"/authoring/items/{i['old_item']}", "relink"), Stop("/marking"),
            Stop(f"/marking/marks/{i['mark']}"),
            Stop(f"/marking/sessions/{i['live_session']}/progress"),
            Stop("/trainer/classes"), Stop(f"/trainer/classes/{i['class']}"),
            Stop("/trainer/classes/new"), Stop(f"/trainer/classes/{i['class']}/edit"),
            Stop(f"/trainer/classes/{i['class']}/assignments/new"),
            Stop(f"/trainer/classes/{i['class']}/import"), Stop("/trainer/institutions"),
            Stop(f"/trainer/classes/{i['marking_class']}/dashboard"),
            Stop(f"/trainer/classes/{i['marking_class']}/marking"),
            Stop(f"/trainer/classes/{i['marking_class']}/answers/{i['waiting_attempt']}/"
                 f"{i['waiting_position']}"),
            Stop("/account/", "trainer"), Stop("/notifications/settings", "trainer"),
            Stop("/ce/courses"), Stop("/ce/courses/new"), Stop(f"/ce/courses/{i['ce_course']}"),
        ],
        "admin": [
            Stop("/admin/sessions"), Stop("/admin/sessions/new"),
            Stop(f"/admin/sessions/{i['past_session']}"),
            Stop(f"/admin/sessions/{i['past_session']}/edit"),
            Stop(f"/admin/sessions/{i['past_session']}/registrations"),
            Stop(f"/admin/sessions/{i['open_session']}/registrations/{i['review']}",
                 in_english=True),
            Stop(f"/admin/sessions/{i['past_session']}/results"),
            Stop(f"/admin/sessions/{i['live_session']}/sittings"),
            Stop(f"/admin/sessions/{i['live_session']}/forms"),
            Stop(f"/admin/sessions/{i['live_session']}/forms/COMP_JR/plan"),
            Stop(f"/admin/forms/{i['live_form']}"),
            Stop(f"/admin/forms/{i['live_form']}/analysis"),
            Stop(f"/admin/sessions/{i['past_session']}/senior-reviews"),
            Stop(f"/admin/sessions/{i['past_session']}/scores/import"),
            Stop(f"/admin/sessions/{i['fees_session']}/payments"),
            Stop(f"/admin/sessions/{i['fees_session']}/payments/import"),
            Stop(f"/admin/sessions/{i['fees_session']}/registrations/{i['unpaid']}/payments"),
            Stop(f"/admin/sessions/{i['past_session']}/seats/import"),
            Stop(f"/admin/sessions/{i['fees_session']}/timetable"),
            Stop(f"/admin/sessions/{i['past_session']}/certificates"),
            Stop("/admin/certificates"), Stop(f"/admin/certificates/{i['certificate']}"),
            Stop("/admin/training"), Stop(f"/admin/training/{i['programme']}"),
            Stop(f"/admin/training/{i['programme']}/edit"), Stop("/admin/training/new"),
            Stop("/admin/contests"), Stop("/admin/contests/new"),
            Stop(f"/admin/contests/{i['contest']}"),
            Stop("/admin/institutions"), Stop("/admin/institutions/new"), Stop("/admin/ce"),
            Stop(f"/admin/institutions/{i['institution']}"),
            Stop("/admin/jobs"), Stop(f"/admin/jobs/{i['job']}"),
            Stop("/admin/users"), Stop(f"/admin/users/{i['candidate']}"),
            Stop("/admin/users/new"), Stop("/admin/audit"),
            Stop("/authoring/items", "admin"), Stop("/marking", "admin"),
        ],
    }


LOGINS = {"candidate": CANDIDATE, "examinee": EXAMINEE, "trainer": TRAINER, "admin": ADMIN}


def endpoint_of(app, path: str) -> str:
    """The Flask endpoint that answers *path* (as request.endpoint names it)."""
    adapter = app.url_map.bind("localhost")
    endpoint, _ = adapter.match(re.sub(r"\?.*$", "", path), method="GET")
    return endpoint


def mock_paper(app, user_id: int) -> int:
    """A fresh mock paper of 实务（初级） for the candidate; its attempt id."""
    with app.app_context():
        attempt = attempts.start_attempt(user_id, Subject.PRAC_JR, Mode.MOCK, now=utcnow(),
                                         syllabus_version=BANK)
        db.session.commit()
        return attempt.id


def checked_practice(app, user_id: int) -> int:
    """Ten practice items of 综合能力（初级）: 1 answered right and checked, 2 wrong and
    checked, 3 answered and flagged, 4 flagged, the rest untouched; the attempt id."""
    from exam_portal.models.attempts import Response
    from exam_portal.services.delivery import paper_cache

    with app.app_context():
        now = utcnow()
        attempt = attempts.start_attempt(user_id, Subject.COMP_JR, Mode.RANDOM, now=now,
                                         count=10, syllabus_version=BANK)
        items = {item.position: item for item in paper_cache.attempt_items(attempt.id)}
        for position in (1, 2, 3, 4):
            keys = sorted(paper_cache.content(items[position].item_version_id).keys)
            wrong = sorted(set("ABCD") - set(keys))[:1]
            selected = {1: keys, 2: wrong, 3: keys, 4: []}[position]
            db.session.add(Response(attempt_id=attempt.id, position=position,
                                    selected="".join(selected), is_flagged=position >= 3,
                                    seq=position, saved_at=now))
        db.session.flush()
        for position in (1, 2):
            responses.check_response(attempt, position, now=now)
        db.session.commit()
        return attempt.id
