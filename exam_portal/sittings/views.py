"""Exam sessions: administrators open them, set pass lines and review registrations;
candidates register for a level and print their admission ticket."""

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from question_bank.levels import Level
from question_bank.pass_rules import subjects_of
from question_bank.subjects import Subject

from .. import labels
from ..clock import LOCAL_ZONE
from ..extensions import db
from ..models.sittings import (
    ExamSession,
    Registration,
    RegistrationStatus,
    SessionMode,
    VerificationMode,
)
from ..models.types import utcnow
from ..pagination import page_argument
from ..services import ServiceError, sittings
from ..web import select_locale
from .forms import (
    MODE_LABELS,
    VERIFICATION_LABELS,
    PassLineForm,
    RegisterForm,
    ReviewForm,
    SessionForm,
)

bp = Blueprint("sittings", __name__)

STATUS_LABELS = {
    RegistrationStatus.DECLARED: _l("待审核"),
    RegistrationStatus.VERIFIED: _l("审核通过"),
    RegistrationStatus.REJECTED: _l("已退回"),
}


def _page_context() -> dict:
    return {"level_labels": labels.LEVELS, "status_labels": STATUS_LABELS,
            "mode_labels": MODE_LABELS, "verification_labels": VERIFICATION_LABELS,
            "subject_labels": labels.SUBJECTS, "region_name": labels.region_name,
            "local": _local}


