"""Exam sessions for administrators: the list, a session's settings and its pass lines.

The sessions' other pages register their routes on the same blueprint:
registration_views (registrations and online sittings), review_views (one
registration's review page), score_views (scores, results, senior reviews),
candidate_views (a candidate's own registrations) and evidence_views (their documents
and photos). What they share (the blueprint, the page labels, a session or a
candidate's registration by id) is here."""


import sqlalchemy as sa
from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from exam_portal.blueprints.account.forms import ConfirmForm
from exam_portal.blueprints.sittings.forms import (
    MODE_LABELS,
    VERIFICATION_LABELS,
    PassLineForm,
    SessionForm,
)
from exam_portal.extensions import db
from exam_portal.models.sittings import (
    ExamSession,
    QualificationStatus,
    Registration,
    RegistrationStatus,
    SessionMode,
    VerificationMode,
)
from exam_portal.services.exam_sessions import fees, results, sittings
from exam_portal.services.platform import labels, syllabi
from exam_portal.services.platform.clock import from_local, to_local
from exam_portal.web import outcomes
from exam_portal.web.forms import submitted
from exam_portal.web.locale import select_locale
from exam_portal.web.pagination import page_argument
from question_bank import syllabus
from question_bank.levels import Level
from question_bank.pass_rules import subjects_of
from question_bank.subjects import Subject

bp = Blueprint("sittings", __name__)

QUALIFICATION_LABELS = {
    QualificationStatus.ACHIEVED: _l("已取得资格"),
    QualificationStatus.PENDING_VERIFICATION: _l("成绩合格，待报名审核通过后生效"),
    QualificationStatus.AWAITING_REVIEW: _l("考试合格，待评审"),
    QualificationStatus.REVIEW_FAILED: _l("评审未通过"),
}
STATUS_LABELS = {
    RegistrationStatus.DECLARED: _l("待审核"),
    RegistrationStatus.VERIFIED: _l("审核通过"),
    RegistrationStatus.REJECTED: _l("已退回"),
}


def page_context() -> dict:
    return {"level_labels": labels.LEVELS, "status_labels": STATUS_LABELS,
            "mode_labels": MODE_LABELS, "verification_labels": VERIFICATION_LABELS,
            "syllabus_label": syllabi.label,
            "subject_labels": labels.SUBJECTS, "region_name": labels.region_name,
            "describe_route_code": labels.describe_route_code,
            "yuan": fees.yuan}


def session_or_404(session_id: int) -> ExamSession:
    return db.get_or_404(ExamSession, session_id)


def own_registration_or_404(registration_id: int) -> Registration:
    """The signed-in candidate's registration; 404 for anyone else's, as for none."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.candidate_id != current_user.id:
        abort(404)
    return registration


def session_subjects(session: ExamSession) -> list[Subject]:
    return [subject for level in session.level_set for subject in subjects_of(level)]


@bp.get("/admin/sessions")
def list_sessions():
    sessions = db.paginate(sa.select(ExamSession).order_by(ExamSession.exam_opens_at.desc()),
                           page=page_argument(), per_page=current_app.config["PAGE_SIZE"],
                           error_out=False)
    return render_template("sittings/list_sessions.html", sessions=sessions,
                           **page_context())


def _fields(form: SessionForm) -> sittings.SessionFields:
    return sittings.SessionFields(
        year=form.year.data, name=form.name.data, levels=tuple(
            Level(value) for value in form.levels.data),
        registration_opens_at=from_local(form.registration_opens_at.data),
        registration_closes_at=from_local(form.registration_closes_at.data),
        exam_opens_at=from_local(form.exam_opens_at.data),
        exam_closes_at=from_local(form.exam_closes_at.data),
        mode=SessionMode(form.mode.data),
        syllabus_version=form.syllabus_version.data or syllabus.version_for_year(form.year.data),
        law_cutoff=form.law_cutoff.data, experience_cutoff=form.experience_cutoff.data,
        verification_mode=VerificationMode(form.verification_mode.data))


@bp.route("/admin/sessions/new", methods=["GET", "POST"])
def create_session():
    form = SessionForm()
    return outcomes.form_page(
        form, lambda: sittings.create_session(_fields(form), current_user),
        _("考试批次已创建。"), then=_to_detail, template="sittings/edit_session.html",
        session=None, version_rule=syllabi.year_rule())


@bp.route("/admin/sessions/<int:session_id>/edit", methods=["GET", "POST"])
def edit_session(session_id):
    session = session_or_404(session_id)
    form = SessionForm(obj=_Values(session))  # the submitted values win on POST
    return outcomes.form_page(
        form, lambda: sittings.update_session(session, _fields(form), current_user),
        _("考试批次已保存。"), then=lambda _: _to_detail(session),
        template="sittings/edit_session.html", session=session,
        version_rule=syllabi.year_rule())


class _Values:
    """A session's settings as the form shows them (local times, level values)."""

    def __init__(self, session: ExamSession):
        self.year, self.name, self.levels = session.year, session.name, list(session.levels)
        for name in ("registration_opens_at", "registration_closes_at", "exam_opens_at",
                     "exam_closes_at"):
            setattr(self, name, to_local(getattr(session, name)))
        self.mode, self.syllabus_version = session.mode.value, session.syllabus_version
        self.law_cutoff, self.experience_cutoff = session.law_cutoff, session.experience_cutoff
        self.verification_mode = session.verification_mode.value


@bp.get("/admin/sessions/<int:session_id>")
def session_detail(session_id):
    session = session_or_404(session_id)
    counts = dict(db.session.execute(
        sa.select(Registration.status, sa.func.count(Registration.id))
        .where(Registration.session_id == session.id).group_by(Registration.status)).all())
    form = PassLineForm(subjects=session_subjects(session), locale=select_locale())
    return render_template("sittings/session_detail.html", session=session, counts=counts,
                           line_form=form, confirm_form=ConfirmForm(), **page_context())


@bp.post("/admin/sessions/<int:session_id>/pass-lines")
def set_pass_line(session_id):
    session = session_or_404(session_id)
    form = PassLineForm(subjects=session_subjects(session), locale=select_locale())
    if not submitted(form, _("请填写有效的科目、地区和合格线。")):
        return _to_detail(session)
    subject, region = Subject(form.subject.data), form.region.data or ""
    outcomes.commit(
        lambda: sittings.set_pass_line(session, subject, region, form.line.data,
                                       current_user),
        lambda before: " ".join(filter(None, [
            _("合格线已由 %(before)s 分改为 %(after)s 分。", before=f"{before:g}",
              after=f"{form.line.data:g}") if before is not None else _("合格线已设置。"),
            _("这个科目的成绩需要重新计算。") if results.score_count(session) else ""])))
    return _to_detail(session)


@bp.post("/admin/sessions/<int:session_id>/pass-lines/<int:line_id>/remove")
def remove_pass_line(session_id, line_id):
    session = session_or_404(session_id)
    if not submitted(ConfirmForm()):
        return _to_detail(session)
    outcomes.commit(lambda: sittings.remove_pass_line(session, line_id, current_user),
                    _("合格线已删除。"))
    return _to_detail(session)


def _to_detail(session: ExamSession):
    return redirect(url_for("sittings.session_detail", session_id=session.id))
