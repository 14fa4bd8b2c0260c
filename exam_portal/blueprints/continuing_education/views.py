"""Continuing education (继续教育) and registration (登记): holders register and see their
hours, renewal window and transcripts; providers (an institution's trainers, or
administrators) create courses and record completions; administrators verify declared
qualifications and decide renewals. Every object is checked against the signed-in
user in the view (404 for anyone else's)."""

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.account.forms import ConfirmForm
from exam_portal.blueprints.continuing_education.forms import (
    CATEGORIES,
    DELIVERIES,
    AttendanceForm,
    ClassLinkForm,
    CompletionForm,
    CourseForm,
    DecisionForm,
    DeclareForm,
)
from exam_portal.extensions import db, no_write_lock
from exam_portal.models.continuing_education import CePeriod, CeRegistration, CeRenewal
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.certification import (
    ce_courses,
    ce_registrations,
    ce_transcripts,
    online_courses,
)
from exam_portal.services.exam_sessions import evidence
from exam_portal.services.platform import labels
from exam_portal.services.platform.clock import LOCAL_ZONE, today_local
from exam_portal.web import outcomes
from exam_portal.web.forms import as_choices, submitted
from exam_portal.web.pagination import page_argument
from question_bank import continuing_education as rules
from question_bank.levels import Level

bp = Blueprint("continuing_education", __name__)


def _context() -> dict:
    return {"level_labels": labels.LEVELS, "categories": CATEGORIES, "deliveries": DELIVERIES,
            "local_zone": LOCAL_ZONE}


# Holders ---------------------------------------------------------------------------------

@bp.get("/account/ce")
def my_registrations():
    return _holder_page(DeclareForm())


def _holder_page(declare_form, status=200):
    today = today_local()
    overviews = [ce_registrations.overview(r, today)
                 for r in ce_registrations.own_registrations(current_user)]
    period_ids = [o.period.id for o in overviews if o.period is not None]
    return render_template(
        "continuing_education/mine.html", overviews=overviews, today=today,
        transcripts=ce_transcripts.own_transcripts(current_user, period_ids),
        registrable=ce_registrations.registrable_qualifications(current_user),
        rules=ce_registrations.current_rules(), deadline=rules.registration_deadline,
        refusal=ce_registrations.renewal_refusal, declare_form=declare_form,
        form=ConfirmForm(), **_context()), status


def _mine():
    return redirect(url_for("continuing_education.my_registrations"))


@bp.post("/account/ce/qualifications/<int:qualification_id>/register")
def register_qualification(qualification_id):
    if submitted(ConfirmForm()):
        outcomes.commit(lambda: ce_registrations.register_issued(
            current_user, qualification_id, today_local()), _("登记成功。"))
    return _mine()


@bp.post("/account/ce/declare")
def declare_qualification():
    # The document is checked and stored with no write lock held; the row follows.
    with no_write_lock():
        form = DeclareForm()
        if not form.validate_on_submit():
            return _holder_page(form, 422)
        upload = form.document.data
        checked, problems = evidence.check_document(upload.read(), upload.filename)
        if problems:
            form.document.errors = [*form.document.errors, *problems]
            return _holder_page(form, 422)
        stored = evidence.store(checked)
    done = outcomes.commit(lambda: ce_registrations.declare(
        current_user, Level(form.level.data), form.passed_on.data,
        form.certificate_number.data, stored, today_local()),
        _("登记已提交，等待管理员核验证书。"))
    return _mine() if done.ok else _holder_page(form, 422)


def _own_registration_or_404(registration_id: int) -> CeRegistration:
    registration = ce_registrations.own_registration(registration_id, current_user)
    if registration is None:
        abort(404)
    return registration


@bp.get("/account/ce/registrations/<int:ce_registration_id>/document")
def my_document(ce_registration_id):
    return _document(_own_registration_or_404(ce_registration_id))


def _document(registration: CeRegistration) -> Response:
    data = ce_registrations.open_document(registration, current_user)
    if data is None:
        abort(404)
    db.session.commit()  # the administrator's viewing is audited
    return Response(data, mimetype=registration.document_type, headers={
        "Content-Disposition": "attachment",
        "Content-Security-Policy": "default-src 'none'; sandbox"})


