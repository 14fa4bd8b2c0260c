"""Demo accounts and profiles that show each eligibility outcome, and the demo item bank."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from importlib import resources

import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import EmploymentPeriod, HeldCertificate, Role, User
from exam_portal.models.bank import Item, ItemPool
from exam_portal.services.accounts import accounts, profiles
from exam_portal.services.exam_sessions import registration_review
from exam_portal.services.item_bank import approvals, authoring, importing
from exam_portal.services.platform import audit
from exam_portal.services.platform.clock import LOCAL_ZONE, today_local
from question_bank import syllabus
from question_bank.levels import CertificateMethod, Education, Level
from question_bank.resident_id import check_character
from question_bank.subjects import Subject
from question_bank.workflow import ItemStatus


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    note: str
    exam_author: bool = False


ADMIN_PASSWORD = "Demo-Admin-2026!"  # noqa: S105 - published demo credentials
TRAINER_PASSWORD = "Demo-Trainer-2026!"  # noqa: S105
CANDIDATE_PASSWORD = "Demo-Candidate-2026!"  # noqa: S105

DEMO_LOGINS = (
    DemoLogin("admin", "admin@demo.example.com", ADMIN_PASSWORD, "administrator"),
    DemoLogin("trainer", "trainer1@demo.example.com", TRAINER_PASSWORD, "trainer"),
    DemoLogin("trainer", "trainer2@demo.example.com", TRAINER_PASSWORD, "trainer"),
    DemoLogin("trainer", "examauthor1@demo.example.com", TRAINER_PASSWORD,
              "exam author (secure pool)", exam_author=True),
    DemoLogin("trainer", "examauthor2@demo.example.com", TRAINER_PASSWORD,
              "exam author (secure pool)", exam_author=True),
    DemoLogin("candidate", "assistant@demo.example.com", CANDIDATE_PASSWORD,
              "eligible for 助理社会工作师 only"),
    DemoLogin("candidate", "intermediate@demo.example.com", CANDIDATE_PASSWORD,
              "eligible for 助理 and 社会工作师"),
    DemoLogin("candidate", "none@demo.example.com", CANDIDATE_PASSWORD,
              "eligible for nothing yet (shows the shortfall)"),
    DemoLogin("candidate", "regional@demo.example.com", CANDIDATE_PASSWORD,
              "holds a regional-line 社会工作师 certificate (高级 only in 西藏)"),
)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _demo_id(region: str, birth: date, sequence: int) -> str:
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def _candidate_plans(cutoff: date) -> dict:
    """Profiles chosen relative to the cutoff so each verdict holds when seeded."""
    return {
        "assistant@demo.example.com": {
            "profile": ("李晓雨", _demo_id("110105", date(2002, 3, 14), 128),
                        Education.BACHELOR, "社会工作", True,
                        _years_before(cutoff, 2) - timedelta(days=180), True, "110105"),
            "periods": [],
            "certificates": [],
        },
        "intermediate@demo.example.com": {
            "profile": ("王建国", _demo_id("310104", date(1994, 8, 2), 317), Education.BACHELOR,
                        "社会工作", True, _years_before(cutoff, 8), True, "310104"),
            "periods": [("上海市某社会工作服务中心", _years_before(cutoff, 8) + timedelta(days=30),
                         None, True)],
            "certificates": [(Level.ASSISTANT, _years_before(cutoff, 6), CertificateMethod.EXAM,
                              None)],
        },
        "none@demo.example.com": {
            "profile": ("赵敏", _demo_id("440106", date(2003, 11, 20), 242),
                        Education.HIGH_SCHOOL, "普通高中", False,
                        _years_before(cutoff, 5), True, "440106"),
            "periods": [("广州市某社区居委会", _years_before(cutoff, 3), None, True),
                        ("某物流公司", _years_before(cutoff, 5), _years_before(cutoff, 3)
                         - timedelta(days=1), False)],
            "certificates": [],
        },
        "regional@demo.example.com": {
            "profile": ("扎西卓玛", _demo_id("540102", date(1988, 5, 9), 426),
                        Education.BACHELOR, "社会学", False, _years_before(cutoff, 15),
                        True, "540102"),
            "periods": [("拉萨市某社会工作服务站", _years_before(cutoff, 14), None, True)],
            "certificates": [
                (Level.ASSISTANT, _years_before(cutoff, 11), CertificateMethod.EXAM, "540000"),
                (Level.INTERMEDIATE, _years_before(cutoff, 7), CertificateMethod.EXAM, "540000"),
            ],
        },
    }


def seed() -> int:
    """Create every demo account that does not exist yet; return how many were new."""
    today = today_local()
    cutoff = profiles.eligibility_cutoff(today)
    plans = _candidate_plans(cutoff)
    created = 0
    for login in DEMO_LOGINS:
        if db.session.scalar(sa.select(User.id).where(User.email == login.email)):
            continue
        role = Role(login.role)
        # create_user, not create_staff: that one hashes with no transaction open, and
        # this loop keeps every account in one transaction (a development seed).
        user = accounts.create_user(login.email, login.password, role)
        if role == Role.CANDIDATE:
            _fill_candidate(user, plans[login.email], today)
        else:
            audit.record("admin.create_user", target=user, actor=None,
                         details={"role": role.value})
        user.is_exam_author = login.exam_author
        user.locale = None
        created += 1
    return created


def _fill_candidate(user: User, plan: dict, today: date) -> None:
    name, resident_id, education, major, is_sw, graduated, full_time, region = plan["profile"]
    profiles.save_profile(
        user,
        profiles.ProfileChanges(
            real_name=name, resident_id=resident_id, id_consent=True, education=education,
            major=major, is_social_work_major=is_sw, graduation_date=graduated,
            is_full_time=full_time, region=region,
        ),
        today=today,
    )
    for employer, start, end, is_sw_work in plan["periods"]:
        db.session.add(EmploymentPeriod(user_id=user.id, employer=employer, start_on=start,
                                        end_on=end, is_social_work=is_sw_work))
    for level, obtained, method, region_limit in plan["certificates"]:
        db.session.add(HeldCertificate(user_id=user.id, level=level, obtained_on=obtained,
                                       method=method, region_limit=region_limit))
    db.session.flush()


DEMO_AUTHOR = "trainer1@demo.example.com"
DEMO_REVIEWER = "trainer2@demo.example.com"
DEMO_EXAM_AUTHOR = "examauthor1@demo.example.com"
DEMO_EXAM_REVIEWER = "examauthor2@demo.example.com"
# The syllabus version the shipped demo bank is written against: seeding moves demo
# items seeded under an older version to it, as the shipped files did.
DEMO_BANK_SYLLABUS = "2025"


def seed_bank() -> dict[str, int]:
    """Import the demo item bank (the open pool) as one trainer and approve it as
    another; see _seed_items."""
    return _seed_items("demo_bank", DEMO_AUTHOR, DEMO_REVIEWER, ItemPool.OPEN)


def seed_exam_bank() -> dict[str, int]:
    """Import the demo exam items into the secure pool, as one exam author, approved by
    another: the demo exam session's locked forms are built from them."""
    return _seed_items("demo_exam_bank", DEMO_EXAM_AUTHOR, DEMO_EXAM_REVIEWER, ItemPool.SECURE)


