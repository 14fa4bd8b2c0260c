"""What a candidate practises from: the dashboard, choosing and starting a practice set
or mock paper, the attempt history, the wrong-answer book and bookmarks."""

from collections import Counter
from datetime import date

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.account.forms import ConfirmForm
from exam_portal.blueprints.candidate.forms import ExamDayForm, StartAttemptForm
from exam_portal.blueprints.candidate.views import bp
from exam_portal.extensions import db
from exam_portal.models.types import utcnow
from exam_portal.services.certification import training
from exam_portal.services.delivery import (
    attempts,
    item_notes,
    learning,
    mastery,
    paper_cache,
    study_plan,
)
from exam_portal.services.exam_sessions import classes, past_papers, sittings
from exam_portal.services.item_bank import error_reports
from exam_portal.services.platform import syllabi
from exam_portal.services.platform.clock import today_local
from exam_portal.web import outcomes
from exam_portal.web.pagination import Page, page_argument
from question_bank import practice as modes
from question_bank import specs, syllabus
from question_bank.practice import Mode
from question_bank.prediction import MIN_ANSWERS
from question_bank.study_plan import REVISION_DAYS
from question_bank.subjects import Subject


def _default_version() -> str:
    """The version of the exam the candidate is registered for, else the one in force."""
    return sittings.prepared_version(current_user.id, utcnow()) or syllabi.in_force()


def practice_version(chosen: str | None) -> str:
    """The syllabus version the candidate practises against: *chosen* if it names a
    loaded version, else their default."""
    return syllabi.chosen(chosen, _default_version())


def _version_context(version: str) -> dict:
    return {"syllabus_version": version, "syllabus_label": syllabi.label(version),
            "other_versions": [(other, syllabi.short_label(other))
                               for other in syllabi.loaded() if other != version]}


@bp.get("/")
def dashboard():
    candidate_id = current_user.id
    version = practice_version(request.args.get("syllabus"))
    exam_day, _registered = _exam_day(candidate_id)
    now = utcnow()
    loads = learning.review_loads(candidate_id, now=now)
    return render_template(
        "candidate/dashboard.html",
        subjects=list(Subject),
        recent=learning.recent_attempts(candidate_id),
        trends=learning.score_trends(candidate_id),
        chapters=learning.chapter_accuracy(candidate_id, version)[:10],
        days=learning.study_days(candidate_id, today_local()),
        predictions=mastery.predictions(candidate_id, version),
        exam_day=exam_day,
        tasks=study_plan.plans(candidate_id, version, exam_day, now=now, loads=loads)
        if exam_day else {},
        calibration=mastery.current_scaling(),
        min_answers=MIN_ANSWERS,
        counts=learning.book_counts(candidate_id, now=now),
        load=learning.review_load(candidate_id, now=now, loads=loads),
        training_progress=training.candidate_progress(candidate_id),
        training_held=training.held_programme_ids(candidate_id),
        answered_reports=error_reports.unseen_replies(candidate_id),
        class_tasks=classes.open_tasks(candidate_id, now=now),
        **_version_context(version),
    )


def _subject_or_404(code: str) -> Subject:
    if code not in Subject.__members__:
        abort(404)
    return Subject(code)


@bp.get("/subjects/<code>")
def choose_practice(code):
    subject = _subject_or_404(code)
    version = practice_version(request.args.get("syllabus"))
    tree = syllabus.load(version).trees[subject]
    counts = learning.book_counts(current_user.id, now=utcnow()).get(subject,
                                                                     learning.BookCounts())
    sizes = attempts.chapter_sizes(subject, today_local(), version)
    forms = {}
    for mode in (mode for mode in Mode if mode.is_practice):
        form = StartAttemptForm(mode=mode.value, syllabus_version=version)
        size = modes.set_size(subject, mode)
        if size is not None:
            form.count.choices = [(n, _("%(n)d 道", n=n)) for n in size.choices]
            form.count.data = size.default
        form.chapters.choices = [
            (c.code, _("%(title)s（%(n)d 题）", title=c.title, n=sizes.get(c.code, 0)))
            for c in tree.chapters]
        form.variant.choices = [(v, v) for v in specs.variants(subject)]
        forms[mode] = form
    released = past_papers.released(subject)
    per_session = Counter(session.id for _form, session in released)
    past = [{"form": form, "title": past_papers.title(form, session,
                                                       several=per_session[session.id] > 1)}
            for form, session in released]
    return render_template("candidate/choose_practice.html", subject=subject,
                           spec=specs.load(subject), forms=forms, counts=counts,
                           open_mock=attempts.open_mock(current_user.id, subject),
                           past=past, **_version_context(version))


