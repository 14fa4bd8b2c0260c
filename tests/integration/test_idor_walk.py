"""IDOR walk (AC-1, AC-2): every route with an id in its URL, called by candidate B with
candidate A's ids and by a trainer, with every method. Nothing of A's is shown, nothing
answers 500, and no row changes.

A and B each hold an object of every kind that has an id in a URL, built through the
services and pages the portal uses. Ids are filled by the URL parameter's name, so a new
route whose parameters have known names is walked without a change here; a route with a
parameter this walk cannot fill fails the test, with what to add.
"""

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from freezegun import freeze_time
from werkzeug.routing import AnyConverter, IntegerConverter

from exam_portal.extensions import db
from exam_portal.models.accounts import EmploymentPeriod, HeldCertificate, Role, User
from exam_portal.models.audit import AuditEvent
from exam_portal.models.bank import Item
from exam_portal.models.certificates import Certificate
from exam_portal.models.continuing_education import (
    CePeriod,
    CeRegistration,
    CeRenewal,
    CeTranscript,
    RenewalStatus,
)
from exam_portal.models.evidence import EvidenceDocument, EvidenceKind
from exam_portal.models.jobs import Job
from exam_portal.models.notes import ErrorReport
from exam_portal.models.notifications import Notification
from exam_portal.models.sittings import (
    ExamSession,
    PassLine,
    Qualification,
    Registration,
    RegistrationStatus,
    ResultSource,
)
from exam_portal.services.accounts import photos, profiles
from exam_portal.services.exam_sessions import (
    evidence,
    exam_marking,
    registration_review,
    results,
    scores,
    sittings,
)
from exam_portal.web.permissions import allowed
from question_bank.levels import CertificateMethod, Level
from question_bank.subjects import Subject

from .. import evidence_files
from ..factories import make_user
from .form_support import lock_forms
from .practice_support import login, objective_bank, save, shown_keys, start
from .test_exam_marking import _bank as prac_mid_bank
from .test_results import _intermediate_candidate
from .test_sittings import NOW, _actor, _session

# Pages, forms and access rules: they read and write alike on both databases.
pytestmark = pytest.mark.usefixtures("one_leg")

EXAM_TIME = NOW + timedelta(days=60, hours=1)  # inside the online session's exam window

# URL parameters naming one of A's own objects: B (or a trainer) seeing any 2xx is a leak.
OWNED = {"attempt_id", "registration_id", "certificate_id", "period_id", "qualification_id",
         "user_id", "mark_id", "document_id",
         # A's class (of an institution neither B nor the walking trainer belongs to),
         # its assignment A started, and the institution; an invitation to A's address.
         "class_id", "assignment_id", "institution_id", "invitation_id",
         # An invitation of a new trainer to that institution, by its admin.
         "trainer_invitation_id",
         # A's notifications (a verified registration, a certificate issued).
         "notification_id",
         # A's registration (登记), its period, a CE transcript and a renewal of it.
         "ce_registration_id", "ce_period_id", "transcript_id", "renewal_id"}
# Objects every holder of the route's role may see (a session, an item, a job): a 2xx is
# fine as long as none of A's data is in it.
SHARED = {"session_id", "item_id", "line_id", "job_id", "programme_id", "form_id",
          "report_id", "contest_id",
          # A continuing-education course (of an institution the walker is not in).
          "course_id"}
# Not ids: filled with a value that makes sense next to A's ids.
PLAIN = {"position": [1], "code": ["PRAC_MID"]}
WRITE_FORM = {
    "reason": "越权遍历测试：这条理由足够长", "minutes": "30", "score": "100",
    "subject": "COMP_JR", "level": "ASSISTANT", "region": "11", "declaration": "y",
    "confirm": "y", "bookmarked": "1", "points": "10", "role": "ADMIN", "active": "y",
    "outcome": "PASSED", "note": "越权", "registration": "1", "action": "verify",
}
WRITE_JSON = {"seq": 999, "device": "idor-walker", "selected": ["A"], "text": "乙的篡改",
              "flagged": True, "points": "10", "bookmarked": True}
_emails = itertools.count(1)


@dataclass
class World:
    ids: dict[str, list[int]]              # parameter name -> A's (or the shared) ids
    b_ids: dict[str, set[int]]             # parameter name -> B's own ids (must not overlap)
    markers: list[str]                     # text only A's objects carry
    identity: list[str]                    # who A is (never on a blind marking page)
    clients: dict[str, object] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)


