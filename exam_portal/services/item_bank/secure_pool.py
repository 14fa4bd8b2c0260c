"""The secure pool: exam content. Administrators and exam authors see it; only exam
authors write and review it; every look at a secure item is audited. Candidates meet
its items only on a locked exam form, and in practice once a form is released."""

from collections.abc import Iterable

from flask_babel import gettext

from exam_portal.models.accounts import Role
from exam_portal.models.bank import Item, ItemPool
from exam_portal.services import ServiceError
from exam_portal.services.platform import audit


def may_see(item: Item, user) -> bool:
    return item.pool is ItemPool.OPEN or user.sees_secure_items


def may_write(pool: ItemPool, user) -> bool:
    """Exam content is written and reviewed by exam authors, not by administrators as
    such: the administrator who assembles a form does not also write its items."""
    return pool is ItemPool.OPEN or (user.role is Role.TRAINER and user.is_exam_author)


def check_writer(pool: ItemPool, user) -> None:
    if not may_write(pool, user):
        raise ServiceError(gettext("只有管理员指定的命题人员可以编写和审核保密题库的题目。"))


def visible_pools(user) -> tuple[ItemPool, ...]:
    return tuple(ItemPool) if user.sees_secure_items else (ItemPool.OPEN,)


def record_views(items: Iterable[Item], user, *, via: str) -> bool:
    """One audit event naming every secure item among *items* that *user* was shown
    (via: "list", "detail", "editor", "export", "form"…); nothing when there is none.
    Whether an event was recorded."""
    secure = sorted((item for item in items if item.pool is ItemPool.SECURE),
                    key=lambda item: item.id)
    if len(secure) == 1:
        audit.record("item.secure_viewed", target=secure[0], actor=user, details={"via": via})
    elif secure:
        audit.record("item.secure_viewed", actor=user,
                     details={"via": via, "items": [item.id for item in secure]})
    return bool(secure)
