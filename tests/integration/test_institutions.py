"""Institutions: administrators create, edit and deactivate them and name institution
admins; an institution admin adds and removes trainers; every change is audited; a
trainer who is not an institution's admin gets 404 for its trainers' pages."""

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.audit import AuditEvent
from exam_portal.models.institutions import Institution, InstitutionMember
from question_bank.institutions import InstitutionKind

from ..factories import logged_in, make_user

pytestmark = pytest.mark.usefixtures("one_leg")


def _actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.action.like("institutions.%")).order_by(AuditEvent.id)))


@pytest.fixture
def people(app):
    return {
        "admin": make_user(app, Role.ADMIN, email="inst-admin@example.com"),
        "head": make_user(app, Role.TRAINER, email="head@example.com"),
        "trainer": make_user(app, Role.TRAINER, email="trainer@example.com"),
        "other": make_user(app, Role.TRAINER, email="other@example.com"),
        "candidate": make_user(app, Role.CANDIDATE, email="cand@example.com"),
    }


def _create(client, name="阳光社工培训中心", admin_email="head@example.com"):
    return client.post("/admin/institutions/new", data={
        "name": name, "kind": "training_org", "province": "", "admin_email": admin_email})


def test_an_administrator_creates_an_institution_with_its_first_admin(app, people):
    admin = logged_in(app, people["admin"])
    response = _create(admin)
    assert response.status_code == 302
    institution_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = admin.get(f"/admin/institutions/{institution_id}").get_data(as_text=True)
    assert "阳光社工培训中心" in page and "head@example.com" in page
    assert "阳光社工培训中心" in admin.get("/admin/institutions").get_data(as_text=True)
    with app.app_context():
        member = db.session.get(InstitutionMember, (institution_id, people["head"]))
        assert member.is_admin
    # The same name again, an unknown admin, a candidate as admin: refused, nothing made.
    for name, email in (("阳光社工培训中心", "head@example.com"),
                        ("新机构", "nobody@example.com"), ("新机构", "cand@example.com")):
        response = _create(admin, name, email)
        assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Institution.id))) == 1
    assert _actions(app) == ["institutions.created"]


def test_edit_deactivate_and_name_another_admin(app, people):
    admin = logged_in(app, people["admin"])
    institution_id = int(_create(admin).headers["Location"].rsplit("/", 1)[1])
    assert admin.post(f"/admin/institutions/{institution_id}", data={
        "name": "阳光学院", "kind": "university", "province": "110000"}).status_code == 302
    assert admin.post(f"/admin/institutions/{institution_id}/admin",
                      data={"email": "trainer@example.com"}).status_code == 302
    assert admin.post(f"/admin/institutions/{institution_id}/active").status_code == 302
    with app.app_context():
        institution = db.session.get(Institution, institution_id)
        assert institution.name == "阳光学院" and institution.province == "110000"
        assert not institution.is_active
        assert db.session.get(InstitutionMember, (institution_id, people["trainer"])).is_admin
    # A deactivated institution's admin no longer manages it.
    head = logged_in(app, people["head"])
    assert head.get(f"/trainer/institutions/{institution_id}/trainers").status_code == 404
    assert _actions(app) == ["institutions.created", "institutions.edited",
                             "institutions.admin_named", "institutions.deactivated"]


def test_an_institution_admin_adds_and_removes_trainers(app, people):
    admin = logged_in(app, people["admin"])
    institution_id = int(_create(admin).headers["Location"].rsplit("/", 1)[1])
    second = int(_create(admin, "第二机构", "other@example.com")
                 .headers["Location"].rsplit("/", 1)[1])
    head = logged_in(app, people["head"])
    url = f"/trainer/institutions/{institution_id}/trainers"
    assert head.post(url, data={"email": "trainer@example.com"}).status_code == 302
    # Unknown addresses and candidates are not trainers: refused with a message.
    head.post(url, data={"email": "cand@example.com"})
    assert "没有使用这个邮箱的培训师账号" in head.get(url).get_data(as_text=True)
    # A trainer may belong to several institutions.
    other = logged_in(app, people["other"])
    assert other.post(f"/trainer/institutions/{second}/trainers",
                      data={"email": "trainer@example.com"}).status_code == 302
    trainer = logged_in(app, people["trainer"])
    page = trainer.get("/trainer/institutions").get_data(as_text=True)
    assert "阳光社工培训中心" in page and "第二机构" in page
    # Not an admin of it: 404 for its trainers' pages; the other institution's admin too.
    assert trainer.get(url).status_code == 404
    assert trainer.post(url, data={"email": "other@example.com"}).status_code == 404
    assert other.get(url).status_code == 404
    assert other.post(f"{url}/{people['trainer']}/remove").status_code == 404
    # The last institution admin cannot be removed; another trainer can.
    head.post(f"{url}/{people['head']}/remove")
    assert head.post(f"{url}/{people['trainer']}/remove").status_code == 302
    assert head.post(f"{url}/{people['other']}/remove").status_code == 404
    with app.app_context():
        members = set(db.session.scalars(sa.select(InstitutionMember.user_id).where(
            InstitutionMember.institution_id == institution_id)))
        assert members == {people["head"]}
    assert _actions(app).count("institutions.trainer_added") == 2
    assert _actions(app).count("institutions.trainer_removed") == 1


