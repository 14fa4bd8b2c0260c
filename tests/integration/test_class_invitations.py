"""Class invitations by e-mail address: a trainer's imported list invites every valid
address alike (an account or not, a candidate or staff: nothing tells them apart to the
trainer), the roster shows them as typed, the trainer withdraws a pending one; a
candidate whose address matches (now or after signing up) accepts through the consent
step or declines; no one else can; accepting twice, or while the trainer withdraws,
makes one enrolment at most."""

import json
import re
import threading

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import CandidateProfile, Role, User
from exam_portal.models.classes import ClassEnrolment, ClassInvitation, TrainingClass
from exam_portal.models.types import utcnow
from question_bank.assignments import EnrolmentStatus

from ..factories import logged_in, make_user
from .practice_support import candidate, login
from .test_classes import _csv, _join, _status, _upload, school  # noqa: F401

NAMES = ["小王", "职员", "无名", "在班"]


def _second_class(app, school) -> int:  # noqa: F811 - the fixture's value
    response = school["client"].post("/trainer/classes/new", data={
        "institution": str(school["institution_id"]), "name": "2027 助理冲刺班",
        "level": "ASSISTANT", "exam_session": "", "starts_on": "2026-01-01",
        "ends_on": "2036-01-01"})
    assert response.status_code == 302
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _invitations(app, class_id) -> list[ClassInvitation]:
    with app.app_context():
        found = list(db.session.scalars(sa.select(ClassInvitation).where(
            ClassInvitation.class_id == class_id).order_by(ClassInvitation.email)))
        db.session.expunge_all()
        return found


def _invitation_id(app, class_id, email) -> int:
    return next(i.id for i in _invitations(app, class_id) if i.email == email)


def _enrolments(app, class_id) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(ClassEnrolment)
                                 .where(ClassEnrolment.class_id == class_id))


def _blank(page: str, emails: list[str]) -> str:
    """The page with the addresses, ids, times and CSRF tokens blanked out."""
    for n, email in enumerate(emails):
        page = page.replace(email, f"<address {n}>")
    page = re.sub(r'name="csrf_token" type="hidden" value="[^"]*"', "", page)
    page = re.sub(r'value="[^"]{20,}"', "", page)
    return re.sub(r"\d+", "#", page)


@pytest.mark.usefixtures("one_leg")
@pytest.mark.both_databases
def test_an_import_answers_a_mix_of_accounts_exactly_like_unknown_addresses(app, school):  # noqa: F811
    victim, _victim_client = candidate(app, email="victim@example.com")
    with app.app_context():
        db.session.add(CandidateProfile(user_id=victim, real_name="王秘密"))
        db.session.commit()
    make_user(app, Role.TRAINER, email="staffer@example.com")
    candidate(app, email="member@example.com")
    mixed = ["victim@example.com", "staffer@example.com", "nobody@example.com",
             "member@example.com"]
    # Unknown addresses in the same alphabetical order as the mixed ones.
    unknown = ["u4@example.com", "u3@example.com", "u2@example.com", "u1@example.com"]
    other = _second_class(app, school)
    school["client"].get("/trainer/classes")  # the flashes of opening the classes
    pages, rosters = [], []
    for class_id, emails in ((school["class_id"], mixed), (other, unknown)):
        rows = [["邮箱", "姓名"]] + [[e.upper() if n == 0 else e, name]
                                    for n, (e, name) in enumerate(zip(emails, NAMES, strict=True))]
        page = _upload(school["client"], class_id, _csv(rows)).get_data(as_text=True)
        assert "已向 4 个邮箱发出邀请" in page
        pages.append(_blank(page, emails))
        roster = school["client"].get(f"/trainer/classes/{class_id}").get_data(as_text=True)
        for email, name in zip(emails, NAMES, strict=True):
            assert email in roster and name in roster
        rosters.append(_blank(roster.split("<h2")[-1], emails))  # the roster
    # Not a character of difference: the message and the roster are the same.
    assert pages[0] == pages[1]
    assert rosters[0] == rosters[1]
    assert "王秘密" not in rosters[0]
    # No enrolment for anyone, an invitation for every address (normalised, as typed).
    assert _enrolments(app, school["class_id"]) == 0
    assert [(i.email, i.name) for i in _invitations(app, school["class_id"])] == sorted(
        zip(mixed, NAMES, strict=True))
    # The audit says how many, not who has an account.
    with app.app_context():
        from exam_portal.models.audit import AuditEvent
        details = [e.details for e in db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "classes.list_imported"))]
    assert [json.loads(d) for d in details] == [{"addresses": 4}, {"addresses": 4}]
    # Importing the same list again keeps one invitation per address.
    _upload(school["client"], other, _csv([["邮箱"], ["u1@example.com"]]))
    assert len(_invitations(app, other)) == 4