def _parameters(rule) -> list[str]:
    """The parameters taken from the URL (not a rule's fixed defaults)."""
    return sorted(set(rule.arguments) - set(rule.defaults or {}))


def _is_id(rule, name) -> bool:
    return name.endswith("_id") or isinstance(rule._converters[name], IntegerConverter)


def _walked_rules(app):
    """Every rule with an id among its URL parameters."""
    return [rule for rule in app.url_map.iter_rules()
            if any(_is_id(rule, name) for name in _parameters(rule))]


def _choices(rule, name, world: World | None) -> list | None:
    """The values to put in *name*; None if this walk does not know the parameter."""
    if name in OWNED | SHARED:
        return world.ids[name] if world else [1]
    if name in PLAIN:
        return PLAIN[name]
    converter = rule._converters[name]
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)
    return None


def _unfillable(app) -> list[str]:
    problems = []
    for rule in _walked_rules(app):
        missing = [name for name in _parameters(rule) if _choices(rule, name, None) is None]
        if missing:
            problems.append(f"{rule.rule} ({rule.endpoint}): cannot fill {', '.join(missing)}")
    return problems


def _urls(rule, world: World):
    names = _parameters(rule)
    choices = [_choices(rule, name, world) for name in names]
    for values in itertools.product(*choices):
        yield rule.build(dict(zip(names, values, strict=True)), append_unknown=False)[1]


def _snapshot(app) -> dict[str, tuple[int, str]]:
    """Row count and a hash of every row of every table but the audit log."""
    with app.app_context():
        state = {}
        for table in db.metadata.sorted_tables:
            if table.name == "audit_events":
                continue
            # str(), not repr(): freezegun's FakeDatetime prints as another class.
            rows = sorted("|".join(map(str, row)) for row in db.session.execute(
                sa.select(table)))
            state[table.name] = (len(rows),
                                 hashlib.sha256("\n".join(rows).encode()).hexdigest())
        db.session.remove()
        return state


def _audit_head(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0


def _audit_kinds_after(app, head: int) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.id > head)))


# --- the world -------------------------------------------------------------------------


def _profile_extras(app, user_id: int, tag: str) -> None:
    with app.app_context():
        user = db.session.get(User, user_id)
        user.profile.real_name = f"{tag}某某"
        profiles.add_employment_period(user, employer=f"{tag}方社工服务中心", start_on=NOW.date()
                                       - timedelta(days=4000), end_on=None, is_social_work=True,
                                       today=NOW.date())
        profiles.add_held_certificate(user, level=Level.ASSISTANT, obtained_on=NOW.date()
                                      - timedelta(days=800), method=CertificateMethod.EXAM,
                                      region_limit=None, certificate_number=None,
                                      today=NOW.date())
        db.session.commit()


def _evidence(registration, user) -> None:
    """A document of each kind on the registration, and the candidate's ID photo."""
    tag = "甲" if user.profile.real_name.startswith("甲") else "乙"
    period, certificate = user.employment_periods[0], user.held_certificates[0]
    for kind, data, target in (
            (EvidenceKind.DEGREE, evidence_files.pdf(), {}),
            (EvidenceKind.EMPLOYMENT, evidence_files.jpeg(), {"period_id": period.id}),
            (EvidenceKind.CERTIFICATE, evidence_files.png(), {"certificate_id": certificate.id})):
        checked, problems = evidence.check_document(data, f"{tag}的{kind.value}材料")
        assert not problems
        evidence.attach(registration.id, user, evidence.Target(kind, **target),
                        evidence.store(checked))
    photos.replace(user, photos.store(evidence_files.photo()), now=NOW)


