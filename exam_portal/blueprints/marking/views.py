"""Trainers mark subjective exam answers: the queue of sessions, one blind answer with
its rubric, and the marking progress per session and item."""


from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.account.forms import ConfirmForm
from exam_portal.extensions import db
from exam_portal.models.bank import Item
from exam_portal.models.marking import Mark
from exam_portal.models.sittings import ExamSession
from exam_portal.models.types import utcnow
from exam_portal.services.exam_sessions import exam_marking
from exam_portal.web import outcomes
from exam_portal.web.forms import posted_rubric_points, submitted

bp = Blueprint("marking", __name__, url_prefix="/marking")


@bp.get("")
def queue():
    sessions = exam_marking.sessions_to_mark()
    return render_template("marking/queue.html", sessions=sessions,
                           progress={s.id: exam_marking.progress(s)[0] for s in sessions},
                           form=ConfirmForm(), threshold=exam_marking.threshold())


@bp.post("/sessions/<int:session_id>/next")
def next_answer(session_id):
    session = db.get_or_404(ExamSession, session_id)
    if not submitted(ConfirmForm()):
        return redirect(url_for("marking.queue"))
    done = outcomes.commit(lambda: exam_marking.next_mark(session, current_user, now=utcnow()),
                           category="warning")
    if done.ok and done.result is not None:
        return redirect(url_for("marking.mark_answer", mark_id=done.result.id))
    if done.ok:
        flash(_("这个考试批次暂时没有你可以评阅的答卷。"), "info")
    return redirect(url_for("marking.queue"))


def _own_mark_or_404(mark_id: int) -> Mark:
    mark = db.session.get(Mark, mark_id)
    if mark is None or mark.marker_id != current_user.id:
        abort(404)  # another marker's work is not even acknowledged
    return mark


@bp.route("/marks/<int:mark_id>", methods=["GET", "POST"])
def mark_answer(mark_id):
    mark = _own_mark_or_404(mark_id)
    shown = exam_marking.view(mark, current_user)
    form = ConfirmForm()
    entered = mark.awarded and [[halves / 2 for halves in part] for part in mark.awarded]
    if request.method == "POST":
        awarded = posted_rubric_points(shown.rubric)
        if not form.validate_on_submit():
            flash(_("请求已过期，请重试。"), "danger")
        elif awarded is None:
            flash(_("每个要点的得分应为数字。"), "danger")
        elif outcomes.commit(lambda: exam_marking.submit(mark, current_user, awarded,
                                                         now=utcnow()),
                             _("评分已提交。")).ok:
            if request.form.get("then") == "next":
                return redirect(url_for("marking.next_after", session_id=mark.session_id))
            return redirect(url_for("marking.queue"))
        entered = [[request.form.get(f"kp-{p}-{k}", "") for k in range(len(part.key_points))]
                   for p, part in enumerate(shown.rubric.parts)]
    return render_template("marking/mark_answer.html", shown=shown, form=form,
                           entered=entered)


@bp.get("/sessions/<int:session_id>/next")
def next_after(session_id):
    """After a submitted mark: a page with one button for the next answer (a GET must
    not claim work, so the claim itself is a POST)."""
    session = db.get_or_404(ExamSession, session_id)
    return render_template("marking/next.html", session=session, form=ConfirmForm())


@bp.post("/marks/<int:mark_id>/release")
def release_mark(mark_id):
    mark = _own_mark_or_404(mark_id)
    if not submitted(ConfirmForm()):
        return redirect(url_for("marking.mark_answer", mark_id=mark.id))
    outcomes.commit(lambda: exam_marking.release(mark, current_user), _("已放回待评队列。"),
                    category="warning")
    return redirect(url_for("marking.queue"))


@bp.get("/sessions/<int:session_id>/progress")
def session_progress(session_id):
    session = db.get_or_404(ExamSession, session_id)
    overall, per_item = exam_marking.progress(session)
    items = {item.id: item for item in db.session.scalars(
        db.select(Item).where(Item.id.in_([p.key for p in per_item])))}
    return render_template("marking/progress.html", session=session, overall=overall,
                           per_item=per_item, items=items)
