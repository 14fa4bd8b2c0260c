"""Forms for the candidate profile, experience, certificates, ID photo and passwords."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional

from exam_portal.services.platform import labels
from exam_portal.web.areas import AreaField
from exam_portal.web.forms import BaseForm, as_choices
from question_bank.levels import CertificateMethod, Education, Level


class ProfileForm(BaseForm):
    real_name = StringField(_l("真实姓名"), validators=[DataRequired(), Length(max=64)])
    resident_id = StringField(
        _l("居民身份证号码"), validators=[Optional(), Length(max=32)]
    )
    id_consent = BooleanField(
        _l("我同意本门户为报考资格审核、准考证和证书加密保存并处理我的身份证号码。")
    )
    education = SelectField(
        _l("最高学历"),
        choices=as_choices([(e.value, labels.EDUCATIONS[e]) for e in Education]),
        validators=[InputRequired()],
    )
    major = StringField(_l("所学专业"), validators=[DataRequired(), Length(max=100)])
    is_social_work_major = BooleanField(_l("社会工作专业"))
    graduation_date = DateField(_l("取得学历（毕业）日期"), validators=[Optional()])
    is_full_time = BooleanField(_l("全日制学习"), default=True)
    region = AreaField(_l("所在地区"), validators=[InputRequired()])
    submit = SubmitField(_l("保存资料"))


class EmploymentPeriodForm(BaseForm):
    employer = StringField(_l("工作单位"), validators=[DataRequired(), Length(max=200)])
    start_on = DateField(_l("开始日期"), validators=[DataRequired()])
    end_on = DateField(_l("结束日期（在职可不填）"), validators=[Optional()])
    # No default: a job counted as social work by mistake would make a candidate look
    # eligible, so the candidate says which it is each time.
    is_social_work = RadioField(
        _l("这段工作是否从事社会工作"),
        choices=as_choices([("y", _l("是，从事社会工作")), ("n", _l("否，其他工作"))]),
        validators=[InputRequired(message=_l("请选择这段工作是否从事社会工作。"))])
    submit = SubmitField(_l("添加工作经历"))


class HeldCertificateForm(BaseForm):
    level = SelectField(
        _l("证书级别"), choices=as_choices([(lv.value, labels.LEVELS[lv]) for lv in Level]),
        validators=[InputRequired()],
    )
    obtained_on = DateField(_l("取得日期"), validators=[DataRequired()])
    method = SelectField(
        _l("取得方式"),
        choices=as_choices([(m.value, labels.METHODS[m]) for m in CertificateMethod]),
        validators=[InputRequired()],
    )
    region_limit = AreaField(_l("限定有效地区（单独划线地区）"), validators=[Optional()])
    certificate_number = StringField(
        _l("证书编号（管理号）"), validators=[Optional(), Length(max=64)]
    )
    submit = SubmitField(_l("添加证书"))


class PhotoForm(BaseForm):
    photo = FileField(_l("标准证件照（JPG）"), validators=[FileRequired(_l("请选择照片文件。"))])
    submit = SubmitField(_l("上传照片"))


class ConfirmForm(BaseForm):
    """A button-only form: its one job is to carry the CSRF token."""

    submit = SubmitField(_l("确定"))


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(_l("当前密码"), validators=[DataRequired(), Length(max=1024)])
    password = PasswordField(_l("新密码"), validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(
        _l("再次输入新密码"),
        validators=[DataRequired(), EqualTo("password", message=_l("两次输入的密码不一致。"))],
    )
    submit = SubmitField(_l("修改密码"))