def _published_session(app, admin, candidates) -> tuple[int, dict[int, int]]:
    """A paper session, published, each candidate qualified for 助理; certificates issued
    by the administrator's bulk job. Returns (session id, {candidate: registration id})."""
    session_id = _session(app, admin, name="2026 年度（已发布）", levels=(Level.ASSISTANT,),
                          registration_closes_at=NOW + timedelta(days=1),
                          exam_opens_at=NOW + timedelta(days=2),
                          exam_closes_at=NOW + timedelta(days=3))
    registrations = {}
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        sittings.set_pass_line(session, Subject.COMP_JR, "54", Decimal(53), _actor(admin))
        for user_id in candidates:
            registration = sittings.register(db.session.get(User, user_id), session,
                                             Level.ASSISTANT, "11", declared=True, now=NOW)
            registration.status = RegistrationStatus.VERIFIED
            for subject in (Subject.COMP_JR, Subject.PRAC_JR):
                scores.record_score(registration, subject, Decimal(75),
                                     source=ResultSource.PAPER, now=session.exam_closes_at)
            db.session.flush()
            registrations[user_id] = registration.id
        results.compute_results(session, now=session.exam_closes_at)
        results.publish(session, _actor(admin), now=session.exam_closes_at)
        db.session.commit()
    return session_id, registrations


def _exam_attempt(app, client, registration_id, text) -> int:
    response = client.post(f"/exams/registrations/{registration_id}/subjects/PRAC_MID/start")
    assert response.status_code == 302, response.status_code
    attempt_id = int(response.headers["Location"].rsplit("/", 1)[1])
    device = client.post(f"/practice/attempts/{attempt_id}/open").get_json()["device"]
    assert save(client, attempt_id, 1, device, 1, text=text).status_code == 200
    client.post(f"/practice/attempts/{attempt_id}/submit")
    return attempt_id


def _practice(app, client, user_id, word, avoid=frozenset()) -> tuple[int, int, int]:
    """An open practice attempt with a bookmark, a note and an error report on the
    bookmarked item (the first of the set not in *avoid*), and a handed-in mock paper."""
    from exam_portal.models.attempts import AttemptItem

    practice_id = start(client, mode="RANDOM", count="10")
    device = client.post(f"/practice/attempts/{practice_id}/open").get_json()["device"]
    with app.app_context():
        position = next(position for position, item_id in db.session.execute(
            sa.select(AttemptItem.position, AttemptItem.item_id)
            .where(AttemptItem.attempt_id == practice_id).order_by(AttemptItem.position))
            if item_id not in avoid)
    assert save(client, practice_id, position, device, 1, selected=["A"]).status_code == 200
    assert client.post(f"/practice/attempts/{practice_id}/responses/{position}/bookmark",
                       json={"bookmarked": True}).get_json() == {"bookmarked": True}
    mock_id = start(client, mode="MOCK")
    device = client.post(f"/practice/attempts/{mock_id}/open").get_json()["device"]
    position, keys = next(iter(shown_keys(app, mock_id).items()))
    assert save(client, mock_id, position, device, 1, selected=keys).status_code == 200
    assert client.post(f"/practice/attempts/{mock_id}/submit").status_code == 302
    with app.app_context():
        from exam_portal.models.attempts import Bookmark

        item_id = db.session.scalar(sa.select(Bookmark.item_id).where(
            Bookmark.candidate_id == user_id))
    assert client.post(f"/practice/items/{item_id}/note",
                       data={"text": f"{word}的笔记"}).status_code == 302
    assert client.post(f"/practice/items/{item_id}/report",
                       data={"kind": "KEY", "text": f"{word}的纠错说明"}).status_code == 302
    return practice_id, mock_id, item_id


def _programme_ids(app, admin) -> list[int]:
    """A training programme (shared: every candidate may see it)."""
    from exam_portal.models.training import TrainingProgramme, TrainingRequirement

    with app.app_context():
        programme = TrainingProgramme(name="越权遍历培训", created_by_id=admin,
                                      requirements=[TrainingRequirement(
                                          subject=Subject.COMP_JR, papers=1, min_percent=60)])
        db.session.add(programme)
        db.session.commit()
        return [programme.id]