@bp.post("/past-papers/<int:form_id>/start")
def start_past_paper(form_id):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    done = outcomes.commit(lambda: past_papers.start(current_user, form_id, now=utcnow()),
                           category="warning")
    if not done.ok:
        return redirect(url_for("candidate.dashboard"))
    return redirect(url_for("candidate.take_attempt", attempt_id=done.result.id))


@bp.post("/subjects/<code>/start")
def start_attempt(code):
    subject = _subject_or_404(code)
    form = StartAttemptForm()
    mode = form.chosen_mode()
    default = _default_version()
    version = syllabi.chosen(form.syllabus_version.data, default)
    back = url_for("candidate.choose_practice", code=subject.value,
                   syllabus=None if version == default else version)
    if not form.validate_on_submit() or mode is None:
        flash(_("无法开始：请求无效，请重试。"), "danger")
        return redirect(back)
    done = outcomes.commit(
        lambda: attempts.start_attempt(
            current_user.id, subject, mode, now=utcnow(),
            chapters=tuple(form.chapters.data or ()), count=form.count.data,
            variant=form.variant.data or None, syllabus_version=version),
        refusals=attempts.CannotStart, category="warning")
    if not done.ok:
        return redirect(back)
    return redirect(url_for("candidate.take_attempt", attempt_id=done.result.id))


