"""Exam sessions: administrators open them, set pass lines and review registrations;
candidates register for a level and print their admission ticket."""

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from exam_portal.blueprints.account.forms import ConfirmForm
from exam_portal.blueprints.sittings.forms import (
    MODE_LABELS,
    VERIFICATION_LABELS,
    ConfirmScoreImportForm,
    CorrectScoreForm,
    PassLineForm,
    RegisterForm,
    ReviewForm,
    ScoreImportForm,
    SeniorReviewForm,
    SessionForm,
    SittingChangeForm,
)
from exam_portal.extensions import db, no_write_lock
from exam_portal.models.attempts import Attempt
from exam_portal.models.sittings import (
    ExamSession,
    Qualification,
    QualificationStatus,
    Registration,
    RegistrationStatus,
    SessionMode,
    VerificationMode,
)
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.delivery import attempts
from exam_portal.services.exam_sessions import (
    online_exams,
    registration_review,
    results,
    score_import,
    scores,
    sittings,
)
from exam_portal.services.platform import jobs, labels
from exam_portal.services.platform.clock import LOCAL_ZONE
from exam_portal.web import outcomes, uploads
from exam_portal.web.forms import error_messages, posted_ids, submitted
from exam_portal.web.locale import select_locale
from exam_portal.web.pagination import Page, page_argument
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


def _page_context() -> dict:
    return {"level_labels": labels.LEVELS, "status_labels": STATUS_LABELS,
            "mode_labels": MODE_LABELS, "verification_labels": VERIFICATION_LABELS,
            "subject_labels": labels.SUBJECTS, "region_name": labels.region_name,
            "describe_route_code": labels.describe_route_code, "local": _local}


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
        done = outcomes.commit(lambda: sittings.create_session(_fields(form), current_user),
                               _("考试批次已创建。"))
        if done.ok:
            return _to_detail(done.result)
    return render_template("sittings/edit_session.html", form=form, session=None)


@bp.route("/admin/sessions/<int:session_id>/edit", methods=["GET", "POST"])
def edit_session(session_id):
    session = _session_or_404(session_id)
    form = SessionForm(obj=_Values(session))  # the submitted values win on POST
    if form.validate_on_submit() and outcomes.commit(
            lambda: sittings.update_session(session, _fields(form), current_user),
            _("考试批次已保存。")).ok:
        return _to_detail(session)
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
                           line_form=form, confirm_form=ConfirmForm(), **_page_context())


@bp.post("/admin/sessions/<int:session_id>/pass-lines")
def set_pass_line(session_id):
    session = _session_or_404(session_id)
    form = PassLineForm(subjects=_subjects(session), locale=select_locale())
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
    session = _session_or_404(session_id)
    if not submitted(ConfirmForm()):
        return _to_detail(session)
    outcomes.commit(lambda: sittings.remove_pass_line(session, line_id, current_user),
                    _("合格线已删除。"))
    return _to_detail(session)


def _to_detail(session: ExamSession):
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
    ids = posted_ids(request.form.getlist("registration"), sittings.MAX_BULK_REVIEW + 1)
    if not form.validate_on_submit() or not ids:
        for message in error_messages(form) or [_("请至少选择一条报名。")]:
            flash(message, "danger")
        return back
    chosen = list(db.session.scalars(sa.select(Registration).where(
        Registration.session_id == session.id, Registration.id.in_(ids))))
    done = outcomes.commit(
        lambda: registration_review.review(
            chosen, verify=form.action.data == "verify", reason=form.reason.data or "",
            actor=current_user, now=utcnow()),
        lambda reviewed: ngettext("已审核 %(num)d 条报名。", "已审核 %(num)d 条报名。",
                                  reviewed[0]))
    refused = done.result[1] if done.ok else []
    for registration, why in refused[:10]:
        flash(_("%(number)s：%(reason)s", number=registration.admission_number, reason=why),
              "warning")
    return back


@bp.get("/admin/sessions/<int:session_id>/results")
def session_results(session_id):
    session = _session_or_404(session_id)
    job = jobs.latest(results.COMPUTE_JOB, session.id)
    return render_template(
        "sittings/session_results.html", session=session, job=job,
        job_status=job and labels.JOB_STATUSES[job.status],
        job_stale=job is not None and jobs.is_stale(job), scores=results.score_count(session),
        unmarked=results.unmarked_count(session), rates=results.pass_rates(session),
        confirm_form=ConfirmForm(), exam_over=utcnow() >= session.exam_closes_at,
        correct_form=CorrectScoreForm(subjects=_subjects(session)),
        **_page_context())


@bp.post("/admin/sessions/<int:session_id>/results/compute")
def compute_results(session_id):
    session = _session_or_404(session_id)
    if not submitted(ConfirmForm()):
        return redirect(url_for("sittings.session_results", session_id=session.id))
    done = outcomes.commit(lambda: results.start_computing(session, current_user))
    if not done.ok:
        return redirect(url_for("sittings.session_results", session_id=session.id))
    return redirect(url_for("jobs.job_detail", job_id=done.result.id))