@pytest.mark.usefixtures("one_leg")
@pytest.mark.both_databases
def test_a_candidate_accepts_an_invitation_through_the_consent_step(app, school):  # noqa: F811
    user_id, client = candidate(app, email="known@example.com")
    with app.app_context():
        db.session.add(CandidateProfile(user_id=user_id, real_name="张真名"))
        db.session.commit()
    class_id = school["class_id"]
    _upload(school["client"], class_id, _csv([["邮箱", "姓名"], ["known@example.com", "张三"]]))
    invitation = _invitation_id(app, class_id, "known@example.com")
    page = client.get("/classes").get_data(as_text=True)
    assert "邀请待确认" in page and f"/classes/invitations/{invitation}/accept" in page
    page = client.get(f"/classes/invitations/{invitation}/accept").get_data(as_text=True)
    assert "预测的通过概率" in page and "身份证号" in page
    # Without consent: nothing changes.
    assert client.post(f"/classes/invitations/{invitation}/accept",
                       data={}).status_code == 200
    assert _status(app, class_id, user_id) is None
    assert client.post(f"/classes/invitations/{invitation}/accept",
                       data={"consent": "y"}).status_code == 302
    assert _status(app, class_id, user_id) is EnrolmentStatus.ENROLLED
    assert _invitations(app, class_id)[0].accepted_at is not None
    # The invitation is gone from the candidate's page and from the roster's pending
    # ones; the roster now shows the enrolled candidate with their profile's name.
    assert f"/classes/invitations/{invitation}" not in client.get("/classes").get_data(
        as_text=True)
    roster = school["client"].get(f"/trainer/classes/{class_id}").get_data(as_text=True)
    assert "张真名" in roster and "/withdraw" not in roster.split("<h2")[-1]
    # Accepting again: 404 (nothing pending), still one enrolment.
    assert client.post(f"/classes/invitations/{invitation}/accept",
                       data={"consent": "y"}).status_code == 404
    assert _enrolments(app, class_id) == 1


@pytest.mark.usefixtures("one_leg")
@pytest.mark.both_databases
def test_a_candidate_declines_an_invitation_and_a_new_list_invites_again(app, school):  # noqa: F811
    user_id, client = candidate(app, email="known@example.com")
    class_id = school["class_id"]
    _upload(school["client"], class_id, _csv([["邮箱"], ["known@example.com"]]))
    invitation = _invitation_id(app, class_id, "known@example.com")
    assert client.post(f"/classes/invitations/{invitation}/decline").status_code == 302
    assert _invitations(app, class_id)[0].declined_at is not None
    assert _status(app, class_id, user_id) is None
    assert "2027 助理冲刺班" not in client.get("/classes").get_data(as_text=True)
    assert "known@example.com" not in school["client"].get(
        f"/trainer/classes/{class_id}").get_data(as_text=True)
    assert client.post(f"/classes/invitations/{invitation}/decline").status_code == 404
    # The trainer may invite the address again: pending once more.
    _upload(school["client"], class_id, _csv([["邮箱"], ["known@example.com"]]))
    assert _invitations(app, class_id)[0].declined_at is None
    assert "邀请待确认" in client.get("/classes").get_data(as_text=True)