@bp.post("/account/ce/registrations/<int:ce_registration_id>/renewal")
def apply_renewal(ce_registration_id):
    registration = _own_registration_or_404(ce_registration_id)
    if submitted(ConfirmForm()):
        outcomes.commit(
            lambda: ce_registrations.apply_for_renewal(registration, current_user,
                                                       today=today_local(), now=utcnow()),
            lambda renewal: _("续期已批准。") if renewal.status.value == "APPROVED"
            else _("续期申请已提交，等待管理员审核。"))
    return _mine()


@bp.post("/account/ce/periods/<int:ce_period_id>/transcripts")
def issue_transcript(ce_period_id):
    period = db.session.get(CePeriod, ce_period_id)
    if period is None or period.registration.user_id != current_user.id:
        abort(404)
    if submitted(ConfirmForm()):
        outcomes.commit(lambda: ce_transcripts.issue(period, current_user, now=utcnow()),
                        lambda t: _("学时证明已开具，编号 %(number)s。", number=t.number))
    return _mine()


def _own_transcript_or_404(transcript_id: int):
    transcript = ce_transcripts.own_transcript(transcript_id, current_user)
    if transcript is None:
        abort(404)
    return transcript


@bp.get("/account/ce/transcripts/<int:transcript_id>/transcript.pdf")
def download_transcript(transcript_id):
    transcript = _own_transcript_or_404(transcript_id)
    return Response(ce_transcripts.render_pdf(transcript), mimetype="application/pdf",
                    headers={"Content-Disposition":
                             f'attachment; filename="{transcript.number}.pdf"'})


@bp.get("/account/ce/transcripts/<int:transcript_id>/transcript.jwt")
def download_transcript_credential(transcript_id):
    transcript = _own_transcript_or_404(transcript_id)
    try:
        token = ce_transcripts.credential_of(transcript)
    except ServiceError as error:
        flash(str(error), "danger")
        return _mine()
    return Response(token, mimetype="application/jwt", headers={
        "Content-Disposition": f'attachment; filename="{transcript.number}.jwt"'})


# Providers: an institution's trainers, and administrators -----------------------------------

