"""Forms of continuing education: a course, a completion, an attendance sheet, a
declared qualification, and a decision with its reason."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from exam_portal.services.platform import labels
from exam_portal.web.forms import BaseForm, as_choices, email_field, strip_whitespace
from question_bank.continuing_education import TITLE_MAX_CHARS, CourseCategory, Delivery
from question_bank.levels import Level

CATEGORIES = {CourseCategory.ETHICS: _l("职业道德"), CourseCategory.THEORY: _l("专业理论"),
              CourseCategory.PRACTICE: _l("实务技能"), CourseCategory.POLICY: _l("政策法规"),
              CourseCategory.SUPERVISION: _l("督导"), CourseCategory.OTHER: _l("其他")}
DELIVERIES = {Delivery.ONLINE: _l("线上"), Delivery.IN_PERSON: _l("线下面授")}


class CourseForm(BaseForm):
    institution = SelectField(_l("提供机构"), coerce=int, validate_choice=False)
    title = StringField(_l("课程名称"), filters=[strip_whitespace],
                        validators=[DataRequired(), Length(max=TITLE_MAX_CHARS)])
    hours = StringField(_l("学时（可为半学时，如 3.5）"), filters=[strip_whitespace],
                        validators=[DataRequired()])
    category = SelectField(_l("类别"), choices=as_choices(
        [(c.value, label) for c, label in CATEGORIES.items()]))
    delivery = SelectField(_l("形式"), choices=as_choices(
        [(d.value, label) for d, label in DELIVERIES.items()]))
    starts_on = DateField(_l("开始日期"), validators=[DataRequired()])
    ends_on = DateField(_l("结束日期"), validators=[DataRequired()])
    submit = SubmitField(_l("保存"))


class CompletionForm(BaseForm):
    email = email_field(_l("学员的门户账户邮箱"))
    completed_on = DateField(_l("完成日期（空：课程结束日期）"), validators=[Optional()])
    submit = SubmitField(_l("记录完成"))


class ClassLinkForm(BaseForm):
    """The class whose assignments make up an online course (0: none)."""

    training_class = SelectField(_l("由班级作业组成"), coerce=int, validate_choice=False)
    submit = SubmitField(_l("保存班级"))


class AttendanceForm(BaseForm):
    file = FileField(_l("签到表（CSV 或 XLSX：邮箱、完成日期）"),
                     validators=[FileRequired(_l("请选择文件。"))])
    submit = SubmitField(_l("导入"))


class DeclareForm(BaseForm):
    level = SelectField(_l("级别"), choices=as_choices(
        [(level.value, labels.LEVELS[level]) for level in Level]))
    passed_on = DateField(_l("取得资格日期"), validators=[DataRequired()])
    certificate_number = StringField(_l("证书编号（管理号）"), filters=[strip_whitespace],
                                     validators=[DataRequired(), Length(max=64)])
    document = FileField(_l("证书扫描件（PDF、JPG 或 PNG）"),
                         validators=[FileRequired(_l("请选择文件。"))])
    submit = SubmitField(_l("提交登记"))


class DecisionForm(BaseForm):
    action = RadioField(_l("决定"),
                        choices=as_choices([("approve", _l("批准")), ("reject", _l("驳回"))]),
                        validators=[DataRequired(_l("请选择批准或驳回。"))])
    reason = TextAreaField(_l("原因（驳回时必填）"), filters=[strip_whitespace],
                           validators=[Length(max=500)])
    submit = SubmitField(_l("提交"))
