"""Forms for trainers: the item editor, review decisions, bulk approval, import."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from exam_portal.web.forms import BaseForm, as_choices


class ReviewForm(BaseForm):
    comment = TextAreaField(_l("审核意见或退回原因"), validators=[DataRequired(), Length(max=2000)])
    approve = SubmitField(_l("通过并发布"))
    reject = SubmitField(_l("退回修改"))


class BulkApproveForm(BaseForm):
    comment = TextAreaField(_l("审核意见"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("批量通过所选题目"))


class ImportForm(BaseForm):
    file = FileField(_l("题目文件"), validators=[FileRequired()])
    submit = SubmitField(_l("上传并预览"))


class ConfirmImportForm(BaseForm):
    token = HiddenField(validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("确认导入"))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ItemForm(BaseForm):
    """Everything a trainer writes for one item; which fields apply depends on the type."""

    # Chosen when the item is created (exam authors only see the secure pool); fixed after.
    pool = SelectField(_l("题库"), default="OPEN", validate_choice=True)

    stem = TextAreaField(_l("题干"), validators=[DataRequired(), Length(max=20_000)])
    option_a = TextAreaField(_l("选项 A"), validators=[Optional(), Length(max=1000)])
    option_b = TextAreaField(_l("选项 B"), validators=[Optional(), Length(max=1000)])
    option_c = TextAreaField(_l("选项 C"), validators=[Optional(), Length(max=1000)])
    option_d = TextAreaField(_l("选项 D"), validators=[Optional(), Length(max=1000)])
    option_e = TextAreaField(_l("选项 E"), validators=[Optional(), Length(max=1000)])
    keys = MultiCheckboxField(_l("正确答案"), choices=as_choices((x, x) for x in "ABCDE"))
    fixed_order = BooleanField(_l("固定选项顺序（如含“以上都对”）"))
    points = StringField(_l("分值"), validators=[Optional(), Length(max=10)])
    outline = TextAreaField(_l("小题与答题要点"), validators=[Optional(), Length(max=20_000)])
    explanation = TextAreaField(_l("解析"), validators=[DataRequired(), Length(max=20_000)])
    difficulty = SelectField(_l("难度"), choices=as_choices((str(n), str(n)) for n in range(1, 6)),
                             default="3")
    # The syllabus version the picker shows (chosen when the page was opened): switching
    # reloads the page, so codes are never read against a tree they were not picked from.
    syllabus_version = HiddenField()
    syllabus = SelectMultipleField(_l("大纲知识点"), validators=[DataRequired()])
    tags = StringField(_l("标签（用逗号分隔）"), validators=[Optional(), Length(max=300)])
    source = SelectField(_l("来源"), choices=as_choices([
        ("original", _l("原创")), ("mock", _l("模拟题")), ("past-paper-style", _l("仿真题"))]))
    law_statute = StringField(_l("法规名称"), validators=[Optional(), Length(max=200)])
    law_article = StringField(_l("条款"), validators=[Optional(), Length(max=100)])
    law_valid_from = DateField(_l("该规定生效日期"), validators=[Optional()])
    law_valid_to = DateField(_l("该规定失效日期（仍有效则留空）"), validators=[Optional()])
    submit = SubmitField(_l("保存"))


class RelinkForm(BaseForm):
    """Accepting the proposed 2025 links of the ticked items (or of one item)."""

    confirmed = BooleanField(_l("我已逐项核对所选题目的建议关联"), validators=[DataRequired()])
    submit = SubmitField(_l("接受所选题目的建议关联"))