@bp.post("/admin/sessions/<int:session_id>/results/publish")
def publish_results(session_id):
    session = _session_or_404(session_id)
    if not submitted(ConfirmForm()):
        return redirect(url_for("sittings.session_results", session_id=session.id))
    outcomes.commit(lambda: results.publish(session, current_user, now=utcnow()),
                    _("成绩已发布，考生现在可以查看成绩。"))
    return redirect(url_for("sittings.session_results", session_id=session.id))


@bp.route("/admin/sessions/<int:session_id>/scores/import", methods=["GET", "POST"])
def import_scores(session_id):
    # A preview writes nothing: the sheet is received, read and checked against the
    # registrations with no write lock held, so candidates' saves never wait for it.
    with no_write_lock():
        session = _session_or_404(session_id)
        form = ScoreImportForm()
        if not form.validate_on_submit():
            return render_template("sittings/import_scores.html", session=session, form=form)
        upload = form.file.data
        data = upload.read()
        try:
            plan = score_import.plan(session, score_import.read_sheet(upload.filename, data),
                                     now=utcnow())
        except ServiceError as error:
            form.file.errors = [*form.file.errors, str(error)]
            return render_template("sittings/import_scores.html", session=session, form=form)
        confirm = ConfirmScoreImportForm()
        if not plan.errors and (plan.count(score_import.Action.NEW)
                                or plan.count(score_import.Action.CHANGED)):
            confirm.token.data = uploads.keep(current_user.id, upload.filename, data)
        return render_template("sittings/import_scores_preview.html", session=session,
                               plan=plan, confirm=confirm, filename=upload.filename,
                               actions=score_import.Action, **_page_context())


@bp.post("/admin/sessions/<int:session_id>/scores/import/confirm")
def confirm_score_import(session_id):
    session = _session_or_404(session_id)
    form = ConfirmScoreImportForm()
    upload = uploads.take(current_user.id, form.token.data) if form.validate_on_submit() \
        else None
    if upload is None:
        flash(_("预览已过期，请重新上传文件。"), "warning")
        return redirect(url_for("sittings.import_scores", session_id=session.id))
    done = outcomes.commit(
        lambda: _import_sheet(session, *upload, reason=form.reason.data or ""),
        lambda summary: _("导入完成：新增 %(new)d 条，修改 %(changed)d 条，未变 %(unchanged)d 条。"
                          "请重新计算成绩。", **summary),
        # Another import of the same scores landed first: the unique index refuses this.
        conflict=_("同时有另一次导入写入了成绩，本次未导入任何成绩。请重新上传预览。"))
    if not done.ok:
        return redirect(url_for("sittings.import_scores", session_id=session_id))
    return redirect(url_for("sittings.session_results", session_id=session_id))


def _import_sheet(session: ExamSession, filename: str, data: bytes, *, reason: str) -> dict:
    # Read with no write lock held; planned afresh and written in one transaction
    # after (registrations or scores may have changed since the preview).
    with no_write_lock():
        sheet = score_import.read_sheet(filename, data)
    plan = score_import.plan(session, sheet, now=utcnow())
    return score_import.apply(session, plan, current_user, filename=filename, now=utcnow(),
                              reason=reason)


@bp.post("/admin/sessions/<int:session_id>/scores/correct")
def correct_score(session_id):
    session = _session_or_404(session_id)
    back = redirect(url_for("sittings.session_results", session_id=session.id))
    form = CorrectScoreForm(subjects=_subjects(session))
    if not submitted(form):
        return back
    registration = db.session.scalar(sa.select(Registration).where(
        Registration.session_id == session.id,
        Registration.admission_number == form.admission_number.data.strip()))
    if registration is None:
        flash(_("本考试批次没有这个准考证号。"), "danger")
        return back
    outcomes.commit(
        lambda: scores.correct_score(registration, Subject(form.subject.data),
                                     form.score.data, reason=form.reason.data,
                                     actor=current_user, now=utcnow()),
        lambda result: _("已将 %(number)s 的成绩改为 %(score)s 分，请重新计算成绩。",
                         number=registration.admission_number,
                         score=f"{result.score_halves / 2:g}"))
    return back


