"""A class's trainers at work: the class dashboard (班级看板) with its XLSX export, and
the marking of the subjective answers written for the class's assignments.

Only a trainer of the class's institution reaches these pages; anyone else (another
institution's trainer, an administrator, a candidate) gets 404 or the route table's
403, and candidates never see a dashboard. Each page reads what enrolment shares."""


from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.teaching.forms import feedback_field, marking_form
from exam_portal.models.types import utcnow
from exam_portal.services.exam_sessions import class_dashboard, class_marking, classes
from exam_portal.services.platform import labels
from exam_portal.web import outcomes
from exam_portal.web.forms import error_messages, posted_ids, posted_rubric_points
from question_bank import class_report
from question_bank.mastery import Level as MasteryLevel

bp = Blueprint("teaching", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _trainer_class(class_id: int):
    try:
        return classes.class_for_trainer(current_user, class_id)
    except classes.ClassNotFound:
        abort(404)


def _chosen_assignment() -> int | None:
    """The ?assignment= id whose distribution to show; anything odd means none."""
    chosen = posted_ids([request.args.get("assignment", "")], limit=1)
    return chosen[0] if chosen else None


# The dashboard ----------------------------------------------------------------------

@bp.get("/trainer/classes/<int:class_id>/dashboard")
def class_dashboard_page(class_id):
    klass = _trainer_class(class_id)
    board = class_dashboard.dashboard(klass, now=utcnow(), assignment_id=_chosen_assignment())
    waiting, _rows = class_marking.waiting(klass.id, limit=0)
    return render_template("teaching/dashboard.html", board=board, klass=klass,
                           waiting=waiting, subject_labels=labels.SUBJECTS,
                           level_labels=labels.LEVELS, mastery_levels=MasteryLevel,
                           item_rows=class_dashboard.ITEM_ROWS)


def _export_labels() -> dict[str, str]:
    return {
        "assignments": _("作业完成情况"), "members": _("学员"), "distribution": _("成绩分布"),
        "weak": _("薄弱知识点"), "items": _("题目统计"), "title": _("作业"),
        "kind": _("类型"), "subject": _("科目"), "due": _("截止时间（北京时间）"),
        "enrolled": _("学员数"), "done": _("已完成"), "in_progress": _("进行中"),
        "overdue": _("已逾期"), "completion": _("完成率"), "mean": _("平均得分率（百分比）"),
        "name": _("姓名"), "email": _("邮箱"), "latest": _("最近一次模拟考试得分率（百分比）"),
        "trend": _("走势"), "papers": _("最近模拟考试得分率（百分比，从早到晚）"),
        "pass_probability": _("预测通过概率"), "band": _("得分率区间"), "count": _("人数"),
        "code": _("编号"), "point": _("知识点"), "traced": _("有记录的学员"),
        "answered": _("作答次数"), "accuracy": _("正确率（百分比）"), "mastery": _("平均掌握度"),
        "item": _("题目编号"), "version": _("版本"), "facility": _("难度（得分率）"),
        "discrimination": _("区分度"), "blank": _("未答比例"),
    }


@bp.get("/trainer/classes/<int:class_id>/dashboard.xlsx")
def export_dashboard(class_id):
    klass = _trainer_class(class_id)
    board = class_dashboard.dashboard(klass, now=utcnow(), assignment_id=_chosen_assignment())
    name = f"class-{klass.id}-dashboard.xlsx"
    return Response(class_dashboard.workbook(board, _export_labels()), mimetype=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# Marking ----------------------------------------------------------------------------

@bp.get("/trainer/classes/<int:class_id>/marking")
def marking_queue(class_id):
    klass = _trainer_class(class_id)
    waiting, rows = class_marking.waiting(klass.id)
    return render_template("teaching/queue.html", klass=klass, waiting=waiting, rows=rows,
                           marked=class_marking.recent_marks(klass.id),
                           type_labels=labels.ITEM_TYPES)


@bp.get("/trainer/classes/<int:class_id>/marking/next")
def next_practice_answer(class_id):
    """The oldest answer still waiting (a GET: opening an answer claims nothing)."""
    klass = _trainer_class(class_id)
    found = class_marking.next_waiting(klass.id)
    if found is None:
        flash(_("这个班级暂时没有待批改的作答。"), "info")
        return redirect(url_for("teaching.marking_queue", class_id=klass.id))
    return redirect(url_for("teaching.mark_practice_answer", class_id=klass.id,
                            attempt_id=found[0], position=found[1]))


def _answer_or_404(class_id, attempt_id, position):
    try:
        return class_marking.answer_for_trainer(current_user, class_id, attempt_id, position)
    except classes.ClassNotFound:
        abort(404)


@bp.route("/trainer/classes/<int:class_id>/answers/<int:attempt_id>/<int:position>",
          methods=["GET", "POST"])
def mark_practice_answer(class_id, attempt_id, position):
    shown = _answer_or_404(class_id, attempt_id, position)
    form = marking_form(shown.rubric)
    mark = shown.mark
    mine = mark is None or mark.marker_id == current_user.id
    entered = mark and [[f"{halves / 2:g}" for halves in part] for part in mark.awarded]
    comments = mark.feedback if mark else None
    if request.method == "POST":
        awarded = posted_rubric_points(shown.rubric)
        feedback = _posted_feedback(form, shown.rubric)
        if not form.validate_on_submit():
            # A comment with a control character names itself; else the token expired.
            for message in dict.fromkeys(error_messages(form)) or [_("请求已过期，请重试。")]:
                flash(message, "danger")
        elif not mine:
            flash(_("这份作答已由其他培训师批改，只有批改人可以修改。"), "warning")
        elif awarded is None:
            flash(_("每个要点的得分应为数字。"), "danger")
        elif outcomes.commit(lambda: class_marking.submit(shown, current_user, awarded,
                                                          feedback, now=utcnow()),
                             _("批改已保存，学员可以在试卷解析中看到。")).ok:
            if request.form.get("then") == "next":
                return redirect(url_for("teaching.next_practice_answer", class_id=class_id))
            return redirect(url_for("teaching.marking_queue", class_id=class_id))
        entered = [[request.form.get(f"kp-{p}-{k}", "") for k in range(len(part.key_points))]
                   for p, part in enumerate(shown.rubric.parts)]
        comments = feedback
    return render_template("teaching/mark_answer.html", shown=shown, form=form,
                           entered=entered, comments=comments, mine=mine,
                           max_chars=class_report.FEEDBACK_MAX_CHARS)


def _posted_feedback(form, rubric) -> list[list[str]]:
    return [[form[feedback_field(p, k)].data or "" for k in range(len(part.key_points))]
            for p, part in enumerate(rubric.parts)]
