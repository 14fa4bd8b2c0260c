"""Accounts: sign-up, login, passwords, reset links, roles."""

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from exam_portal.extensions import db, no_write_lock
from exam_portal.models.accounts import PasswordResetToken, Role, SignUpRequest, User
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.accounts import passwords
from exam_portal.services.platform import audit, mail

# Mail queued by kind: composed by the deliverer, which alone looks up the address.
RESET_LINK_MAIL = "auth.password_reset"
SIGN_UP_MAIL = "auth.sign_up"


class EmailTaken(ServiceError):
    pass


class WeakPassword(ServiceError):
    pass


class InvalidResetLink(ServiceError):
    pass


class InvalidSignUpLink(ServiceError):
    pass


def normalise_email(email: str) -> str:
    return email.strip().lower()


def new_session_token() -> str:
    return secrets.token_hex(32)


def find_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def create_user(email: str, password: str, role: Role = Role.CANDIDATE) -> User:
    """Create an account; refuse a taken email or a weak password."""
    email = normalise_email(email)
    problem = passwords.password_problem(password, email=email)
    if problem:
        raise WeakPassword(problem)
    if find_by_email(email) is not None:
        raise EmailTaken(_("该电子邮箱已注册。"))
    user = User(
        email=email,
        password_hash=passwords.hash_password(password),
        role=role,
        session_token=new_session_token(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def request_sign_up(email: str, locale: str | None) -> None:
    """Queue the sign-up mail for *email*: a link that creates the account for a new
    address, a note to the owner of a registered one.

    The request does the same work for both (one outbox row, one audit event, no
    lookup), so its answer and its time say nothing about which addresses have
    accounts; the deliverer decides what to write.
    """
    mail.send_later(SIGN_UP_MAIL, normalise_email(email), {"locale": locale})
    audit.record("account.sign_up_requested")


@mail.composer(SIGN_UP_MAIL)
def _compose_sign_up(email: str, params: dict) -> mail.Draft:
    owner = find_by_email(email)
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
    db.session.add(SignUpRequest(email=email, token_hash=_token_hash(token),
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
        sa.select(SignUpRequest).where(SignUpRequest.token_hash == _token_hash(token)))
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
        problem = passwords.password_problem(password, email=email)
        if problem:
            raise WeakPassword(problem)
        password_hash = passwords.hash_password(password)
    record = _valid_sign_up_request(token)
    now = utcnow()
    spent = db.session.execute(
        sa.update(SignUpRequest)
        .where(SignUpRequest.id == record.id, SignUpRequest.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if spent != 1:
        raise InvalidSignUpLink(_("注册链接无效、已使用或已过期，请重新注册。"))
    taken = EmailTaken(_("该电子邮箱已注册，请直接登录；忘记密码可以重置。"))
    if find_by_email(record.email) is not None:
        raise taken
    user = User(email=record.email, password_hash=password_hash, role=Role.CANDIDATE,
                session_token=new_session_token(), locale=record.locale)
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


def _dummy_hash() -> str:
    # Compare against something even for unknown emails, so response time does
    # not reveal which accounts exist.
    config = current_app.config
    cache = config.setdefault("_DUMMY_PASSWORD_HASH", {})
    method = config["PASSWORD_HASH_METHOD"]
    if method not in cache:
        cache[method] = passwords.hash_password(secrets.token_hex(16))
    return cache[method]


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None; audit the outcome.

    The password is checked outside any transaction: scrypt takes tens of milliseconds
    by design, and on SQLite a writing transaction holds the database's only write
    lock, so a login storm at the start of an exam queued every writer (saves too)
    behind the hashing, past busy_timeout ("database is locked"). The account is read
    again for the writes; a password changed in between counts as a wrong one.
    """
    session = db.session
    with no_write_lock():
        found = session.execute(sa.select(User.id, User.password_hash).where(
            User.email == normalise_email(email))).first()
        right = passwords.verify_password(
            _dummy_hash() if found is None else found.password_hash, password)
    if found is None:
        audit.record("auth.login_failed", details={"reason": "unknown_account"})
        return None
    user = session.get(User, found.id)
    if user is None:
        audit.record("auth.login_failed", details={"reason": "unknown_account"})
        return None
    if not right or user.password_hash != found.password_hash or not user.is_active:
        reason = "wrong_password" if user.is_active else "inactive"
        audit.record("auth.login_failed", target=user, details={"reason": reason})
        return None
    user.session_token = new_session_token()
    user.last_login_at = utcnow()
    audit.record("auth.login", target=user, actor=user)
    return user


def end_session(user: User) -> None:
    """Invalidate every session of *user* (logout)."""
    user.session_token = new_session_token()
    audit.record("auth.logout", target=user, actor=user)


def hash_new_password(password: str, *, email: str) -> str:
    """Check *password* against the policy and return its hash.

    Call it before the use case writes anything: scrypt runs with no write transaction
    open, so on SQLite no other writer (a candidate's save) waits for it.
    """
    problem = passwords.password_problem(password, email=normalise_email(email))
    if problem:
        raise WeakPassword(problem)
    with no_write_lock():
        return passwords.hash_password(password)


def password_is_right(user: User, password: str) -> bool:
    """Check *user*'s password, with no write transaction open (re-authentication)."""
    stored = user.password_hash
    with no_write_lock():
        return passwords.verify_password(stored, password)


def _locked(user_id: int) -> User:
    # Every password change locks the account's row first (PostgreSQL; SQLite's
    # BEGIN IMMEDIATE already serialises writers), so a reset and a change, or two
    # resets, run one after the other and always take their locks in the same order.
    return db.session.get(User, user_id, with_for_update=True, populate_existing=True)


def replace_password_hash(user: User, password_hash: str) -> None:
    """Give *user* a new password (from hash_new_password): every other session ends
    and every reset link still outstanding dies with the old password."""
    user.password_hash = password_hash
    user.password_changed_at = utcnow()
    user.session_token = new_session_token()
    db.session.execute(
        sa.update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=user.password_changed_at)
        .execution_options(synchronize_session=False)
    )


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change a password after checking the current one."""
    user_id, email, checked = user.id, user.email, user.password_hash
    if not password_is_right(user, current_password):
        raise ServiceError(_("当前密码不正确。"))
    password_hash = hash_new_password(new_password, email=email)
    user = _locked(user_id)
    if user.password_hash != checked:
        # Replaced (through a reset link) while the new one was hashed: the password
        # that was checked is no longer the current one.
        raise ServiceError(_("当前密码不正确。"))
    replace_password_hash(user, password_hash)
    audit.record("auth.password_changed", target=user, actor=user)
    mail.send(
        user.email,
        _("你的密码已修改"),
        _("你的社会工作者考试门户账户密码刚刚被修改。如果不是你本人操作，请立即重置密码。"),
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_password_reset(email: str) -> None:
    """Queue a single-use reset link for *email*; it is mailed only if the address
    belongs to an active account.

    The request does the same work whoever asks (one outbox row, one audit event, no
    lookup) and the caller shows the same message, so neither the answer nor its time
    says which addresses are registered; the deliverer looks the address up.
    """
    mail.send_later(RESET_LINK_MAIL, normalise_email(email), {
        "locale": str(get_locale()), "asked_at": utcnow().isoformat()})
    audit.record("auth.password_reset_requested")


@mail.composer(RESET_LINK_MAIL)
def _compose_password_reset(email: str, params: dict) -> mail.Draft | None:
    user = find_by_email(email)
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
            token_hash=_token_hash(token),
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
            PasswordResetToken.token_hash == _token_hash(token)
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
    password_hash = hash_new_password(new_password, email=record.user.email)
    user = _locked(user_id)
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
    replace_password_hash(user, password_hash)
    audit.record("auth.password_reset", target=user, actor=user)
    mail.send(
        user.email,
        _("你的密码已重置"),
        _("你的社会工作者考试门户账户密码已通过重置链接修改。如果不是你本人操作，请联系管理员。"),
    )
    return user


def set_locale(user: User, locale: str) -> None:
    """Remember the language *user* chose, for their later sessions."""
    user.locale = locale


def set_role(user: User, role: Role, *, actor: User) -> None:
    """Change a user's role (administrators only; never one's own)."""
    if user.id == actor.id:
        raise ServiceError(_("不能修改自己的角色。"))
    if user.role == role:
        return
    before = user.role.value
    user.role = role
    user.session_token = new_session_token()
    audit.record(
        "admin.set_role", target=user, actor=actor,
        details={"before": before, "after": role.value},
    )


def set_active(user: User, is_active: bool, *, actor: User) -> None:
    """Deactivate or reactivate an account (administrators only; never one's own)."""
    if user.id == actor.id:
        raise ServiceError(_("不能停用自己的账户。"))
    if user.is_active == is_active:
        return
    user.is_active = is_active
    user.session_token = new_session_token()
    audit.record(
        "admin.activate_user" if is_active else "admin.deactivate_user",
        target=user, actor=actor,
    )


def create_staff(email: str, password: str, role: Role, *, actor: User | None) -> User:
    """Create a trainer or administrator account and audit it; call it before anything
    else in the transaction (the password is hashed with none open)."""
    email = normalise_email(email)
    password_hash = hash_new_password(password, email=email)
    if find_by_email(email) is not None:
        raise EmailTaken(_("该电子邮箱已注册。"))
    user = User(email=email, password_hash=password_hash, role=role,
                session_token=new_session_token())
    db.session.add(user)
    db.session.flush()
    audit.record(
        "admin.create_user", target=user, actor=actor,
        details={"role": role.value},
    )
    return user
