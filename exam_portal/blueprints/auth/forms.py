"""Forms for signing up, logging in and resetting a password."""

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, PasswordField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from exam_portal.web.forms import BaseForm, email_field


class SignUpForm(BaseForm):
    email = email_field(_l("电子邮箱"))
    submit = SubmitField(_l("注册"))


class ConfirmSignUpForm(BaseForm):
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(
        _l("再次输入密码"),
        validators=[DataRequired(), EqualTo("password", message=_l("两次输入的密码不一致。"))],
    )
    submit = SubmitField(_l("完成注册"))


class LoginForm(BaseForm):
    email = email_field(_l("电子邮箱"), check_format=False)
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()
    submit = SubmitField(_l("登录"))


class ReauthenticateForm(BaseForm):
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()
    submit = SubmitField(_l("确认"))


class ForgotPasswordForm(BaseForm):
    email = email_field(_l("电子邮箱"))
    submit = SubmitField(_l("发送重置链接"))


class ResetPasswordForm(BaseForm):
    password = PasswordField(_l("新密码"), validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(
        _l("再次输入新密码"),
        validators=[DataRequired(), EqualTo("password", message=_l("两次输入的密码不一致。"))],
    )
    submit = SubmitField(_l("设置新密码"))


class LogoutForm(BaseForm):
    submit = SubmitField(_l("退出登录"))
