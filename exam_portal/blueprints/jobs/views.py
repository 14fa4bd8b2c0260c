"""Background jobs as administrators see them: a list, and one job's progress (polled
by the page) and final summary."""

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, jsonify, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from exam_portal.extensions import db
from exam_portal.models.jobs import Job
from exam_portal.models.sittings import ExamSession
from exam_portal.models.training import TrainingProgramme
from exam_portal.services.certification import (
    certificate_exports,
    certificates,
    training_certificates,
)
from exam_portal.services.exam_sessions import form_analysis, notices, results
from exam_portal.services.item_bank import approvals
from exam_portal.services.platform import jobs, labels, notifications
from exam_portal.web.pagination import page_argument

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")

KIND_LABELS = {results.COMPUTE_JOB: _l("计算考试成绩"),
               form_analysis.ANALYSE_JOB: _l("试题分析"),
               certificates.BULK_JOB: _l("批量签发证书"),
               certificate_exports.EXPORT_JOB: _l("导出证书 PDF"),
               training_certificates.BULK_JOB: _l("批量签发培训证书"),
               approvals.APPROVE_JOB: _l("批量通过题目"),
               notifications.fan_out_job(notices.SESSION_CANDIDATES): _l("通知考生成绩发布"),
               notifications.SWEEP_JOB: _l("每日通知")}
PHASE_LABELS = {results.PHASE_MARKING: _l("按合格线判定科目成绩"),
                results.PHASE_QUALIFICATIONS: _l("记录取得的资格"),
                certificates.PHASE_ISSUING: _l("签发证书"),
                certificate_exports.PHASE_RENDERING: _l("生成证书 PDF"),
                form_analysis.PHASE_ANALYSING: _l("分析试卷"),
                approvals.PHASE_APPROVING: _l("通过题目"),
                notifications.PHASE_NOTIFYING: _l("发送通知")}
SUMMARY_LABELS = {
    "subjects_marked": _l("判定的科目成绩"),
    "subjects_passed": _l("其中合格"),
    "qualifications_recorded": _l("新记录的资格"),
    "qualifications_withdrawn": _l("撤回的资格（不再满足条件）"),
    "issued": _l("已签发"),
    "skipped": _l("跳过"),
    "skipped_reasons": _l("跳过的原因"),
    "rendered": _l("生成的 PDF"),
    "file": _l("文件"),
    "forms": _l("分析的试卷（考生人数）"),
    "size_mb": _l("大小（MB）"),
    "approved": _l("已通过"),
    "refused": _l("未通过"),
    "refused_reasons": _l("未通过的原因"),
    "audience": _l("通知对象"),
    "created": _l("新发出的通知"),
}
_SESSION_JOBS = {results.COMPUTE_JOB: "sittings.session_results",
                 form_analysis.ANALYSE_JOB: "sittings.session_forms",
                 certificates.BULK_JOB: "certificates.session_certificates",
                 certificate_exports.EXPORT_JOB: "certificates.session_certificates",
                 notifications.fan_out_job(notices.SESSION_CANDIDATES):
                     "sittings.session_results"}


def _target_name(job: Job) -> str:
    if job.kind == training_certificates.BULK_JOB and job.target_id:
        programme = db.session.get(TrainingProgramme, job.target_id)
        return programme.name if programme else ""
    if job.kind in _SESSION_JOBS and job.target_id:
        session = db.session.get(ExamSession, job.target_id)
        return session.name if session else ""
    return ""


def _target_url(job: Job) -> str | None:
    if job.kind == training_certificates.BULK_JOB and job.target_id:
        return url_for("training.programme_detail", programme_id=job.target_id)
    if job.kind in _SESSION_JOBS and job.target_id:
        return url_for(_SESSION_JOBS[job.kind], session_id=job.target_id)
    return None


def _summary(job: Job) -> dict:
    """The summary as the page shows it. Skip reasons were recorded in the worker's
    language (the default, Chinese) and are message ids: each is shown in the reader's."""
    return {key: {_(reason): count for reason, count in value.items()}
            if isinstance(value, dict) else value
            for key, value in (job.summary or {}).items()}


def _status_label(job: Job) -> str:
    if jobs.is_stale(job):
        return _("已中断（可重新开始）")
    return str(labels.JOB_STATUSES[job.status])


@bp.get("")
def list_jobs():
    page = db.paginate(sa.select(Job).order_by(Job.id.desc()), page=page_argument(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("jobs/list_jobs.html", page=page, kind_labels=KIND_LABELS,
                           status_label=_status_label, percent=jobs.percent,
                           target_name=_target_name)


@bp.get("/<int:job_id>")
def job_detail(job_id):
    job = db.get_or_404(Job, job_id)
    return render_template("jobs/job_detail.html", job=job, kind_labels=KIND_LABELS,
                           phase_labels=PHASE_LABELS, summary_labels=SUMMARY_LABELS,
                           status_label=_status_label(job), percent=jobs.percent(job),
                           summary=_summary(job),
                           target_url=_target_url(job), target_name=_target_name(job),
                           has_file=certificate_exports.export_file(job) is not None)


@bp.get("/<int:job_id>/progress")
def job_progress(job_id):
    job = db.get_or_404(Job, job_id)
    phase = PHASE_LABELS.get(job.phase or "")
    return jsonify(status=job.status.value, finished=job.finished, percent=jobs.percent(job),
                   done=job.done, total=job.total, phase=str(phase) if phase else "",
                   label=_status_label(job))


@bp.get("/<int:job_id>/file")
def download_job_file(job_id):
    path = certificate_exports.export_file(db.get_or_404(Job, job_id))
    if path is None:
        abort(404)  # not an export, not finished, or replaced by a newer export
    return send_file(path, mimetype="application/zip", as_attachment=True,
                     download_name=path.name, max_age=0)