def _seed_items(folder_name: str, author_email: str, reviewer_email: str,
                pool: ItemPool) -> dict[str, int]:
    """Import the files of data/<folder_name> into *pool* and approve what changed.

    It goes through the same services trainers use and touches only the demo bank's own
    items: those this run created, or updated because the shipped bank changed. A demo
    item a trainer is revising (a draft, one under review or sent back) or has retired
    is left as it is, and so is everything trainers wrote themselves. Running it again
    changes nothing.
    """
    author = accounts.find_by_email(author_email)
    reviewer = accounts.find_by_email(reviewer_email)
    totals = {"create": 0, "update": 0, "unchanged": 0, "approved": 0, "kept": 0}
    folder = resources.files("question_bank") / "data" / folder_name
    entries = sorted(folder.iterdir(), key=lambda path: path.name) if folder.is_dir() else []
    written: list[str] = []
    for entry in entries:
        if not entry.name.endswith(".json"):
            continue
        records = importing.read_file(entry.name, entry.read_bytes(), max_items=None)
        plan, kept = _without_work_in_progress(
            importing.plan_import(records, DEMO_BANK_SYLLABUS, author=author))
        totals["kept"] += kept
        if plan.errors:
            first = plan.errors[0]
            raise RuntimeError(f"{folder_name} {entry.name} item {first.record.location}: "
                               + "; ".join(problem.render() for problem in first.problems))
        summary = importing.apply_import(plan, author, filename=entry.name, pool=pool)
        for action in ("create", "update", "unchanged"):
            totals[action] += summary[action]
        written += [row.record.external_id for row in plan.rows
                    if row.action in (importing.Action.CREATE, importing.Action.UPDATE)]
    if not written:
        return totals
    items = db.session.scalars(sa.select(Item).where(
        Item.external_id.in_(written), Item.status.in_((ItemStatus.DRAFT, ItemStatus.REVIEW)))
        .order_by(Item.id)).all()
    authoring.submit_items([item.id for item in items if item.status is ItemStatus.DRAFT],
                           author)
    approved, _ = approvals.approve_items([item.id for item in items], reviewer,
                                          "演示题库：内容与解析已核对。")
    totals["approved"] = approved
    return totals


