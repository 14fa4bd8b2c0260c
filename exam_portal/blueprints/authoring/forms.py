"""Forms for trainers: the item editor, review decisions, bulk approval, import, and the
completion of imported drafts."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from exam_portal.services.platform import labels
from exam_portal.web.forms import BaseForm, as_choices
from question_bank.formats.foreign import EXPLANATION_TO_WRITE


class ReviewForm(BaseForm):
    comment = TextAreaField(_l("审核意见或退回原因"), validators=[DataRequired(), Length(max=2000)])
    approve = SubmitField(_l("通过并发布"))
    reject = SubmitField(_l("退回修改"))


class ResolveReportForm(BaseForm):
    """A trainer's answer to an error report; outcome and reply are checked by the service."""

    outcome = RadioField(_l("处理结果"), choices=as_choices([("ACCEPTED", _l("采纳")),
                                                            ("REJECTED", _l("不采纳"))]),
                         validate_choice=False)
    reply = TextAreaField(_l("给考生的回复"))
    next = HiddenField()
    submit = SubmitField(_l("提交处理结果"))


class BulkApproveForm(BaseForm):
    comment = TextAreaField(_l("审核意见"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("批量通过所选题目"))


class ApproveAllForm(BaseForm):
    """Approving every item under review that the filtered list holds (a job)."""

    comment = TextAreaField(_l("审核意见"), validators=[DataRequired(), Length(max=2000)])
    expected = IntegerField(validators=[InputRequired(), NumberRange(min=1, max=10**7)])
    submit = SubmitField(_l("通过筛选出的全部待审核题目"))


ENCODINGS = [("auto", _l("自动识别")), ("utf-8", "UTF-8"), ("gb18030", "GB18030（GBK）"),
             ("cp1252", "Windows-1252")]
SUBJECTS = [(subject.value, label) for subject, label in labels.SUBJECTS.items()]
DIFFICULTIES = [(str(n), str(n)) for n in range(1, 6)]


class ImportOptionsForm(BaseForm):
    """How to read a file from another system: its encoding (GIFT) and the defaults for
    the fields it does not give. The node choices are the tree in force's (set by the
    view)."""

    encoding = SelectField(_l("文件编码（GIFT）"), choices=as_choices(ENCODINGS), default="auto")
    subject = SelectField(_l("默认科目"), default="",
                          choices=as_choices([("", _l("按文件或知识点确定")), *SUBJECTS]))
    difficulty = SelectField(_l("默认难度"), default="3",
                             choices=as_choices([("", _l("不设默认值")), *DIFFICULTIES]))
    node = SelectField(_l("默认大纲知识点"), default="")
    explanation = StringField(_l("没有解析的题目填入"), default=EXPLANATION_TO_WRITE,
                              validators=[Optional(), Length(max=200)])


class ImportForm(ImportOptionsForm):
    file = FileField(_l("题目文件"), validators=[FileRequired()])
    submit = SubmitField(_l("上传并预览"))


class ConfirmImportForm(ImportOptionsForm):
    token = HiddenField(validators=[DataRequired(), Length(max=64)])
    mode = RadioField(_l("导入方式"), default="all", choices=as_choices([
        ("partial", _l("导入可以导入的题目，其余的下载修改后再导入")),
        ("all", _l("全部导入；有任何一道不能导入就都不导入"))]))
    submit = SubmitField(_l("确认导入"))


class CompleteItemsForm(BaseForm):
    """A bulk action on imported drafts that need completing."""

    action = SelectField(_l("对所选题目"), choices=as_choices([
        ("node", _l("设置大纲知识点（题目改属知识点的科目）")), ("subject", _l("设置科目")),
        ("difficulty", _l("设置难度")), ("submit", _l("提交审核"))]))
    # Each needed by its own action only (the view asks for the one it needs).
    node = SelectField(_l("大纲知识点"), default="", validators=[Optional()])
    subject = SelectField(_l("科目"), choices=as_choices([("", "—"), *SUBJECTS]), default="",
                          validators=[Optional()])
    difficulty = SelectField(_l("难度"), choices=as_choices([("", "—"), *DIFFICULTIES]),
                             default="", validators=[Optional()])
    confirmed = BooleanField(_l("我已核对所选题目"), validators=[DataRequired()])
    submit = SubmitField(_l("应用到所选题目"))


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
