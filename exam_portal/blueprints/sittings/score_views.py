"""A session's scores and results for administrators: scores imported from a sheet or
corrected one by one, results computed (as a job) and published, senior-level reviews."""

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.account.forms import ConfirmForm
from exam_portal.blueprints.sittings.forms import (
    ConfirmScoreImportForm,
    CorrectScoreForm,
    ScoreImportForm,
    SeniorReviewForm,
)
from exam_portal.blueprints.sittings.views import (
    QUALIFICATION_LABELS,
    bp,
    page_context,
    session_or_404,
    session_subjects,
)
from exam_portal.extensions import db, no_write_lock
from exam_portal.models.sittings import ExamSession, Qualification, Registration
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.exam_sessions import notices, results, score_import, scores
from exam_portal.services.platform import jobs, labels
from exam_portal.web import outcomes, uploads
from exam_portal.web.forms import submitted
from question_bank.subjects import Subject


@bp.get("/admin/sessions/<int:session_id>/results")
def session_results(session_id):
    session = session_or_404(session_id)
    job = jobs.latest(results.COMPUTE_JOB, session.id)
    return render_template(
        "sittings/session_results.html", session=session, job=job,
        job_status=job and labels.JOB_STATUSES[job.status],
        job_stale=job is not None and jobs.is_stale(job), scores=results.score_count(session),
        unmarked=results.unmarked_count(session), rates=results.pass_rates(session),
        confirm_form=ConfirmForm(), exam_over=utcnow() >= session.exam_closes_at,
        correct_form=CorrectScoreForm(subjects=session_subjects(session)),
        **page_context())


def _to_results(session: ExamSession):
    return redirect(url_for("sittings.session_results", session_id=session.id))


@bp.post("/admin/sessions/<int:session_id>/results/compute")
def compute_results(session_id):
    session = session_or_404(session_id)
    return outcomes.start_job(ConfirmForm(), lambda: results.start_computing(session, current_user),
                              _to_results(session))


@bp.post("/admin/sessions/<int:session_id>/results/publish")
def publish_results(session_id):
    session = session_or_404(session_id)
    if not submitted(ConfirmForm()):
        return _to_results(session)
    published = outcomes.commit(lambda: results.publish(session, current_user, now=utcnow()),
                                _("成绩已发布，考生现在可以查看成绩。"))
    if published.ok:
        try:  # the notices go out as a job of their own, after the publication commits
            notices.announce_results(session, current_user)
        except ServiceError as error:
            flash(_("成绩已发布，但通知考生的任务未能开始：%(reason)s", reason=str(error)),
                  "warning")
    return _to_results(session)


@bp.post("/admin/sessions/<int:session_id>/scores/correct")
def correct_score(session_id):
    session = session_or_404(session_id)
    back = _to_results(session)
    form = CorrectScoreForm(subjects=session_subjects(session))
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


@bp.route("/admin/sessions/<int:session_id>/scores/import", methods=["GET", "POST"])
def import_scores(session_id):
    # A preview writes nothing: the sheet is received, read and checked against the
    # registrations with no write lock held, so candidates' saves never wait for it.
    with no_write_lock():
        session = session_or_404(session_id)
        return uploads.preview(
            ScoreImportForm(),
            lambda name, data: score_import.plan(
                session, score_import.read_sheet(name, data), now=utcnow()),
            confirm=ConfirmScoreImportForm(),
            ready=lambda plan: plan.count(score_import.Action.NEW)
            or plan.count(score_import.Action.CHANGED),
            upload_page="sittings/import_scores.html",
            preview_page="sittings/import_scores_preview.html",
            session=session, actions=score_import.Action, **page_context())


@bp.post("/admin/sessions/<int:session_id>/scores/import/confirm")
def confirm_score_import(session_id):
    session = session_or_404(session_id)
    form = ConfirmScoreImportForm()
    upload = uploads.confirmed(form)
    if upload is None:
        return redirect(url_for("sittings.import_scores", session_id=session.id))
    done = outcomes.commit(
        lambda: _import_sheet(session, *upload, reason=form.reason.data or ""),
        lambda summary: _("导入完成：新增 %(new)d 条，修改 %(changed)d 条，未变 %(unchanged)d 条。"
                          "请重新计算成绩。", **summary),
        # Another import of the same scores landed first: the unique index refuses this.
        conflict=_("同时有另一次导入写入了成绩，本次未导入任何成绩。请重新上传预览。"))
    if not done.ok:
        return redirect(url_for("sittings.import_scores", session_id=session_id))
    return _to_results(session)


def _import_sheet(session: ExamSession, filename: str, data: bytes, *, reason: str) -> dict:
    # Read with no write lock held; planned afresh and written in one transaction
    # after (registrations or scores may have changed since the preview).
    with no_write_lock():
        sheet = score_import.read_sheet(filename, data)
    plan = score_import.plan(session, sheet, now=utcnow())
    return score_import.apply(session, plan, current_user, filename=filename, now=utcnow(),
                              reason=reason)


@bp.get("/admin/sessions/<int:session_id>/scores/template.csv")
def score_template(session_id):
    session_or_404(session_id)
    return Response(score_import.template(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="scores.csv"'})


@bp.get("/admin/sessions/<int:session_id>/senior-reviews")
def senior_reviews(session_id):
    session = session_or_404(session_id)
    return render_template("sittings/senior_reviews.html", session=session,
                           rows=results.senior_qualifications(session),
                           form=SeniorReviewForm(), now=utcnow(),
                           qualification_labels=QUALIFICATION_LABELS, **page_context())


@bp.post("/admin/sessions/<int:session_id>/senior-reviews/<int:qualification_id>")
def record_senior_review(session_id, qualification_id):
    session = session_or_404(session_id)
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