def _without_work_in_progress(plan: importing.ImportPlan) -> tuple[importing.ImportPlan, int]:
    """The plan without the demo items trainers have taken over: one being revised (the
    import would overwrite the draft in place, and the seed approve it) or withdrawn
    (the import refuses a retired item)."""
    rows = [row for row in plan.rows if row.item is None or row.item.status is
            ItemStatus.PUBLISHED or row.action is importing.Action.UNCHANGED]
    return importing.ImportPlan(rows), len(plan.rows) - len(rows)


DEMO_SESSION_NAME = "社会工作者职业资格考试（演示批次）"


DEMO_FEE_FEN = 7000  # 70 yuan a subject, a common provincial fee


def seed_session(now: datetime) -> bool:
    """An exam session open for registration now, with the exam two months on and a fee
    of 70 yuan a subject payable for 40 days, unless a demo session exists; return
    whether one was created."""
    from exam_portal.models.sittings import ExamSession, SessionMode, VerificationMode
    from exam_portal.services.exam_sessions import payments, sittings

    if db.session.scalar(sa.select(ExamSession.id).where(
            ExamSession.name == DEMO_SESSION_NAME)):
        return False
    admin = db.session.scalar(sa.select(User).where(User.email == "admin@demo.example.com"))
    exam = now + timedelta(days=60)
    session = sittings.create_session(sittings.SessionFields(
        year=exam.astimezone(LOCAL_ZONE).year, name=DEMO_SESSION_NAME,
        levels=(Level.ASSISTANT, Level.INTERMEDIATE, Level.SENIOR),
        registration_opens_at=now - timedelta(days=1),
        registration_closes_at=now + timedelta(days=30),
        exam_opens_at=exam, exam_closes_at=exam + timedelta(days=1),
        mode=SessionMode.ONLINE,
        syllabus_version=syllabus.version_for_year(exam.astimezone(LOCAL_ZONE).year),
        law_cutoff=date(exam.year - 1, 12, 31), experience_cutoff=date(exam.year, 12, 31),
        verification_mode=VerificationMode.BEFORE_EXAM), admin)
    # Separate lines for designated areas, as published for 2025: a province and, below
    # the province, a prefecture (a line covers every area inside its own).
    for area in DEMO_DESIGNATED_AREAS:
        for subject, line in DEMO_REGIONAL_LINES.items():
            sittings.set_pass_line(session, subject, area, line, admin)
    # Payment closes at the end of the fortieth day (Beijing time).
    deadline = (now + timedelta(days=40)).astimezone(LOCAL_ZONE).replace(
        hour=23, minute=59, second=0, microsecond=0)
    payments.set_fees(session, fee_fen=DEMO_FEE_FEN, deadline=deadline, actor=admin, now=now)
    return True


DEMO_DESIGNATED_AREAS = ("540000", "513400")  # 西藏自治区, 四川省凉山彝族自治州
DEMO_REGIONAL_LINES = {Subject.COMP_JR: Decimal(53), Subject.PRAC_JR: Decimal(53),
                       Subject.COMP_MID: Decimal(58), Subject.LAW_MID: Decimal(58),
                       Subject.PRAC_MID: Decimal(58)}

DEMO_EXAM_NAME = "社会工作者职业资格考试（演示：网上考试进行中）"


