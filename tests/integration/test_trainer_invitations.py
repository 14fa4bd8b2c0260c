"""Inviting a new trainer: an institution admin invites an address, the invitee sets a
password by the mailed single-use link and becomes a trainer of the institution. The
admin's page answers the same for every address; expired, used and withdrawn links
change nothing; only the institution's admins invite and withdraw (404 for others)."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.audit import AuditEvent
from exam_portal.models.institutions import Institution, InstitutionMember
from exam_portal.models.mail import OutboxMail
from exam_portal.models.trainer_invitations import TrainerInvitation
from exam_portal.models.types import utcnow
from exam_portal.services.platform import mail_delivery
from question_bank.institutions import InstitutionKind

from ..conftest import PASSWORD
from ..factories import logged_in, make_user

pytestmark = pytest.mark.usefixtures("one_leg")

NEW = "new.trainer@example.com"


@pytest.fixture
def people(app):
    return {
        "admin": make_user(app, Role.ADMIN, email="portal-admin@example.com"),
        "head": make_user(app, Role.TRAINER, email="head@example.com"),
        "member": make_user(app, Role.TRAINER, email="member@example.com"),
        "trainer": make_user(app, Role.TRAINER, email="trainer@example.com"),
        "elsewhere": make_user(app, Role.TRAINER, email="elsewhere@example.com"),
        "candidate": make_user(app, Role.CANDIDATE, email="cand@example.com"),
    }


def _institution(app, people, name, admin, others=()) -> int:
    with app.app_context():
        institution = Institution(name=name, kind=InstitutionKind.TRAINING_ORG,
                                  created_by_id=people["admin"])
        institution.members.append(InstitutionMember(user_id=admin, is_admin=True))
        for other in others:
            institution.members.append(InstitutionMember(user_id=other))
        db.session.add(institution)
        db.session.commit()
        return institution.id


@pytest.fixture
def sunshine(app, people):
    _institution(app, people, "别的机构", people["elsewhere"])
    return _institution(app, people, "阳光社工培训中心", people["head"], [people["member"]])


def _mails_to(app, email) -> list[OutboxMail]:
    with app.app_context():
        mail_delivery.deliver()
        rows = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.to_address == email)
                                  .order_by(OutboxMail.id)).all()
        db.session.expunge_all()
        return rows


def _link(app, email=NEW) -> str:
    return re.search(r"http://\S+(/trainer-invitation/\S+)", _mails_to(app, email)[-1].body
                     ).group(1)


def _invite(client, institution_id, email=NEW, name="王小明"):
    return client.post(f"/trainer/institutions/{institution_id}/invitations",
                       data={"email": email, "name": name})


def _accept(client, link, password=PASSWORD):
    return client.post(link, data={"password": password, "confirm": password})


def _actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.action.like("institutions.%")).order_by(AuditEvent.id)))


def _user(app, email):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


@pytest.mark.both_databases
def test_an_invited_trainer_sets_a_password_and_joins_the_institution(app, people, sunshine):
    head = logged_in(app, people["head"])
    response = _invite(head, sunshine, email="  New.Trainer@Example.com ")
    assert response.status_code == 302
    page = head.get(response.headers["Location"]).get_data(as_text=True)
    assert "邀请已发出" in page and NEW in page and "王小明" in page  # pending, listed
    [invitation_mail] = _mails_to(app, NEW)
    assert "阳光社工培训中心" in invitation_mail.subject
    with app.app_context():
        invitation = db.session.scalar(sa.select(TrainerInvitation))
        token = re.search(r"/trainer-invitation/(\S+)", invitation_mail.body).group(1)
        assert invitation.token_hash and token not in invitation.token_hash  # a hash only
        assert invitation.invited_by_id == people["head"] and invitation.email == NEW
        assert timedelta(days=6) < invitation.expires_at - utcnow() <= timedelta(days=7)
    link = _link(app)
    visitor = app.test_client()
    page = visitor.get(link).get_data(as_text=True)
    assert NEW in page and "阳光社工培训中心" in page
    # A weak password: refused, nothing made, the link still works.
    assert _accept(visitor, link, password="short").status_code == 200
    assert _user(app, NEW) is None
    response = _accept(visitor, link)
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/login")
    user = _user(app, NEW)
    assert user.role is Role.TRAINER and user.is_active
    with app.app_context():
        member = db.session.get(InstitutionMember, (sunshine, user.id))
        assert member is not None and not member.is_admin
        assert member.added_by_id == people["head"]
    trainer = logged_in(app, user.id)  # can log in
    assert "阳光社工培训中心" in trainer.get("/trainer/institutions").get_data(as_text=True)
    # Accepted: no longer pending, and the link is spent.
    assert NEW not in head.get(f"/trainer/institutions/{sunshine}/invitations"
                               ).get_data(as_text=True)
    again = app.test_client()
    response = again.get(link)
    assert response.status_code == 404 and "已使用" in response.get_data(as_text=True)
    assert _accept(again, link).status_code == 404
    assert _actions(app) == ["institutions.trainer_invited",
                             "institutions.invitation_accepted"]


def test_expired_and_withdrawn_links_change_nothing(app, people, sunshine):
    head = logged_in(app, people["head"])
    _invite(head, sunshine)
    expired = _link(app)
    with app.app_context():
        db.session.execute(sa.update(TrainerInvitation).values(
            expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    visitor = app.test_client()
    assert "已过期" in visitor.get(expired).get_data(as_text=True)
    assert _accept(visitor, expired).status_code == 404
    assert _user(app, NEW) is None
    # An expired invitation is no longer pending: the address can be invited again.
    assert _invite(head, sunshine).status_code == 302
    withdrawn = _link(app)
    with app.app_context():
        invitation_id = db.session.scalar(sa.select(TrainerInvitation.id).where(
            TrainerInvitation.expires_at > utcnow()))
    # Invited twice while pending: refused.
    assert "已经邀请过" in head.post(f"/trainer/institutions/{sunshine}/invitations", data={
        "email": NEW, "name": "王小明"}, follow_redirects=True).get_data(as_text=True)
    url = f"/trainer/institutions/{sunshine}/invitations/{invitation_id}/withdraw"
    page = head.post(url, follow_redirects=True).get_data(as_text=True)
    assert "邀请已撤回" in page and NEW not in page.split("待接受的邀请")[1]
    assert "已撤回" in head.post(url, follow_redirects=True).get_data(as_text=True)
    assert _accept(visitor, withdrawn).status_code == 404
    assert _user(app, NEW) is None
    assert _actions(app) == ["institutions.trainer_invited", "institutions.trainer_invited",
                             "institutions.invitation_withdrawn"]


def test_an_address_with_an_account_gets_the_same_page_and_no_new_account(app, people,
                                                                           sunshine):
    head = logged_in(app, people["head"])
    answers = []
    for email in (NEW, "TRAINER@example.com", "cand@example.com", "portal-admin@example.com"):
        response = _invite(head, sunshine, email=email)
        page = head.get(response.headers["Location"]).get_data(as_text=True)
        answers.append((response.status_code,
                        re.search(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', page,
                                  re.S).group(1).strip()))
    assert len(set(answers)) == 1, answers
    # An existing trainer is added to the institution and told so; no link.
    [added] = _mails_to(app, "trainer@example.com")
    assert "/trainer-invitation/" not in added.body and "/auth/login" in added.body
    with app.app_context():
        assert db.session.get(InstitutionMember, (sunshine, people["trainer"])) is not None
        # A candidate and an administrator stay what they are, outside the institution.
        for who, role in (("candidate", Role.CANDIDATE), ("admin", Role.ADMIN)):
            assert db.session.get(User, people[who]).role is role
            assert db.session.get(InstitutionMember, (sunshine, people[who])) is None
    for email in ("cand@example.com", "portal-admin@example.com"):
        [notice] = _mails_to(app, email)
        assert "/trainer-invitation/" not in notice.body and "没有任何改变" in notice.body
    assert "/trainer-invitation/" in _mails_to(app, NEW)[0].body


def test_only_the_institutions_admins_invite_and_withdraw(app, people, sunshine):
    head = logged_in(app, people["head"])
    _invite(head, sunshine)
    with app.app_context():
        invitation_id = db.session.scalar(sa.select(TrainerInvitation.id))
    base = f"/trainer/institutions/{sunshine}/invitations"
    for who in ("member", "elsewhere", "trainer"):
        client = logged_in(app, people[who])
        assert client.get(base).status_code == 404
        assert _invite(client, sunshine, email="x@example.com").status_code == 404
        assert client.post(f"{base}/{invitation_id}/withdraw").status_code == 404
    for who in ("candidate", "admin"):
        client = logged_in(app, people[who])
        assert client.get(base).status_code == 403
        assert _invite(client, sunshine, email="x@example.com").status_code == 403
        assert client.post(f"{base}/{invitation_id}/withdraw").status_code == 403
    # Another institution's admin cannot withdraw this one through their own institution.
    other_id = _institution(app, people, "第三机构", people["trainer"])
    trainer = logged_in(app, people["trainer"])
    assert trainer.post(f"/trainer/institutions/{other_id}/invitations/{invitation_id}"
                        "/withdraw").status_code == 404
    with app.app_context():
        invitation = db.session.get(TrainerInvitation, invitation_id)
        assert invitation.withdrawn_at is None
        assert db.session.scalar(sa.select(sa.func.count(TrainerInvitation.id))) == 1
    assert _actions(app) == ["institutions.trainer_invited"]


def test_the_accept_page_is_public_and_checks_csrf(app, people, sunshine):
    from exam_portal.web.permissions import ACCESS, ANYONE

    assert ACCESS["trainer_invitations.accept"] == ANYONE
    head = logged_in(app, people["head"])
    _invite(head, sunshine)
    link = _link(app)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        visitor = app.test_client()
        assert visitor.get(link).status_code == 200
        assert _accept(visitor, link).status_code == 400  # no CSRF token: refused
        assert _user(app, NEW) is None
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert app.test_client().get("/trainer-invitation/not-a-token").status_code == 404


@pytest.mark.both_databases
def test_a_link_accepted_twice_at_once_makes_one_account(app, database, people, sunshine):
    import threading

    from exam_portal.services.exam_sessions import trainer_invitations

    if database[0] != "postgresql":
        pytest.skip("a race: PostgreSQL only")
    head = logged_in(app, people["head"])
    _invite(head, sunshine)
    token = _link(app).rsplit("/", 1)[1]
    barrier, errors, made = threading.Barrier(2), [], []

    def accept():
        with app.app_context(), app.test_request_context(method="POST"):
            try:
                barrier.wait(timeout=10)
                made.append(trainer_invitations.accept(token, PASSWORD).id)
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 - the test reads it
                db.session.rollback()
                errors.append(error)

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(made) == 1 and len(errors) == 1, errors
    # The second finds the link spent (the conditional update), not the address taken.
    assert isinstance(errors[0], trainer_invitations.InvalidInvitation), errors
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.email == NEW)) == 1
        assert db.session.get(InstitutionMember, (sunshine, made[0])) is not None


def test_the_mail_and_pages_speak_the_inviters_language(app, people, sunshine):
    head = logged_in(app, people["head"])
    head.post("/language", data={"locale": "en"})
    response = _invite(head, sunshine)
    assert "Invitation sent." in head.get(response.headers["Location"]).get_data(as_text=True)
    [invitation_mail] = _mails_to(app, NEW)
    assert invitation_mail.subject == "You are invited to be a trainer of “阳光社工培训中心”"
    visitor = app.test_client()
    visitor.post("/language", data={"locale": "en"})
    assert "Become a trainer of" in visitor.get(_link(app)).get_data(as_text=True)
    _accept(visitor, _link(app))
    assert _user(app, NEW).locale == "en"


def test_the_demo_has_a_pending_invitation_with_a_working_link(seeded):
    from exam_portal.commands import demo

    app = seeded.app
    assert demo.DEMO_INVITED_TRAINER in seeded.output
    link = _link(app, demo.DEMO_INVITED_TRAINER)
    page = app.test_client().get(link).get_data(as_text=True)
    assert demo.DEMO_INSTITUTION_NAME in page and demo.DEMO_INVITED_TRAINER in page


def test_guessing_links_and_sending_invitations_are_rate_limited(app, people, sunshine):
    visitor = app.test_client()
    statuses = [_accept(visitor, f"/trainer-invitation/guess-{i}").status_code
                for i in range(11)]
    assert statuses[:10] == [404] * 10 and statuses[10] == 429
    head = logged_in(app, people["head"])
    statuses = [_invite(head, sunshine, email=f"n{i}@example.com").status_code
                for i in range(11)]
    assert statuses[:10] == [302] * 10 and statuses[10] == 429
