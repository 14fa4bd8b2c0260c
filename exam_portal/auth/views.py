"""Sign up, log in and out, re-authenticate, reset a forgotten password."""

import hashlib

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from .. import security
from ..extensions import db, limiter
from ..services import ServiceError, accounts
from .forms import (
    ForgotPasswordForm,
    LoginForm,
    ReauthenticateForm,
    ResetPasswordForm,
    SignUpForm,
)

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _account_key() -> str:
    email = accounts.normalise_email(request.form.get("email", ""))
    return "login-account:" + hashlib.sha256(email.encode()).hexdigest()


def _start_session(user) -> None:
    # A fresh session on login: nothing an attacker planted survives (fixation).
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    login_user(user)
    security.mark_authenticated()


def _home_for(user) -> str:
    return url_for("account.overview")


@bp.route("/sign-up", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGN_UP_LIMIT_PER_ADDRESS"], methods=["POST"])
def sign_up():
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            user = accounts.sign_up(form.email.data, form.password.data, session.get("locale"))
        except ServiceError as error:
            db.session.rollback()
            field = form.email if isinstance(error, accounts.EmailTaken) else form.password
            field.errors = [*field.errors, str(error)]
        else:
            db.session.commit()
            _start_session(user)
            flash(_("注册成功。请完善个人资料，查看你可以报考的级别。"), "success")
            return redirect(url_for("account.edit_profile"))
    return render_template("auth/sign_up.html", form=form)


def _failed(response) -> bool:
    return response.status_code != 302  # a login that worked redirects


# Both limits count failed logins only: an exam centre puts hundreds of candidates
# behind one NAT address, all logging in within minutes of the start (RELIABILITY
# LD-3), while guessing fails; once an address or an account is over its limit, every
# login from it is refused until the window passes, right password or not. A failure
# is counted when its answer is ready, so guesses already in flight when the limit is
# reached still get their answer: the overrun is bounded by the server's concurrency.
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"],
               deduct_when=_failed)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
)
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        db.session.commit()
        if user is not None:
            _start_session(user)
            return redirect(security.safe_next(form.next.data, _home_for(user)))
        # One message for unknown email, wrong password and inactive account.
        flash(_("电子邮箱或密码不正确。"), "danger")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    accounts.end_session(current_user)
    db.session.commit()
    locale = session.get("locale")
    logout_user()
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("你已安全退出。"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/reauthenticate", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"])
def reauthenticate():
    form = ReauthenticateForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        if accounts.password_is_right(current_user, form.password.data):
            security.mark_authenticated()
            return redirect(security.safe_next(form.next.data, url_for("main.index")))
        flash(_("密码不正确。"), "danger")
    return render_template("auth/reauthenticate.html", form=form)


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_LIMIT_PER_ADDRESS"], methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        db.session.commit()
        flash(_("如果该邮箱已注册，我们已发送一封包含重置链接的邮件。"), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_LIMIT_PER_ADDRESS"], methods=["POST"])
def reset_password(token):
    try:
        accounts.check_reset_token(token)
    except accounts.InvalidResetLink as error:
        flash(str(error), "danger")
        return redirect(url_for("auth.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data)
        except accounts.InvalidResetLink as error:
            # Spent or outdated while the new password was hashed (the same link in
            # another tab, a password changed meanwhile).
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for("auth.forgot_password"))
        except ServiceError as error:
            db.session.rollback()
            form.password.errors = [*form.password.errors, str(error)]
        else:
            db.session.commit()
            logout_user()
            session.pop("auth_at", None)
            flash(_("密码已重置，请用新密码登录。"), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)
