"""Forms of trainer invitations."""

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from exam_portal.models.trainer_invitations import INVITEE_NAME_MAX_CHARS
from exam_portal.web.forms import BaseForm, email_field, strip_whitespace


class InviteTrainerForm(BaseForm):
    name = StringField(_l("姓名"), filters=[strip_whitespace],
                       validators=[DataRequired(), Length(max=INVITEE_NAME_MAX_CHARS)])
    email = email_field(_l("电子邮箱"))
    submit = SubmitField(_l("发送邀请"))


class AcceptInvitationForm(BaseForm):
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(
        _l("再次输入密码"),
        validators=[DataRequired(), EqualTo("password", message=_l("两次输入的密码不一致。"))],
    )
    submit = SubmitField(_l("创建培训师账号"))
