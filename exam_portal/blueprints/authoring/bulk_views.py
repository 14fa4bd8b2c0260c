"""Trainer pages that act on many items: completing the drafts an import filled with
defaults, and approving every item under review in a filtered list as a job."""

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.authoring.forms import ApproveAllForm, CompleteItemsForm
from exam_portal.blueprints.authoring.views import bp, list_filters
from exam_portal.extensions import db
from exam_portal.models.jobs import Job
from exam_portal.services.item_bank import approvals, authoring, completion, secure_pool
from exam_portal.services.platform import jobs, labels, syllabi
from exam_portal.web import outcomes
from exam_portal.web.forms import as_choices, error_messages, posted_ids
from exam_portal.web.pagination import Page, page_argument
from question_bank import syllabus
from question_bank.subjects import Subject

REFUSALS_SHOWN = 20


def _subject_argument(value: str) -> Subject | None:
    return Subject(value) if value in Subject.__members__ else None


def _completion_form(subject: Subject | None) -> CompleteItemsForm:
    """The bulk form; the node picker holds the tree in force's nodes of *subject* (the
    list's filter), or its chapters and sections of every subject."""
    form = CompleteItemsForm()
    tree = syllabus.load(syllabi.in_force())
    indent = {"chapter": "", "section": "\u3000", "point": "\u3000\u3000"}
    form.node.choices = as_choices([("", "—")] + [
        (node.code, f"{indent[node.depth.value]}{node.code} {node.title}")
        for tree_subject, subject_tree in tree.trees.items() for node in subject_tree.nodes
        if tree_subject is subject or (subject is None and node.depth.value != "point")])
    return form


@bp.get("/completion")
def list_incomplete_items():
    subject = _subject_argument(request.args.get("subject", ""))
    pools = secure_pool.visible_pools(current_user)
    per_page = current_app.config["PAGE_SIZE"]
    total = completion.count(pools, subject)
    page = min(page_argument(), max(1, -(-total // per_page)))
    rows = db.session.scalars(completion.list_query(pools, subject).limit(per_page)
                              .offset((page - 1) * per_page)).all()
    secure_pool.record_views(rows, current_user, via="list")
    db.session.commit()
    return render_template("authoring/list_incomplete_items.html",
                           items=Page(rows, page, per_page, total), subject=subject,
                           subjects=labels.SUBJECTS, form=_completion_form(subject),
                           field_labels=authoring.DEFAULTED_LABELS)


@bp.post("/completion")
def complete_items():
    form = _completion_form(_subject_argument(request.form.get("subject_filter", "")))
    ids = posted_ids(request.form.getlist("item_id"), completion.MAX_BULK)
    back = redirect(url_for("authoring.list_incomplete_items",
                            subject=request.form.get("subject_filter") or None,
                            page=request.form.get("page") or None))
    if not form.validate_on_submit():
        for message in error_messages(form):
            flash(message, "danger")
        return back
    if not ids:
        flash(_("请选择题目。"), "danger")
        return back
    action = form.action.data
    if action == "submit":
        done = outcomes.commit(lambda: completion.submit(ids, current_user),
                               lambda result: _("已提交审核 %(n)d 道题目。", n=result[0]))
    elif not form[action].data:
        flash(_("请选择要设置的值：%(field)s。", field=form[action].label.text), "danger")
        return back
    else:
        values = {"node": form.node.data if action == "node" else None,
                  "subject": Subject(form.subject.data) if action == "subject" else None,
                  "difficulty": int(form.difficulty.data) if action == "difficulty" else None}
        done = outcomes.commit(lambda: completion.set_fields(ids, current_user, **values),
                               lambda result: _("已修改 %(n)d 道题目。", n=result[0]))
    for item_id, reason in (done.result[1] if done.ok else [])[:REFUSALS_SHOWN]:
        flash(_("题目 %(id)d 未修改：%(reason)s", id=item_id, reason=reason), "warning")
    return back


@bp.post("/items/approve-all")
def approve_all_items():
    form = ApproveAllForm()
    chosen = list_filters()
    back = redirect(url_for("authoring.list_items", **{**chosen, "status": "REVIEW"}))
    if not form.validate_on_submit():
        flash(_("请填写审核意见。"), "danger")
        return back
    done = outcomes.commit(lambda: approvals.start_approving(
        chosen, current_user, form.comment.data, expected=form.expected.data))
    if not done.ok:
        return back
    return redirect(url_for("authoring.approval_job", job_id=done.result.id))


def _approval_or_404(job_id: int) -> Job:
    job = db.get_or_404(Job, job_id)
    if job.kind != approvals.APPROVE_JOB:
        abort(404)
    return job


@bp.get("/approvals/<int:job_id>")
def approval_job(job_id):
    job = _approval_or_404(job_id)
    summary = job.summary or {}
    return render_template("authoring/approval_job.html", job=job, summary=summary,
                           percent=jobs.percent(job), stale=jobs.is_stale(job),
                           status=labels.JOB_STATUSES[job.status])


@bp.get("/approvals/<int:job_id>/progress")
def approval_progress(job_id):
    job = _approval_or_404(job_id)
    return jsonify(status=job.status.value, finished=job.finished, percent=jobs.percent(job),
                   done=job.done, total=job.total, phase=_("正在通过") if job.total else "",
                   label=str(labels.JOB_STATUSES[job.status]))
