"""A candidate's own exams: registering for a session's level, withdrawing, the
admission ticket, the score report, and starting an online sitting."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.account.forms import ConfirmForm
from exam_portal.blueprints.sittings.forms import RegisterForm
from exam_portal.blueprints.sittings.payment_views import fee_context
from exam_portal.blueprints.sittings.views import (
    QUALIFICATION_LABELS,
    bp,
    own_registration_or_404,
    page_context,
    session_or_404,
)
from exam_portal.models.sittings import (
    ExamSession,
    RegistrationStatus,
    SessionMode,
)
from exam_portal.models.types import utcnow
from exam_portal.services.exam_sessions import fees, online_exams, results, seating, sittings
from exam_portal.web import outcomes
from exam_portal.web.forms import submitted
from exam_portal.web.locale import select_locale
from question_bank.levels import Level
from question_bank.subjects import Subject


@bp.get("/exams")
def my_exams():
    return _my_exams_page()


def _my_exams_page(posted: tuple[int, RegisterForm] | None = None):
    """The candidate's registrations and the sessions open for registration, each with
    a form offering only the levels the candidate may still register for."""
    now = utcnow()
    open_sessions = sittings.open_for_registration(now)
    registrations = sittings.own_registrations(current_user)
    taken = {(r.session_id, r.level) for r in registrations
             if r.status is not RegistrationStatus.REJECTED}
    verdicts = {(session.id, level): sittings.verdict_for(current_user, session, level)
                for session in open_sessions for level in session.level_set}
    forms = {}
    for session in open_sessions:
        levels = [level for level in session.level_set
                  if verdicts[(session.id, level)].eligible and (session.id, level) not in taken]
        if posted and posted[0] == session.id:
            forms[session.id] = posted[1]
        elif levels:
            forms[session.id] = _register_form(session, levels)
    exam_sittings = {r.id: online_exams.sittings_of(r, now) for r in registrations
                     if r.session.mode is SessionMode.ONLINE
                     and r.status is not RegistrationStatus.REJECTED}
    accounts = {r.id: fees.account(r, now) for r in registrations}
    return render_template("sittings/my_exams.html", open_sessions=open_sessions,
                           forms=forms, verdicts=verdicts, taken=taken,
                           exam_sittings=exam_sittings, sitting_states=online_exams.SittingState,
                           registrations=registrations, is_open=sittings.is_registration_open,
                           now=now, withdraw_form=ConfirmForm(), accounts=accounts,
                           **fee_context(), **page_context())


def _register_form(session: ExamSession, levels) -> RegisterForm:
    return RegisterForm(levels=levels, locale=select_locale(), prefix=f"s{session.id}")


@bp.post("/exams/sessions/<int:session_id>/register")
def register(session_id):
    session = session_or_404(session_id)
    form = _register_form(session, session.level_set)
    if not form.validate_on_submit():
        return _my_exams_page((session.id, form)), 422
    done = outcomes.commit(
        lambda: sittings.register(current_user, session, Level(form.level.data),
                                  form.region.data, declared=form.declared.data,
                                  now=utcnow()),
        lambda registration: _("报名成功，准考证号 %(number)s。",
                               number=registration.admission_number),
        field=form.level,
        conflict=_("同时有另一条报名提交，每次考试只能报考一个级别。请刷新后查看。"))
    if not done.ok:
        return _my_exams_page((session.id, form)), 422
    return redirect(url_for("sittings.my_exams"))


@bp.post("/exams/registrations/<int:registration_id>/withdraw")
def withdraw_registration(registration_id):
    registration = own_registration_or_404(registration_id)
    if not submitted(ConfirmForm()):
        return redirect(url_for("sittings.my_exams"))
    outcomes.commit(lambda: sittings.withdraw(registration, current_user, now=utcnow()),
                    _("报名已撤销。"),
                    # A payment recorded at the same moment keeps the registration.
                    conflict=_("这条报名刚刚记录了缴费，不能自行撤销，请联系考试管理机构。"))
    return redirect(url_for("sittings.my_exams"))


@bp.get("/exams/registrations/<int:registration_id>/ticket")
def admission_ticket(registration_id):
    registration = own_registration_or_404(registration_id)
    return render_template("sittings/ticket.html", registration=registration,
                           ticket=seating.ticket(registration, utcnow()), **fee_context(),
                           **page_context())


@bp.get("/exams/registrations/<int:registration_id>/results")
def score_report(registration_id):
    registration = own_registration_or_404(registration_id)
    report = results.score_report(registration)
    if report is None:
        flash(_("这个考试批次的成绩还没有发布。"), "info")
        return redirect(url_for("sittings.my_exams"))
    return render_template("sittings/score_report.html", registration=registration,
                           report=report, qualification_labels=QUALIFICATION_LABELS,
                           **page_context())


@bp.post("/exams/registrations/<int:registration_id>/subjects/<code>/start")
def start_sitting(registration_id, code):
    registration = own_registration_or_404(registration_id)
    if code not in Subject.__members__ or not ConfirmForm().validate_on_submit():
        abort(404)
    done = outcomes.commit(
        lambda: online_exams.start(registration, Subject(code), current_user, now=utcnow()))
    if not done.ok:
        return redirect(url_for("sittings.my_exams"))
    return redirect(url_for("candidate.take_attempt", attempt_id=done.result.id))