def _ids_of(app, user_id) -> dict[str, set[int]]:
    with app.app_context():
        def ids(query):
            return set(db.session.scalars(query))

        from exam_portal.models.attempts import Attempt

        return {
            "attempt_id": ids(sa.select(Attempt.id).where(Attempt.candidate_id == user_id)),
            "registration_id": ids(sa.select(Registration.id).where(
                Registration.candidate_id == user_id)),
            "certificate_id": ids(sa.select(Certificate.id).where(
                Certificate.candidate_id == user_id)) | ids(sa.select(HeldCertificate.id).where(
                    HeldCertificate.user_id == user_id)),
            "period_id": ids(sa.select(EmploymentPeriod.id).where(
                EmploymentPeriod.user_id == user_id)),
            "qualification_id": ids(sa.select(Qualification.id).where(
                Qualification.candidate_id == user_id)),
            "document_id": ids(sa.select(EvidenceDocument.id).join(Registration).where(
                Registration.candidate_id == user_id)),
            "user_id": {user_id},
            "notification_id": ids(sa.select(Notification.id).where(
                Notification.user_id == user_id)),
            "ce_registration_id": ids(sa.select(CeRegistration.id).where(
                CeRegistration.user_id == user_id)),
            "ce_period_id": ids(sa.select(CePeriod.id).join(CeRegistration).where(
                CeRegistration.user_id == user_id)),
            "transcript_id": ids(sa.select(CeTranscript.id).where(
                CeTranscript.user_id == user_id)),
            "renewal_id": ids(sa.select(CeRenewal.id).join(CeRegistration).where(
                CeRegistration.user_id == user_id)),
        }


def _markers_of(app, user_id, tag) -> tuple[list[str], list[str]]:
    with app.app_context():
        user = db.session.get(User, user_id)
        numbers = list(db.session.scalars(sa.select(Registration.admission_number).where(
            Registration.candidate_id == user_id)))
        certificates = db.session.execute(sa.select(
            Certificate.number, Certificate.verification_code).where(
                Certificate.candidate_id == user_id)).all()
        identity = [user.email, f"{tag}某某", *numbers]
        markers = [*identity, f"{tag}方社工服务中心", f"{tag}的案例作答", f"{tag}的DEGREE材料",
                   f"{tag}的笔记", f"{tag}的纠错说明",
                   *(value for row in certificates for value in row)]
        return markers, identity


@pytest.fixture
def world(app) -> World:
    admin = make_user(app, Role.ADMIN, email="idor-admin@example.com")
    objective_bank(app, Subject.COMP_JR)
    prac_mid_bank(app)
    marker = make_user(app, Role.TRAINER, email="idor-marker@example.com")
    walker = make_user(app, Role.TRAINER, email="idor-trainer@example.com")
    assert walker
    a_id, b_id = _intermediate_candidate(app), _intermediate_candidate(app)
    with app.app_context():
        emails = {u: db.session.get(User, u).email for u in (a_id, b_id)}
    for user_id, tag in ((a_id, "甲"), (b_id, "乙")):
        _profile_extras(app, user_id, tag)
    published_id, _ = _published_session(app, admin, (a_id, b_id))
    online_id = _session(app, admin, name="2026 年度（网上考试）",
                         levels=(Level.ASSISTANT, Level.INTERMEDIATE))
    form_ids = lock_forms(app, online_id, admin, [Subject.PRAC_MID])[Subject.PRAC_MID]
    with app.app_context():
        session = db.session.get(ExamSession, online_id)
        for user_id in (a_id, b_id):
            registration = sittings.register(db.session.get(User, user_id), session,
                                             Level.INTERMEDIATE, "11", declared=True, now=NOW)
            _evidence(registration, db.session.get(User, user_id))
            registration_review.review([registration], verify=True, reason="", actor=_actor(admin),
                            now=NOW)
        db.session.commit()
    with app.app_context():
        first_item = db.session.scalar(sa.select(sa.func.min(Item.id)))
    with freeze_time(EXAM_TIME):
        clients = {tag: login(app, emails[user_id]) for user_id, tag in ((a_id, "A"),
                                                                         (b_id, "B"))}
        bookmarked = {}
        for user_id, tag in ((a_id, "A"), (b_id, "B")):
            with app.app_context():
                registration_id = db.session.scalar(sa.select(Registration.id).where(
                    Registration.candidate_id == user_id,
                    Registration.session_id == online_id))
            _exam_attempt(app, clients[tag], registration_id,
                          f"{'甲' if tag == 'A' else '乙'}的案例作答：先评估需求。")
            if tag == "A":
                # A trainer claims A's answer before B sits: the mark is on A's paper.
                with app.app_context():
                    mark = exam_marking.next_mark(db.session.get(ExamSession, online_id),
                                                  db.session.get(User, marker), now=EXAM_TIME)
                    db.session.commit()
                    mark_id = mark.id
            # B's bookmark, note and report are on an item the walk does not name (A's
            # bookmarked item and the first item): B removing its own bookmark there
            # would be B's right, and the walk would see a row change.
            _practice_id, _mock_id, bookmarked[tag] = _practice(
                app, clients[tag], user_id, "甲" if tag == "A" else "乙",
                avoid={bookmarked.get("A"), first_item})
        admin_client = login(app, "idor-admin@example.com")
        response = admin_client.post(f"/admin/sessions/{published_id}/certificates/issue-all")
        assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 2
        job_ids = list(db.session.scalars(sa.select(Job.id)))
        line_ids = list(db.session.scalars(sa.select(PassLine.id)))
        item_ids = [bookmarked["A"], first_item]
        assert bookmarked["B"] not in item_ids
        report_ids = list(db.session.scalars(sa.select(ErrorReport.id).where(
            ErrorReport.candidate_id == a_id)))
    course_id = _continuing_education(app, admin, a_id, b_id)
    owned_a, owned_b = _ids_of(app, a_id), _ids_of(app, b_id)
    ids = {name: sorted(values) for name, values in owned_a.items()}
    ids |= {"mark_id": [mark_id], "session_id": [online_id, published_id], "item_id": item_ids,
            "line_id": line_ids, "job_id": job_ids, "form_id": form_ids, "report_id": report_ids}
    ids["programme_id"] = _programme_ids(app, admin)
    ids["contest_id"] = [_contest_sat_by(app, admin, a_id)]
    ids["course_id"] = [course_id]
    ids |= _class_joined_by(app, admin, a_id)
    ids["trainer_invitation_id"] = [_trainer_invitation_in(app, ids["institution_id"][0])]
    for name in OWNED | SHARED:
        assert ids.get(name), f"the world has no object for {name}"
    for name, values in owned_b.items():
        # B's own object under the same number would make a refusal look like a leak.
        assert not set(ids[name]) & values, f"A and B share a {name}: rebuild the world"
    markers, identity = _markers_of(app, a_id, "甲")
    return World(ids=ids, b_ids=owned_b, markers=markers, identity=identity,
                 clients={**clients, "admin": admin_client},
                 emails={"A": emails[a_id], "B": emails[b_id]})


