"""Error reports (纠错): candidates file them against the version they saw; trainers
list them beside the bank and resolve each once, with a reply the candidate reads on
their list and gets by mail.

Resolving is one conditional UPDATE of an open report, so two trainers answering at
once give one resolution, one audit event and one mail; the mail is queued in the
same transaction and sent by the outbox after it commits. Trainers never see who
filed a report.
"""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from exam_portal.extensions import db, lock_for_writing
from exam_portal.models.accounts import User
from exam_portal.models.bank import Item, ItemVersion
from exam_portal.models.notes import ErrorReport
from exam_portal.services import ServiceError
from exam_portal.services.item_bank import secure_pool
from exam_portal.services.platform import audit, mail
from exam_portal.services.platform.clock import datetime_text
from question_bank import item_feedback
from question_bank.item_feedback import ReportKind, ReportStatus

RESOLVED_MAIL = "item_bank.error_report_resolved"

KINDS = {
    ReportKind.KEY: _l("答案有误"),
    ReportKind.WORDING: _l("题干或选项有误"),
    ReportKind.EXPLANATION: _l("解析有误"),
    ReportKind.OUTDATED_LAW: _l("法规政策已过时"),
    ReportKind.OTHER: _l("其他"),
}
STATUSES = {
    ReportStatus.OPEN: _l("待处理"),
    ReportStatus.ACCEPTED: _l("已采纳"),
    ReportStatus.REJECTED: _l("未采纳"),
}


class ReportNotFound(LookupError):
    """No such report, or one on an item the user may not see."""


def _refuse(problem) -> ServiceError:
    return ServiceError(problem.render(gettext))


def file_report(candidate_id: int, version: ItemVersion, kind: str | None, text: str | None,
                *, now: datetime) -> ErrorReport:
    """File the candidate's report of an error in *version* (the one they were shown).

    :raises ServiceError: the report is incomplete, one of theirs on this item is still
        open, or they have filed ERROR_REPORT_DAILY_LIMIT reports in the last day.
    """
    cleaned = item_feedback.clean_text(text)
    problem = item_feedback.report_problem(kind, cleaned)
    if problem:
        raise _refuse(problem)
    # A candidate's reports queue here (PostgreSQL; a POST on SQLite holds the write
    # lock already), so neither the open report nor the day's count is read stale.
    db.session.execute(sa.select(User.id).where(User.id == candidate_id)
                       .with_for_update(key_share=True))
    if db.session.scalar(sa.select(ErrorReport.id).where(
            ErrorReport.candidate_id == candidate_id, ErrorReport.item_id == version.item_id,
            ErrorReport.status == ReportStatus.OPEN)) is not None:
        raise ServiceError(gettext(
            "你对这道题的纠错还在处理中：处理后会通知你，届时可以再次提交。"))
    limit = current_app.config["ERROR_REPORT_DAILY_LIMIT"]
    filed = db.session.scalar(sa.select(sa.func.count(ErrorReport.id)).where(
        ErrorReport.candidate_id == candidate_id,
        ErrorReport.created_at > now - timedelta(days=1)))
    if limit > 0 and filed >= limit:
        raise ServiceError(gettext("24 小时内最多可以提交 %(n)d 条纠错，请明天再试。", n=limit))
    report = ErrorReport(candidate_id=candidate_id, item_id=version.item_id,
                         item_version_id=version.id, kind=ReportKind(kind), text=cleaned,
                         status=ReportStatus.OPEN, created_at=now)
    db.session.add(report)
    db.session.flush()
    return report


def staff_query(user, status: ReportStatus | None):
    """Reports on the items *user* may see, with their item and version: open ones
    oldest first (a queue), resolved ones newest first; all of them newest first."""
    query = (sa.select(ErrorReport, Item, ItemVersion)
             .join(Item, Item.id == ErrorReport.item_id)
             .join(ItemVersion, ItemVersion.id == ErrorReport.item_version_id)
             .where(Item.pool.in_(secure_pool.visible_pools(user))))
    if status is None:
        return query.order_by(ErrorReport.created_at.desc(), ErrorReport.id.desc())
    query = query.where(ErrorReport.status == status)
    if status is ReportStatus.OPEN:
        return query.order_by(ErrorReport.created_at, ErrorReport.id)
    return query.order_by(ErrorReport.resolved_at.desc(), ErrorReport.id.desc())


def open_count(user) -> int:
    """How many open reports wait on the items *user* may see."""
    return db.session.scalar(
        sa.select(sa.func.count(ErrorReport.id)).join(Item, Item.id == ErrorReport.item_id)
        .where(ErrorReport.status == ReportStatus.OPEN,
               Item.pool.in_(secure_pool.visible_pools(user))))


def for_item(item: Item) -> list[tuple[ErrorReport, ItemVersion]]:
    """Every report on *item*, open ones first, each with the version it was filed on."""
    return db.session.execute(
        sa.select(ErrorReport, ItemVersion)
        .join(ItemVersion, ItemVersion.id == ErrorReport.item_version_id)
        .where(ErrorReport.item_id == item.id)
        .order_by((ErrorReport.status == ReportStatus.OPEN).desc(),
                  ErrorReport.created_at.desc(), ErrorReport.id.desc())).all()


