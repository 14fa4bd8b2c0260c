"""A session's exam forms for administrators and exam authors: each subject's assembly
plan (双向细目表), building forms from it, the review page of a form, and locking it."""

import re

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from exam_portal.blueprints.account.forms import ConfirmForm
from exam_portal.blueprints.sittings.forms import KeyDecisionForm
from exam_portal.blueprints.sittings.views import bp, page_context, session_or_404
from exam_portal.extensions import db, no_write_lock
from exam_portal.models.bank import Item, ItemVersion
from exam_portal.models.forms import ExamForm
from exam_portal.models.statistics import FormStatistics
from exam_portal.services import ServiceError
from exam_portal.services.exam_sessions import form_analysis, forms, past_papers, sittings
from exam_portal.services.item_bank import secure_pool
from exam_portal.services.platform import labels
from exam_portal.web import charts, outcomes
from question_bank.items import ItemType
from question_bank.key_review import DecisionKind, VoidPolicy
from question_bank.subjects import Subject

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DECISION_LABELS = {
    DecisionKind.KEEP: _l("维持原答案"),
    DecisionKind.REKEY: _l("更正答案"),
    DecisionKind.ADD_KEY: _l("增加可接受的答案"),
    DecisionKind.VOID: _l("作废本题"),
}
POLICY_LABELS = {VoidPolicy.CREDIT_ALL: _l("全体考生得分"),
                 VoidPolicy.DROP: _l("不计入总分（按满分折算）")}

_IDS = re.compile(r"\d{1,9}")


def _exam_content_staff() -> None:
    """Forms are exam content: administrators and exam authors only. Other trainers
    get 404, as for a secure item: the pages are not theirs to know of."""
    if not current_user.sees_secure_items:
        abort(404)


def _subject_or_404(session, code: str) -> Subject:
    if code not in Subject.__members__ or Subject(code) not in forms.subjects_of_session(session):
        abort(404)
    return Subject(code)


@bp.get("/admin/sessions/<int:session_id>/forms")
def session_forms(session_id):
    _exam_content_staff()
    session = session_or_404(session_id)
    subjects = []
    for subject in forms.subjects_of_session(session):
        subjects.append({"subject": subject, "plan": forms.plan_of(session, subject),
                         "forms": forms.forms_of(session, subject),
                         "available": len(forms.secure_pool_items(session, subject))})
    return render_template("sittings/session_forms.html", session=session, subjects=subjects,
                           confirm_form=ConfirmForm(),
                           undecided=len(form_analysis.undecided(session)),
                           releasable=past_papers.releasable(session), **page_context())


@bp.route("/admin/sessions/<int:session_id>/forms/<code>/plan", methods=["GET", "POST"])
def edit_plan(session_id, code):
    _exam_content_staff()
    session = session_or_404(session_id)
    subject = _subject_or_404(session, code)
    items = forms.secure_pool_items(session, subject)
    counts = forms.pool_counts(items)
    plan = forms.plan_of(session, subject)
    spec = forms.spec_for(subject)
    types = list(dict.fromkeys(section.item_type for section in spec.sections))
    chapters = forms.chapters_of(session, subject)
    form = ConfirmForm()
    values = _plan_values(plan, session, subject, counts)
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        fields, values, problem = _read_plan(types, [chapter.code for chapter in chapters])
        if problem:
            flash(problem, "danger")
        else:
            done = outcomes.commit(lambda: forms.save_plan(session, subject, fields, current_user),
                                   _("组卷方案已保存。"))
            if done.ok:
                return redirect(url_for("sittings.session_forms", session_id=session.id))
    return render_template(
        "sittings/edit_plan.html", session=session, subject=subject, spec=spec, types=types,
        chapters=chapters, counts=counts, values=values, form=form,
        locked=bool(forms.locked_forms(session.id, subject)),
        type_labels=labels.ITEM_TYPES, **page_context())


def _plan_values(plan, session, subject, counts) -> dict:
    if plan is None:
        cells = forms.default_cells(session, subject, counts)
        return {"cells": {f"{t.value}:{c}": n for (t, c), n in cells.items()},
                "facility_min": "0.55", "facility_max": "0.70", "rest_sessions": "1",
                "enemies": "", "form_count": "1", "max_overlap": "0"}
    return {"cells": {f"{cell['type']}:{cell['chapter']}": cell["count"] for cell in plan.cells},
            "facility_min": f"{plan.facility_min:.2f}", "facility_max": f"{plan.facility_max:.2f}",
            "rest_sessions": str(plan.rest_sessions),
            "enemies": "\n".join(", ".join(str(i) for i in group) for group in plan.enemies),
            "form_count": str(plan.form_count), "max_overlap": str(plan.max_overlap)}