@pytest.mark.usefixtures("one_leg")
def test_a_trainer_withdraws_a_pending_invitation(app, school):  # noqa: F811
    user_id, client = candidate(app, email="known@example.com")
    class_id = school["class_id"]
    _upload(school["client"], class_id, _csv([["邮箱", "姓名"], ["known@example.com", "张三"]]))
    invitation = _invitation_id(app, class_id, "known@example.com")
    url = f"/trainer/classes/{class_id}/invitations/{invitation}/withdraw"
    roster = school["client"].get(f"/trainer/classes/{class_id}").get_data(as_text=True)
    assert url in roster and "撤回对 known@example.com 的邀请？" in roster
    # Another institution's trainer, and the wrong class: 404.
    outsider = logged_in(app, school["outsider"])
    assert outsider.post(url).status_code == 404
    other = _second_class(app, school)
    assert school["client"].post(
        f"/trainer/classes/{other}/invitations/{invitation}/withdraw").status_code == 404
    assert school["client"].post(url).status_code == 302
    assert _invitations(app, class_id)[0].withdrawn_at is not None
    assert "known@example.com" not in school["client"].get(
        f"/trainer/classes/{class_id}").get_data(as_text=True)
    assert "2027 助理冲刺班" not in client.get("/classes").get_data(as_text=True)
    assert client.post(f"/classes/invitations/{invitation}/accept",
                       data={"consent": "y"}).status_code == 404
    assert _status(app, class_id, user_id) is None
    # Withdrawing again says so, and changes nothing.
    school["client"].post(url)
    assert "已被接受、拒绝或撤回" in school["client"].get(
        f"/trainer/classes/{class_id}").get_data(as_text=True)


@pytest.mark.usefixtures("one_leg")
def test_someone_who_signs_up_later_with_the_address_sees_the_invitation(app, school):  # noqa: F811
    class_id = school["class_id"]
    _upload(school["client"], class_id, _csv([["邮箱"], ["Later@Example.com"]]))
    assert [i.email for i in _invitations(app, class_id)] == ["later@example.com"]
    user_id = make_user(app, email="later@example.com")
    client = login(app, "later@example.com")
    invitation = _invitation_id(app, class_id, "later@example.com")
    assert f"/classes/invitations/{invitation}/accept" in client.get("/classes").get_data(
        as_text=True)
    assert client.post(f"/classes/invitations/{invitation}/accept",
                       data={"consent": "y"}).status_code == 302
    assert _status(app, class_id, user_id) is EnrolmentStatus.ENROLLED


@pytest.mark.usefixtures("one_leg")
def test_no_one_else_can_accept_or_decline_an_invitation(app, school):  # noqa: F811
    owner, owner_client = candidate(app, email="known@example.com")
    class_id = school["class_id"]
    _upload(school["client"], class_id, _csv([["邮箱"], ["known@example.com"]]))
    invitation = _invitation_id(app, class_id, "known@example.com")
    _other, other = candidate(app)
    assert other.get(f"/classes/invitations/{invitation}/accept").status_code == 404
    assert other.post(f"/classes/invitations/{invitation}/accept",
                      data={"consent": "y"}).status_code == 404
    assert other.post(f"/classes/invitations/{invitation}/decline").status_code == 404
    assert f"/classes/invitations/{invitation}" not in other.get("/classes").get_data(
        as_text=True)
    # A staff account with the invited address is no candidate: the route refuses it.
    staff_id = make_user(app, Role.TRAINER, email="staff@example.com")
    _upload(school["client"], class_id, _csv([["邮箱"], ["staff@example.com"]]))
    staff_invitation = _invitation_id(app, class_id, "staff@example.com")
    assert logged_in(app, staff_id).post(
        f"/classes/invitations/{staff_invitation}/accept").status_code in (403, 404)
    assert _enrolments(app, class_id) == 0
    assert _invitations(app, class_id)[0].accepted_at is None
    assert owner_client.get(f"/classes/invitations/{invitation}/accept").status_code == 200
    assert owner