def seed_exam_in_progress(now: datetime) -> bool:
    """An online session whose exam is open now (for 30 days), with the 助理 and
    社会工作师 demo candidates registered and verified, so that sitting a paper and then
    marking its case analyses can be tried at once; return whether it was created."""
    from exam_portal.models.sittings import ExamSession, SessionMode, VerificationMode
    from exam_portal.services import ServiceError
    from exam_portal.services.exam_sessions import sittings

    if db.session.scalar(sa.select(ExamSession.id).where(ExamSession.name == DEMO_EXAM_NAME)):
        return False
    admin = db.session.scalar(sa.select(User).where(User.email == "admin@demo.example.com"))
    opens = now - timedelta(hours=1)
    year = opens.astimezone(LOCAL_ZONE).year
    session = sittings.create_session(sittings.SessionFields(
        year=year, name=DEMO_EXAM_NAME, levels=(Level.ASSISTANT, Level.INTERMEDIATE),
        registration_opens_at=now - timedelta(days=3),
        registration_closes_at=now - timedelta(hours=2),
        exam_opens_at=opens, exam_closes_at=now + timedelta(days=30),
        mode=SessionMode.ONLINE, syllabus_version=syllabus.version_for_year(year),
        law_cutoff=date(year - 1, 12, 31),
        # The demo profiles are drawn against the default cutoff: keep it.
        experience_cutoff=profiles.eligibility_cutoff(today_local()),
        verification_mode=VerificationMode.BEFORE_EXAM), admin)
    registered = []
    for email, level in (("assistant@demo.example.com", Level.ASSISTANT),
                         ("intermediate@demo.example.com", Level.INTERMEDIATE)):
        candidate = db.session.scalar(sa.select(User).where(User.email == email))
        try:
            area = candidate.profile.region or "110000"  # where the candidate lives
            registered.append(sittings.register(candidate, session, level, area,
                                                declared=True, now=now - timedelta(days=2)))
        except ServiceError:
            continue  # a profile edited since seeding: that candidate is left out
    registration_review.review(registered, verify=True, reason="", actor=admin, now=now)
    _lock_demo_forms(session, admin, now)
    return True


def _lock_demo_forms(session, admin: User, now: datetime) -> None:
    """Build each subject's form from the demo exam items by a plan spread like the
    spec, and lock it (a subject without enough secure items stays without a form)."""
    from exam_portal.services import ServiceError
    from exam_portal.services.exam_sessions import forms

    for subject in forms.subjects_of_session(session):
        items = forms.secure_pool_items(session, subject)
        cells = forms.default_cells(session, subject, forms.pool_counts(items))
        try:
            forms.save_plan(session, subject, forms.PlanFields(cells, 0.5, 0.75), admin)
            for form in forms.store(session, forms.compose(session, subject, seed=2026),
                                    admin, now=now):
                forms.lock(form, admin, reviewed_hash=forms.hash_of(form), now=now)
        except ServiceError:
            continue


def ensure_signing_key(app) -> str | None:
    """In development without CERT_SIGNING_KEYS, write a development signing key into
    the (git-ignored) instance folder and use it; return its key id if one was made."""
    from pathlib import Path

    from exam_portal.config import DEV_SIGNING_KEY_FILE
    from question_bank.certificates import new_key_seed

    if app.config.get("CERT_SIGNING_KEYS") or app.config["PRODUCTION"]:
        return None
    path = Path(app.instance_path) / DEV_SIGNING_KEY_FILE
    key_id = f"dev-{today_local():%Y%m%d}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{key_id}:{new_key_seed()}\n", encoding="utf-8")
    path.chmod(0o600)
    app.config["CERT_SIGNING_KEYS"] = path.read_text(encoding="utf-8").strip()
    return key_id


DEMO_PROGRAMME_NAME = "综合能力（初级）模拟考试训练营（演示）"


