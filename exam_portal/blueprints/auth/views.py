"""Sign up, log in and out, re-authenticate, reset a forgotten password."""

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from exam_portal.blueprints.auth.forms import (
    ConfirmSignUpForm,
    ForgotPasswordForm,
    LoginForm,
    ReauthenticateForm,
    ResetPasswordForm,
    SignUpForm,
)
from exam_portal.extensions import client_address, db, limiter
from exam_portal.services import ServiceError
from exam_portal.services.accounts import accounts, login_throttle, password_resets, sign_ups
from exam_portal.web import security

bp = Blueprint("auth", __name__, url_prefix="/auth")


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
        # The same answer for every address: the mail says what happened.
        sign_ups.request_sign_up(form.email.data, session.get("locale"))
        db.session.commit()
        return redirect(url_for("auth.sign_up_sent"))
    return render_template("auth/sign_up.html", form=form)


@bp.get("/sign-up/sent")
def sign_up_sent():
    return render_template(
        "auth/sign_up_sent.html",
        hours=max(1, current_app.config["SIGN_UP_LINK_MAX_AGE_SECONDS"] // 3600))


@bp.route("/sign-up/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGN_UP_LIMIT_PER_ADDRESS"], methods=["POST"])
def confirm_sign_up(token):
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    try:
        email = sign_ups.sign_up_email(token)
    except sign_ups.InvalidSignUpLink as error:
        flash(str(error), "danger")
        return redirect(url_for("auth.sign_up"))
    form = ConfirmSignUpForm()
    if form.validate_on_submit():
        try:
            user = sign_ups.confirm_sign_up(token, form.password.data)
        except (sign_ups.InvalidSignUpLink, accounts.EmailTaken) as error:
            db.session.rollback()
            flash(str(error), "danger")
            taken = isinstance(error, accounts.EmailTaken)
            return redirect(url_for("auth.login" if taken else "auth.sign_up"))
        except ServiceError as error:
            db.session.rollback()
            form.password.errors = [*form.password.errors, str(error)]
        else:
            db.session.commit()
            _start_session(user)
            flash(_("注册成功。请完善个人资料，查看你可以报考的级别。"), "success")
            return redirect(url_for("account.edit_profile"))
    return render_template("auth/confirm_sign_up.html", form=form, email=email)


def _too_many(refusal: login_throttle.TooManyAttempts, template: str, **context):
    flash(str(refusal), "danger")
    response = make_response(render_template(template, **context), 429)
    response.headers["Retry-After"] = str(refusal.wait_seconds)
    return response


def _remember_device(response, user_id: int) -> None:
    # The browser's device cookie for this account (services/login_throttle): long-lived,
    # out of scripts' reach, Secure with the session cookie (production), sent only by
    # this site's own auth pages (SameSite=Strict: a cross-site form never carries it).
    cookie = login_throttle.DEVICE_COOKIE
    response.set_cookie(
        cookie, login_throttle.device_cookie_for(request.cookies.get(cookie), user_id),
        max_age=login_throttle.DEVICE_COOKIE_MAX_AGE, path="/auth", httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"], samesite="Strict",
    )


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        devices = login_throttle.devices_in(request.cookies.get(login_throttle.DEVICE_COOKIE))
        try:
            ticket = login_throttle.admit_login(form.email.data, client_address(), devices)
        except login_throttle.TooManyAttempts as refusal:
            db.session.rollback()
            return _too_many(refusal, "auth/login.html", form=form)
        # The attempt counts before its password is checked, so that guesses sent at
        # once cannot pass the limit while each is hashed: a commit of its own.
        db.session.commit()
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_throttle.forgive(ticket)
        db.session.commit()
        if user is not None:
            _start_session(user)
            response = redirect(security.safe_next(form.next.data, _home_for(user)))
            _remember_device(response, user.id)
            return response
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
def reauthenticate():
    form = ReauthenticateForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        try:
            ticket = login_throttle.admit_reauthentication(current_user)
        except login_throttle.TooManyAttempts as refusal:
            db.session.rollback()
            return _too_many(refusal, "auth/reauthenticate.html", form=form)
        db.session.commit()  # counted first, as at login
        if accounts.password_is_right(current_user, form.password.data):
            login_throttle.forgive(ticket)
            db.session.commit()
            security.mark_authenticated()
            return redirect(security.safe_next(form.next.data, url_for("main.index")))
        flash(_("密码不正确。"), "danger")
    return render_template("auth/reauthenticate.html", form=form)


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_LIMIT_PER_ADDRESS"], methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        password_resets.request_password_reset(form.email.data)
        db.session.commit()
        flash(_("如果该邮箱已注册，我们已发送一封包含重置链接的邮件。"), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_LIMIT_PER_ADDRESS"], methods=["POST"])
def reset_password(token):
    try:
        password_resets.check_reset_token(token)
    except password_resets.InvalidResetLink as error:
        flash(str(error), "danger")
        return redirect(url_for("auth.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = password_resets.reset_password(token, form.password.data)
        except password_resets.InvalidResetLink as error:
            # Spent or outdated while the new password was hashed (the same link in
            # another tab, a password changed meanwhile).
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for("auth.forgot_password"))
        except ServiceError as error:
            db.session.rollback()
            form.password.errors = [*form.password.errors, str(error)]
        else:
            user_id = user.id
            db.session.commit()
            logout_user()
            session.pop("auth_at", None)
            flash(_("密码已重置，请用新密码登录。"), "success")
            response = redirect(url_for("auth.login"))
            # Whoever holds the mailed link is the owner: this browser is theirs, and
            # logs in even while guessers keep the account waiting for anyone else.
            _remember_device(response, user_id)
            return response
    return render_template("auth/reset_password.html", form=form)
