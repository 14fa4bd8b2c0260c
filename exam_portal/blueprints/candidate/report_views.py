"""The candidate's weekly study report (学习报告), as a page and as a PDF."""

from datetime import date, timedelta

from flask import Response, render_template, request
from flask_login import current_user

from exam_portal.blueprints.candidate.study_views import practice_version
from exam_portal.blueprints.candidate.views import bp
from exam_portal.models.types import utcnow
from exam_portal.services.delivery import study_report
from exam_portal.services.platform import labels, pdf
from exam_portal.services.platform.clock import today_local


def _report():
    """The report of the week asked for (?week=, any day of it; this week by default,
    and at most a year back)."""
    today = today_local()
    this_week = study_report.week_of(today)
    try:
        monday = study_report.week_of(date.fromisoformat(request.args.get("week", "")))
    except ValueError:
        monday = this_week
    oldest = this_week - timedelta(weeks=study_report.MAX_WEEKS_BACK)
    monday = min(max(monday, oldest), this_week)
    return study_report.report(current_user.id, monday,
                               version=practice_version(request.args.get("syllabus")),
                               now=utcnow())


@bp.get("/report")
def study_report_page():
    report = _report()
    weeks = study_report.weeks_with_study(current_user.id, today_local())
    if report.monday not in weeks:
        weeks = sorted({*weeks, report.monday}, reverse=True)
    return render_template("candidate/study_report.html", report=report, weeks=weeks,
                           one_week_less_a_day=timedelta(days=6),
                           subject_labels=labels.SUBJECTS)


@bp.get("/report.pdf")
def study_report_pdf():
    report = _report()
    html = render_template("candidate/study_report_pdf.html", report=report,
                           email=current_user.email, subject_labels=labels.SUBJECTS)
    name = f"study-report-{report.monday.isoformat()}.pdf"
    return Response(pdf.html_to_pdf(html), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
