"""Where and when a session is sat, for administrators: venues, rooms and seats imported
from a sheet (upload, preview, confirm: the shape of the score import), and the
timetable of its subjects."""

from flask import Response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.sittings.forms import (
    ConfirmUploadForm,
    UploadForm,
    timetable_form,
)
from exam_portal.blueprints.sittings.views import bp, page_context, session_or_404
from exam_portal.extensions import no_write_lock
from exam_portal.models.sittings import ExamSession
from exam_portal.models.types import utcnow
from exam_portal.services.exam_sessions import seating, timetables
from exam_portal.services.platform.clock import from_local, to_local
from exam_portal.web import outcomes, uploads


@bp.route("/admin/sessions/<int:session_id>/seats/import", methods=["GET", "POST"])
def import_seats(session_id):
    # A preview writes nothing, and holds no write lock while the sheet is read.
    with no_write_lock():
        session = session_or_404(session_id)
        return uploads.preview(
            UploadForm(),
            lambda name, data: seating.plan(session, seating.read_sheet(name, data)),
            confirm=ConfirmUploadForm(),
            ready=lambda plan: plan.count(seating.Action.NEW)
            or plan.count(seating.Action.CHANGED),
            upload_page="sittings/import_seats.html",
            preview_page="sittings/import_seats_preview.html",
            session=session, actions=seating.Action, **page_context())


@bp.post("/admin/sessions/<int:session_id>/seats/import/confirm")
def confirm_seat_import(session_id):
    session = session_or_404(session_id)
    form = ConfirmUploadForm()
    upload = uploads.confirmed(form)
    if upload is None:
        return redirect(url_for("sittings.import_seats", session_id=session.id))
    done = outcomes.commit(
        lambda: _import_seats(session, *upload),
        lambda summary: _("导入完成：新安排 %(new)d 名考生，修改 %(changed)d 名，"
                          "未变 %(unchanged)d 名。", **summary),
        conflict=_("同时有另一次导入写入了考场安排，本次未导入。请重新上传预览。"))
    if not done.ok:
        return redirect(url_for("sittings.import_seats", session_id=session.id))
    return redirect(url_for("sittings.session_detail", session_id=session.id))


def _import_seats(session: ExamSession, filename: str, data: bytes) -> dict:
    with no_write_lock():
        sheet = seating.read_sheet(filename, data)
    return seating.record(session, sheet, current_user, filename=filename, now=utcnow())


@bp.get("/admin/sessions/<int:session_id>/seats/template.csv")
def seat_template(session_id):
    session_or_404(session_id)
    return Response(seating.template(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="seats.csv"'})


@bp.route("/admin/sessions/<int:session_id>/timetable", methods=["GET", "POST"])
def edit_timetable(session_id):
    session = session_or_404(session_id)
    current = timetables.timetable_of(session)
    subjects = list(current)
    form = timetable_form(subjects, data={
        f"{subject.value}_{end}": to_local(getattr(entry, f"{end}_at"))
        for subject, entry in current.items() for end in ("starts", "ends")})
    if form.validate_on_submit():
        times = {subject: (from_local(form[f"{subject.value}_starts"].data),
                           from_local(form[f"{subject.value}_ends"].data)) for subject in subjects}
        if outcomes.commit(lambda: timetables.set_timetable(session, times, current_user),
                           _("考试日程已保存。")).ok:
            return redirect(url_for("sittings.edit_timetable", session_id=session.id))
    return render_template("sittings/edit_timetable.html", session=session, form=form,
                           timetable=current, **page_context())
