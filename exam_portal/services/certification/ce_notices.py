"""What registered holders are told: a CE shortfall 6 and 3 months before a period ends,
the renewal window opening (both from the daily sweep, once per period and threshold),
and a renewal approved or rejected. The kinds are registered when this module is
imported (the certification services import it)."""

from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from exam_portal.extensions import db
from exam_portal.models.continuing_education import (
    CeCompletion,
    CeCourse,
    CePeriod,
    CeRegistration,
    CeRegistrationStatus,
    CeRenewal,
    RenewalStatus,
)
from exam_portal.services.platform import labels, notifications
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank import continuing_education as rules
from question_bank.levels import Level

SHORTFALL = "ce_shortfall"
WINDOW_OPEN = "ce_renewal_window_open"
APPROVED = "ce_renewal_approved"
REJECTED = "ce_renewal_rejected"
_LINK = ("continuing_education.my_registrations", {})


def _level(params: dict) -> str:
    return str(labels.LEVELS[Level(params["level"])])


@notifications.kind(SHORTFALL, label=_l("继续教育学时不足提醒"))
def _shortfall(params: dict) -> notifications.Notice:
    return notifications.Notice(
        title=_("继续教育学时不足：还差 %(short)s 学时", short=params["shortfall"]),
        body=_("您的%(level)s登记有效期至 %(end)s；本期需 %(required)s 学时，已取得 %(credited)s "
               "学时。", level=_level(params), end=params["ends_on"],
               required=params["required"], credited=params["credited"]),
        link=_LINK)


@notifications.kind(WINDOW_OPEN, label=_l("登记续期开始办理"))
def _window_open(params: dict) -> notifications.Notice:
    return notifications.Notice(
        title=_("%(level)s登记可以申请续期了", level=_level(params)),
        body=_("续期申请可在 %(first)s 至 %(last)s 之间提交。", first=params["starts_on"],
               last=params["ends_on"]),
        link=_LINK)


@notifications.kind(APPROVED, label=_l("登记续期结果"))
def _approved(params: dict) -> notifications.Notice:
    return notifications.Notice(
        title=_("%(level)s登记续期已批准", level=_level(params)),
        body=_("新的有效期为 %(first)s 至 %(last)s。", first=params["starts_on"],
               last=params["ends_on"]),
        link=_LINK)


@notifications.kind(REJECTED, label=_l("登记续期未获批准"))
def _rejected(params: dict) -> notifications.Notice:
    return notifications.Notice(
        title=_("%(level)s登记续期未获批准", level=_level(params)),
        body=_("原因：%(reason)s", reason=params["reason"]), link=_LINK)


def renewal_decided(renewal: CeRenewal, new_period: CePeriod | None) -> None:
    """Tell the holder of a decision (in the decision's transaction)."""
    registration = renewal.registration
    params = {"level": registration.level.value, "renewal_id": renewal.id}
    if renewal.status is RenewalStatus.APPROVED and new_period is not None:
        notifications.notify(registration.user_id, APPROVED, {
            **params, "starts_on": new_period.starts_on.isoformat(),
            "ends_on": new_period.ends_on.isoformat()}, event=f"ce_renewal:{renewal.id}")
    elif renewal.status is RenewalStatus.REJECTED:
        notifications.notify(registration.user_id, REJECTED, {
            **params, "reason": renewal.reason or ""}, event=f"ce_renewal:{renewal.id}")


def _current_periods(today: date):
    """The active registrations' periods running on *today*, with their holder's level."""
    return db.session.execute(
        sa.select(CePeriod, CeRegistration)
        .join(CeRegistration, CeRegistration.id == CePeriod.registration_id)
        .where(CeRegistration.status == CeRegistrationStatus.ACTIVE,
               CePeriod.starts_on <= today, CePeriod.ends_on >= today)
        .order_by(CePeriod.id)).all()


def _hours(user_id: int, period: rules.Period):
    return [(day, course.hours) for day, course in db.session.execute(
        sa.select(CeCompletion.completed_on, CeCourse)
        .join(CeCourse, CeCourse.id == CeCompletion.course_id)
        .where(CeCompletion.user_id == user_id,
               CeCompletion.completed_on.between(period.starts_on, period.ends_on)))]


def _rules() -> rules.Rules:
    return rules.rules_from(current_app.config.get("CE_RULES") or {})


@notifications.sweep_source(SHORTFALL)
def sweep_shortfalls(now: datetime) -> None:
    today, rule = now.astimezone(LOCAL_ZONE).date(), _rules()
    for row, registration in _current_periods(today):
        period = rules.Period(row.starts_on, row.ends_on)
        state = rules.standing(period, registration.level,
                               _hours(registration.user_id, period), rule)
        for months in rules.due_shortfall_notices(state, today, rule):
            notifications.notify(registration.user_id, SHORTFALL, {
                "level": registration.level.value, "months": months,
                "ends_on": row.ends_on.isoformat(), "required": str(state.required),
                "credited": str(state.credited), "shortfall": str(state.shortfall)},
                event=f"ce_shortfall:{row.id}:{months}", now=now)


@notifications.sweep_source(WINDOW_OPEN)
def sweep_windows(now: datetime) -> None:
    today, rule = now.astimezone(LOCAL_ZONE).date(), _rules()
    for row, registration in _current_periods(today):
        window = rules.renewal_window(rules.Period(row.starts_on, row.ends_on), rule)
        if today in window:
            notifications.notify(registration.user_id, WINDOW_OPEN, {
                "level": registration.level.value, "starts_on": window.starts_on.isoformat(),
                "ends_on": window.ends_on.isoformat()}, event=f"ce_window:{row.id}", now=now)
