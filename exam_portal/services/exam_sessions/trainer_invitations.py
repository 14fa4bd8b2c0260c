"""Invitations of new trainers: an institution admin invites an address, the invitee
follows the mailed single-use link and sets a password, and a trainer account that
belongs to the institution is made.

The admin's request does the same work whatever the address (one invitation row, one
outbox row, one audit event, no account lookup) and the page says the same thing; the
mail's composer alone looks the address up: a new address gets the link, an existing
trainer is added to the institution and told so, any other account is told that
nothing changed. Only the SHA-256 of the link's token is stored."""

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from exam_portal.extensions import db, no_write_lock
from exam_portal.models.accounts import Role, User
from exam_portal.models.institutions import Institution, InstitutionMember
from exam_portal.models.trainer_invitations import TrainerInvitation
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.accounts import accounts
from exam_portal.services.exam_sessions.institutions import NotMember
from exam_portal.services.platform import audit, mail

INVITATION_MAIL = "institutions.trainer_invitation"
INVITATION_DAYS = 7


class InvalidInvitation(ServiceError):
    pass


def _refused() -> InvalidInvitation:
    return InvalidInvitation(
        _("邀请链接无效、已使用、已撤回或已过期。请联系邀请你的机构重新邀请。"))


def _pending_filter(now: datetime):
    return (TrainerInvitation.used_at.is_(None), TrainerInvitation.withdrawn_at.is_(None),
            TrainerInvitation.expires_at >= now)


def pending(institution_id: int, now: datetime):
    """The institution's invitations not yet accepted, withdrawn or expired (newest first)."""
    return (sa.select(TrainerInvitation)
            .where(TrainerInvitation.institution_id == institution_id, *_pending_filter(now))
            .order_by(TrainerInvitation.id.desc()))


def invite(institution: Institution, email: str, name: str, actor: User, *,
           now: datetime, locale: str | None) -> TrainerInvitation:
    """Invite *email* to become a trainer of *institution* (its admin checked by the
    caller). The same work, and the same answer, for every address."""
    email = accounts.normalise_email(email)
    if db.session.scalar(pending(institution.id, now).where(
            TrainerInvitation.email == email).limit(1)) is not None:
        raise ServiceError(_("已经邀请过这个邮箱，邀请尚未处理。可以撤回后重新邀请。"))
    invitation = TrainerInvitation(
        institution_id=institution.id, email=email, name=name.strip(), locale=locale,
        invited_by_id=actor.id, created_at=now,
        expires_at=now + timedelta(days=INVITATION_DAYS))
    db.session.add(invitation)
    db.session.flush()
    mail.send_later(INVITATION_MAIL, email, {"invitation": invitation.id, "locale": locale})
    audit.record("institutions.trainer_invited", target=institution, actor=actor,
                 details={"invitation": invitation.id, "email": email})
    return invitation


@mail.composer(INVITATION_MAIL)
def _compose_invitation(email: str, params: dict) -> mail.Draft | None:
    invitation = db.session.get(TrainerInvitation, params.get("invitation"))
    now = utcnow()
    if (invitation is None or invitation.used_at is not None
            or invitation.withdrawn_at is not None or invitation.expires_at < now
            or not invitation.institution.is_active):
        return None
    institution = invitation.institution
    owner = accounts.find_by_email(email)
    if owner is None:
        token = secrets.token_urlsafe(32)  # 256 bits
        invitation.token_hash = accounts.token_hash(token)
        return mail.Draft(
            _("邀请你成为“%(institution)s”的培训师", institution=institution.name),
            _("%(name)s，你好：\n“%(institution)s”邀请你在社会工作者考试门户开设培训师账号，"
              "成为该机构的培训师。\n"
              "请在 %(days)d 天内打开以下链接设置密码（只能使用一次）：\n%(link)s\n"
              "如果你不认识这个机构，请忽略本邮件，不会创建任何账号。",
              name=invitation.name, institution=institution.name, days=INVITATION_DAYS,
              link=mail.public_url("trainer_invitations.accept", token=token)),
            expires_at=invitation.expires_at)
    if owner.role is Role.TRAINER and owner.is_active:
        # An existing trainer is added as an admin would add them by e-mail.
        db.session.execute(sa.select(Institution.id).where(Institution.id == institution.id)
                           .with_for_update())
        if db.session.get(InstitutionMember, (institution.id, owner.id),
                          populate_existing=True) is None:
            db.session.add(InstitutionMember(
                institution_id=institution.id, user_id=owner.id, is_admin=False,
                added_by_id=invitation.invited_by_id, added_at=now))
        invitation.used_at, invitation.user_id = now, owner.id
        db.session.flush()
        audit.record("institutions.trainer_added", target=institution, details={
            "trainer": owner.id, "admin": False, "invitation": invitation.id})
        return mail.Draft(
            _("你已成为“%(institution)s”的培训师", institution=institution.name),
            _("“%(institution)s”的管理员把你的培训师账号加入了该机构。登录后可以在"
              "“我的机构”中看到它：\n%(login)s\n如有疑问，请联系该机构。",
              institution=institution.name, login=mail.public_url("auth.login")))
    # A candidate's or an administrator's address (or a closed account): nothing changes.
    audit.record("institutions.invitation_for_other_account", target=institution,
                 details={"invitation": invitation.id})
    return mail.Draft(
        _("“%(institution)s”的培训师邀请", institution=institution.name),
        _("“%(institution)s”邀请这个邮箱成为该机构的培训师，但这个邮箱已经用于门户的另一个账号，"
          "所以没有创建培训师账号，你的账号也没有任何改变。\n"
          "如需成为培训师，请联系该机构或门户管理员。",
          institution=institution.name))