def seed_training(now: datetime) -> bool:
    """A training programme (助理: two 综合能力（初级） and one 实务（初级） mock papers at
    60 % or more), with mock papers handed in for two demo candidates: the 社会工作师
    candidate has completed it (so a certificate can be issued at once), the 助理 one is
    half-way; unless the programme exists. Return whether it was created."""
    from exam_portal.models.training import TrainingProgramme
    from exam_portal.services.certification import training
    from question_bank.subjects import Subject
    from question_bank.training import Requirement

    if db.session.scalar(sa.select(TrainingProgramme.id).where(
            TrainingProgramme.name == DEMO_PROGRAMME_NAME)):
        return False
    admin = db.session.scalar(sa.select(User).where(User.email == "admin@demo.example.com"))
    training.create_programme(training.ProgrammeFields(
        name=DEMO_PROGRAMME_NAME, level=Level.ASSISTANT,
        description="考前冲刺：综合能力（初级）两份、实务（初级）一份模拟试卷，"
                    "得分率均不低于 60%。",
        requirements=(Requirement(Subject.COMP_JR, 2, 60), Requirement(Subject.PRAC_JR, 1, 60))),
        admin)
    # Shares of items answered right (singles come first: 0.8 of the items is 68 %).
    papers = {"intermediate@demo.example.com": ((Subject.COMP_JR, 0.9), (Subject.COMP_JR, 0.8),
                                                (Subject.PRAC_JR, 0.85)),
              "assistant@demo.example.com": ((Subject.COMP_JR, 0.85), (Subject.COMP_JR, 0.5))}
    for email, plan in papers.items():
        candidate = db.session.scalar(sa.select(User).where(User.email == email))
        for days_ago, (subject, share) in enumerate(plan, start=1):
            _sit_mock(candidate.id, subject, share, now - timedelta(days=10 - days_ago))
    return True


def _sit_mock(candidate_id: int, subject, share: float, started: datetime) -> None:
    """Draw a mock paper, answer the first *share* of its items with the key and the
    rest wrong, and hand it in an hour later (marked as any paper is)."""
    from exam_portal.services.delivery import attempts
    from question_bank.practice import Mode

    attempt = attempts.start_attempt(candidate_id, subject, Mode.MOCK, now=started,
                                     syllabus_version=DEMO_BANK_SYLLABUS)
    _answer_and_hand_in(attempt, share, started)


def _answer_and_hand_in(attempt, share: float, started: datetime) -> None:
    from exam_portal.models.attempts import EndedBy, Response
    from exam_portal.services.delivery import hand_in, paper_cache

    items = paper_cache.attempt_items(attempt.id)
    right = int(len(items) * share)
    for n, item in enumerate(items):
        keys = sorted(paper_cache.content(item.item_version_id).keys)
        wrong = sorted({"A", "B", "C", "D"} - set(keys))[:1]
        db.session.add(Response(attempt_id=attempt.id, position=item.position,
                                selected="".join(keys if n < right else wrong), seq=1,
                                saved_at=started + timedelta(minutes=1)))
    db.session.flush()
    hand_in.finalise(attempt.id, now=started + timedelta(hours=1), ended_by=EndedBy.CANDIDATE)


DEMO_CONTEST_NAME = "实务（初级）模考大赛（演示）"


def seed_contests(now: datetime) -> bool:
    """Two mock contests of 实务（初级）: last week's, sat by three demo candidates in its
    window and one after it, and ranked; and this week's, open for seven days. Unless
    they exist. Return whether they were created."""
    from exam_portal.models.contests import Contest
    from exam_portal.services.exam_sessions import contests
    from question_bank.subjects import Subject

    if db.session.scalar(sa.select(Contest.id).where(Contest.title == DEMO_CONTEST_NAME)):
        return False
    admin = db.session.scalar(sa.select(User).where(User.email == "admin@demo.example.com"))
    opened = now - timedelta(days=8)
    past = contests.schedule(contests.ContestFields(
        f"{DEMO_CONTEST_NAME}（上周）", Subject.PRAC_JR, None, opened,
        opened + timedelta(days=1)), admin, now=opened - timedelta(days=1))
    sitters = (("intermediate@demo.example.com", 0.9, 2), ("assistant@demo.example.com", 0.7, 3),
               ("regional@demo.example.com", 0.7, 4), ("none@demo.example.com", 0.6, 30))
    for email, share, hours in sitters:
        candidate = db.session.scalar(sa.select(User).where(User.email == email))
        if candidate is None:
            continue
        started = opened + timedelta(hours=hours)
        _answer_and_hand_in(contests.start(past, candidate, now=started), share, started)
    contests.rank(past, now=opened + timedelta(days=2))
    contests.schedule(contests.ContestFields(
        DEMO_CONTEST_NAME, Subject.PRAC_JR, None, now - timedelta(hours=1),
        now + timedelta(days=7)), admin, now=now)
    return True