def get_for_staff(report_id: int, user) -> ErrorReport:
    """The report, if *user* may see its item.

    :raises ReportNotFound: otherwise.
    """
    report = db.session.get(ErrorReport, report_id)
    if report is None or not secure_pool.may_see(db.session.get(Item, report.item_id), user):
        raise ReportNotFound(report_id)
    return report


def resolve(report: ErrorReport, actor: User, outcome: str | None, reply: str | None,
            *, now: datetime) -> ReportStatus:
    """Answer an open report: accepted or rejected, with a reply mailed to its candidate.

    :raises ServiceError: the answer is incomplete, or the report was resolved already
        (by another trainer a moment ago, perhaps).
    """
    cleaned = item_feedback.clean_text(reply)
    problem = item_feedback.resolution_problem(report.status, outcome, cleaned)
    if problem:
        raise _refuse(problem)
    status = ReportStatus(outcome)
    resolved = db.session.execute(
        sa.update(ErrorReport)
        .where(ErrorReport.id == report.id, ErrorReport.status == ReportStatus.OPEN)
        .values(status=status, resolved_at=now, resolved_by_id=actor.id, reply=cleaned)
        .execution_options(synchronize_session=False)).rowcount
    if resolved != 1:
        raise ServiceError(gettext("这条纠错刚刚已由其他培训师处理。"))
    db.session.expire(report)
    audit.record("item.error_report_resolved", target=report, actor=actor,
                 details={"item_id": report.item_id, "outcome": status.value})
    candidate = db.session.get(User, report.candidate_id)
    mail.send_later(RESOLVED_MAIL, candidate.email,
                    {"locale": candidate.locale or "", "report_id": report.id})
    return status


@mail.composer(RESOLVED_MAIL)
def _compose_resolved(email: str, params: dict) -> mail.Draft | None:
    report = db.session.get(ErrorReport, params.get("report_id"))
    if report is None or not report.status.is_resolved:
        return None
    version = db.session.get(ItemVersion, report.item_version_id)
    verdict = (gettext("已采纳，题目会据此更正。") if report.status is ReportStatus.ACCEPTED
               else gettext("经核对，题目无误，未采纳。"))
    body = gettext(
        "你在 %(at)s 提交的纠错（%(kind)s）已有回复。\n\n题目：%(stem)s\n你的说明：%(text)s\n\n"
        "处理结果：%(verdict)s\n培训师回复：%(reply)s\n\n在“我的纠错”查看：%(link)s",
        at=datetime_text(report.created_at), kind=KINDS[report.kind],
        stem=excerpt(version.content.get("stem", "")), text=report.text, verdict=verdict,
        reply=report.reply, link=mail.public_url("candidate.my_reports"))
    return mail.Draft(gettext("你的纠错已处理"), body)


def excerpt(text: str, length: int = 60) -> str:
    """The start of an item's stem, on one line, for a list or a mail."""
    line = " ".join(text.split())
    return line if len(line) <= length else line[:length - 1] + "…"


def own_query(candidate_id: int, item_id: int | None = None):
    """The candidate's own reports (on one item, or all), newest first, with the
    version each was filed on."""
    query = (sa.select(ErrorReport, ItemVersion)
             .join(ItemVersion, ItemVersion.id == ErrorReport.item_version_id)
             .where(ErrorReport.candidate_id == candidate_id))
    if item_id is not None:
        query = query.where(ErrorReport.item_id == item_id)
    return query.order_by(ErrorReport.created_at.desc(), ErrorReport.id.desc())


def _unseen(candidate_id: int):
    return (ErrorReport.candidate_id == candidate_id, ErrorReport.status != ReportStatus.OPEN,
            ErrorReport.reply_seen_at.is_(None))


def unseen_replies(candidate_id: int) -> int:
    """Replies to the candidate's reports they have not opened their list since."""
    return db.session.scalar(sa.select(sa.func.count(ErrorReport.id))
                             .where(*_unseen(candidate_id)))


def unseen_reply_ids(candidate_id: int) -> set[int]:
    return set(db.session.scalars(sa.select(ErrorReport.id).where(*_unseen(candidate_id))))


def mark_replies_seen(candidate_id: int, *, now: datetime) -> int:
    """Note that the candidate has seen every reply so far (from their list, a GET);
    how many were new."""
    lock_for_writing()
    return db.session.execute(
        sa.update(ErrorReport).where(*_unseen(candidate_id)).values(reply_seen_at=now)
        .execution_options(synchronize_session=False)).rowcount


def open_item_ids(candidate_id: int, item_ids) -> set[int]:
    """Which of *item_ids* the candidate has an open report on."""
    return set(db.session.scalars(sa.select(ErrorReport.item_id).where(
        ErrorReport.candidate_id == candidate_id, ErrorReport.status == ReportStatus.OPEN,
        ErrorReport.item_id.in_(set(item_ids)))))


def export_for(candidate_id: int) -> list[dict]:
    """The candidate's reports and the replies, for their data export."""
    return [{"item_id": report.item_id, "item_version": version.number,
             "kind": report.kind.value, "text": report.text, "status": report.status.value,
             "created_at": report.created_at.isoformat(),
             "resolved_at": report.resolved_at.isoformat() if report.resolved_at else None,
             "reply": report.reply}
            for report, version in db.session.execute(own_query(candidate_id))]
