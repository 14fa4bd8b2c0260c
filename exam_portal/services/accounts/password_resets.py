"""Resetting a forgotten password by a single-use mailed link."""

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _

from exam_portal.extensions import db
from exam_portal.models.accounts import PasswordResetToken, User
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.accounts import accounts
from exam_portal.services.platform import audit, mail

RESET_LINK_MAIL = "auth.password_reset"


class InvalidResetLink(ServiceError):
    pass


def request_password_reset(email: str) -> None:
    """Queue a single-use reset link for *email*; it is mailed only if the address
    belongs to an active account.

    The request does the same work whoever asks (one outbox row, one audit event, no
    lookup) and the caller shows the same message, so neither the answer nor its time
    says which addresses are registered; the deliverer looks the address up.
    """
    mail.send_later(RESET_LINK_MAIL, accounts.normalise_email(email), {
        "locale": str(get_locale()), "asked_at": utcnow().isoformat()})
    audit.record("auth.password_reset_requested")


@mail.composer(RESET_LINK_MAIL)
def _compose_password_reset(email: str, params: dict) -> mail.Draft | None:
    user = accounts.find_by_email(email)
    if user is None or not user.is_active:
        return None
    # The link dates from when it was asked for, not from its delivery: one asked for
    # before the password last changed dies with that change, so it is not mailed.
    asked_at = datetime.fromisoformat(params["asked_at"]) if "asked_at" in params else utcnow()
    if user.password_changed_at is not None and asked_at < user.password_changed_at:
        return None
    token = secrets.token_urlsafe(32)  # 256 bits
    max_age = current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"]
    expires_at = utcnow() + timedelta(seconds=max_age)
    db.session.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=accounts.token_hash(token),
            created_at=asked_at,
            expires_at=expires_at,
        )
    )
    link = mail.public_url("auth.reset_password", token=token)
    audit.record("auth.password_reset_link_mailed", target=user)
    # A link mailed after it expired would only confuse: the message expires with it.
    return mail.Draft(
        _("重置密码"),
        _(
            "请在 %(minutes)d 分钟内打开以下链接设置新密码（只能使用一次）：\n%(link)s\n"
            "如果你没有申请重置密码，请忽略本邮件。",
            minutes=max_age // 60,
            link=link,
        ),
        expires_at=expires_at,
    )


def _link_refused() -> InvalidResetLink:
    return InvalidResetLink(_("重置链接无效、已使用或已过期，请重新申请。"))


def _valid_reset_token(token: str) -> PasswordResetToken:
    record = db.session.scalar(
        sa.select(PasswordResetToken).where(
            PasswordResetToken.token_hash == accounts.token_hash(token)
        )
    )
    if (record is None or record.used_at is not None or record.expires_at < utcnow()
            # Mailed before the password last changed, however it changed.
            or record.created_at < record.user.password_changed_at):
        raise _link_refused()
    return record


def check_reset_token(token: str) -> None:
    """Raise InvalidResetLink unless *token* can still be used."""
    _valid_reset_token(token)


def reset_password(token: str, new_password: str) -> User:
    """Set a new password with a reset token, which is then spent."""
    record = _valid_reset_token(token)
    record_id, user_id = record.id, record.user_id
    password_hash = accounts.hash_new_password(new_password, email=record.user.email)
    user = accounts.lock_user(user_id)
    now = utcnow()
    # Spent only if still unspent, unexpired and younger than the password, checked
    # and set in one statement: the same link used twice at once, or a password
    # changed while this one was hashed, leaves nothing for the second to spend.
    spent = db.session.execute(
        sa.update(PasswordResetToken)
        .where(
            PasswordResetToken.id == record_id,
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at >= now,
            PasswordResetToken.created_at >= user.password_changed_at,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if spent != 1:
        raise _link_refused()
    accounts.replace_password_hash(user, password_hash)
    audit.record("auth.password_reset", target=user, actor=user)
    mail.send(
        user.email,
        _("你的密码已重置"),
        _("你的社会工作者考试门户账户密码已通过重置链接修改。如果不是你本人操作，请联系管理员。"),
    )
    return user