@bp.get("/ce/courses")
def list_courses():
    page = db.paginate(ce_courses.courses_query(current_user), page=page_argument(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("continuing_education/courses.html", page=page,
                           may_create=bool(ce_courses.institutions_for(current_user)),
                           **_context())


def _course_fields(form: CourseForm) -> ce_courses.CourseFields:
    return ce_courses.CourseFields(
        institution_id=form.institution.data, title=form.title.data or "",
        hours=rules.parse_hours(form.hours.data or ""),
        category=rules.CourseCategory(form.category.data),
        delivery=rules.Delivery(form.delivery.data), starts_on=form.starts_on.data,
        ends_on=form.ends_on.data)


@bp.route("/ce/courses/new", methods=["GET", "POST"])
def create_course():
    form = CourseForm()
    institutions = ce_courses.institutions_for(current_user)
    if not institutions:
        abort(404)
    form.institution.choices = as_choices((i.id, i.name) for i in institutions)
    return outcomes.form_page(
        form, lambda: ce_courses.create_course(_course_fields(form), current_user),
        _("课程已创建。"), then=lambda course: redirect(url_for(
            "continuing_education.course_detail", course_id=course.id)),
        template="continuing_education/edit_course.html", **_context())


def _course_or_404(course_id: int):
    course = ce_courses.course_for(course_id, current_user)
    if course is None:
        abort(404)
    return course


@bp.get("/ce/courses/<int:course_id>")
def course_detail(course_id):
    return _course_page(_course_or_404(course_id), CompletionForm(), AttendanceForm())


def _class_form(course, form=None) -> ClassLinkForm:
    form = form or ClassLinkForm(training_class=course.class_id or 0)
    form.training_class.choices = [(0, _("（不由班级作业组成）"))] + [
        (klass.id, klass.name) for klass in online_courses.linkable_classes(course)]
    return form


def _course_page(course, completion_form, attendance_form, errors=(), status=200,
                 class_form=None):
    rows = db.paginate(ce_courses.completions_query(course), page=page_argument(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    pairs = list(db.session.execute(ce_courses.completions_query(course)
                                    .limit(rows.per_page).offset((rows.page - 1) * rows.per_page)))
    return render_template("continuing_education/course.html", course=course, rows=rows,
                           pairs=pairs, completion_form=completion_form,
                           attendance_form=attendance_form, errors=errors,
                           class_form=_class_form(course, class_form),
                           linked_class=online_courses.linked_class(course),
                           **_context()), status


@bp.post("/ce/courses/<int:course_id>/class")
def link_class(course_id):
    course = _course_or_404(course_id)
    form = _class_form(course, ClassLinkForm())
    if not form.validate_on_submit():
        return _course_page(course, CompletionForm(), AttendanceForm(), class_form=form,
                            status=422)
    done = outcomes.commit(lambda: online_courses.link_class(
        course, form.training_class.data or None, current_user, now=utcnow()),
        field=form.training_class)
    if not done.ok:
        return _course_page(_course_or_404(course_id), CompletionForm(), AttendanceForm(),
                            class_form=form, status=422)
    flash(_("已保存；已按班级作业记录 %(n)d 条完成。", n=done.result), "success")
    return redirect(url_for("continuing_education.course_detail", course_id=course_id))


@bp.post("/ce/courses/<int:course_id>/completions")
def record_completion(course_id):
    course = _course_or_404(course_id)
    form = CompletionForm()
    if not form.validate_on_submit():
        return _course_page(course, form, AttendanceForm(), status=422)
    done = outcomes.commit(lambda: ce_courses.record_completion(
        course, form.email.data, form.completed_on.data, current_user),
        _("已记录完成。"), field=form.email)
    if not done.ok:
        return _course_page(_course_or_404(course_id), form, AttendanceForm(), status=422)
    return redirect(url_for("continuing_education.course_detail", course_id=course_id))


@bp.post("/ce/courses/<int:course_id>/import")
def import_attendance(course_id):
    with no_write_lock():
        course = _course_or_404(course_id)
        form = AttendanceForm()
        if not form.validate_on_submit():
            return _course_page(course, CompletionForm(), form, status=422)
        upload = form.file.data
        try:
            sheet = ce_courses.read_attendance(upload.filename, upload.read())
        except ServiceError as error:
            form.file.errors = [*form.file.errors, str(error)]
            return _course_page(course, CompletionForm(), form, status=422)
    done = outcomes.commit(lambda: ce_courses.import_attendance(course, sheet, current_user),
                           field=form.file)
    if not done.ok:
        return _course_page(_course_or_404(course_id), CompletionForm(), form, status=422)
    if done.result.errors:
        return _course_page(_course_or_404(course_id), CompletionForm(), form,
                            errors=done.result.errors, status=422)
    flash(_("已导入 %(n)d 条完成记录。", n=done.result.recorded), "success")
    return redirect(url_for("continuing_education.course_detail", course_id=course_id))


# Administrators ----------------------------------------------------------------------------

@bp.get("/admin/ce")
def review():
    declarations = db.paginate(ce_registrations.pending_declarations_query(),
                               page=page_argument(), per_page=current_app.config["PAGE_SIZE"],
                               error_out=False)
    renewals = list(db.session.scalars(ce_registrations.pending_renewals_query()
                                       .limit(current_app.config["PAGE_SIZE"] * 5)))
    return render_template("continuing_education/review.html", declarations=declarations,
                           renewals=renewals, form=DecisionForm(),
                           standing_of=ce_registrations.standing_of, **_context())


def _to_review():
    return redirect(url_for("continuing_education.review"))


@bp.post("/admin/ce/registrations/<int:ce_registration_id>/decide")
def decide_declaration(ce_registration_id):
    registration = db.get_or_404(CeRegistration, ce_registration_id)
    form = DecisionForm()
    if submitted(form):
        verify = form.action.data == "approve"
        outcomes.commit(lambda: ce_registrations.decide_declaration(
            registration, verify, form.reason.data, current_user, now=utcnow()),
            _("登记已核验。") if verify else _("登记已驳回。"))
    return _to_review()


@bp.get("/admin/ce/registrations/<int:ce_registration_id>/document")
def registration_document(ce_registration_id):
    return _document(db.get_or_404(CeRegistration, ce_registration_id))


@bp.post("/admin/ce/renewals/<int:renewal_id>/decide")
def decide_renewal(renewal_id):
    renewal = db.get_or_404(CeRenewal, renewal_id)
    form = DecisionForm()
    if submitted(form):
        approve = form.action.data == "approve"
        outcomes.commit(lambda: ce_registrations.decide_renewal(
            renewal, approve, form.reason.data, current_user, now=utcnow()),
            _("续期已批准。") if approve else _("续期已驳回。"))
    return _to_review()