def _continuing_education(app, admin, a_id, b_id) -> int:
    """A and B register their 助理 qualification; A has a CE completion, a transcript and
    a pending renewal. Returns the course (of an institution the walker is not in)."""
    from exam_portal.models.institutions import Institution, InstitutionMember
    from exam_portal.models.types import utcnow
    from exam_portal.services.certification import ce_courses, ce_registrations, ce_transcripts
    from question_bank.continuing_education import CourseCategory, Delivery
    from question_bank.institutions import InstitutionKind

    provider = make_user(app, Role.TRAINER, email="idor-ce-provider@example.com")
    with app.app_context(), app.test_request_context(method="POST"):
        institution = Institution(name="越权遍历继续教育机构", kind=InstitutionKind.ASSOCIATION,
                                  created_by_id=admin)
        institution.members.append(InstitutionMember(user_id=provider, is_admin=True))
        db.session.add(institution)
        db.session.flush()
        registrations = {}
        for user_id in (a_id, b_id):
            user = db.session.get(User, user_id)
            qualification, passed = ce_registrations.registrable_qualifications(user)[0]
            registrations[user_id] = ce_registrations.register_issued(
                user, qualification.id, passed)
        period = registrations[a_id].periods[0]
        course = ce_courses.create_course(ce_courses.CourseFields(
            institution.id, "越权遍历继续教育课程", Decimal(6), CourseCategory.ETHICS,
            Delivery.ONLINE, period.starts_on, period.starts_on + timedelta(days=30)),
            db.session.get(User, provider))
        ce_courses.record_completion(course, db.session.get(User, a_id).email, None,
                                     db.session.get(User, provider))
        ce_transcripts.issue(period, db.session.get(User, a_id), now=utcnow())
        db.session.add(CeRenewal(registration_id=registrations[a_id].id, period_id=period.id,
                                 half_hours_credited=12, status=RenewalStatus.PENDING))
        db.session.commit()
        return course.id


def _contest_sat_by(app, admin, user_id) -> int:
    """A mock contest open now, whose paper A has started and handed in."""
    from exam_portal.models.types import utcnow
    from exam_portal.services.delivery import hand_in
    from exam_portal.services.exam_sessions import contests

    now = utcnow()
    # A POST, as the pages that do this are: on SQLite it begins the write transaction.
    with app.app_context(), app.test_request_context(method="POST"):
        contest = contests.schedule(contests.ContestFields(
            "越权遍历模考", Subject.COMP_JR, None, now - timedelta(hours=1),
            now + timedelta(hours=1)), db.session.get(User, admin), now=now)
        attempt = contests.start(contest, db.session.get(User, user_id), now=now)
        hand_in.submit_attempt(attempt, now=now)
        db.session.commit()
        return contest.id


