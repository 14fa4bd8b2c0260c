"""Invitations of new trainers: an institution admin invites by e-mail, sees the
pending invitations and withdraws one; the invitee follows the mailed link and sets a
password. Someone who is not the institution's admin gets 404."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.account.forms import ConfirmForm
from exam_portal.blueprints.trainer_invitations.forms import (
    AcceptInvitationForm,
    InviteTrainerForm,
)
from exam_portal.extensions import db, limiter
from exam_portal.models.types import utcnow
from exam_portal.services.accounts import accounts
from exam_portal.services.exam_sessions import institutions, trainer_invitations
from exam_portal.web import outcomes
from exam_portal.web.forms import submitted
from exam_portal.web.pagination import page_argument

bp = Blueprint("trainer_invitations", __name__)

_REFUSED = (trainer_invitations.InvalidInvitation, accounts.EmailTaken)


def _institution(institution_id: int):
    try:
        return institutions.institution_for_admin(current_user, institution_id)
    except institutions.NotMember:
        abort(404)


def _back(institution):
    return redirect(url_for("trainer_invitations.invitations", institution_id=institution.id))


@bp.get("/trainer/institutions/<int:institution_id>/invitations")
def invitations(institution_id):
    institution = _institution(institution_id)
    page = db.paginate(trainer_invitations.pending(institution.id, utcnow()),
                       page=page_argument(), per_page=current_app.config["PAGE_SIZE"],
                       error_out=False)
    return render_template("trainer_invitations/invitations.html", institution=institution,
                           page=page, form=InviteTrainerForm(), confirm=ConfirmForm(),
                           days=trainer_invitations.INVITATION_DAYS)


@bp.post("/trainer/institutions/<int:institution_id>/invitations")
# Each invitation mails an address the admin chose: limited like a sign-up request.
@limiter.limit(lambda: current_app.config["SIGN_UP_LIMIT_PER_ADDRESS"])
def invite(institution_id):
    institution = _institution(institution_id)
    form = InviteTrainerForm()
    if submitted(form):
        # The same answer whether or not the address has an account: the mail says.
        outcomes.commit(
            lambda: trainer_invitations.invite(institution, form.email.data, form.name.data,
                                               current_user, now=utcnow(),
                                               locale=session.get("locale")),
            _("邀请已发出。没有账号的人会收到设置密码的链接；已有培训师账号的人会直接加入本机构。"))
    return _back(institution)


@bp.post("/trainer/institutions/<int:institution_id>/invitations/<int:trainer_invitation_id>/withdraw")
def withdraw(institution_id, trainer_invitation_id):
    institution = _institution(institution_id)
    if submitted(ConfirmForm()):
        done = outcomes.commit(
            lambda: trainer_invitations.withdraw(institution, trainer_invitation_id, current_user,
                                                 now=utcnow()),
            _("邀请已撤回，链接不再有效。"), quiet=institutions.NotMember)
        if isinstance(done.refusal, institutions.NotMember):
            abort(404)
    return _back(institution)


@bp.route("/trainer-invitation/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGN_UP_LIMIT_PER_ADDRESS"], methods=["POST"])
def accept(token):
    if current_user.is_authenticated:
        flash(_("请先退出当前账号，再打开邀请链接。"), "warning")
        return redirect(url_for("account.overview"))
    try:
        invitation = trainer_invitations.invitation_for_token(token)
    except trainer_invitations.InvalidInvitation as error:
        return render_template("trainer_invitations/invalid.html", message=str(error)), 404
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        done = outcomes.commit(lambda: trainer_invitations.accept(token, form.password.data),
                               field=form.password, quiet=_REFUSED)
        if done.refusal is not None and isinstance(done.refusal, _REFUSED):
            flash(str(done.refusal), "danger")
            return redirect(url_for("auth.login"))
        if done.ok:
            flash(_("培训师账号已创建。请用邮箱和新密码登录。"), "success")
            return redirect(url_for("auth.login"))
    return render_template("trainer_invitations/accept.html", form=form,
                           invitation=invitation)
