"""Today's review waiting (今日复习): an opt-in notice, from the daily sweep, to the
candidates who turned it on and have cards due today; once a day (the event is the
day in China)."""

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from exam_portal.extensions import db
from exam_portal.models.attempts import ReviewCard
from exam_portal.models.bank import Item
from exam_portal.models.notifications import NotificationPreference
from exam_portal.services.delivery import learning
from exam_portal.services.platform import notifications
from exam_portal.services.platform.clock import LOCAL_ZONE

REVIEW_WAITING = "review_waiting"


@notifications.kind(REVIEW_WAITING, opt_in=True, label=_l("今日复习提醒（每天一次）"))
def _review_waiting(params: dict) -> notifications.Notice:
    return notifications.Notice(
        gettext("今日复习：%(n)d 道题等你复习", n=params["due"]),
        gettext("按时复习，记得更牢。今天的复习大约需要几分钟。"),
        ("candidate.review_queue", {}))


@notifications.sweep_source("delivery.review_waiting")
def _sweep_review(now: datetime) -> None:
    """Only the candidates who turned the kind on are looked at (it is opt-in): their
    cards due today, of items still published."""
    opted_in = (sa.select(NotificationPreference.user_id)
                .where(NotificationPreference.kind == REVIEW_WAITING,
                       NotificationPreference.is_on.is_(True)).distinct())
    day = now.astimezone(LOCAL_ZONE).date().isoformat()
    counts = db.session.execute(
        sa.select(ReviewCard.candidate_id, sa.func.count())
        .where(ReviewCard.candidate_id.in_(opted_in),
               ReviewCard.due < learning.due_until(now),
               ~sa.exists().where(Item.id == ReviewCard.item_id,
                                  Item.published_version_id.is_(None)))
        .group_by(ReviewCard.candidate_id)).all()
    notifications.notify_each(REVIEW_WAITING, [
        (candidate_id, f"review:{day}", {"due": int(due), "day": day})
        for candidate_id, due in counts], now=now)