def _valid_invitation(token: str) -> TrainerInvitation:
    invitation = db.session.scalar(sa.select(TrainerInvitation).where(
        TrainerInvitation.token_hash == accounts.token_hash(token or "")))
    if (invitation is None or invitation.used_at is not None
            or invitation.withdrawn_at is not None or invitation.expires_at < utcnow()
            or not invitation.institution.is_active):
        raise _refused()
    return invitation


def invitation_for_token(token: str) -> TrainerInvitation:
    """The invitation a link is for; InvalidInvitation unless it can still be accepted."""
    return _valid_invitation(token)


def accept(token: str, password: str) -> User:
    """Create the trainer account an invitation link was mailed for, with *password*,
    as a trainer of the institution.

    The password is checked and hashed with no write transaction open; the invitation
    is spent by a conditional update, so a link posted twice at once makes one account.
    """
    with no_write_lock():
        email = _valid_invitation(token).email
    password_hash = accounts.hash_new_password(password, email=email)
    invitation = _valid_invitation(token)
    now = utcnow()
    spent = db.session.execute(
        sa.update(TrainerInvitation)
        .where(TrainerInvitation.id == invitation.id, *_pending_filter(now))
        .values(used_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if spent != 1:
        raise _refused()
    taken = accounts.EmailTaken(_("该电子邮箱已注册，请直接登录；忘记密码可以重置。"))
    if accounts.find_by_email(invitation.email) is not None:
        raise taken
    user = User(email=invitation.email, password_hash=password_hash, role=Role.TRAINER,
                session_token=accounts.new_session_token(), locale=invitation.locale)
    try:
        with db.session.begin_nested():  # two invitations of one address accepted at once
            db.session.add(user)
    except IntegrityError as error:
        raise taken from error
    db.session.add(InstitutionMember(
        institution_id=invitation.institution_id, user_id=user.id, is_admin=False,
        added_by_id=invitation.invited_by_id, added_at=now))
    db.session.execute(
        sa.update(TrainerInvitation).where(TrainerInvitation.id == invitation.id)
        .values(user_id=user.id).execution_options(synchronize_session=False))
    db.session.flush()
    audit.record("institutions.invitation_accepted", target=invitation.institution,
                 actor=user, details={"invitation": invitation.id, "trainer": user.id})
    return user


def withdraw(institution: Institution, invitation_id: int, actor: User, *,
             now: datetime) -> None:
    """Withdraw a pending invitation: its link no longer works. Another institution's
    invitation is NotMember (404)."""
    withdrawn = db.session.execute(
        sa.update(TrainerInvitation)
        .where(TrainerInvitation.id == invitation_id,
               TrainerInvitation.institution_id == institution.id,
               TrainerInvitation.used_at.is_(None), TrainerInvitation.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if withdrawn != 1:
        exists = db.session.scalar(sa.select(TrainerInvitation.id).where(
            TrainerInvitation.id == invitation_id,
            TrainerInvitation.institution_id == institution.id))
        if exists is None:
            raise NotMember(_("没有这份邀请。"))
        raise ServiceError(_("这份邀请已被接受或已撤回。"))
    audit.record("institutions.invitation_withdrawn", target=institution, actor=actor,
                 details={"invitation": invitation_id})