DEMO_INSTITUTION_NAME = "阳光社会工作培训中心（演示）"
DEMO_CLASS_NAME = "2027 助理社工师冲刺班（演示）"


def seed_classes(now: datetime) -> bool:
    """An institution (trainer2@ its institution admin, trainer1@ a trainer), and a class
    of it that assistant@ joined, with two assignments: a chapter practice set due in
    three days and a mock paper of 实务（初级） that went past its due time yesterday.
    Unless it exists. Return whether it was created."""
    from exam_portal.models.institutions import Institution
    from exam_portal.services.exam_sessions import classes, institutions
    from question_bank.assignments import AssignmentKind
    from question_bank.institutions import InstitutionKind

    if db.session.scalar(sa.select(Institution.id).where(
            Institution.name == DEMO_INSTITUTION_NAME)):
        return False
    users = {user.email: user for user in db.session.scalars(sa.select(User).where(
        User.email.in_(("admin@demo.example.com", DEMO_AUTHOR, DEMO_REVIEWER,
                        "assistant@demo.example.com"))))}
    if len(users) < 4:
        return False
    admin, head = users["admin@demo.example.com"], users[DEMO_REVIEWER]
    opened = now - timedelta(days=7)
    institution = institutions.create(institutions.InstitutionFields(
        DEMO_INSTITUTION_NAME, InstitutionKind.TRAINING_ORG, "110000"), head.email, admin,
        now=opened)
    institutions.add_trainer(institution, DEMO_AUTHOR, head, now=opened)
    today = now.astimezone(LOCAL_ZONE).date()
    klass = classes.open_class(institution.id, classes.ClassFields(
        DEMO_CLASS_NAME, Level.ASSISTANT, None, today - timedelta(days=7),
        today + timedelta(days=120)), users[DEMO_AUTHOR], now=opened)
    classes.join(klass, users["assistant@demo.example.com"], now=opened)
    chapter = classes.chapter_choices(Subject.COMP_JR)[0][0]
    classes.set_assignment(klass, classes.AssignmentFields(
        AssignmentKind.PRACTICE, "第一章 章节练习", Subject.COMP_JR,
        now + timedelta(days=3), chapters=(chapter,), item_count=20),
        users[DEMO_AUTHOR], now=now)
    classes.set_assignment(klass, classes.AssignmentFields(
        AssignmentKind.MOCK, "实务（初级）模拟卷一", Subject.PRAC_JR,
        now - timedelta(days=1)), users[DEMO_AUTHOR], now=now - timedelta(days=5))
    return True


DEMO_INVITED_TRAINER = "new-trainer@demo.example.com"


def seed_trainer_invitations(now: datetime) -> bool:
    """A pending invitation of a new trainer (new-trainer@, no account) to the demo
    institution by its admin trainer2@; its link is in the mail log. Unless one was made
    (needs seed_classes). Return whether it was created."""
    from exam_portal.models.institutions import Institution
    from exam_portal.models.trainer_invitations import TrainerInvitation
    from exam_portal.services.exam_sessions import trainer_invitations

    institution = db.session.scalar(sa.select(Institution).where(
        Institution.name == DEMO_INSTITUTION_NAME))
    head = db.session.scalar(sa.select(User).where(User.email == DEMO_REVIEWER))
    if institution is None or head is None or db.session.scalar(
            sa.select(TrainerInvitation.id).where(
                TrainerInvitation.email == DEMO_INVITED_TRAINER)) is not None:
        return False
    trainer_invitations.invite(institution, DEMO_INVITED_TRAINER, "新培训师（演示）", head,
                               now=now, locale=None)
    return True


DEMO_MARKING_CLASS_NAME = "2027 社会工作师实务班（演示）"
DEMO_CASE_ANSWERS = (
    "先评估服务对象的需要：生理照料、社会交往和情绪支持；再链接社区志愿者和居家养老服务，"
    "定期探访，逐步扩大她的社会支持网络。",
    "以小组工作形式开展：招募同楼的独居老人，设定互助目标，六次活动后用满意度问卷评估。",
)