def _read_plan(types: list[ItemType], codes: list[str]):
    """The posted plan: (fields, the values to show again, a problem or None)."""
    data = request.form
    values = {"cells": {}, **{name: data.get(name, "").strip()[:20] for name in (
        "facility_min", "facility_max", "rest_sessions", "form_count", "max_overlap")},
        "enemies": data.get("enemies", "")[:5000]}
    cells = {}
    for item_type in types:
        for code in codes:
            raw = data.get(f"cell-{item_type.value}-{code}", "").strip() or "0"
            values["cells"][f"{item_type.value}:{code}"] = raw[:4]
            if not raw.isascii() or not raw.isdigit() or int(raw) > 500:
                return None, values, _("每格题数应为 0 到 500 的整数。")
            cells[(item_type, code)] = int(raw)
    try:
        low, high = float(values["facility_min"]), float(values["facility_max"])
        rest, count = int(values["rest_sessions"]), int(values["form_count"])
        overlap = int(values["max_overlap"])
    except ValueError:
        return None, values, _("请填写有效的数字。")
    if not (0 <= low <= high <= 1):
        return None, values, _("平均通过率的范围应在 0 到 1 之间，且下限不大于上限。")
    if not 1 <= count <= len(forms.LABELS) or overlap < 0 or rest < 0:
        return None, values, _("平行试卷 1 到 4 份；重复题数和回避批次数不能为负。")
    enemies = []
    for line in values["enemies"].splitlines():
        ids = [int(found) for found in _IDS.findall(line)]
        if len(ids) == 1 or len(line) > 500:
            return None, values, _("每组互斥题目至少写两个题目编号。")
        if ids:
            enemies.append(tuple(sorted(set(ids))))
    return forms.PlanFields(cells, low, high, rest, tuple(enemies), count, overlap), values, None


@bp.post("/admin/sessions/<int:session_id>/forms/<code>/build")
def build_forms(session_id, code):
    _exam_content_staff()
    session = session_or_404(session_id)
    subject = _subject_or_404(session, code)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    # Solving reads only: no write lock is held while it runs (up to the time limit).
    try:
        with no_write_lock():
            composition = forms.compose(session, subject)
    except ServiceError as error:
        flash(str(error), "danger")
        return redirect(url_for("sittings.edit_plan", session_id=session.id, code=code))
    outcomes.commit(lambda: forms.store(session, composition, current_user,
                                        now=sittings.now_utc()),
                    _("已按方案组成试卷，请逐题审核后锁定。"))
    return redirect(url_for("sittings.session_forms", session_id=session.id))


def _form_or_404(form_id: int) -> ExamForm:
    return db.get_or_404(ExamForm, form_id)


@bp.get("/admin/forms/<int:form_id>")
def form_detail(form_id):
    """Every item, key and point value of a form on one page, printable."""
    _exam_content_staff()
    form = _form_or_404(form_id)
    session = session_or_404(form.session_id)
    entries = forms.review_entries(form)
    secure_pool.record_views([entry.item for entry in entries], current_user, via="form")
    db.session.commit()
    return render_template("sittings/form_detail.html", form=form, session=session,
                           entries=entries, summary=forms.summary(form, entries),
                           reviewed_hash=forms.hash_of(form),
                           confirm_form=ConfirmForm(), type_labels=labels.ITEM_TYPES,
                           **page_context())


