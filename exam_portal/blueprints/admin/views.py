"""Administration: accounts, roles, resident ID reveal, the audit log."""

import secrets

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from exam_portal.blueprints.account.forms import ConfirmForm
from exam_portal.blueprints.admin.forms import ROLE_LABELS, CreateUserForm, SetRoleForm
from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.services.accounts import accounts, password_resets, profiles
from exam_portal.services.platform import audit, text_search
from exam_portal.web import outcomes
from exam_portal.web.pagination import page_argument
from exam_portal.web.security import require_recent_auth

bp = Blueprint("admin", __name__, url_prefix="/admin")



@bp.get("/users")
def list_users():
    search = request.args.get("q", "").strip()[:100]
    role = request.args.get("role", "")
    query = sa.select(User).order_by(User.id)
    if search:
        query = query.where(text_search.contains(User.email, search))
    if role in {r.value for r in Role}:
        query = query.where(User.role == Role(role))
    users = db.paginate(
        query, page=page_argument(), per_page=current_app.config["PAGE_SIZE"], error_out=False
    )
    return render_template(
        "admin/list_users.html", users=users, search=search, role=role,
        role_labels=ROLE_LABELS,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@require_recent_auth
def create_user():
    form = CreateUserForm()
    if form.validate_on_submit():
        done = outcomes.commit(
            lambda: _create_staff(form.email.data, Role(form.role.data)),
            lambda user: _("账户已创建，设置密码的链接已发送到 %(email)s。", email=user.email),
            field=form.email)
        if done.ok:
            return redirect(url_for("admin.user_detail", user_id=done.result.id))
    return render_template("admin/create_user.html", form=form)


def _create_staff(email: str, role: Role) -> User:
    # Nobody, not even the administrator, knows the first password: the new user
    # sets one through the emailed link.
    user = accounts.create_staff(email, secrets.token_urlsafe(24), role, actor=current_user)
    password_resets.request_password_reset(user.email)
    return user


def _user_or_404(user_id: int) -> User:
    return db.get_or_404(User, user_id)


@bp.get("/users/<int:user_id>")
def user_detail(user_id):
    user = _user_or_404(user_id)
    role_form = SetRoleForm(role=user.role.value)
    return render_template(
        "admin/user_detail.html", user=user, role_form=role_form,
        confirm_form=ConfirmForm(), role_labels=ROLE_LABELS, revealed=None,
    )


@bp.post("/users/<int:user_id>/role")
@require_recent_auth
def set_role(user_id):
    user = _user_or_404(user_id)
    form = SetRoleForm()
    if form.validate_on_submit():
        outcomes.commit(lambda: accounts.set_role(user, Role(form.role.data), actor=current_user),
                        _("角色已修改。"))
    else:
        flash(_("请选择有效的角色。"), "danger")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/active")
@require_recent_auth
def set_active(user_id):
    user = _user_or_404(user_id)
    wanted = request.form.get("active")
    if not ConfirmForm().validate_on_submit() or wanted not in ("0", "1"):
        abort(400)
    outcomes.commit(lambda: accounts.set_active(user, wanted == "1", actor=current_user),
                    lambda _done: _("账户已启用。") if user.is_active else _("账户已停用。"))
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/exam-author")
@require_recent_auth
def set_exam_author(user_id):
    user = _user_or_404(user_id)
    wanted = request.form.get("exam_author")
    if not ConfirmForm().validate_on_submit() or wanted not in ("0", "1"):
        abort(400)
    outcomes.commit(lambda: accounts.set_exam_author(user, wanted == "1", actor=current_user),
                    lambda _done: _("已指定为命题人员。") if user.is_exam_author
                    else _("已取消命题人员资格。"))
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/reveal-id")
@require_recent_auth
def reveal_resident_id(user_id):
    user = _user_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if user.profile is None:
        abort(404)
    revealed = outcomes.commit(
        lambda: profiles.reveal_resident_id(user.profile, actor=current_user)).result
    return render_template(
        "admin/user_detail.html", user=user, role_form=SetRoleForm(role=user.role.value),
        confirm_form=ConfirmForm(), role_labels=ROLE_LABELS, revealed=revealed,
    )


@bp.get("/audit")
def audit_log():
    action = request.args.get("action", "").strip()[:64]
    events = audit.recent_events(
        page=page_argument(), per_page=current_app.config["PAGE_SIZE"], action=action or None
    )
    return render_template("admin/audit_log.html", events=events, action=action,
                           actors=audit.actor_emails(events.items))
