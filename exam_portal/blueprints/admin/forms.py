"""Forms for administrators: staff accounts and roles."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SubmitField
from wtforms.validators import InputRequired

from exam_portal.models.accounts import Role
from exam_portal.web.forms import BaseForm, as_choices, email_field

ROLE_LABELS = {
    Role.CANDIDATE: _l("考生"),
    Role.TRAINER: _l("培训师"),
    Role.ADMIN: _l("管理员"),
}


class CreateUserForm(BaseForm):
    email = email_field(_l("电子邮箱"))
    role = SelectField(
        _l("角色"),
        choices=as_choices([(r.value, ROLE_LABELS[r]) for r in (Role.TRAINER, Role.ADMIN)]),
        validators=[InputRequired()],
    )
    submit = SubmitField(_l("创建账户并发送设置密码邮件"))


class SetRoleForm(BaseForm):
    role = SelectField(
        _l("角色"), choices=as_choices([(r.value, ROLE_LABELS[r]) for r in Role]),
        validators=[InputRequired()],
    )
    submit = SubmitField(_l("修改角色"))