@bp.get("/admin/sessions/<int:session_id>/scores/template.csv")
def score_template(session_id):
    _session_or_404(session_id)
    return Response(score_import.template(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="scores.csv"'})


@bp.get("/admin/sessions/<int:session_id>/sittings")
def session_sittings(session_id):
    session = _session_or_404(session_id)
    search = request.args.get("q", "").strip()[:40]
    query, per_page = online_exams.sitting_query(session, search=search), \
        current_app.config["PAGE_SIZE"]
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    number = min(page_argument(), max(1, -(-total // per_page)))
    rows = db.session.execute(query.limit(per_page).offset((number - 1) * per_page)).all()
    return render_template("sittings/session_sittings.html", session=session,
                           page=Page(rows, number, per_page, total),
                           search=search, form=SittingChangeForm(), now=utcnow(),
                           is_overdue=attempts.is_overdue, **_page_context())


@bp.post("/admin/sessions/<int:session_id>/sittings/<int:attempt_id>/extend",
         defaults={"change": "extend"})
@bp.post("/admin/sessions/<int:session_id>/sittings/<int:attempt_id>/reopen",
         defaults={"change": "reopen"})
def change_sitting(session_id, attempt_id, change):
    session = _session_or_404(session_id)
    found = db.session.execute(online_exams.sitting_query(session).where(
        Attempt.id == attempt_id)).first()
    if found is None:
        abort(404)
    back = redirect(url_for("sittings.session_sittings", session_id=session.id,
                            q=found.Registration.admission_number))
    form = SittingChangeForm()
    if not submitted(form):
        return back
    action = online_exams.extend if change == "extend" else online_exams.reopen
    outcomes.commit(
        lambda: action(found.Attempt, form.minutes.data, form.reason.data, current_user,
                       now=utcnow()),
        _("已延长 %(n)d 分钟。", n=form.minutes.data) if change == "extend"
        else _("已重新开放 %(n)d 分钟，考生可以继续作答。", n=form.minutes.data))
    return back


@bp.get("/admin/sessions/<int:session_id>/senior-reviews")
def senior_reviews(session_id):
    session = _session_or_404(session_id)
    return render_template("sittings/senior_reviews.html", session=session,
                           rows=results.senior_qualifications(session),
                           form=SeniorReviewForm(), now=utcnow(),
                           qualification_labels=QUALIFICATION_LABELS, **_page_context())


@bp.post("/admin/sessions/<int:session_id>/senior-reviews/<int:qualification_id>")
def record_senior_review(session_id, qualification_id):
    session = _session_or_404(session_id)
    qualification = db.session.get(Qualification, qualification_id)
    if qualification is None or qualification.session_id != session.id:
        abort(404)
    back = redirect(url_for("sittings.senior_reviews", session_id=session.id))
    form = SeniorReviewForm()
    if not submitted(form):
        return back
    outcomes.commit(
        lambda: results.record_senior_review(
            qualification, passed=form.outcome.data == "passed", note=form.note.data,
            actor=current_user, now=utcnow()),
        _("评审结果已记录。"))
    return back


# Candidates ----------------------------------------------------------------------------

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
    return render_template("sittings/my_exams.html", open_sessions=open_sessions,
                           forms=forms, verdicts=verdicts, taken=taken,
                           exam_sittings=exam_sittings, sitting_states=online_exams.SittingState,
                           registrations=registrations, is_open=sittings.is_registration_open,
                           now=now, withdraw_form=ConfirmForm(), **_page_context())


def _register_form(session: ExamSession, levels) -> RegisterForm:
    return RegisterForm(levels=levels, locale=select_locale(), prefix=f"s{session.id}")


@bp.post("/exams/sessions/<int:session_id>/register")
def register(session_id):
    session = _session_or_404(session_id)
    form = _register_form(session, session.level_set)
    if not form.validate_on_submit():
        return _my_exams_page((session.id, form)), 422
    done = outcomes.commit(
        lambda: sittings.register(current_user, session, Level(form.level.data),
                                  form.region.data, declared=form.declared.data,
                                  now=utcnow()),
        lambda registration: _("报名成功，准考证号 %(number)s。",
                               number=registration.admission_number),
        field=form.level)
    if not done.ok:
        return _my_exams_page((session.id, form)), 422
    return redirect(url_for("sittings.my_exams"))


def _own_registration_or_404(registration_id: int) -> Registration:
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.candidate_id != current_user.id:
        abort(404)
    return registration


@bp.post("/exams/registrations/<int:registration_id>/withdraw")
def withdraw_registration(registration_id):
    registration = _own_registration_or_404(registration_id)
    if not submitted(ConfirmForm()):
        return redirect(url_for("sittings.my_exams"))
    outcomes.commit(lambda: sittings.withdraw(registration, current_user, now=utcnow()),
                    _("报名已撤销。"))
    return redirect(url_for("sittings.my_exams"))


@bp.get("/exams/registrations/<int:registration_id>/ticket")
def admission_ticket(registration_id):
    registration = _own_registration_or_404(registration_id)
    return render_template("sittings/ticket.html", registration=registration,
                           may_sit=sittings.may_sit(registration), **_page_context())


@bp.get("/exams/registrations/<int:registration_id>/results")
def score_report(registration_id):
    registration = _own_registration_or_404(registration_id)
    report = results.score_report(registration)
    if report is None:
        flash(_("这个考试批次的成绩还没有发布。"), "info")
        return redirect(url_for("sittings.my_exams"))
    return render_template("sittings/score_report.html", registration=registration,
                           report=report, qualification_labels=QUALIFICATION_LABELS,
                           **_page_context())


@bp.post("/exams/registrations/<int:registration_id>/subjects/<code>/start")
def start_sitting(registration_id, code):
    registration = _own_registration_or_404(registration_id)
    if code not in Subject.__members__ or not ConfirmForm().validate_on_submit():
        abort(404)
    done = outcomes.commit(
        lambda: online_exams.start(registration, Subject(code), current_user, now=utcnow()))
    if not done.ok:
        return redirect(url_for("sittings.my_exams"))
    return redirect(url_for("candidate.take_attempt", attempt_id=done.result.id))
