"""Forms of institutions, classes and assignments."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from exam_portal.web.forms import BaseForm, email_field, sensible_datetime, strip_whitespace
from question_bank.assignments import ASSIGNMENT_TITLE_MAX_CHARS, CLASS_NAME_MAX_CHARS
from question_bank.institutions import NAME_MAX_CHARS

MINUTE = "%Y-%m-%dT%H:%M"


class InstitutionForm(BaseForm):
    name = StringField(_l("机构名称"), filters=[strip_whitespace],
                       validators=[DataRequired(), Length(max=NAME_MAX_CHARS)])
    kind = SelectField(_l("类型"), validators=[InputRequired()])
    province = SelectField(_l("所在省份"), validators=[Optional()])
    submit = SubmitField(_l("保存"))


class NewInstitutionForm(InstitutionForm):
    admin_email = email_field(_l("机构管理员（培训师账号的邮箱）"))
    submit = SubmitField(_l("创建机构"))


class TrainerEmailForm(BaseForm):
    email = email_field(_l("培训师账号的邮箱"))
    submit = SubmitField(_l("添加"))


class ClassForm(BaseForm):
    institution = SelectField(_l("机构"), validators=[InputRequired()])
    name = StringField(_l("班级名称"), filters=[strip_whitespace],
                       validators=[DataRequired(), Length(max=CLASS_NAME_MAX_CHARS)])
    level = SelectField(_l("级别"), validators=[InputRequired()])
    exam_session = SelectField(_l("备考的考试批次（可选）"), validators=[Optional()])
    starts_on = DateField(_l("开课日期"), validators=[InputRequired()])
    ends_on = DateField(_l("结课日期"), validators=[InputRequired()])
    submit = SubmitField(_l("保存"))


class JoinForm(BaseForm):
    code = StringField(_l("班级邀请码"), filters=[strip_whitespace],
                       validators=[DataRequired(), Length(max=20)])
    submit = SubmitField(_l("查看班级"))


class ConsentForm(BaseForm):
    code = StringField(validators=[Optional(), Length(max=20)])
    consent = BooleanField(_l("我已了解以上内容，同意向本班培训师共享这些学习数据"),
                           validators=[DataRequired(_l("请先勾选同意。"))])
    submit = SubmitField(_l("确认加入班级"))


class ImportForm(BaseForm):
    file = FileField(_l("名单文件（CSV 或 XLSX，第一行为表头：邮箱、姓名）"),
                     validators=[FileRequired(_l("请选择文件。"))])
    submit = SubmitField(_l("导入并邀请"))


class AssignmentForm(BaseForm):
    title = StringField(_l("作业名称"), filters=[strip_whitespace],
                        validators=[DataRequired(), Length(max=ASSIGNMENT_TITLE_MAX_CHARS)])
    kind = SelectField(_l("作业类型"), validators=[InputRequired()])
    subject = SelectField(_l("科目"), validators=[InputRequired()])
    chapters = SelectMultipleField(_l("章节（章节练习）"), validators=[Optional()])
    item_count = SelectField(_l("题量（章节练习）"), validators=[Optional()])
    form_id = SelectField(_l("历年真题"), validators=[Optional()])
    due_at = DateTimeLocalField(_l("截止时间（北京时间）"), format=MINUTE,
                                validators=[InputRequired(), sensible_datetime])
    submit = SubmitField(_l("布置作业"))