@pytest.mark.db
@pytest.mark.parametrize("other", ["accept", "withdraw"])
def test_accepting_twice_or_while_withdrawn_makes_one_enrolment_at_most(
        database, app, school, other):  # noqa: F811
    from exam_portal.services import ServiceError
    from exam_portal.services.exam_sessions import classes

    if database[0] != "postgresql":
        pytest.skip("a race: PostgreSQL only")
    for n in range(4):
        email = f"racer{n}@example.com"
        user_id, _client = candidate(app, email=email)
        _upload(school["client"], school["class_id"], _csv([["邮箱"], [email]]))
        invitation = _invitation_id(app, school["class_id"], email)
        barrier, errors, refused = threading.Barrier(2), [], []

        def run(call, barrier=barrier, errors=errors, refused=refused):
            with app.app_context(), app.test_request_context(method="POST"):
                try:
                    barrier.wait(timeout=10)
                    call()
                    db.session.commit()
                except ServiceError as error:
                    db.session.rollback()
                    refused.append(str(error))
                except BaseException as error:  # noqa: BLE001 - the test reads it
                    db.session.rollback()
                    errors.append(error)

        def accept(user_id=user_id, invitation=invitation):
            classes.accept_invitation(db.session.get(User, user_id), invitation, now=utcnow())

        def withdraw(invitation=invitation):
            classes.withdraw_invitation(db.session.get(TrainingClass, school["class_id"]),
                                        invitation, db.session.get(User, school["head"]),
                                        now=utcnow())

        calls = (accept, accept if other == "accept" else withdraw)
        threads = [threading.Thread(target=run, args=(call,)) for call in calls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors, errors
        assert len(refused) == 1, refused
        found = next(i for i in _invitations(app, school["class_id"]) if i.email == email)
        enrolled = _status(app, school["class_id"], user_id) is EnrolmentStatus.ENROLLED
        assert enrolled == (found.accepted_at is not None)
        assert (found.accepted_at is None) == (found.withdrawn_at is not None)


@pytest.mark.usefixtures("one_leg")
def test_every_invited_address_is_mailed_the_same_text(app, school):  # noqa: F811
    from exam_portal.models.mail import OutboxMail
    from exam_portal.services.exam_sessions import classes
    from exam_portal.services.platform import mail

    candidate(app, email="victim@example.com")
    make_user(app, Role.TRAINER, email="staffer@example.com")
    emails = ["victim@example.com", "staffer@example.com", "nobody@example.com"]
    class_id = school["class_id"]
    _upload(school["client"], class_id, _csv([["邮箱"], *[[e] for e in emails]]))
    _upload(school["client"], class_id, _csv([["邮箱"], *[[e] for e in emails]]))  # again
    with app.app_context(), app.test_request_context():
        queued = list(db.session.scalars(sa.select(OutboxMail).where(
            OutboxMail.kind == classes.INVITATION_MAIL).order_by(OutboxMail.id)))
        # One mail per address (a pending invitation is not mailed twice), same text.
        assert sorted(m.to_address for m in queued) == sorted(emails)
        drafts = {(d.subject, d.body) for d in (
            mail.COMPOSERS[m.kind](m.to_address, m.params) for m in queued)}
        assert len(drafts) == 1
        subject, body = drafts.pop()
        assert "2027 助理冲刺班" in subject and "阳光社工培训中心" in body
        assert "/classes" in body
    # A withdrawn invitation is not mailed any more.
    invitation = _invitation_id(app, class_id, "nobody@example.com")
    school["client"].post(f"/trainer/classes/{class_id}/invitations/{invitation}/withdraw")
    with app.app_context(), app.test_request_context():
        late = db.session.scalar(sa.select(OutboxMail).where(
            OutboxMail.to_address == "nobody@example.com"))
        assert mail.COMPOSERS[late.kind](late.to_address, late.params) is None
