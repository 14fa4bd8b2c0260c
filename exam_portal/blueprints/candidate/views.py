"""Candidates' practice: the dashboard, starting sets and mock papers, the delivery page
and its JSON calls (open, save, check, clock, submit), results, the wrong-answer book
and bookmarks."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from exam_portal.blueprints.candidate import fragments
from exam_portal.blueprints.candidate.forms import SelfScoreForm, StartAttemptForm
from exam_portal.extensions import db
from exam_portal.models.attempts import Attempt
from exam_portal.models.bank import Item
from exam_portal.models.types import utcnow
from exam_portal.services.certification import training
from exam_portal.services.delivery import (
    attempts,
    hand_in,
    learning,
    pages,
    paper_cache,
    responses,
    review,
)
from exam_portal.services.exam_sessions import online_exams
from exam_portal.services.platform.clock import today_local
from exam_portal.web import outcomes
from exam_portal.web.locale import select_locale
from exam_portal.web.pagination import Page, page_argument
from question_bank import practice as modes
from question_bank import specs, syllabus
from question_bank.practice import Mode
from question_bank.subjects import Subject

bp = Blueprint("candidate", __name__, url_prefix="/practice")


def _subject_or_404(code: str) -> Subject:
    if code not in Subject.__members__:
        abort(404)
    return Subject(code)


def _own_attempt(attempt_id: int) -> Attempt:
    try:
        return pages.get_own_attempt(attempt_id, current_user.id, now=utcnow())
    except attempts.AttemptNotFound:
        abort(404)


def _refusal(error: attempts.Refused, status: int = 409):
    db.session.commit()  # an overdue attempt may have just been finalised
    body = {"code": error.code, "message": str(error)}
    if isinstance(error, attempts.StaleSave):
        body["stored_seq"] = error.stored_seq
    return jsonify(body), status


def _invalid(error: attempts.InvalidResponse):
    db.session.rollback()
    return jsonify(code="invalid", message=str(error)), 400


def _answer(change, answer=jsonify):
    """Run a delivery-page call and answer it in JSON: *answer* of its result once
    committed; 404, 400 (rolled back) or 409 (committed) when refused."""
    try:
        result = change()
    except attempts.AttemptNotFound:
        abort(404)
    except attempts.InvalidResponse as error:
        return _invalid(error)
    except attempts.Refused as error:
        return _refusal(error)
    db.session.commit()
    return answer(result)


def _settled_attempt(attempt_id: int) -> Attempt:
    """The candidate's own attempt for a page or the clock, committed at once: looking
    it up may just have handed in an overdue one."""
    return outcomes.commit(lambda: _own_attempt(attempt_id)).result


def _json_object() -> dict | None:
    """The request's JSON object; None for anything else (malformed or too deeply
    nested JSON, a list, a number), which the caller refuses with a 400."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


@bp.get("/")
def dashboard():
    candidate_id = current_user.id
    return render_template(
        "candidate/dashboard.html",
        subjects=list(Subject),
        recent=learning.recent_attempts(candidate_id),
        trends=learning.score_trends(candidate_id),
        chapters=learning.chapter_accuracy(candidate_id)[:10],
        days=learning.study_days(candidate_id, today_local()),
        counts=learning.book_counts(candidate_id),
        training_progress=training.candidate_progress(candidate_id),
        training_held=training.held_programme_ids(candidate_id),
    )


@bp.get("/subjects/<code>")
def choose_practice(code):
    subject = _subject_or_404(code)
    tree = syllabus.load().trees[subject]
    counts = learning.book_counts(current_user.id).get(subject, (0, 0))
    sizes = attempts.chapter_sizes(subject, today_local())
    forms = {}
    for mode in (mode for mode in Mode if mode.is_practice):
        form = StartAttemptForm(mode=mode.value)
        size = modes.set_size(subject, mode)
        if size is not None:
            form.count.choices = [(n, _("%(n)d 道", n=n)) for n in size.choices]
            form.count.data = size.default
        form.chapters.choices = [
            (c.code, _("%(title)s（%(n)d 题）", title=c.title, n=sizes.get(c.code, 0)))
            for c in tree.chapters]
        form.variant.choices = [(v, v) for v in specs.variants(subject)]
        forms[mode] = form
    return render_template("candidate/choose_practice.html", subject=subject,
                           spec=specs.load(subject), forms=forms, counts=counts,
                           open_mock=attempts.open_mock(current_user.id, subject))


