"""Signing up by a mailed link: request it, follow it, set a password; expired links purged.

The mail is queued by kind and composed by the deliverer, which alone looks up the
address, so the request says nothing about which addresses have accounts."""

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from exam_portal.extensions import db, no_write_lock
from exam_portal.models.accounts import Role, SignUpRequest, User
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.accounts import accounts
from exam_portal.services.platform import audit, mail

SIGN_UP_MAIL = "auth.sign_up"


class InvalidSignUpLink(ServiceError):
    pass


def request_sign_up(email: str, locale: str | None) -> None:
    """Queue the sign-up mail for *email*: a link that creates the account for a new
    address, a note to the owner of a registered one.

    The request does the same work for both (one outbox row, one audit event, no
    lookup), so its answer and its time say nothing about which addresses have
    accounts; the deliverer decides what to write.
    """
    mail.send_later(SIGN_UP_MAIL, accounts.normalise_email(email), {"locale": locale})
    audit.record("account.sign_up_requested")


@mail.composer(SIGN_UP_MAIL)
def _compose_sign_up(email: str, params: dict) -> mail.Draft:
    owner = accounts.find_by_email(email)
    if owner is not None:
        audit.record("account.sign_up_for_registered_address", target=owner)
        return mail.Draft(
            _("有人尝试用你的邮箱注册"),
            _("有人刚刚尝试用这个邮箱在社会工作者考试门户注册新账户。这个邮箱已经注册过账户，"
              "所以没有创建新账户，你的账户也没有任何改变。\n"
              "如果是你本人：请直接登录 %(login)s\n"
              "忘记密码可以在这里重置：%(reset)s\n"
              "如果不是你本人，请忽略本邮件。",
              login=mail.public_url("auth.login"),
              reset=mail.public_url("auth.forgot_password")),
        )
    token = secrets.token_urlsafe(32)  # 256 bits
    max_age = current_app.config["SIGN_UP_LINK_MAX_AGE_SECONDS"]
    expires_at = utcnow() + timedelta(seconds=max_age)
    db.session.add(SignUpRequest(email=email, token_hash=accounts.token_hash(token),
                                 locale=params.get("locale"), expires_at=expires_at))
    return mail.Draft(
        _("完成注册"),
        _("有人（希望是你本人）用这个邮箱申请注册社会工作者考试门户的考生账户。\n"
          "请在 %(hours)d 小时内打开以下链接设置密码，完成注册（只能使用一次）：\n%(link)s\n"
          "如果不是你本人申请，请忽略本邮件，不会创建任何账户。",
          hours=max(1, max_age // 3600),
          link=mail.public_url("auth.confirm_sign_up", token=token)),
        expires_at=expires_at,
    )


def _valid_sign_up_request(token: str) -> SignUpRequest:
    record = db.session.scalar(
        sa.select(SignUpRequest).where(SignUpRequest.token_hash == accounts.token_hash(token)))
    if record is None or record.used_at is not None or record.expires_at < utcnow():
        raise InvalidSignUpLink(_("注册链接无效、已使用或已过期，请重新注册。"))
    return record


def sign_up_email(token: str) -> str:
    """The address a sign-up link is for; InvalidSignUpLink unless it can still be used."""
    return _valid_sign_up_request(token).email


def confirm_sign_up(token: str, password: str) -> User:
    """Create the candidate account a sign-up link was mailed for, with *password*.

    The password is checked and hashed with no write transaction open (scrypt takes
    tens of milliseconds by design, and on SQLite a write transaction holds the only
    write lock). The link is spent by a conditional update, so a link posted twice at
    once makes one account.
    """
    with no_write_lock():
        email = _valid_sign_up_request(token).email
    password_hash = accounts.hash_new_password(password, email=email)
    record = _valid_sign_up_request(token)
    now = utcnow()
    spent = db.session.execute(
        sa.update(SignUpRequest)
        .where(SignUpRequest.id == record.id, SignUpRequest.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if spent != 1:
        raise InvalidSignUpLink(_("注册链接无效、已使用或已过期，请重新注册。"))
    taken = accounts.EmailTaken(_("该电子邮箱已注册，请直接登录；忘记密码可以重置。"))
    if accounts.find_by_email(record.email) is not None:
        raise taken
    user = User(email=record.email, password_hash=password_hash, role=Role.CANDIDATE,
                session_token=accounts.new_session_token(), locale=record.locale)
    try:
        with db.session.begin_nested():  # two links of one address opened at once
            db.session.add(user)
    except IntegrityError as error:
        raise taken from error
    # The address's other links are spent too: it has its account now.
    db.session.execute(
        sa.update(SignUpRequest)
        .where(SignUpRequest.email == record.email, SignUpRequest.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False))
    audit.record("account.sign_up", target=user, actor=user)
    return user


def purge_sign_up_requests(now) -> int:
    """Delete the sign-up requests whose links have expired; return how many."""
    return db.session.execute(
        sa.delete(SignUpRequest).where(SignUpRequest.expires_at < now)
        .execution_options(synchronize_session=False)).rowcount