def _class_joined_by(app, admin, user_id) -> dict[str, list[int]]:
    """A class of an institution whose trainer is not the walker, which A joined, with an
    assignment A has started."""
    from exam_portal.models.classes import ClassInvitation
    from exam_portal.models.institutions import Institution, InstitutionMember
    from exam_portal.models.types import utcnow
    from exam_portal.services.exam_sessions import classes
    from question_bank.assignments import AssignmentKind
    from question_bank.institutions import InstitutionKind

    head = make_user(app, Role.TRAINER, email="idor-class-head@example.com")
    now = utcnow()
    with app.app_context(), app.test_request_context(method="POST"):
        institution = Institution(name="越权遍历机构", kind=InstitutionKind.TRAINING_ORG,
                                  created_by_id=admin)
        institution.members.append(InstitutionMember(user_id=head, is_admin=True))
        db.session.add(institution)
        db.session.flush()
        trainer = db.session.get(User, head)
        klass = classes.open_class(institution.id, classes.ClassFields(
            "越权遍历班", Level.ASSISTANT, None, now.date(), now.date() + timedelta(days=90)),
            trainer, now=now)
        classes.join(klass, db.session.get(User, user_id), now=now)
        assignment = classes.set_assignment(klass, classes.AssignmentFields(
            AssignmentKind.PRACTICE, "越权遍历作业", Subject.COMP_JR, now + timedelta(days=3),
            chapters=("COMP_JR.01",), item_count=10), trainer, now=now)
        classes.start(db.session.get(User, user_id), assignment.id, now=now)
        classes.import_roster(klass, [["email"], [db.session.get(User, user_id).email]],
                              trainer, now=now)
        invitation_id = db.session.scalar(sa.select(ClassInvitation.id).where(
            ClassInvitation.class_id == klass.id))
        db.session.commit()
        return {"class_id": [klass.id], "assignment_id": [assignment.id],
                "institution_id": [institution.id], "invitation_id": [invitation_id]}


def _trainer_invitation_in(app, institution_id) -> int:
    """An invitation of a new trainer by the admin of the institution (not the walker's)."""
    from exam_portal.models.institutions import Institution, InstitutionMember
    from exam_portal.models.types import utcnow
    from exam_portal.services.exam_sessions import trainer_invitations

    with app.app_context(), app.test_request_context(method="POST"):
        head = db.session.scalar(sa.select(InstitutionMember.user_id).where(
            InstitutionMember.institution_id == institution_id,
            InstitutionMember.is_admin.is_(True)))
        invitation = trainer_invitations.invite(
            db.session.get(Institution, institution_id), "idor-invitee@example.com", "甲的邀请",
            db.session.get(User, head), now=utcnow(), locale=None)
        db.session.commit()
        return invitation.id


# --- the walks -------------------------------------------------------------------------


def _call(client, method, url):
    if method == "PUT":
        return [client.open(url, method=method, json=WRITE_JSON)]
    if method in ("POST", "PATCH", "DELETE"):
        return [client.open(url, method=method, data=WRITE_FORM),
                client.open(url, method=method, json=WRITE_JSON,
                            headers={"Accept": "application/json"})]
    return [client.open(url, method=method)]


def _leaks(response, markers) -> list[str]:
    body = response.get_data()
    return [marker for marker in markers if marker.encode() in body]