@bp.post("/subjects/<code>/start")
def start_attempt(code):
    subject = _subject_or_404(code)
    form = StartAttemptForm()
    mode = form.chosen_mode()
    if not form.validate_on_submit() or mode is None:
        flash(_("无法开始：请求无效，请重试。"), "danger")
        return redirect(url_for("candidate.choose_practice", code=subject.value))
    done = outcomes.commit(
        lambda: attempts.start_attempt(
            current_user.id, subject, mode, now=utcnow(),
            chapters=tuple(form.chapters.data or ()), count=form.count.data,
            variant=form.variant.data or None),
        refusals=attempts.CannotStart, category="warning")
    if not done.ok:
        return redirect(url_for("candidate.choose_practice", code=subject.value))
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


@bp.get("/attempts/<int:attempt_id>")
def take_attempt(attempt_id):
    attempt = _settled_attempt(attempt_id)
    if not attempt.is_open:
        return redirect(url_for("candidate.result", attempt_id=attempt.id))
    # Pages that take no detour here are answered by hot_paths.HotPaths from
    # the same cached page; this view renders it first and handles everything else.
    items = paper_cache.layout(attempt.id).items
    marked = learning.is_bookmarked(current_user.id, [item.item_id for item in items])
    shell = fragments.delivery_shell(attempt, len(items), select_locale())
    return fragments.fill_delivery_shell(
        shell, csrf=generate_csrf(), email=current_user.email,
        next_path=request.full_path, flashes=render_template("_flashes.html").strip(),
        state=pages.attempt_state(attempt, now=utcnow()),
        bookmarked=sorted(item.position for item in items if item.item_id in marked))


@bp.get("/attempts/<int:attempt_id>/paper")
def attempt_paper(attempt_id):
    """The questions of the candidate's paper, as HTML for the delivery page to insert.

    A drawn paper never changes, so the browser may keep it: reloading the delivery
    page then costs the server only the small page with the answers and the time.
    """
    layout = paper_cache.layout(attempt_id)
    if layout is None or layout.candidate_id != current_user.id:
        abort(404)
    response = make_response(fragments.questions_html(
        layout.items, feedback_mode=layout.mode.gives_feedback_per_item))
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"
    return response


@bp.post("/attempts/<int:attempt_id>/open")
def open_attempt(attempt_id):
    attempt = _own_attempt(attempt_id)
    return _answer(lambda: pages.open_attempt(attempt, now=utcnow()))


@bp.put("/attempts/<int:attempt_id>/responses/<int:position>")
def save_response(attempt_id, position):
    # Saves that land are answered by hot_paths.HotPaths before they reach Flask; this
    # view sees the rest and says why (or stores a retry the fast path could not).
    payload, now = request.get_json(silent=True), utcnow()
    return _answer(
        lambda: responses.save_response(attempt_id, current_user.id, position, payload, now=now),
        lambda save: jsonify(saved=True, position=position, seq=save.seq))


@bp.post("/attempts/<int:attempt_id>/responses/<int:position>/check")
def check_response(attempt_id, position):
    attempt = _own_attempt(attempt_id)
    return _answer(lambda: responses.check_response(attempt, position, now=utcnow()))


@bp.post("/attempts/<int:attempt_id>/responses/<int:position>/self-score")
def self_score(attempt_id, position):
    attempt = _own_attempt(attempt_id)
    if not attempt.mode.is_practice:
        abort(404)
    wants_json = request.is_json
    points = (_json_object() or {}).get("points") if wants_json else None
    if not wants_json:
        form = SelfScoreForm()
        points = form.points.data if form.validate_on_submit() else None
    try:
        if points is None:
            raise attempts.InvalidResponse(_("自评分应为数字。"))
        value = responses.self_score(attempt, position, points)
    except attempts.InvalidResponse as error:
        if wants_json:
            return _invalid(error)
        flash(str(error), "danger")
        return redirect(url_for("candidate.result", attempt_id=attempt.id,
                                _anchor=f"item-{position}"))
    except attempts.Refused as error:
        if wants_json:
            return _refusal(error)
        flash(str(error), "warning")
        return redirect(url_for("candidate.take_attempt", attempt_id=attempt.id))
    db.session.commit()
    if wants_json:
        return jsonify(self_score=pages.show_halves(int(value * 2)))
    flash(_("自评分已保存（仅供参考，不计入成绩）。"), "success")
    return redirect(url_for("candidate.result", attempt_id=attempt.id,
                            _anchor=f"item-{position}"))


