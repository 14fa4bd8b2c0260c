"""Past papers (历年真题): once a session's results are published, an administrator
releases its locked forms to the open pool for good. Candidates then sit a released
form as a timed mock paper with the exam's own time, see each item's national correct
rate from the exam's statistics in the review, and meet its items in chapter practice.
"""

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.attempts import Attempt
from exam_portal.models.bank import Item, ItemPool
from exam_portal.models.forms import ExamForm, ExamFormItem, FormStatus
from exam_portal.models.sittings import ExamSession
from exam_portal.models.statistics import ItemStatistics
from exam_portal.services import ServiceError
from exam_portal.services.delivery import attempts
from exam_portal.services.exam_sessions import forms
from exam_portal.services.item_bank import pools
from exam_portal.services.platform import audit, labels
from question_bank.subjects import Subject


def releasable(session: ExamSession) -> list[ExamForm]:
    return [form for form in forms.locked_forms_of(session) if form.released_at is None]


def release(session: ExamSession, actor: User, *, now: datetime) -> list[ExamForm]:
    """Release every locked form of *session* as past papers: their items join the open
    pool (keeping their link to the form and their statistics). Cannot be undone."""
    if session.results_published_at is None:
        raise ServiceError(gettext("成绩发布后才能把试卷作为历年真题公开。"))
    chosen = releasable(session)
    if not chosen:
        raise ServiceError(gettext("这个考试批次没有可以公开的锁定试卷。"))
    item_ids = sorted(set(db.session.scalars(
        sa.select(ExamFormItem.item_id).where(
            ExamFormItem.form_id.in_([form.id for form in chosen])))))
    for form in chosen:
        form.released_at = now
    db.session.execute(sa.update(Item).where(Item.id.in_(item_ids),
                                             Item.pool == ItemPool.SECURE)
                       .values(pool=ItemPool.OPEN).execution_options(synchronize_session=False))
    for subject in sorted({form.subject for form in chosen}, key=lambda s: s.value):
        pools.bank_changed(subject)
    db.session.flush()
    audit.record("forms.released", target=session, actor=actor, details={
        "forms": [form.id for form in chosen], "items": item_ids})
    return chosen


def released(subject: Subject) -> list[tuple[ExamForm, ExamSession]]:
    """The past papers of *subject*, newest first."""
    return [(form, session) for form, session in db.session.execute(
        sa.select(ExamForm, ExamSession).join(ExamSession, ExamSession.id == ExamForm.session_id)
        .where(ExamForm.subject == subject, ExamForm.released_at.is_not(None))
        .order_by(ExamSession.exam_opens_at.desc(), ExamForm.label))]


def title(form: ExamForm, session: ExamSession, *, several: bool = False) -> str:
    """"2026年 社会工作综合能力（中级）真题" (with the form's label when it had parallels)."""
    text = gettext("%(year)d年 %(subject)s真题", year=session.year,
                   subject=str(labels.SUBJECTS[form.subject]))
    return f"{text} {form.label}" if several else text


def start(candidate: User, form_id: int, *, now: datetime) -> Attempt:
    """Start (or resume) the candidate's mock paper of a released form."""
    form = db.session.get(ExamForm, form_id)
    if form is None or form.released_at is None or form.status is not FormStatus.LOCKED:
        raise ServiceError(gettext("没有这套历年真题。"))
    try:
        return attempts.start_past_paper(candidate.id, form.subject, now=now,
                                         form=forms.paper_of(form))
    except attempts.CannotStart as error:
        raise ServiceError(str(error)) from error


def national_rates(attempt: Attempt) -> dict[int, float]:
    """item id → its facility in the exam (the national correct rate), for a mock paper
    of a released form; empty for any other attempt."""
    if attempt.form_id is None:
        return {}
    form = db.session.get(ExamForm, attempt.form_id)
    if form is None or form.released_at is None:
        return {}
    return {item_id: facility for item_id, facility in db.session.execute(
        sa.select(ItemStatistics.item_id, ItemStatistics.facility)
        .where(ItemStatistics.form_id == form.id, ItemStatistics.facility.is_not(None)))}