def _walk(app, world, client, role, *, writes_on_shared=True):
    """Call every id route as *role*; return the problems found."""
    problems = []
    for rule in _walked_rules(app):
        verdict = allowed(rule.endpoint, role)
        owned = bool(OWNED & set(rule.arguments))
        for url, method in itertools.product(_urls(rule, world),
                                             sorted(rule.methods - {"HEAD", "OPTIONS"})):
            if verdict and not owned and method != "GET" and not writes_on_shared:
                continue  # a staff action on a shared object is the role's own business
            for response in _call(client, method, url):
                where = f"{method} {url} ({rule.endpoint}) as {role.value}"
                status = response.status_code
                if status >= 500:
                    problems.append(f"{where}: {status}")
                elif not verdict and status != 403:
                    problems.append(f"{where}: {status}, the table refuses it (403)")
                elif 200 <= status < 300 and owned:
                    problems.append(f"{where}: {status} on A's object")
                elif 200 <= status < 300 and _leaks(response, world.markers):
                    problems.append(f"{where}: shows {_leaks(response, world.markers)}")
                elif 300 <= status < 400:
                    target = client.get(response.headers["Location"])
                    if 200 <= target.status_code < 300 and _leaks(target, world.markers):
                        problems.append(f"{where}: redirects to A's data "
                                        f"{_leaks(target, world.markers)}")
                    target.close()
                response.close()
    return problems


def test_every_id_route_can_be_filled(app):
    problems = _unfillable(app)
    assert not problems, (
        "routes with a URL parameter the IDOR walk cannot fill (add the name to OWNED or "
        "SHARED in tests/integration/test_idor_walk.py and give A an object of that kind "
        "in the world fixture):\n" + "\n".join(problems))


def test_candidate_b_gets_nothing_of_candidate_a_on_any_id_route(app, world):
    assert not _unfillable(app)
    with freeze_time(EXAM_TIME):
        # The walk means something only if these ids are real: A gets them.
        for rule in _walked_rules(app):
            if rule.endpoint in {"candidate.take_attempt", "candidate.result",
                                 "sittings.admission_ticket", "sittings.score_report",
                                 "certificates.download_my_certificate",
                                 "certificates.download_my_credential",
                                 "sittings.registration_documents", "sittings.open_document",
                                 "sittings.open_photo"}:
                statuses = {world.clients["A"].get(url).status_code
                            for url in _urls(rule, world)}
                assert 200 in statuses, f"{rule.rule}: A never gets 200 ({statuses})"
        before, head = _snapshot(app), _audit_head(app)
        problems = _walk(app, world, world.clients["B"], Role.CANDIDATE)
    assert not problems, "\n".join(problems)
    assert _snapshot(app) == before, "a request as B changed rows"
    assert _audit_kinds_after(app, head) <= {"authz.denied"}


def test_a_trainer_gets_nothing_of_a_candidate_on_any_id_route(app, world):
    assert not _unfillable(app)
    with freeze_time(EXAM_TIME):
        trainer = login(app, "idor-trainer@example.com")
        before, head = _snapshot(app), _audit_head(app)
        problems = _walk(app, World(world.ids, world.b_ids, world.identity, world.identity),
                         trainer, Role.TRAINER, writes_on_shared=False)
    assert not problems, "\n".join(problems)
    assert _snapshot(app) == before, "a request as the trainer changed rows"
    assert _audit_kinds_after(app, head) <= {"authz.denied"}


def test_an_unknown_id_parameter_fails_the_walk(app):
    @app.get("/account/widgets/<int:widget_id>/<slug>")
    def widget(widget_id, slug):
        return str(widget_id)

    assert re.search(r"/account/widgets/<int:widget_id>/<slug> .*cannot fill slug, widget_id",
                     "\n".join(_unfillable(app)))


def test_the_walk_catches_a_leaking_or_changing_route(make_app, world, monkeypatch):
    from exam_portal.web import permissions

    app = make_app()
    monkeypatch.setitem(permissions.ACCESS, "leaky_ticket", permissions.CANDIDATE)
    monkeypatch.setitem(permissions.ACCESS, "careless_delete", permissions.CANDIDATE)

    @app.get("/exams/leaky/<int:registration_id>", endpoint="leaky_ticket")
    def leaky_ticket(registration_id):
        return db.session.get(Registration, registration_id).admission_number

    @app.post("/account/careless/<int:period_id>/delete", endpoint="careless_delete")
    def careless_delete(period_id):
        db.session.execute(sa.delete(EmploymentPeriod).where(EmploymentPeriod.id == period_id))
        db.session.commit()
        return "", 404  # and hides it

    with freeze_time(EXAM_TIME):
        client = login(app, world.emails["B"])
        before = _snapshot(app)
        problems = "\n".join(_walk(app, world, client, Role.CANDIDATE))
    assert "GET /exams/leaky/" in problems and "on A's object" in problems
    assert "careless" not in problems  # a 404 alone looks fine …
    assert _snapshot(app) != before  # … but the row check sees the deletion
