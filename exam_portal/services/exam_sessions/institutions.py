"""Training institutions (培训机构): administrators create and edit them and name the
first institution admin; an institution admin adds the institution's other trainers
(existing trainer accounts, by e-mail) and removes them. A trainer may belong to
several institutions. Every change is audited."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.institutions import Institution, InstitutionMember
from exam_portal.services import ServiceError
from exam_portal.services.platform import audit
from question_bank.institutions import InstitutionKind


class NotMember(ServiceError):
    """Not a trainer of that institution (views answer 404)."""


@dataclass(frozen=True)
class InstitutionFields:
    name: str
    kind: InstitutionKind
    province: str | None


def listing():
    """Every institution, for the administrators' list (newest first)."""
    return sa.select(Institution).order_by(Institution.id.desc())


def _trainer_by_email(email: str) -> User:
    user = db.session.scalar(sa.select(User).where(
        sa.func.lower(User.email) == (email or "").strip().lower()))
    if user is None or user.role is not Role.TRAINER or not user.is_active:
        raise ServiceError(gettext(
            "没有使用这个邮箱的培训师账号。新培训师的账号由管理员在“用户”中创建，"
            "创建后再在这里添加。"))
    return user


def _name_taken(name: str, except_id: int | None = None) -> bool:
    query = sa.select(Institution.id).where(sa.func.lower(Institution.name) == name.lower())
    if except_id is not None:
        query = query.where(Institution.id != except_id)
    return db.session.scalar(query) is not None


def create(fields: InstitutionFields, admin_email: str, actor: User, *,
           now: datetime) -> Institution:
    """Create an institution with its first institution admin (a trainer account)."""
    if _name_taken(fields.name):
        raise ServiceError(gettext("已有同名的机构。"))
    admin = _trainer_by_email(admin_email)
    institution = Institution(name=fields.name, kind=fields.kind, province=fields.province,
                              is_active=True, created_by_id=actor.id, created_at=now)
    institution.members.append(InstitutionMember(user_id=admin.id, is_admin=True,
                                                 added_by_id=actor.id, added_at=now))
    db.session.add(institution)
    db.session.flush()
    audit.record("institutions.created", target=institution, actor=actor, details={
        "name": fields.name, "kind": fields.kind.value, "province": fields.province,
        "admin": admin.id})
    return institution


def edit(institution: Institution, fields: InstitutionFields, actor: User) -> None:
    if _name_taken(fields.name, institution.id):
        raise ServiceError(gettext("已有同名的机构。"))
    before = {"name": institution.name, "kind": institution.kind.value,
              "province": institution.province}
    institution.name, institution.kind, institution.province = \
        fields.name, fields.kind, fields.province
    db.session.flush()
    audit.record("institutions.edited", target=institution, actor=actor, details={
        "before": before, "after": {"name": fields.name, "kind": fields.kind.value,
                                    "province": fields.province}})


def set_active(institution: Institution, active: bool, actor: User) -> None:
    """Deactivate (or reactivate) an institution: a deactivated one's trainers no longer
    see its classes, and its classes take no one new; nothing is deleted."""
    if institution.is_active == active:
        return
    institution.is_active = active
    db.session.flush()
    audit.record("institutions.activated" if active else "institutions.deactivated",
                 target=institution, actor=actor)


def members(institution_id: int) -> list[tuple[InstitutionMember, User]]:
    return list(db.session.execute(
        sa.select(InstitutionMember, User).join(User, User.id == InstitutionMember.user_id)
        .where(InstitutionMember.institution_id == institution_id)
        .order_by(InstitutionMember.is_admin.desc(), User.email)))


def membership(user_id: int, institution_id: int) -> InstitutionMember | None:
    """The user's membership of an active institution, or None."""
    return db.session.scalar(
        sa.select(InstitutionMember).join(Institution)
        .where(InstitutionMember.user_id == user_id,
               InstitutionMember.institution_id == institution_id,
               Institution.is_active.is_(True)))


def institution_ids_of(user_id: int) -> list[int]:
    """The active institutions the user is a trainer of."""
    return list(db.session.scalars(
        sa.select(InstitutionMember.institution_id).join(Institution)
        .where(InstitutionMember.user_id == user_id, Institution.is_active.is_(True))
        .order_by(InstitutionMember.institution_id)))


def institutions_of(user_id: int) -> list[tuple[Institution, bool]]:
    """(institution, is institution admin) for the user's active institutions."""
    return list(db.session.execute(
        sa.select(Institution, InstitutionMember.is_admin).join(InstitutionMember)
        .where(InstitutionMember.user_id == user_id, Institution.is_active.is_(True))
        .order_by(Institution.name)))


def institution_for_admin(user: User, institution_id: int) -> Institution:
    """The institution if *user* is one of its institution admins (NotMember otherwise)."""
    member = membership(user.id, institution_id)
    if member is None or not member.is_admin:
        raise NotMember(gettext("没有这个机构。"))
    return member.institution


def _lock(institution: Institution) -> None:
    """Changes to one institution's members queue on its row (two admins at once)."""
    db.session.execute(sa.select(Institution.id).where(Institution.id == institution.id)
                       .with_for_update())


def add_trainer(institution: Institution, email: str, actor: User, *,
                now: datetime, as_admin: bool = False) -> User:
    trainer = _trainer_by_email(email)
    _lock(institution)
    if db.session.get(InstitutionMember, (institution.id, trainer.id),
                      populate_existing=True) is not None:
        raise ServiceError(gettext("这位培训师已经是本机构的成员。"))
    db.session.add(InstitutionMember(institution_id=institution.id, user_id=trainer.id,
                                     is_admin=as_admin, added_by_id=actor.id, added_at=now))
    db.session.flush()
    audit.record("institutions.trainer_added", target=institution, actor=actor,
                 details={"trainer": trainer.id, "admin": as_admin})
    return trainer


def remove_trainer(institution: Institution, trainer_id: int, actor: User) -> None:
    """Remove a trainer. The last institution admin cannot be removed (an administrator
    names another first), nor can an admin remove themselves while they are the last.
    Removals in one institution queue on its row, so two admins removing each other at
    once cannot both see the other still there."""
    _lock(institution)
    member = db.session.get(InstitutionMember, (institution.id, trainer_id),
                            with_for_update=True, populate_existing=True)
    if member is None:
        raise NotMember(gettext("这位培训师不是本机构的成员。"))
    if member.is_admin:
        admins = db.session.scalar(sa.select(sa.func.count()).where(
            InstitutionMember.institution_id == institution.id,
            InstitutionMember.is_admin.is_(True)))
        if admins <= 1:
            raise ServiceError(gettext("不能移除机构唯一的管理员。"))
    db.session.delete(member)
    db.session.flush()
    audit.record("institutions.trainer_removed", target=institution, actor=actor,
                 details={"trainer": trainer_id})


def set_admin(institution: Institution, email: str, actor: User, *, now: datetime) -> User:
    """An administrator names an institution admin: a trainer (added if not a member)."""
    trainer = _trainer_by_email(email)
    _lock(institution)
    member = db.session.get(InstitutionMember, (institution.id, trainer.id),
                            populate_existing=True)
    if member is None:
        db.session.add(InstitutionMember(institution_id=institution.id, user_id=trainer.id,
                                         is_admin=True, added_by_id=actor.id, added_at=now))
    elif member.is_admin:
        raise ServiceError(gettext("这位培训师已经是本机构的管理员。"))
    else:
        member.is_admin = True
    db.session.flush()
    audit.record("institutions.admin_named", target=institution, actor=actor,
                 details={"trainer": trainer.id})
    return trainer
