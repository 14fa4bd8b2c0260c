"""Accounts: create one, sign in and out, passwords, roles and activation."""

import hashlib
import secrets

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from exam_portal.extensions import db, no_write_lock
from exam_portal.models.accounts import PasswordResetToken, Role, User
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.accounts import passwords
from exam_portal.services.platform import audit, mail


class EmailTaken(ServiceError):
    pass


class WeakPassword(ServiceError):
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


def lock_user(user_id: int) -> User:
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
    user = lock_user(user_id)
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


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
    user.is_exam_author = False  # trust in the secure pool goes with the trainer role
    user.session_token = new_session_token()
    audit.record(
        "admin.set_role", target=user, actor=actor,
        details={"before": before, "after": role.value},
    )


def set_exam_author(user: User, is_exam_author: bool, *, actor: User) -> None:
    """Trust a trainer with the secure pool, or withdraw that trust (audited)."""
    if is_exam_author and user.role is not Role.TRAINER:
        raise ServiceError(_("只有培训师账户可以被指定为命题人员。"))
    if user.is_exam_author == is_exam_author:
        return
    user.is_exam_author = is_exam_author
    audit.record("admin.set_exam_author", target=user, actor=actor,
                 details={"after": is_exam_author})


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