@bp.post("/attempts/<int:attempt_id>/responses/<int:position>/bookmark")
def bookmark_item(attempt_id, position):
    attempt = _own_attempt(attempt_id)
    item = paper_cache.attempt_item(attempt.id, position)
    if item is None or not attempt.mode.is_practice:
        abort(404)  # exam items never reach the bookmarks page, with its keys
    wants_json = request.is_json
    wanted = (_json_object() or {}).get("bookmarked") if wants_json \
        else request.form.get("bookmarked") == "1"
    if not isinstance(wanted, bool):
        return _invalid(attempts.InvalidResponse(_("收藏请求无效，请刷新页面后重试。")))
    state = learning.set_bookmark(current_user.id, db.session.get(Item, item.item_id), wanted)
    db.session.commit()
    if wants_json:
        return jsonify(bookmarked=state)
    flash(_("已收藏。") if state else _("已取消收藏。"), "success")
    return redirect(request.referrer or url_for("candidate.result", attempt_id=attempt.id))


@bp.get("/attempts/<int:attempt_id>/clock")
def attempt_clock(attempt_id):
    attempt = _settled_attempt(attempt_id)
    return jsonify(status=attempt.status.value,
                   remaining=attempts.remaining_seconds(attempt, utcnow()))


@bp.post("/attempts/<int:attempt_id>/submit")
def submit_attempt(attempt_id):
    attempt = _own_attempt(attempt_id)
    try:
        hand_in.submit_attempt(attempt, now=utcnow())
    except attempts.Refused as error:
        db.session.commit()
        if request.is_json:
            return _refusal(error)
        flash(str(error), "warning")
    else:
        db.session.commit()
    target = url_for("candidate.result", attempt_id=attempt.id)
    if request.is_json:
        return jsonify(submitted=True, result_url=target)
    return redirect(target)


@bp.get("/attempts/<int:attempt_id>/result")
def result(attempt_id):
    attempt = _settled_attempt(attempt_id)
    if attempt.is_open:
        # No keys before submission: the review is for handed-in attempts only.
        return redirect(url_for("candidate.take_attempt", attempt_id=attempt.id))
    if not online_exams.review_allowed(attempt):
        # An exam paper: neither keys nor marks before the results are published.
        return render_template("candidate/exam_submitted.html", attempt=attempt)
    entries = review.review_entries(attempt)
    return render_template("candidate/result.html", attempt=attempt, entries=entries,
                           sections=review.by_section(attempt, entries),
                           chapters=review.by_chapter(entries), self_form=SelfScoreForm())


def _subject_filter() -> Subject | None:
    code = request.args.get("subject", "")
    return Subject(code) if code in Subject.__members__ else None


def _page_of(query, template, **context):
    per_page = current_app.config["PAGE_SIZE"]
    total = db.session.scalar(query.with_only_columns(db.func.count()).order_by(None))
    page = min(page_argument(), max(1, -(-total // per_page)))
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    contents = paper_cache.contents(item.published_version_id for _, item in rows)
    return render_template(template, pagination=Page(rows, page, per_page, total),
                           contents=contents, subjects=list(Subject), **context)


@bp.get("/wrong-answers")
def wrong_answers():
    subject = _subject_filter()
    return _page_of(learning.wrong_answer_query(current_user.id, subject),
                    "candidate/wrong_answers.html", subject=subject,
                    counts=learning.book_counts(current_user.id),
                    streak=current_app.config["WRONG_ANSWER_STREAK"],
                    start_form=StartAttemptForm(mode=Mode.REDO.value))


@bp.get("/bookmarks")
def bookmarks():
    subject = _subject_filter()
    return _page_of(learning.bookmark_query(current_user.id, subject),
                    "candidate/bookmarks.html", subject=subject,
                    counts=learning.book_counts(current_user.id),
                    start_form=StartAttemptForm(mode=Mode.BOOKMARKS.value))


@bp.post("/bookmarks/<int:item_id>/delete")
def delete_bookmark(item_id):
    done = outcomes.commit(lambda: learning.remove_bookmark(current_user.id, item_id),
                           lambda removed: _("已取消收藏。") if removed else None)
    if not done.result:
        abort(404)
    return redirect(url_for("candidate.bookmarks", subject=request.args.get("subject", "")))