def _local(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M") if moment else ""


def _to_utc(local: datetime) -> datetime:
    return local.replace(tzinfo=LOCAL_ZONE).astimezone(UTC)


def _session_or_404(session_id: int) -> ExamSession:
    return db.get_or_404(ExamSession, session_id)


# Administrators ------------------------------------------------------------------------

@bp.get("/admin/sessions")
def list_sessions():
    sessions = db.paginate(sa.select(ExamSession).order_by(ExamSession.exam_opens_at.desc()),
                           page=page_argument(), per_page=current_app.config["PAGE_SIZE"],
                           error_out=False)
    return render_template("sittings/list_sessions.html", sessions=sessions,
                           **_page_context())


def _fields(form: SessionForm) -> sittings.SessionFields:
    return sittings.SessionFields(
        year=form.year.data, name=form.name.data, levels=tuple(
            Level(value) for value in form.levels.data),
        registration_opens_at=_to_utc(form.registration_opens_at.data),
        registration_closes_at=_to_utc(form.registration_closes_at.data),
        exam_opens_at=_to_utc(form.exam_opens_at.data),
        exam_closes_at=_to_utc(form.exam_closes_at.data),
        mode=SessionMode(form.mode.data), syllabus_version=form.syllabus_version.data,
        law_cutoff=form.law_cutoff.data, experience_cutoff=form.experience_cutoff.data,
        verification_mode=VerificationMode(form.verification_mode.data))


@bp.route("/admin/sessions/new", methods=["GET", "POST"])
def create_session():
    form = SessionForm()
    if form.validate_on_submit():
        try:
            session = sittings.create_session(_fields(form), current_user)
        except ServiceError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            db.session.commit()
            flash(_("考试批次已创建。"), "success")
            return redirect(url_for("sittings.session_detail", session_id=session.id))
    return render_template("sittings/edit_session.html", form=form, session=None)


@bp.route("/admin/sessions/<int:session_id>/edit", methods=["GET", "POST"])
def edit_session(session_id):
    session = _session_or_404(session_id)
    form = SessionForm(obj=_Values(session))  # the submitted values win on POST
    if form.validate_on_submit():
        try:
            sittings.update_session(session, _fields(form), current_user)
        except ServiceError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            db.session.commit()
            flash(_("考试批次已保存。"), "success")
            return redirect(url_for("sittings.session_detail", session_id=session.id))
    return render_template("sittings/edit_session.html", form=form, session=session)


class _Values:
    """A session's settings as the form shows them (local times, level values)."""

    def __init__(self, session: ExamSession):
        self.year, self.name, self.levels = session.year, session.name, list(session.levels)
        for name in ("registration_opens_at", "registration_closes_at", "exam_opens_at",
                     "exam_closes_at"):
            setattr(self, name, getattr(session, name).astimezone(LOCAL_ZONE).replace(
                tzinfo=None))
        self.mode, self.syllabus_version = session.mode.value, session.syllabus_version
        self.law_cutoff, self.experience_cutoff = session.law_cutoff, session.experience_cutoff
        self.verification_mode = session.verification_mode.value


def _subjects(session: ExamSession) -> list[Subject]:
    return [subject for level in session.level_set for subject in subjects_of(level)]


@bp.get("/admin/sessions/<int:session_id>")
def session_detail(session_id):
    session = _session_or_404(session_id)
    counts = dict(db.session.execute(
        sa.select(Registration.status, sa.func.count(Registration.id))
        .where(Registration.session_id == session.id).group_by(Registration.status)).all())
    form = PassLineForm(subjects=_subjects(session), locale=select_locale())
    return render_template("sittings/session_detail.html", session=session, counts=counts,
                           line_form=form, **_page_context())


@bp.post("/admin/sessions/<int:session_id>/pass-lines")
def set_pass_line(session_id):
    session = _session_or_404(session_id)
    form = PassLineForm(subjects=_subjects(session), locale=select_locale())
    if not form.validate_on_submit():
        flash(_("请填写有效的科目、地区和合格线。"), "danger")
    else:
        try:
            sittings.set_pass_line(session, Subject(form.subject.data), form.region.data or "",
                                   form.line.data, current_user)
        except ServiceError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            db.session.commit()
            flash(_("合格线已设置。"), "success")
    return redirect(url_for("sittings.session_detail", session_id=session.id))


@bp.get("/admin/sessions/<int:session_id>/registrations")
def registrations(session_id):
    session = _session_or_404(session_id)
    status = request.args.get("status", "")
    level = request.args.get("level", "")
    search = request.args.get("q", "").strip()[:100]
    statuses = {member.value: member for member in RegistrationStatus}
    levels = {member.value: member for member in Level}
    query = sittings.registration_query(session, status=statuses.get(status),
                                        level=levels.get(level), search=search)
    page = db.paginate(query, page=page_argument(), per_page=current_app.config["PAGE_SIZE"],
                       error_out=False)
    return render_template("sittings/registrations.html", session=session, page=page,
                           status=status, level=level, search=search, form=ReviewForm(),
                           **_page_context())


@bp.post("/admin/sessions/<int:session_id>/registrations/review")
def review_registrations(session_id):
    session = _session_or_404(session_id)
    form = ReviewForm()
    back = redirect(request.form.get("next", "") if request.form.get("next", "").startswith(
        f"/admin/sessions/{session.id}/registrations") else url_for(
        "sittings.registrations", session_id=session.id))
    ids = [int(value) for value in request.form.getlist("registration") if value.isdigit()]
    if not form.validate_on_submit() or not ids:
        flash(_("请至少选择一条报名，并选择审核结果。"), "danger")
        return back
    chosen = list(db.session.scalars(sa.select(Registration).where(
        Registration.session_id == session.id, Registration.id.in_(ids[:1000]))))
    try:
        changed, refused = sittings.review(
            chosen, verify=form.action.data == "verify", reason=form.reason.data or "",
            actor=current_user, now=utcnow())
    except ServiceError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return back
    db.session.commit()
    flash(_("已审核 %(n)d 条报名。", n=changed), "success")
    for registration, why in refused[:10]:
        flash(f"{registration.admission_number}: {why}", "warning")
    return back


# Candidates ----------------------------------------------------------------------------

@bp.get("/exams")
def my_exams():
    now = utcnow()
    open_sessions = sittings.open_for_registration(now)
    forms = {session.id: RegisterForm(levels=session.level_set, locale=select_locale(),
                                      prefix=f"s{session.id}")
             for session in open_sessions}
    verdicts = {(session.id, level): sittings.verdict_for(current_user, session, level)
                for session in open_sessions for level in session.level_set}
    return render_template("sittings/my_exams.html", open_sessions=open_sessions,
                           forms=forms, verdicts=verdicts,
                           registrations=sittings.own_registrations(current_user),
                           **_page_context())


@bp.post("/exams/sessions/<int:session_id>/register")
def register(session_id):
    session = _session_or_404(session_id)
    form = RegisterForm(levels=session.level_set, locale=select_locale(),
                        prefix=f"s{session.id}")
    if not form.validate_on_submit():
        flash(_("请选择级别和报考地区，并确认报考承诺。"), "danger")
        return redirect(url_for("sittings.my_exams"))
    try:
        registration = sittings.register(current_user, session, Level(form.level.data),
                                         form.region.data, declared=form.declared.data,
                                         now=utcnow())
    except ServiceError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for("sittings.my_exams"))
    db.session.commit()
    flash(_("报名成功，准考证号 %(number)s。", number=registration.admission_number), "success")
    return redirect(url_for("sittings.my_exams"))


@bp.get("/exams/registrations/<int:registration_id>/ticket")
def admission_ticket(registration_id):
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.candidate_id != current_user.id:
        abort(404)
    return render_template("sittings/ticket.html", registration=registration,
                           may_sit=sittings.may_sit(registration), **_page_context())
