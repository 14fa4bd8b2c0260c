"""Mock contests (模考大赛): administrators schedule, watch and rank them; candidates
start their paper and read their report."""


from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.account.forms import ConfirmForm
from exam_portal.blueprints.contests.forms import DRAWN, ContestForm
from exam_portal.extensions import db
from exam_portal.models.contests import Contest
from exam_portal.models.types import utcnow
from exam_portal.services.exam_sessions import contests, past_papers
from exam_portal.services.platform import labels
from exam_portal.services.platform.clock import from_local
from exam_portal.web import outcomes
from exam_portal.web.forms import as_choices, submitted
from exam_portal.web.pagination import page_argument
from question_bank.subjects import OBJECTIVE_SUBJECTS, Subject

bp = Blueprint("contests", __name__)



# Administrators ------------------------------------------------------------------------

@bp.get("/admin/contests")
def list_contests():
    page = db.paginate(contests.listing(), page=page_argument(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("contests/list_contests.html", page=page, now=utcnow(),
                           subject_labels=labels.SUBJECTS)


def _source_choices():
    choices = [(DRAWN, _("按模拟考试规格从开放题库抽一套（所有人同一套）"))]
    for subject in OBJECTIVE_SUBJECTS:
        papers = past_papers.released(subject)
        several = len(papers) > 1
        choices += [(str(form.id), past_papers.title(form, session, several=several))
                    for form, session in papers]
    return as_choices(choices)


@bp.route("/admin/contests/new", methods=["GET", "POST"])
def create_contest():
    form = ContestForm()
    form.subject.choices = as_choices([(s.value, labels.SUBJECTS[s]) for s in OBJECTIVE_SUBJECTS])
    form.source.choices = _source_choices()

    def schedule():
        return contests.schedule(contests.ContestFields(
            title=form.title.data or "", subject=Subject(form.subject.data),
            source_form_id=None if form.source.data == DRAWN else int(form.source.data),
            opens_at=from_local(form.opens_at.data), closes_at=from_local(form.closes_at.data)),
            current_user, now=utcnow())

    return outcomes.form_page(
        form, schedule, _("模考大赛已安排，试卷已固定。"),
        then=lambda contest: redirect(url_for("contests.contest_detail",
                                              contest_id=contest.id)),
        template="contests/create_contest.html")


@bp.get("/admin/contests/<int:contest_id>")
def contest_detail(contest_id):
    contest = db.get_or_404(Contest, contest_id)
    standings = db.paginate(contests.standings_page(contest), page=page_argument(),
                            per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template(
        "contests/contest_detail.html", contest=contest, counts=contests.counts(contest),
        standings=standings,
        emails=contests.emails(row.candidate_id for row in standings.items), now=utcnow(),
        form=ConfirmForm(), subject_labels=labels.SUBJECTS)


@bp.post("/admin/contests/<int:contest_id>/rank")
def rank_contest(contest_id):
    contest = db.get_or_404(Contest, contest_id)
    return outcomes.start_job(
        ConfirmForm(), lambda: contests.start_ranking(contest, current_user, now=utcnow()),
        redirect(url_for("contests.contest_detail", contest_id=contest.id)))


@bp.post("/admin/contests/<int:contest_id>/cancel")
def cancel_contest(contest_id):
    contest = db.get_or_404(Contest, contest_id)
    if submitted(ConfirmForm()):
        outcomes.commit(lambda: contests.cancel(contest, current_user, now=utcnow()),
                        _("模考大赛已取消。"))
    return redirect(url_for("contests.contest_detail", contest_id=contest.id))


# Candidates ----------------------------------------------------------------------------

@bp.get("/contests")
def my_contests():
    now = utcnow()
    live, closed = contests.for_candidates(now)
    entries = contests.entries_of(current_user.id, [c.id for c in (*live, *closed)])
    return render_template("contests/my_contests.html", live=live, closed=closed,
                           entries=entries, now=now, form=ConfirmForm(),
                           subject_labels=labels.SUBJECTS)


@bp.post("/contests/<int:contest_id>/start")
def start_contest(contest_id):
    contest = db.get_or_404(Contest, contest_id)
    if contest.cancelled_at is not None:
        abort(404)
    if not submitted(ConfirmForm()):
        return redirect(url_for("contests.my_contests"))
    done = outcomes.commit(lambda: contests.start(contest, current_user, now=utcnow()))
    if not done.ok:
        return redirect(url_for("contests.my_contests"))
    attempt = done.result
    if attempt.is_open:
        return redirect(url_for("candidate.take_attempt", attempt_id=attempt.id))
    return redirect(url_for("contests.contest_report", contest_id=contest.id))


@bp.get("/contests/<int:contest_id>/report")
def contest_report(contest_id):
    contest = db.get_or_404(Contest, contest_id)
    report = contests.report(contest, current_user.id)
    if report is None:
        abort(404)  # only the candidate's own report, and only of a contest they sat
    if report.attempt.is_open:
        return redirect(url_for("candidate.take_attempt", attempt_id=report.attempt.id))
    now = utcnow()
    return render_template("contests/report.html", report=report, now=now,
                           rows=contests.item_rows(report),
                           keys_hidden=now < contest.ends_at, subject_labels=labels.SUBJECTS,
                           region_name=lambda code: labels.region_name(code, str(get_locale())))
