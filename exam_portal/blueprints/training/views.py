"""Training programmes for administrators: define, edit and deactivate them, see who
completed one, and issue training certificates singly or for all as a job.
(Candidates see their progress on the practice dashboard; certificates are then
verified, revoked and reissued like any other, under /admin/certificates.)"""


from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.account.forms import ConfirmForm
from exam_portal.blueprints.training.forms import DEFAULT_PERCENT, ProgrammeForm
from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.training import TrainingProgramme
from exam_portal.models.types import utcnow
from exam_portal.services.certification import training, training_certificates
from exam_portal.services.platform import labels
from exam_portal.web import outcomes
from exam_portal.web.forms import submitted
from exam_portal.web.pagination import page_argument
from question_bank.levels import Level
from question_bank.subjects import OBJECTIVE_SUBJECTS
from question_bank.training import Requirement

bp = Blueprint("training", __name__, url_prefix="/admin/training")

def _context() -> dict:
    return {"level_labels": labels.LEVELS, "subject_labels": labels.SUBJECTS,
            "subjects": OBJECTIVE_SUBJECTS}


@bp.get("")
def list_programmes():
    query = db.select(TrainingProgramme).order_by(TrainingProgramme.is_active.desc(),
                                                  TrainingProgramme.name)
    page = db.paginate(query, page=page_argument(), per_page=current_app.config["PAGE_SIZE"],
                       error_out=False)
    return render_template("training/list_programmes.html", page=page, form=ConfirmForm(),
                           **_context())


def _fields(form: ProgrammeForm) -> training.ProgrammeFields:
    requirements = tuple(
        Requirement(subject, form.papers(subject).data,
                    DEFAULT_PERCENT if form.percent(subject).data is None
                    else form.percent(subject).data)
        for subject in OBJECTIVE_SUBJECTS if form.papers(subject).data)
    return training.ProgrammeFields(
        name=form.name.data or "", description=form.description.data or "",
        level=Level(form.level.data) if form.level.data else None,
        requirements=requirements)


@bp.route("/new", methods=["GET", "POST"])
def create_programme():
    form = ProgrammeForm()
    return outcomes.form_page(
        form, lambda: training.create_programme(_fields(form), current_user),
        _("培训项目已创建。"), then=_to_detail, template="training/edit_programme.html",
        programme=None, **_context())


@bp.route("/<int:programme_id>/edit", methods=["GET", "POST"])
def edit_programme(programme_id):
    programme = db.get_or_404(TrainingProgramme, programme_id)
    form = ProgrammeForm()
    if request.method == "GET":
        form.name.data, form.description.data = programme.name, programme.description
        form.level.data = programme.level.value if programme.level else ""
        for row in programme.requirements:
            form.papers(row.subject).data = row.papers
            form.percent(row.subject).data = row.min_percent
    return outcomes.form_page(
        form, lambda: training.update_programme(programme, _fields(form), current_user),
        _("培训项目已保存。"), then=lambda _: _to_detail(programme),
        template="training/edit_programme.html", programme=programme, **_context())


@bp.post("/<int:programme_id>/active/<any(on, off):state>")
def set_programme_active(programme_id, state):
    programme = db.get_or_404(TrainingProgramme, programme_id)
    if submitted(ConfirmForm()):
        outcomes.commit(lambda: training.set_active(programme, state == "on", current_user),
                        _("培训项目已启用。") if state == "on" else _("培训项目已停用。"))
    return _to_detail(programme)


@bp.get("/<int:programme_id>")
def programme_detail(programme_id):
    programme = db.get_or_404(TrainingProgramme, programme_id)
    search = request.args.get("q", "").strip()[:100]
    rows = db.paginate(training.completed_query(programme, search), page=page_argument(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    issued = training_certificates.issued_to(programme, [user.id for user in rows.items])
    return render_template("training/programme_detail.html", programme=programme, rows=rows,
                           issued=issued, search=search, form=ConfirmForm(), **_context())


@bp.post("/<int:programme_id>/candidates/<int:user_id>/certificate")
def issue_certificate(programme_id, user_id):
    programme = db.get_or_404(TrainingProgramme, programme_id)
    candidate = db.get_or_404(User, user_id)
    if submitted(ConfirmForm()):
        outcomes.commit(
            lambda: training_certificates.issue_for_programme(programme, candidate,
                                                              current_user, now=utcnow()),
            lambda certificate: _("证书已签发，编号 %(number)s。", number=certificate.number))
    return _to_detail(programme)


@bp.post("/<int:programme_id>/issue-all")
def issue_all(programme_id):
    programme = db.get_or_404(TrainingProgramme, programme_id)
    return outcomes.start_job(
        ConfirmForm(), lambda: training_certificates.start_issuing(programme, current_user),
        _to_detail(programme))


def _to_detail(programme: TrainingProgramme):
    return redirect(url_for("training.programme_detail", programme_id=programme.id))