@pytest.mark.parametrize("path", [
    "/admin/institutions", "/admin/institutions/new", "/admin/institutions/1"])
def test_only_administrators_reach_the_institution_pages(app, people, path):
    for role in ("head", "candidate"):
        assert logged_in(app, people[role]).get(path).status_code == 403
    assert app.test_client().get(path).status_code == 302  # to the login page


@pytest.mark.both_databases
def test_two_admins_removing_each_other_at_once_leave_one_admin(app, database, people):
    import threading

    from exam_portal.models.accounts import User
    from exam_portal.services import ServiceError
    from exam_portal.services.exam_sessions import institutions

    if database[0] != "postgresql":
        pytest.skip("a race: PostgreSQL only")
    with app.app_context():
        institution = Institution(name="两位管理员", kind=InstitutionKind.TRAINING_ORG,
                                  created_by_id=people["admin"])
        institution.members.append(InstitutionMember(user_id=people["head"], is_admin=True))
        institution.members.append(InstitutionMember(user_id=people["trainer"], is_admin=True))
        db.session.add(institution)
        db.session.commit()
        institution_id = institution.id
    barrier, errors = threading.Barrier(2), []

    def remove(actor, target):
        with app.app_context(), app.test_request_context(method="POST"):
            try:
                found = db.session.get(Institution, institution_id)
                barrier.wait(timeout=10)
                institutions.remove_trainer(found, target, db.session.get(User, actor))
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 - the test reads it
                db.session.rollback()
                errors.append(error)

    threads = [threading.Thread(target=remove, args=pair) for pair in (
        (people["head"], people["trainer"]), (people["trainer"], people["head"]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with app.app_context():
        admins = db.session.scalar(sa.select(sa.func.count()).select_from(
            InstitutionMember).where(InstitutionMember.institution_id == institution_id,
                                     InstitutionMember.is_admin.is_(True)))
    assert admins == 1
    assert len(errors) == 1 and isinstance(errors[0], ServiceError), errors
    assert "唯一的管理员" in str(errors[0])


@pytest.mark.both_databases
def test_two_admins_adding_the_same_trainer_at_once_add_them_once(app, database, people):
    import threading

    from exam_portal.models.accounts import User
    from exam_portal.models.types import utcnow
    from exam_portal.services import ServiceError
    from exam_portal.services.exam_sessions import institutions

    if database[0] != "postgresql":
        pytest.skip("a race: PostgreSQL only")
    with app.app_context():
        institution = Institution(name="同时添加", kind=InstitutionKind.TRAINING_ORG,
                                  created_by_id=people["admin"])
        institution.members.append(InstitutionMember(user_id=people["head"], is_admin=True))
        db.session.add(institution)
        db.session.commit()
        institution_id = institution.id
    barrier, errors = threading.Barrier(2), []

    def add():
        with app.app_context(), app.test_request_context(method="POST"):
            try:
                found = db.session.get(Institution, institution_id)
                barrier.wait(timeout=10)
                institutions.add_trainer(found, "trainer@example.com",
                                         db.session.get(User, people["head"]), now=utcnow())
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 - the test reads it
                db.session.rollback()
                errors.append(error)

    threads = [threading.Thread(target=add) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(errors) == 1 and isinstance(errors[0], ServiceError), errors
    assert "已经是本机构的成员" in str(errors[0])
    with app.app_context():
        assert db.session.get(InstitutionMember, (institution_id, people["trainer"]))