def seed_class_marking(now: datetime) -> bool:
    """A 社会工作师 class of the demo institution that intermediate@ joined, with a mock
    paper of 实务（中级） she handed in two days ago: trainer1@ marked her first case
    analysis with a comment per key point; her second answer waits in the class's
    marking queue. Unless the class exists. Return whether it was created."""
    from exam_portal.models.attempts import Attempt, AttemptItem, Response
    from exam_portal.models.classes import AssignmentAttempt, TrainingClass
    from exam_portal.models.institutions import Institution
    from exam_portal.services.delivery import attempts, hand_in, paper_cache
    from exam_portal.services.exam_sessions import class_marking, classes
    from question_bank import marking
    from question_bank.assignments import AssignmentKind
    from question_bank.practice import Mode

    if db.session.scalar(sa.select(TrainingClass.id).where(
            TrainingClass.name == DEMO_MARKING_CLASS_NAME)):
        return False
    institution_id = db.session.scalar(sa.select(Institution.id).where(
        Institution.name == DEMO_INSTITUTION_NAME))
    users = {user.email: user for user in db.session.scalars(sa.select(User).where(
        User.email.in_((DEMO_AUTHOR, "intermediate@demo.example.com"))))}
    if institution_id is None or len(users) < 2:
        return False
    trainer, writer = users[DEMO_AUTHOR], users["intermediate@demo.example.com"]
    opened, handed_in = now - timedelta(days=10), now - timedelta(days=2)
    today = now.astimezone(LOCAL_ZONE).date()
    klass = classes.open_class(institution_id, classes.ClassFields(
        DEMO_MARKING_CLASS_NAME, Level.INTERMEDIATE, None, today - timedelta(days=10),
        today + timedelta(days=150)), trainer, now=opened)
    classes.join(klass, writer, now=opened)
    assignment = classes.set_assignment(klass, classes.AssignmentFields(
        AssignmentKind.MOCK, "实务（中级）模拟卷一", Subject.PRAC_MID,
        now + timedelta(days=5)), trainer, now=opened)
    started = handed_in - timedelta(hours=2)
    attempt = attempts.start_attempt(writer.id, Subject.PRAC_MID, Mode.MOCK, now=started,
                                     syllabus_version=DEMO_BANK_SYLLABUS)
    db.session.add(AssignmentAttempt(assignment_id=assignment.id, candidate_id=writer.id,
                                     attempt_id=attempt.id, started_at=started))
    positions = [item.position for item in db.session.scalars(
        sa.select(AttemptItem).where(AttemptItem.attempt_id == attempt.id)
        .order_by(AttemptItem.position))][:len(DEMO_CASE_ANSWERS)]
    for seq, (position, text) in enumerate(zip(positions, DEMO_CASE_ANSWERS,
                                               strict=True), 1):
        db.session.add(Response(attempt_id=attempt.id, position=position, text=text,
                                seq=seq, saved_at=started + timedelta(minutes=30 * seq)))
    db.session.flush()
    hand_in.submit_attempt(db.session.get(Attempt, attempt.id), now=handed_in)
    shown = class_marking.answer_for_trainer(trainer, klass.id, attempt.id, positions[0])
    rubric = marking.rubric_of(paper_cache.content(
        paper_cache.attempt_item(attempt.id, positions[0]).item_version_id))
    # Half of each key point's points, a comment on the first of each sub-question.
    awarded = [[(points / 2).quantize(Decimal("1")) for _text, points in part.key_points]
               for part in rubric.parts]
    feedback = [["要点提到了，但还需要结合案例中的具体情况展开。" if k == 0 else ""
                 for k in range(len(part.key_points))] for part in rubric.parts]
    class_marking.submit(shown, trainer, awarded, feedback, now=now - timedelta(days=1))
    return True



def seed_notifications(now: datetime) -> int:
    """Turn on today's review reminder (an opt-in kind) for assistant@, then run the
    daily sweep once, so the demo's notification centres hold what its data calls for
    (fees due, tickets, reminders, today's review). Safe to run again: nothing is told
    twice. Return the notices the sweep created."""
    from exam_portal.models.notifications import Notification
    from exam_portal.services.delivery import review_notices
    from exam_portal.services.platform import notifications

    candidate = db.session.scalar(sa.select(User).where(
        User.email == "assistant@demo.example.com"))
    if candidate is not None:
        notifications.set_preferences(
            candidate, {(review_notices.REVIEW_WAITING, notifications.IN_APP): True}, now=now)
    before = db.session.scalar(sa.select(sa.func.count(Notification.id)))
    notifications.sweep(now)
    return db.session.scalar(sa.select(sa.func.count(Notification.id))) - before


