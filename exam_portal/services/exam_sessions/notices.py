"""What the exam sessions tell candidates (通知): review decisions, the fee to pay or
lapsed, the admission ticket, reminders before the exam, published results.

The kinds are registered here (the app imports this module at start, through wiring);
decisions notify in their own transaction, the time-driven ones come from the daily
sweep, and the results reach a whole session as a fan-out job. Event keys are stable
(a registration's decision by its time, a session's deadline by its date), so a rerun
or a second sweep tells nobody twice."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.jobs import JobStatus
from exam_portal.models.seating import SeatAssignment
from exam_portal.models.sittings import (
    ExamSession,
    Registration,
    RegistrationStatus,
    SessionMode,
    SubjectResult,
)
from exam_portal.services.exam_sessions import fees
from exam_portal.services.platform import jobs, labels, notifications
from exam_portal.services.platform.clock import LOCAL_ZONE, datetime_text
from question_bank.levels import Level

VERIFIED = "registration_verified"
REJECTED = "registration_rejected"
PAYMENT_DUE = "payment_due"
LAPSED = "registration_lapsed"
TICKET_READY = "admission_ticket_ready"
EXAM_REMINDER = "exam_reminder"
RESULTS_PUBLISHED = "results_published"
SESSION_CANDIDATES = "session_candidates"

MY_EXAMS = ("sittings.my_exams", {})
# A lapse is told in the week after the deadline; an older one is left alone.
LAPSE_WINDOW = timedelta(days=7)


def _when(text: str | None) -> str:
    return datetime_text(datetime.fromisoformat(text)) if text else ""


def _level(value: str) -> str:
    return str(labels.LEVELS[Level(value)])


@notifications.kind(VERIFIED, label=_l("报名审核通过"))
def _verified(params: dict) -> notifications.Notice:
    body = gettext("你报名的“%(session)s”（%(level)s）已通过资格审核。",
                   session=params["session"], level=_level(params["level"]))
    if params.get("owed_fen"):
        body += gettext("请在 %(deadline)s 前缴纳考试费 %(amount)s 元，逾期报名失效。",
                        deadline=_when(params.get("deadline")),
                        amount=fees.yuan(params["owed_fen"]))
    return notifications.Notice(gettext("报名审核通过：%(session)s", session=params["session"]),
                                body, MY_EXAMS)


@notifications.kind(REJECTED, label=_l("报名被退回"))
def _rejected(params: dict) -> notifications.Notice:
    return notifications.Notice(
        gettext("报名被退回：%(session)s", session=params["session"]),
        gettext("你报名的“%(session)s”（%(level)s）未通过资格审核。原因：%(reason)s",
                session=params["session"], level=_level(params["level"]),
                reason=params["reason"]), MY_EXAMS)


@notifications.kind(PAYMENT_DUE, label=_l("待缴考试费"))
def _payment_due(params: dict) -> notifications.Notice:
    return notifications.Notice(
        gettext("请缴纳考试费：%(session)s", session=params["session"]),
        gettext("你报名的“%(session)s”还需缴纳考试费，缴费截止时间为 %(deadline)s，"
                "逾期报名失效。", session=params["session"],
                deadline=_when(params["deadline"])), MY_EXAMS)


@notifications.kind(LAPSED, label=_l("报名因未缴费失效"))
def _lapsed(params: dict) -> notifications.Notice:
    return notifications.Notice(
        gettext("报名已失效：%(session)s", session=params["session"]),
        gettext("“%(session)s”的缴费截止时间 %(deadline)s 已过，你的考试费未缴足，报名已失效。"
                "如已付款，请联系考务机构办理退费。", session=params["session"],
                deadline=_when(params["deadline"])), MY_EXAMS)


@notifications.kind(TICKET_READY, label=_l("准考证可以打印"))
def _ticket_ready(params: dict) -> notifications.Notice:
    return notifications.Notice(
        gettext("准考证可以打印了：%(session)s", session=params["session"]),
        gettext("“%(session)s”的准考证已经可以查看和打印，请核对考试时间和考场。",
                session=params["session"]), MY_EXAMS)


@notifications.kind(EXAM_REMINDER, label=_l("考前提醒（一周前和前一天）"))
def _reminder(params: dict) -> notifications.Notice:
    title = (gettext("明天考试：%(session)s", session=params["session"])
             if params["before"] == "day"
             else gettext("一周后考试：%(session)s", session=params["session"]))
    return notifications.Notice(title, gettext(
        "“%(session)s”于 %(opens)s 开考。请打印准考证，带好身份证件，提前到达考场。",
        session=params["session"], opens=_when(params["opens_at"])), MY_EXAMS)


@notifications.kind(RESULTS_PUBLISHED, label=_l("成绩发布"))
def _results(params: dict) -> notifications.Notice:
    return notifications.Notice(
        gettext("成绩已发布：%(session)s", session=params["session"]),
        gettext("“%(session)s”的成绩已经发布，可以在“考试报名”中查看成绩单。",
                session=params["session"]), MY_EXAMS)


# Decisions -------------------------------------------------------------------------

def registrations_decided(changed: list[Registration], *, verify: bool, reason: str,
                          now: datetime) -> int:
    """Tell each candidate the review's decision on their registration (with the fee
    to pay when one is owed now, or the reason for a rejection)."""
    if not changed:
        return 0
    accounts = fees.accounts(changed, now) if verify else {}
    items = []
    for registration in changed:
        session = registration.session
        params = {"session": session.name, "session_id": session.id,
                  "level": registration.level.value}
        if verify:
            account = accounts[registration.id]
            params["owed_fen"] = account.owed_fen
            params["deadline"] = (session.payment_deadline.isoformat()
                                  if session.payment_deadline else None)
        else:
            params["reason"] = reason
        items.append((registration.candidate_id,
                      f"registration:{registration.id}:{now.isoformat()}", params))
    return notifications.notify_each(VERIFIED if verify else REJECTED, items, now=now)


def _candidates(query: sa.Select) -> sa.Select:
    """The candidate ids of a query of registrations (fees.list_query's shape)."""
    registrations = query.subquery()
    return sa.select(registrations.c.candidate_id)


def _session_params(session: ExamSession) -> dict:
    return {"session": session.name, "session_id": session.id}


def tickets_ready(session: ExamSession, *, now: datetime,
                  registration_ids: list[int] | None = None) -> int:
    """Tell the candidates (of the session, or of these registrations) whose admission
    ticket can now be printed (complete, and seated unless the session is sat online),
    once per session."""
    ready = fees.list_query(session, show=fees.PaymentState.COMPLETE.value, now=now)
    if registration_ids is not None:
        ready = ready.where(Registration.id.in_(registration_ids))
    if session.mode is not SessionMode.ONLINE:
        ready = ready.where(sa.exists().where(
            SeatAssignment.registration_id == Registration.id))
    return notifications.notify(_candidates(ready), TICKET_READY, _session_params(session),
                                event=f"session:{session.id}:ticket", now=now)


# The daily sweep -------------------------------------------------------------------

def _sessions(*conditions) -> list[ExamSession]:
    return list(db.session.scalars(sa.select(ExamSession).where(*conditions)
                                   .order_by(ExamSession.id)))


@notifications.sweep_source("exam_sessions.fees")
def _sweep_fees(now: datetime) -> None:
    """Payment due (once per deadline) while it is open; lapsed in the week after."""
    for session in _sessions(ExamSession.payment_deadline.is_not(None),
                             ExamSession.fee_per_subject_fen > 0,
                             ExamSession.payment_deadline > now - LAPSE_WINDOW):
        deadline = session.payment_deadline
        params = {**_session_params(session), "deadline": deadline.isoformat()}
        if now <= deadline:
            awaiting = fees.list_query(
                session, show=fees.PaymentState.AWAITING_PAYMENT.value, now=now)
            notifications.notify(_candidates(awaiting), PAYMENT_DUE, params,
                                 event=f"session:{session.id}:due:{deadline:%Y%m%d%H%M}",
                                 now=now)
        else:
            lapsed = fees.list_query(session, show=fees.PaymentState.LAPSED.value, now=now)
            notifications.notify(_candidates(lapsed), LAPSED, params,
                                 event=f"session:{session.id}:lapsed", now=now)


@notifications.sweep_source("exam_sessions.tickets")
def _sweep_tickets(now: datetime) -> None:
    """Tickets that became printable since the seats were imported (a late payment)."""
    for session in _sessions(ExamSession.exam_closes_at > now):
        tickets_ready(session, now=now)


@notifications.sweep_source("exam_sessions.reminders")
def _sweep_reminders(now: datetime) -> None:
    """A week before the exam opens and the day before, to those who may sit it; days
    counted in Beijing dates, so a morning sweep tells the day before a morning exam."""
    today = now.astimezone(LOCAL_ZONE).date()
    for session in _sessions(ExamSession.exam_opens_at > now,
                             ExamSession.exam_opens_at < now + timedelta(days=8)):
        days = (session.exam_opens_at.astimezone(LOCAL_ZONE).date() - today).days
        if days > 7 or days < 1:  # the exam day itself: too late for "tomorrow"
            continue
        before = "day" if days == 1 else "week"
        sitting = fees.list_query(session, show=fees.PaymentState.COMPLETE.value, now=now)
        notifications.notify(
            _candidates(sitting), EXAM_REMINDER,
            {**_session_params(session), "before": before,
             "opens_at": session.exam_opens_at.isoformat()},
            event=f"session:{session.id}:{before}:{session.exam_opens_at:%Y%m%d}", now=now)


# Results -----------------------------------------------------------------------------

# A fan-out that failed or never started is caught up by the sweeps of this long after.
CATCH_UP = timedelta(days=3)


@notifications.sweep_source("exam_sessions.results")
def _sweep_results(now: datetime) -> None:
    """Tell a recently published session's candidates here when its fan-out job did not
    succeed (failed, or lost before it ran); a succeeded one costs one look."""
    for session in _sessions(ExamSession.results_published_at.is_not(None),
                             ExamSession.results_published_at > now - CATCH_UP):
        job = jobs.latest(notifications.fan_out_job(SESSION_CANDIDATES), session.id)
        if job is not None and job.status is not JobStatus.FAILED:
            continue
        notifications.notify(_session_candidates({"session_id": session.id}),
                             RESULTS_PUBLISHED, _session_params(session),
                             event=_results_event(session), now=now)


def _results_event(session: ExamSession) -> str:
    return f"session:{session.id}:results"

@notifications.audience(SESSION_CANDIDATES)
def _session_candidates(params: dict) -> sa.Select:
    """The candidates with a result in the session (not those who never sat or paid)."""
    return (sa.select(Registration.candidate_id.label("user_id"))
            .where(Registration.session_id == params["session_id"],
                   Registration.status != RegistrationStatus.REJECTED,
                   sa.exists().where(SubjectResult.registration_id == Registration.id)))


def announce_results(session: ExamSession, actor: User):
    """Tell every candidate with a result in the session that the results are
    published, as a background job (commits). Running it again tells nobody twice."""
    return notifications.fan_out(
        SESSION_CANDIDATES, {"session_id": session.id}, RESULTS_PUBLISHED,
        _session_params(session), event=_results_event(session),
        target_id=session.id, actor=actor)
