"""A candidate's attempt: the delivery page and its JSON calls (open, save, check,
self-score, bookmark, clock, submit), and the result once handed in.

The pages around it (the dashboard, starting a set or mock paper, the history, the
wrong-answer book and bookmarks) register on the same blueprint from study_views."""

from flask import (
    Blueprint,
    abort,
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
from exam_portal.blueprints.candidate.forms import SelfScoreForm
from exam_portal.extensions import db
from exam_portal.models.attempts import Attempt
from exam_portal.models.bank import Item
from exam_portal.models.types import utcnow
from exam_portal.services.delivery import (
    attempts,
    hand_in,
    item_notes,
    learning,
    pages,
    paper_cache,
    responses,
    review,
)
from exam_portal.services.exam_sessions import (
    class_marking,
    contests,
    online_exams,
    past_papers,
)
from exam_portal.services.platform import notifications
from exam_portal.services.platform.clock import datetime_text
from exam_portal.web import outcomes
from exam_portal.web.locale import select_locale
from question_bank.spaced_review import Feeling

bp = Blueprint("candidate", __name__, url_prefix="/practice")


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


@bp.post("/attempts/<int:attempt_id>/responses/<int:position>/recall")
def rate_recall(attempt_id, position):
    """How a right answer felt (秒答 / 想了很久): its review card is rescheduled."""
    attempt = _own_attempt(attempt_id)
    feeling = (_json_object() or {}).get("feeling")
    if not isinstance(feeling, str) or feeling not in {f.value for f in Feeling}:
        return _invalid(attempts.InvalidResponse(_("请选择“容易”或“困难”。")))
    try:
        rating = learning.rate_recall(current_user.id, attempt.id, position, Feeling(feeling))
    except learning.CannotReview as error:
        return _refusal(error)  # refused before any change; commits a hand-in it caused
    db.session.commit()
    return jsonify(review_rating=int(rating))


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
        # An exam paper: neither keys nor marks before the results are published. The
        # page is shared by the subject's candidates (hot_paths.HotPaths serves it).
        return fragments.fill_submitted_shell(
            fragments.submitted_shell(attempt.subject, select_locale()),
            csrf=generate_csrf(), email=current_user.email, next_path=request.full_path,
            flashes=render_template("_flashes.html").strip(),
            submitted_at=datetime_text(attempt.submitted_at),
            unread=notifications.unread_count(current_user.id))
    contest = contests.contest_of(attempt)
    if contest is not None and utcnow() < contest.ends_at:
        # A contest paper: no keys while anyone may still be sitting it.
        return redirect(url_for("contests.contest_report", contest_id=contest.id))
    entries = review.review_entries(attempt)
    # 只看错题: the choice answers not fully right (wrong, partly right or left blank).
    wrong = [entry for entry in entries if entry.is_choice and not entry.is_correct]
    only_wrong = request.args.get("only") == "wrong"
    # Notes and error reports: on practice items only, as bookmarks.
    annotations = item_notes.annotations(current_user.id, [entry.item_id for entry in entries]) \
        if attempt.mode.is_practice else None
    return render_template("candidate/result.html", attempt=attempt, annotations=annotations,
                           versions={item.position: item.item_version_id
                                     for item in paper_cache.attempt_items(attempt.id)},
                           entries=wrong if only_wrong else entries, only_wrong=only_wrong,
                           wrong_count=len(wrong),
                           sections=review.by_section(attempt, entries),
                           chapters=review.by_chapter(entries), self_form=SelfScoreForm(),
                           national_rates=contests.national_rates(contest) if contest
                           else past_papers.national_rates(attempt),
                           trainer_marks=class_marking.marks_of_attempt(attempt)
                           if attempt.mode.is_practice else {})
