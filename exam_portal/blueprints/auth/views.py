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
from exam_portal.extensions import client_address, limiter
from exam_portal.services.accounts import accounts, login_throttle, password_resets, sign_ups
from exam_portal.web import outcomes, security

bp = Blueprint("auth", __name__, url_prefix="/auth")

# A sign-up link that no longer holds: the page is left, not shown again.
_SIGN_UP_REFUSED = (sign_ups.InvalidSignUpLink, accounts.EmailTaken)


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
        outcomes.commit(lambda: sign_ups.request_sign_up(form.email.data, session.get("locale")))
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
        done = outcomes.commit(lambda: sign_ups.confirm_sign_up(token, form.password.data),
                               field=form.password, quiet=_SIGN_UP_REFUSED)
        if isinstance(done.refusal, _SIGN_UP_REFUSED):
            flash(str(done.refusal), "danger")
            taken = isinstance(done.refusal, accounts.EmailTaken)
            return redirect(url_for("auth.login" if taken else "auth.sign_up"))
        if done.ok:
            _start_session(done.result)
            # Said after the fresh session starts: it would drop a message flashed before.
            flash(_("注册成功。请完善个人资料，查看你可以报考的级别。"), "success")
            return redirect(url_for("account.edit_profile"))
    return render_template("auth/confirm_sign_up.html", form=form, email=email)


def _with_next(form):
    # The page to return to once signed in rides along in the form.
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    return form


def _admit(admit) -> outcomes.Outcome:
    # Counted before its password is checked, so that guesses sent at once cannot pass
    # the limit while each is hashed: a commit of its own.
    return outcomes.commit(admit, refusals=login_throttle.TooManyAttempts)


def _too_many(refusal: login_throttle.TooManyAttempts, template: str, **context):
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
    form = _with_next(LoginForm())
    if form.validate_on_submit():
        devices = login_throttle.devices_in(request.cookies.get(login_throttle.DEVICE_COOKIE))
        admitted = _admit(
            lambda: login_throttle.admit_login(form.email.data, client_address(), devices))
        if not admitted.ok:
            return _too_many(admitted.refusal, "auth/login.html", form=form)
        user = outcomes.commit(lambda: _authenticate(form, admitted.result)).result
        if user is not None:
            _start_session(user)
            response = redirect(security.safe_next(form.next.data, _home_for(user)))
            _remember_device(response, user.id)
            return response
        # One message for unknown email, wrong password and inactive account.
        flash(_("电子邮箱或密码不正确。"), "danger")
    return render_template("auth/login.html", form=form)


def _authenticate(form: LoginForm, ticket: login_throttle.Ticket):
    # A right password takes its attempt back: only wrong ones count towards the limit.
    user = accounts.authenticate(form.email.data, form.password.data)
    if user is not None:
        login_throttle.forgive(ticket)
    return user


@bp.post("/logout")
def logout():
    outcomes.commit(lambda: accounts.end_session(current_user))
    locale = session.get("locale")
    logout_user()
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("你已安全退出。"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/reauthenticate", methods=["GET", "POST"])
def reauthenticate():
    form = _with_next(ReauthenticateForm())
    if form.validate_on_submit():
        admitted = _admit(lambda: login_throttle.admit_reauthentication(current_user))
        if not admitted.ok:
            return _too_many(admitted.refusal, "auth/reauthenticate.html", form=form)
        if accounts.password_is_right(current_user, form.password.data):
            outcomes.commit(lambda: login_throttle.forgive(admitted.result))
            security.mark_authenticated()
            return redirect(security.safe_next(form.next.data, url_for("main.index")))
        flash(_("密码不正确。"), "danger")
    return render_template("auth/reauthenticate.html", form=form)


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_LIMIT_PER_ADDRESS"], methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        outcomes.commit(lambda: password_resets.request_password_reset(form.email.data))
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
        done = outcomes.commit(lambda: password_resets.reset_password(token, form.password.data).id,
                               _("密码已重置，请用新密码登录。"), field=form.password,
                               quiet=password_resets.InvalidResetLink)
        if isinstance(done.refusal, password_resets.InvalidResetLink):
            # Spent or outdated while the new password was hashed (the same link in
            # another tab, a password changed meanwhile).
            flash(str(done.refusal), "danger")
            return redirect(url_for("auth.forgot_password"))
        if done.ok:
            logout_user()
            session.pop("auth_at", None)
            response = redirect(url_for("auth.login"))
            # Whoever holds the mailed link is the owner: this browser is theirs, and
            # logs in even while guessers keep the account waiting for anyone else.
            _remember_device(response, done.result)
            return response
    return render_template("auth/reset_password.html", form=form)