@bp.post("/admin/forms/<int:form_id>/lock")
def lock_form(form_id):
    _exam_content_staff()
    form = _form_or_404(form_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    reviewed = request.form.get("reviewed_hash", "")[:64]
    outcomes.commit(lambda: forms.lock(form, current_user, reviewed_hash=reviewed,
                                       now=sittings.now_utc()),
                    _("试卷已锁定，内容摘要已记入审计日志。"))
    return redirect(url_for("sittings.form_detail", form_id=form.id))


# After the sitting: item analysis and key review -------------------------------------

@bp.post("/admin/sessions/<int:session_id>/forms/analyse")
def analyse_forms(session_id):
    _exam_content_staff()
    session = session_or_404(session_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    done = outcomes.commit(lambda: form_analysis.start_analysis(session, current_user,
                                                                now=sittings.now_utc()))
    if done.ok:
        return redirect(url_for("jobs.job_detail", job_id=done.result.id))
    return redirect(url_for("sittings.session_forms", session_id=session.id))


@bp.get("/admin/forms/<int:form_id>/analysis")
def form_analysis_page(form_id):
    _exam_content_staff()
    form = _form_or_404(form_id)
    session = session_or_404(form.session_id)
    statistics = db.session.get(FormStatistics, form.id)
    rows = form_analysis.item_statistics(form)
    chosen = request.args.get("item", "")
    detail = next((row for row in rows if chosen.isdigit() and row.item_id == int(chosen)),
                  None)
    histogram = statistics and charts.histogram(
        statistics.distribution["edges"], statistics.distribution["counts"],
        line_halves=statistics.pass_line_halves)
    item = detail and db.session.get(Item, detail.item_id)
    if item is not None:
        secure_pool.record_views([item], current_user, via="analysis")
        db.session.commit()
    return render_template(
        "sittings/form_analysis.html", form=form, session=session, statistics=statistics,
        rows=rows, detail=detail, item=item,
        content=detail and db.session.get(ItemVersion, detail.item_version_id).to_domain(),
        curves=detail and charts.option_curves(detail.options), histogram=histogram,
        decisions=form_analysis.decisions_of(form), decision_form=KeyDecisionForm(),
        flag_labels=labels.ANALYSIS_FLAGS, kind_labels=DECISION_LABELS, policy_labels=POLICY_LABELS,
        **page_context())


@bp.get("/admin/forms/<int:form_id>/analysis.xlsx")
def export_form_analysis(form_id):
    _exam_content_staff()
    form = _form_or_404(form_id)
    name = f"analysis-{form.session_id}-{form.subject.value}-{form.label}.xlsx"
    return Response(form_analysis.workbook(form), mimetype=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/admin/forms/<int:form_id>/items/<int:item_id>/decision")
def decide_key(form_id, item_id):
    form = _form_or_404(form_id)
    decision_form = KeyDecisionForm()
    if decision_form.validate_on_submit():
        outcomes.commit(lambda: form_analysis.decide(
            form, item_id, DecisionKind(decision_form.kind.data), keys=decision_form.keys.data,
            reason=decision_form.reason.data, actor=current_user, now=sittings.now_utc()),
            lambda decision: _("已记录结论：%(n)d 名考生的总分改变，%(up)d 人因此合格，"
                               "%(down)d 人因此不合格。", n=decision.changed,
                               up=decision.crossed_up, down=decision.crossed_down))
    else:
        flash(_("请选择结论并填写理由；改答案或增加答案时填写答案字母。"), "danger")
    return redirect(url_for("sittings.form_analysis_page", form_id=form.id, item=item_id))


@bp.post("/admin/sessions/<int:session_id>/void-policy")
def set_void_policy(session_id):
    session = session_or_404(session_id)
    wanted = request.form.get("policy", "")
    if not ConfirmForm().validate_on_submit() or wanted not in VoidPolicy.__members__:
        abort(400)
    outcomes.commit(lambda: form_analysis.set_void_policy(session, VoidPolicy(wanted),
                                                          current_user),
                    _("作废题目的计分方式已保存。"))
    return redirect(request.form.get("back_form") and url_for(
        "sittings.form_analysis_page", form_id=int(request.form["back_form"]))
        if request.form.get("back_form", "").isdigit()
        else url_for("sittings.session_forms", session_id=session.id))


@bp.post("/admin/sessions/<int:session_id>/forms/release")
def release_past_papers(session_id):
    session = session_or_404(session_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    outcomes.commit(lambda: past_papers.release(session, current_user, now=sittings.now_utc()),
                    lambda released: _("已把 %(n)d 份试卷公开为历年真题。", n=len(released)))
    return redirect(url_for("sittings.session_forms", session_id=session.id))


@bp.get("/admin/forms/<int:form_id>/paper.pdf")
def form_pdf(form_id):
    """The locked form for the printer (paper sessions), with its answer-key sheet."""
    _exam_content_staff()
    form = _form_or_404(form_id)
    try:
        data = forms.printable(form, current_user)
    except ServiceError as error:
        flash(str(error), "danger")
        return redirect(url_for("sittings.form_detail", form_id=form.id))
    db.session.commit()
    name = f"form-{form.session_id}-{form.subject.value}-{form.label}.pdf"
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