DEMO_CE_COURSES = (("社会工作伦理与职业操守", "12", "ETHICS", "ONLINE", 300),
                   ("社区矫正与安置帮教实务", "6.5", "PRACTICE", "IN_PERSON", 500))


def seed_continuing_education(now: datetime) -> bool:
    """intermediate@ registered (登记) the 助理 qualification held from elsewhere (declared
    with its certificate, verified by the administrator) two years and three months
    ago, and completed two courses of the demo institution: 18.5 of 72 hours, so the
    page shows a shortfall and the sweep a notice. Unless it exists (needs the
    institution of seed_classes). Return whether it was created."""
    from exam_portal.models.continuing_education import CeRegistration
    from exam_portal.models.institutions import Institution
    from exam_portal.services.certification import ce_courses, ce_registrations
    from exam_portal.services.exam_sessions import evidence
    from exam_portal.services.platform import pdf
    from question_bank.continuing_education import CourseCategory, Delivery, parse_hours

    holder = db.session.scalar(sa.select(User).where(
        User.email == "intermediate@demo.example.com"))
    institution = db.session.scalar(sa.select(Institution).where(
        Institution.name == DEMO_INSTITUTION_NAME))
    users = {user.email: user for user in db.session.scalars(sa.select(User).where(
        User.email.in_(("admin@demo.example.com", DEMO_REVIEWER))))}
    if holder is None or institution is None or len(users) < 2 or db.session.scalar(
            sa.select(CeRegistration.id).where(CeRegistration.user_id == holder.id)):
        return False
    today = now.astimezone(LOCAL_ZONE).date()
    registered_on = today - timedelta(days=820)
    checked, problems = evidence.check_document(pdf.html_to_pdf(
        "<h1>助理社会工作师 职业资格证书（演示）</h1><p>管理号 DEMO-2024-000123</p>"),
        "助理社会工作师证书.pdf")
    if problems:
        return False
    registration = ce_registrations.declare(
        holder, Level.ASSISTANT, registered_on - timedelta(days=60), "DEMO-2024-000123",
        evidence.store(checked), registered_on)
    ce_registrations.decide_declaration(registration, True, "", users["admin@demo.example.com"],
                                        now=now - timedelta(days=819))
    trainer = users[DEMO_REVIEWER]
    for title, hours, category, delivery, days_in in DEMO_CE_COURSES:
        day = registered_on + timedelta(days=days_in)
        course = ce_courses.create_course(ce_courses.CourseFields(
            institution.id, title, parse_hours(hours), CourseCategory(category),
            Delivery(delivery), day - timedelta(days=1), day), trainer)
        ce_courses.record_completion(course, holder.email, day, trainer)
    return True


DEMO_ONLINE_COURSE = "线上：助理社会工作师备考课（班级作业）"


def seed_online_courses(now: datetime) -> bool:
    """An online CE course of the demo institution (6 hours) built from the demo class's
    assignments: assistant@ gets its completion once she hands in both. Unless it exists
    (needs seed_classes). Return whether it was created."""
    from decimal import Decimal

    from exam_portal.models.classes import TrainingClass
    from exam_portal.models.continuing_education import CeCourse
    from exam_portal.services.certification import ce_courses, online_courses
    from question_bank.continuing_education import CourseCategory, Delivery

    klass = db.session.scalar(sa.select(TrainingClass).where(
        TrainingClass.name == DEMO_CLASS_NAME))
    trainer = db.session.scalar(sa.select(User).where(User.email == DEMO_REVIEWER))
    if klass is None or trainer is None or db.session.scalar(
            sa.select(CeCourse.id).where(CeCourse.title == DEMO_ONLINE_COURSE)):
        return False
    course = ce_courses.create_course(ce_courses.CourseFields(
        klass.institution_id, DEMO_ONLINE_COURSE, Decimal(6), CourseCategory.PRACTICE,
        Delivery.ONLINE, klass.starts_on, klass.ends_on), trainer)
    online_courses.link_class(course, klass.id, trainer, now=now)
    return True