@bp.get("/attempts")
def list_attempts():
    per_page = current_app.config["PAGE_SIZE"]
    query = learning.attempt_history(current_user.id)
    total = db.session.scalar(query.with_only_columns(db.func.count()).order_by(None))
    page = min(page_argument(), max(1, -(-total // per_page)))
    rows = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return render_template("candidate/list_attempts.html",
                           pagination=Page(rows, page, per_page, total))


def _subject_filter() -> Subject | None:
    code = request.args.get("subject", "")
    return Subject(code) if code in Subject.__members__ else None


def page_of(query, total: int | None = None):
    """A page of *query*'s rows; *total*, when the caller has already counted them."""
    per_page = current_app.config["PAGE_SIZE"]
    if total is None:
        total = db.session.scalar(query.with_only_columns(db.func.count()).order_by(None))
    page = min(page_argument(), max(1, -(-total // per_page)))
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(rows, page, per_page, total)


def _book_page(query_of, template: str, mode: Mode, **context):
    """A page of one of the candidate's books (wrong answers, bookmarks), filtered by
    subject, with the form that starts a practice set in *mode* from it."""
    subject = _subject_filter()
    pagination = page_of(query_of(current_user.id, subject))
    contents = paper_cache.contents(item.published_version_id for _, item in pagination.items)
    annotations = item_notes.annotations(current_user.id,
                                         [item.id for _, item in pagination.items])
    return render_template(template, pagination=pagination, annotations=annotations,
                           contents=contents, subjects=list(Subject), subject=subject,
                           counts=learning.book_counts(current_user.id, now=utcnow()),
                           start_form=StartAttemptForm(mode=mode.value), **context)


@bp.get("/wrong-answers")
def wrong_answers():
    # 背题 shows each key at once; 答题 hides it until the candidate has chosen.
    return _book_page(learning.wrong_answer_query, "candidate/wrong_answers.html", Mode.REDO,
                      answering=request.args.get("view") == "answer")


@bp.get("/bookmarks")
def bookmarks():
    return _book_page(learning.bookmark_query, "candidate/bookmarks.html", Mode.BOOKMARKS)


@bp.post("/bookmarks/<int:item_id>/delete")
def delete_bookmark(item_id):
    done = outcomes.commit(lambda: learning.remove_bookmark(current_user.id, item_id),
                           lambda removed: _("已取消收藏。") if removed else None)
    if not done.result:
        abort(404)
    return redirect(url_for("candidate.bookmarks", subject=request.args.get("subject", "")))


@bp.post("/bookmarks/review")
def review_bookmarks():
    subject = _subject_filter()
    if subject is None:
        abort(404)
    outcomes.commit(
        lambda: learning.add_bookmarks_to_review(current_user.id, subject, now=utcnow()),
        lambda added: _("已把 %(n)d 道收藏的题加入复习。", n=added) if added
        else _("收藏的选择题都已在复习中。"))
    return redirect(url_for("candidate.review_queue"))


def _exam_day(candidate_id: int) -> tuple[date | None, bool]:
    """The day to plan for, and whether it is a registered exam's (else the candidate's
    own choice, or None)."""
    registered = sittings.next_exam_day(candidate_id, utcnow())
    if registered:
        return registered, True
    return study_plan.stored_exam_day(candidate_id), False


@bp.route("/plan", methods=["GET", "POST"])
def plan():
    """备考计划: new items and reviews a day to the exam date, per subject and chapter."""
    form = ExamDayForm()
    if form.validate_on_submit():
        done = outcomes.commit(
            lambda: study_plan.set_exam_day(current_user.id, form.exam_day.data, now=utcnow()),
            _("考试日期已保存，计划已按新日期重新安排。"), refusals=study_plan.InvalidGoal,
            field=form.exam_day)
        if done.ok:
            return redirect(url_for("candidate.plan"))
    version = practice_version(request.args.get("syllabus"))
    day, registered = _exam_day(current_user.id)
    if day and not form.exam_day.data:
        form.exam_day.data = day
    plans = study_plan.plans(current_user.id, version, day, now=utcnow()) if day else {}
    tree = syllabus.load(version)
    return render_template("candidate/plan.html", form=form, exam_day=day,
                           registered=registered, plans=plans,
                           revision_days=REVISION_DAYS,
                           class_tasks=classes.open_tasks(current_user.id, now=utcnow()),
                           titles={code: node.title for code, node in tree.by_code.items()},
                           **_version_context(version))


@bp.get("/mastery")
def mastery_map():
    """The syllabus as a map of the candidate's mastery: one subject's chapters, each
    with its sections and knowledge points."""
    version = practice_version(request.args.get("syllabus"))
    subject = _subject_filter() or Subject.COMP_JR
    chapters = mastery.mastery_map(current_user.id, version, [subject]).get(subject, [])
    return render_template("candidate/mastery.html", subject=subject, chapters=chapters,
                           subjects=list(Subject),
                           **_version_context(version))


@bp.get("/review")
def review_queue():
    now = utcnow()
    loads = learning.review_loads(current_user.id, now=now)
    # Today's entry of a subject's load is what is due now, overdue included: the
    # queue's own count.
    due = {subject: load[0][1] for subject, load in loads.items() if load[0][1]}
    pagination = page_of(learning.review_queue(current_user.id, now=now),
                         total=sum(due.values()))
    contents = paper_cache.contents(item.published_version_id for _, item in pagination.items)
    forms = {subject: StartAttemptForm(mode=Mode.REVIEW.value) for subject in due}
    return render_template("candidate/review_queue.html", pagination=pagination,
                           contents=contents, due=due, forms=forms,
                           load=learning.review_load(current_user.id, now=now, loads=loads))


@bp.post("/review/cards/<int:item_id>/delete")
def remove_card(item_id):
    done = outcomes.commit(lambda: learning.remove_card(current_user.id, item_id),
                           lambda removed: _("这道题不再复习，已移出错题本。")
                           if removed else None)
    if not done.result:
        abort(404)
    back = request.form.get("next", "")
    return redirect(url_for("candidate.review_queue") if back != "book"
                    else url_for("candidate.wrong_answers",
                                 subject=request.args.get("subject", "")))
