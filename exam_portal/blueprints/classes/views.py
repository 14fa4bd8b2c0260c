"""Institutions, classes and assignments.

Administrators create institutions and name their institution admins; an institution
admin adds and removes the institution's trainers; trainers open classes, enrol
candidates (code or link, or an imported list) and set assignments; candidates join
(after seeing what is shared), leave, and work through their assignments. A trainer
sees only the classes of their institutions and a candidate only their own classes:
anything else answers 404."""

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.account.forms import ConfirmForm
from exam_portal.blueprints.classes.forms import (
    AssignmentForm,
    ClassForm,
    ConsentForm,
    ImportForm,
    InstitutionForm,
    JoinForm,
    NewInstitutionForm,
    TrainerEmailForm,
)
from exam_portal.extensions import db, limiter, no_write_lock
from exam_portal.models.institutions import Institution
from exam_portal.models.sittings import ExamSession
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.exam_sessions import classes, institutions, past_papers
from exam_portal.services.platform import labels
from exam_portal.services.platform.clock import from_local
from exam_portal.web import outcomes
from exam_portal.web.forms import as_choices, submitted
from exam_portal.web.pagination import Page, page_argument
from question_bank.assignments import AssignmentKind, AssignmentState, EnrolmentStatus
from question_bank.institutions import InstitutionKind
from question_bank.levels import Level
from question_bank.subjects import Subject

bp = Blueprint("classes", __name__)

def _kind_labels():
    return {InstitutionKind.TRAINING_ORG: _("培训机构"),
            InstitutionKind.UNIVERSITY: _("高校"),
            InstitutionKind.ASSOCIATION: _("社会工作协会")}


def _assignment_kind_labels():
    return {AssignmentKind.PRACTICE: _("章节练习"),
            AssignmentKind.MOCK: _("模拟考试（按考试规格抽题）"),
            AssignmentKind.PAST_PAPER: _("历年真题")}


def _state_labels():
    # Text and a symbol, never colour alone.
    return {AssignmentState.NOT_STARTED: ("○", _("未开始")),
            AssignmentState.IN_PROGRESS: ("◐", _("进行中")),
            AssignmentState.DONE: ("✓", _("已完成")),
            AssignmentState.OVERDUE: ("⚠", _("已逾期"))}


@bp.app_context_processor
def _helpers():
    return {"institution_kinds": _kind_labels, "assignment_kinds": _assignment_kind_labels,
            "assignment_states": _state_labels}


def _context():
    return {"subject_labels": labels.SUBJECTS, "level_labels": labels.LEVELS}


def _or_404(call):
    try:
        return call()
    except (classes.ClassNotFound, institutions.NotMember):
        abort(404)


# Administrators: institutions ----------------------------------------------------------

def _fill_institution_form(form) -> None:
    form.kind.choices = as_choices([(k.value, label) for k, label in _kind_labels().items()])
    form.province.choices = as_choices(labels.province_choices(
        str(get_locale()), blank=_("（全国）")))


def _institution_fields(form) -> institutions.InstitutionFields:
    return institutions.InstitutionFields(
        name=form.name.data or "", kind=InstitutionKind(form.kind.data),
        province=form.province.data or None)


@bp.get("/admin/institutions")
def list_institutions():
    page = db.paginate(institutions.listing(), page=page_argument(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("classes/list_institutions.html", page=page)


@bp.route("/admin/institutions/new", methods=["GET", "POST"])
def create_institution():
    form = NewInstitutionForm()
    _fill_institution_form(form)
    return outcomes.form_page(
        form, lambda: institutions.create(_institution_fields(form), form.admin_email.data,
                                          current_user, now=utcnow()),
        _("机构已创建。"),
        then=lambda inst: redirect(url_for("classes.institution_detail",
                                           institution_id=inst.id)),
        template="classes/create_institution.html")


@bp.route("/admin/institutions/<int:institution_id>", methods=["GET", "POST"])
def institution_detail(institution_id):
    institution = db.get_or_404(Institution, institution_id)
    form = InstitutionForm(obj=None if request.method == "POST" else institution)
    _fill_institution_form(form)
    if request.method == "GET":
        form.kind.data = institution.kind.value
        form.province.data = institution.province or ""
    if form.validate_on_submit() and outcomes.commit(
            lambda: institutions.edit(institution, _institution_fields(form), current_user),
            _("机构已保存。")).ok:
        return redirect(url_for("classes.institution_detail", institution_id=institution.id))
    return render_template("classes/institution_detail.html", institution=institution,
                           form=form, admin_form=TrainerEmailForm(formdata=None),
                           confirm=ConfirmForm(),
                           members=institutions.members(institution.id))


@bp.post("/admin/institutions/<int:institution_id>/active")
def set_institution_active(institution_id):
    institution = db.get_or_404(Institution, institution_id)
    if submitted(ConfirmForm()):
        active = not institution.is_active
        outcomes.commit(lambda: institutions.set_active(institution, active, current_user),
                        _("机构已启用。") if active else _("机构已停用。"))
    return redirect(url_for("classes.institution_detail", institution_id=institution.id))


@bp.post("/admin/institutions/<int:institution_id>/admin")
def name_institution_admin(institution_id):
    institution = db.get_or_404(Institution, institution_id)
    form = TrainerEmailForm()
    if submitted(form):
        outcomes.commit(lambda: institutions.set_admin(institution, form.email.data,
                                                       current_user, now=utcnow()),
                        _("已指定机构管理员。"))
    return redirect(url_for("classes.institution_detail", institution_id=institution.id))


# Trainers: institutions ----------------------------------------------------------------

@bp.get("/trainer/institutions")
def my_institutions():
    return render_template("classes/my_institutions.html",
                           institutions=institutions.institutions_of(current_user.id))


@bp.get("/trainer/institutions/<int:institution_id>/trainers")
def institution_trainers(institution_id):
    institution = _or_404(lambda: institutions.institution_for_admin(current_user,
                                                                      institution_id))
    return render_template("classes/institution_trainers.html", institution=institution,
                           members=institutions.members(institution.id),
                           form=TrainerEmailForm(), confirm=ConfirmForm())


@bp.post("/trainer/institutions/<int:institution_id>/trainers")
def add_trainer(institution_id):
    institution = _or_404(lambda: institutions.institution_for_admin(current_user,
                                                                      institution_id))
    form = TrainerEmailForm()
    if submitted(form):
        outcomes.commit(lambda: institutions.add_trainer(institution, form.email.data,
                                                         current_user, now=utcnow()),
                        _("培训师已加入本机构。"))
    return redirect(url_for("classes.institution_trainers", institution_id=institution.id))


@bp.post("/trainer/institutions/<int:institution_id>/trainers/<int:user_id>/remove")
def remove_trainer(institution_id, user_id):
    institution = _or_404(lambda: institutions.institution_for_admin(current_user,
                                                                      institution_id))
    if submitted(ConfirmForm()):
        done = outcomes.commit(
            lambda: institutions.remove_trainer(institution, user_id, current_user),
            _("培训师已移出本机构。"), quiet=institutions.NotMember)
        if isinstance(done.refusal, institutions.NotMember):
            abort(404)
    return redirect(url_for("classes.institution_trainers", institution_id=institution.id))


# Trainers: classes ---------------------------------------------------------------------

def _fill_class_form(form, *, klass=None) -> None:
    form.institution.choices = as_choices(
        [(str(inst.id), inst.name) for inst, _admin in
         institutions.institutions_of(current_user.id)])
    form.level.choices = as_choices([(lvl.value, labels.LEVELS[lvl]) for lvl in Level])
    sessions = list(db.session.scalars(db.select(ExamSession).order_by(
        ExamSession.exam_opens_at.desc()).limit(20)))
    # The 20 newest sessions, and the class's own (an older one stays choosable).
    if klass is not None and klass.exam_session_id is not None \
            and all(s.id != klass.exam_session_id for s in sessions):
        sessions.append(db.session.get(ExamSession, klass.exam_session_id))
    form.exam_session.choices = as_choices(
        [("", _("（不指定）"))] + [(str(s.id), s.name) for s in sessions])


def _class_fields(form) -> classes.ClassFields:
    return classes.ClassFields(
        name=form.name.data or "", level=Level(form.level.data),
        exam_session_id=int(form.exam_session.data) if form.exam_session.data else None,
        starts_on=form.starts_on.data, ends_on=form.ends_on.data)


@bp.get("/trainer/classes")
def trainer_classes():
    page = db.paginate(classes.trainer_classes(current_user), page=page_argument(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("classes/trainer_classes.html", page=page,
                           institutions=institutions.institutions_of(current_user.id),
                           **_context())


@bp.route("/trainer/classes/new", methods=["GET", "POST"])
def open_class():
    form = ClassForm()
    _fill_class_form(form)
    if not form.institution.choices:
        abort(404)
    return outcomes.form_page(
        form, lambda: classes.open_class(int(form.institution.data), _class_fields(form),
                                         current_user, now=utcnow()),
        _("班级已开设。把邀请码或链接发给学员。"),
        then=lambda klass: redirect(url_for("classes.class_detail", class_id=klass.id)),
        template="classes/class_form.html", editing=False)


def _trainer_class(class_id):
    return _or_404(lambda: classes.class_for_trainer(current_user, class_id))


def _roster_page(klass) -> Page:
    per_page, total = current_app.config["PAGE_SIZE"], classes.roster_count(klass)
    page = min(page_argument(), max(1, -(-total // per_page)))
    return Page(classes.roster(klass, offset=(page - 1) * per_page, limit=per_page),
                page, per_page, total)


@bp.get("/trainer/classes/<int:class_id>")
def class_detail(class_id):
    klass = _trainer_class(class_id)
    now = utcnow()
    assignments = classes.class_assignments(klass.id)
    return render_template(
        "classes/class_detail.html", klass=klass, now=now,
        roster=_roster_page(klass), assignments=assignments,
        completions=classes.completions(klass.id, assignments, now=now),
        join_link=url_for("classes.join_class", code=klass.join_code, _external=True),
        confirm=ConfirmForm(), **_context())


@bp.route("/trainer/classes/<int:class_id>/edit", methods=["GET", "POST"])
def edit_class(class_id):
    klass = _trainer_class(class_id)
    form = ClassForm(obj=None if request.method == "POST" else klass)
    _fill_class_form(form, klass=klass)
    form.institution.data = str(klass.institution_id)
    if request.method == "GET":
        form.level.data = klass.level.value
        form.exam_session.data = str(klass.exam_session_id or "")
    return outcomes.form_page(
        form, lambda: classes.edit_class(klass, _class_fields(form), current_user),
        _("班级已保存。"),
        then=lambda _r: redirect(url_for("classes.class_detail", class_id=klass.id)),
        template="classes/class_form.html", editing=True, klass=klass)


@bp.post("/trainer/classes/<int:class_id>/close")
def close_class(class_id):
    klass = _trainer_class(class_id)
    if submitted(ConfirmForm()):
        outcomes.commit(lambda: classes.close_class(klass, current_user, now=utcnow()),
                        _("班级已结课。"))
    return redirect(url_for("classes.class_detail", class_id=klass.id))


@bp.post("/trainer/classes/<int:class_id>/code")
def new_code(class_id):
    klass = _trainer_class(class_id)
    if submitted(ConfirmForm()):
        outcomes.commit(lambda: classes.new_join_code(klass, current_user),
                        _("已换新邀请码，旧邀请码和链接不再有效。"))
    return redirect(url_for("classes.class_detail", class_id=klass.id))


@bp.route("/trainer/classes/<int:class_id>/import", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])  # a list is no way to probe addresses
def import_list(class_id):
    klass = _trainer_class(class_id)
    form = ImportForm()
    problems, result = [], None
    if form.validate_on_submit():
        upload = form.file.data
        name, data = upload.filename, upload.read()
        try:
            with no_write_lock():
                rows = classes.read_roster(name, data)
        except ServiceError as error:
            form.file.errors = [*form.file.errors, str(error)]
        else:
            klass = _trainer_class(class_id)
            done = outcomes.commit(
                lambda: classes.import_roster(klass, rows, current_user, now=utcnow(),
                                              locale=str(get_locale())),
                _("名单已导入。"), quiet=classes.RosterInvalid,
                conflict=_("有学员正在同时加入班级，请重新上传名单。"))
            if isinstance(done.refusal, classes.RosterInvalid):
                problems = [classes.problem_text(p) for p in done.refusal.problems]
            result = done.result
    return render_template("classes/import_list.html", klass=klass, form=form,
                           problems=problems, result=result)


@bp.post("/trainer/classes/<int:class_id>/invitations/<int:invitation_id>/withdraw")
def withdraw_invitation(class_id, invitation_id):
    klass = _trainer_class(class_id)
    if submitted(ConfirmForm()):
        done = outcomes.commit(
            lambda: classes.withdraw_invitation(klass, invitation_id, current_user,
                                                now=utcnow()),
            _("邀请已撤回。"), quiet=classes.ClassNotFound)
        if isinstance(done.refusal, classes.ClassNotFound):
            abort(404)
    return redirect(url_for("classes.class_detail", class_id=klass.id))


# Trainers: assignments -----------------------------------------------------------------

def _fill_assignment_form(form, klass) -> None:
    subjects = [s for s in Subject if s.level is klass.level]
    form.kind.choices = as_choices([(k.value, label)
                                    for k, label in _assignment_kind_labels().items()])
    form.subject.choices = as_choices([(s.value, labels.SUBJECTS[s]) for s in subjects])
    chapters = []
    for subject in subjects:
        chapters += [(code, f"{labels.SUBJECTS[subject]} · {title}")
                     for code, title in classes.chapter_choices(subject)]
    form.chapters.choices = as_choices(chapters)
    form.item_count.choices = as_choices(
        [("", "—")] + [(str(n), str(n)) for n in sorted(
            {n for s in subjects for n in classes.practice_counts(s)})])
    papers = []
    for form_row, session in classes.assignable_papers(klass.level):
        papers.append((str(form_row.id), f"{past_papers.title(form_row, session)} "
                                         f"{form_row.label}".strip()))
    form.form_id.choices = as_choices([("", "—")] + papers)


def _assignment_fields(form) -> classes.AssignmentFields:
    return classes.AssignmentFields(
        kind=AssignmentKind(form.kind.data), title=form.title.data or "",
        subject=Subject(form.subject.data), due_at=from_local(form.due_at.data),
        chapters=tuple(form.chapters.data or ()),
        item_count=int(form.item_count.data) if form.item_count.data else None,
        form_id=int(form.form_id.data) if form.form_id.data else None)


@bp.route("/trainer/classes/<int:class_id>/assignments/new", methods=["GET", "POST"])
def set_assignment(class_id):
    klass = _trainer_class(class_id)
    form = AssignmentForm()
    _fill_assignment_form(form, klass)
    return outcomes.form_page(
        form, lambda: classes.set_assignment(klass, _assignment_fields(form), current_user,
                                             now=utcnow()),
        _("作业已布置，已通知班级学员。"),
        then=lambda _a: redirect(url_for("classes.class_detail", class_id=klass.id)),
        template="classes/assignment_form.html", klass=klass, **_context())


@bp.post("/trainer/assignments/<int:assignment_id>/withdraw")
def withdraw_assignment(assignment_id):
    assignment = _or_404(lambda: classes.assignment_for_trainer(current_user, assignment_id))
    if submitted(ConfirmForm()):
        outcomes.commit(lambda: classes.withdraw_assignment(assignment, current_user,
                                                            now=utcnow()),
                        _("作业已撤回。"))
    return redirect(url_for("classes.class_detail", class_id=assignment.class_id))


# Candidates ----------------------------------------------------------------------------

@bp.get("/classes")
def my_classes():
    return render_template("classes/my_classes.html",
                           mine=classes.candidate_classes(current_user.id,
                                                          include_inactive=True),
                           invitations=classes.candidate_invitations(current_user),
                           join_form=JoinForm(formdata=None), confirm=ConfirmForm(),
                           statuses=EnrolmentStatus, **_context())


@bp.route("/classes/join", methods=["GET", "POST"])
@limiter.limit("30 per minute")  # codes are not to be guessed by trying them
def join_class():
    code = request.values.get("code", "")
    klass = classes.class_by_code(code) if code else None
    if code and klass is None:
        return render_template("classes/join.html", klass=None, code=code,
                               join_form=JoinForm(data={"code": code}), form=None,
                               not_found=True, **_context())
    if klass is None:
        return render_template("classes/join.html", klass=None, code="",
                               join_form=JoinForm(formdata=None), form=None,
                               not_found=False, **_context())
    form = ConsentForm(data={"code": klass.join_code})
    if request.method == "POST" and form.validate_on_submit() and outcomes.commit(
            lambda: classes.join(klass, current_user, now=utcnow()),
            _("你已加入班级“%(name)s”。", name=klass.name)).ok:
        return redirect(url_for("classes.my_classes"))
    return render_template("classes/join.html", klass=klass, code=klass.join_code,
                           form=form, join_form=None, not_found=False,
                           enrolment=classes.enrolment_of(current_user.id, klass.id),
                           **_context())


@bp.route("/classes/<int:class_id>/accept", methods=["GET", "POST"])
def accept_invitation(class_id):
    mine = _or_404(lambda: classes.candidate_class(current_user.id, class_id))
    if mine.enrolment.status is not EnrolmentStatus.INVITED:
        return redirect(url_for("classes.my_classes"))
    form = ConsentForm()
    if request.method == "POST" and form.validate_on_submit() and outcomes.commit(
            lambda: classes.join(mine.klass, current_user, now=utcnow()),
            _("你已加入班级“%(name)s”。", name=mine.klass.name)).ok:
        return redirect(url_for("classes.my_classes"))
    return render_template("classes/join.html", klass=mine.klass, code="", form=form,
                           join_form=None, not_found=False, enrolment=mine.enrolment,
                           accept=True, **_context())


@bp.route("/classes/invitations/<int:invitation_id>/accept", methods=["GET", "POST"])
def accept_address_invitation(invitation_id):
    mine = _or_404(lambda: classes.invitation_for_candidate(current_user, invitation_id))
    form = ConsentForm()
    if request.method == "POST" and form.validate_on_submit() and outcomes.commit(
            lambda: classes.accept_invitation(current_user, invitation_id, now=utcnow()),
            _("你已加入班级“%(name)s”。", name=mine.klass.name)).ok:
        return redirect(url_for("classes.my_classes"))
    if request.method == "POST" and form.consent.data and not form.errors:
        return redirect(url_for("classes.my_classes"))  # refused: the flash says why
    return render_template("classes/join.html", klass=mine.klass, code="", form=form,
                           join_form=None, not_found=False,
                           enrolment=classes.enrolment_of(current_user.id, mine.klass.id),
                           accept_url=url_for("classes.accept_address_invitation",
                                              invitation_id=invitation_id),
                           **_context())


@bp.post("/classes/invitations/<int:invitation_id>/decline")
def decline_address_invitation(invitation_id):
    _or_404(lambda: classes.invitation_for_candidate(current_user, invitation_id))
    if submitted(ConfirmForm()):
        outcomes.commit(lambda: classes.decline_invitation(current_user, invitation_id,
                                                           now=utcnow()),
                        _("你已拒绝这个班级的邀请。"))
    return redirect(url_for("classes.my_classes"))


@bp.post("/classes/<int:class_id>/leave")
def leave_class(class_id):
    # Consent can always be withdrawn, even while the institution is deactivated.
    _or_404(lambda: classes.candidate_class(current_user.id, class_id,
                                            include_inactive=True))
    if submitted(ConfirmForm()):
        outcomes.commit(lambda: classes.leave(class_id, current_user, now=utcnow()),
                        _("你已退出班级，培训师不再看到你的学习数据。"))
    return redirect(url_for("classes.my_classes"))


@bp.get("/classes/assignments")
def my_assignments():
    return render_template(
        "classes/my_assignments.html", now=utcnow(), confirm=ConfirmForm(),
        mine=classes.candidate_assignments(current_user.id, now=utcnow()), **_context())


@bp.post("/classes/assignments/<int:assignment_id>/start")
def start_assignment(assignment_id):
    _or_404(lambda: classes.assignment_for_candidate(current_user.id, assignment_id))
    if not submitted(ConfirmForm()):
        return redirect(url_for("classes.my_assignments"))
    done = outcomes.commit(lambda: classes.start(current_user, assignment_id, now=utcnow()))
    if not done.ok:
        return redirect(url_for("classes.my_assignments"))
    return redirect(url_for("candidate.take_attempt", attempt_id=done.result.id))
