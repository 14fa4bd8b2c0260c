"""Forms for exam sessions, pass lines, registration, its evidence and its review, fees,
payments, seats and the timetable."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from exam_portal.models.sittings import SessionMode, VerificationMode
from exam_portal.services.platform import labels
from exam_portal.web.areas import AreaField
from exam_portal.web.forms import BaseForm, as_choices, finite_number, sensible_datetime
from question_bank import syllabus
from question_bank.levels import Level

MODE_LABELS = {
    SessionMode.ONLINE: _l("网上考试（本门户）"),
    SessionMode.PAPER: _l("纸笔考试（导入成绩）"),
}
VERIFICATION_LABELS = {
    VerificationMode.BEFORE_EXAM: _l("考前审核：审核通过才能参加考试"),
    VerificationMode.AFTER_EXAM: _l("考后审核：先考试，成绩待审核通过后生效"),
}
_MINUTE = "%Y-%m-%dT%H:%M"


class SessionForm(BaseForm):
    year = IntegerField(_l("考试年度"), validators=[InputRequired(), NumberRange(2000, 2100)])
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=200)])
    levels = SelectMultipleField(
        _l("级别"), choices=as_choices([(level.value, labels.LEVELS[level]) for level in Level]),
        option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False),
        validators=[DataRequired()])
    registration_opens_at = DateTimeLocalField(_l("报名开始（北京时间）"), format=_MINUTE,
                                               validators=[InputRequired(), sensible_datetime])
    registration_closes_at = DateTimeLocalField(_l("报名截止（北京时间）"), format=_MINUTE,
                                                validators=[InputRequired(), sensible_datetime])
    exam_opens_at = DateTimeLocalField(_l("考试开始（北京时间）"), format=_MINUTE,
                                       validators=[InputRequired(), sensible_datetime])
    exam_closes_at = DateTimeLocalField(_l("考试结束（北京时间）"), format=_MINUTE,
                                        validators=[InputRequired(), sensible_datetime])
    mode = SelectField(_l("考试方式"), choices=as_choices(
        [(mode.value, label) for mode, label in MODE_LABELS.items()]),
        validators=[InputRequired()])
    # "" takes the version the session's year uses; only loaded versions are offered.
    syllabus_version = SelectField(_l("考试大纲版本"), choices=as_choices(
        [("", _l("按考试年度选用"))]
        + [(code, _l(syllabus.VERSIONS[code].label)) for code in sorted(syllabus.VERSIONS)
           if syllabus.is_loaded(code)]),
        validators=[Optional()])
    law_cutoff = DateField(_l("法规截止日期"), validators=[InputRequired()])
    experience_cutoff = DateField(_l("工作年限计算截止日期"), validators=[InputRequired()])
    verification_mode = SelectField(_l("报名审核方式"), choices=as_choices(
        [(mode.value, label) for mode, label in VERIFICATION_LABELS.items()]),
        validators=[InputRequired()])
    submit = SubmitField(_l("保存"))


class PassLineForm(BaseForm):
    subject = SelectField(_l("科目"), validators=[InputRequired()])
    region = AreaField(_l("适用地区"), validators=[Optional()])
    line = DecimalField(_l("合格线（分）"), places=1, validators=[
        InputRequired(), finite_number,
        NumberRange(0, 100, message=_l("合格线应在 0 到 100 分之间。"))])
    submit = SubmitField(_l("设置合格线"))

    def __init__(self, *args, subjects, locale: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.subject.choices = as_choices(
            [(subject.value, labels.SUBJECTS[subject]) for subject in subjects])
        self.region.set_provinces(locale, blank=_l("全国线"))


class RegisterForm(BaseForm):
    level = SelectField(_l("报考级别"), validators=[InputRequired(_l("请选择报考级别。"))])
    region = AreaField(_l("报考地区"), validators=[InputRequired(_l("请选择报考地区。"))])
    declared = BooleanField(
        _l("我承诺所填信息真实、准确，符合报考条件；如有不实，自愿承担相应责任。"),
        validators=[DataRequired(_l("请阅读并勾选报考承诺。"))])
    submit = SubmitField(_l("报名"))

    def __init__(self, *args, levels, locale: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.level.choices = as_choices([(level.value, labels.LEVELS[level])
                                         for level in levels])
        self.region.set_provinces(locale, blank=_l("请选择"))


class ReviewForm(BaseForm):
    # No default outcome: a refused submission must never come back set to "verify".
    action = SelectField(_l("审核结果"), choices=as_choices(
        [("", _l("请选择")), ("verify", _l("审核通过")), ("reject", _l("退回"))]),
        validators=[InputRequired(message=_l("请选择审核结果。"))])
    reason = TextAreaField(_l("原因（退回时必填，考生可见）"), validators=[
        Length(max=500, message=_l("原因最多 %(max)d 个字。"))])
    submit = SubmitField(_l("提交审核结果"))

    def validate_reason(self, field):
        if self.action.data == "reject" and not (field.data or "").strip():
            raise ValidationError(_l("退回报名须填写原因。"))


class DecisionForm(BaseForm):
    """One registration's review decision, on its review page: verify, or reject with a
    reason after a second, confirming step (`confirmed`)."""

    reason = TextAreaField(_l("审核意见（退回时必填，考生可见）"), validators=[
        Length(max=500, message=_l("原因最多 %(max)d 个字。"))])
    # The documents the reviewer saw (evidence.fingerprint): a decision on documents
    # that changed since is refused.
    evidence = HiddenField(validators=[DataRequired(), Length(max=64)])
    confirmed = HiddenField()
    verify = SubmitField(_l("通过审核"))
    reject = SubmitField(_l("退回这条报名"))

    def validate_reason(self, field):
        if self.reject.data and not (field.data or "").strip():
            raise ValidationError(_l("退回报名须填写原因。"))


class DocumentForm(BaseForm):
    target = SelectField(_l("材料类别"),
                         validators=[InputRequired(_l("请选择这份材料证明什么。"))])
    file = FileField(_l("文件（PDF、JPG 或 PNG）"), validators=[FileRequired(_l("请选择文件。"))])
    submit = SubmitField(_l("上传材料"))


class ScoreImportForm(BaseForm):
    file = FileField(_l("成绩文件（CSV 或 XLSX）"), validators=[FileRequired(_l("请选择文件。"))])
    submit = SubmitField(_l("上传并预览"))


class SittingChangeForm(BaseForm):
    minutes = IntegerField(_l("分钟"), validators=[
        InputRequired(_l("请填写分钟数。")),
        NumberRange(1, 240, message=_l("分钟数应在 1 到 240 之间。"))])
    reason = StringField(_l("原因（记入审计日志）"), validators=[
        DataRequired(_l("请填写原因（例如经核实的系统故障）。")),
        Length(max=500, message=_l("原因最多 %(max)d 个字。"))])


class ConfirmScoreImportForm(BaseForm):
    token = HiddenField(validators=[DataRequired(), Length(max=64)])
    reason = StringField(_l("修改原因（修改已有成绩时必填）"), validators=[
        Length(max=500, message=_l("原因最多 %(max)d 个字。"))])
    submit = SubmitField(_l("确认导入"))


class CorrectScoreForm(BaseForm):
    admission_number = StringField(_l("准考证号"), validators=[
        DataRequired(_l("请填写准考证号。")), Length(max=20)])
    subject = SelectField(_l("科目"), validators=[InputRequired()])
    score = DecimalField(_l("成绩"), places=1, validators=[
        InputRequired(_l("请填写成绩。")), finite_number,
        NumberRange(0, 200, message=_l("成绩不能为负。"))])
    reason = StringField(_l("原因（记入审计日志）"), validators=[
        DataRequired(_l("更正成绩须填写原因。")),
        Length(max=500, message=_l("原因最多 %(max)d 个字。"))])
    submit = SubmitField(_l("更正成绩"))

    def __init__(self, *args, subjects, **kwargs):
        super().__init__(*args, **kwargs)
        self.subject.choices = as_choices(
            [(subject.value, labels.SUBJECTS[subject]) for subject in subjects])


class SeniorReviewForm(BaseForm):
    outcome = SelectField(_l("评审结果"), choices=as_choices(
        [("", _l("请选择")), ("passed", _l("评审通过")), ("failed", _l("评审未通过"))]),
        validators=[InputRequired(_l("请选择评审结果。"))])
    note = StringField(_l("说明（记入审计日志）"), validators=[
        DataRequired(_l("请填写评审说明（例如评审委员会的决定文号）。")),
        Length(max=500, message=_l("说明最多 %(max)d 个字。"))])
    submit = SubmitField(_l("记录评审结果"))


def _whole_fen(form, field) -> None:
    """Yuan with at most two decimals: an amount is stored in whole fen."""
    if field.data is not None and field.data * 100 != int(field.data * 100):
        raise ValidationError(_l("金额最多两位小数。"))


class FeeSettingsForm(BaseForm):
    fee = DecimalField(_l("每科考试费（元）"), places=2, validators=[
        InputRequired(_l("请填写每科考试费（不收费填 0）。")), finite_number,
        NumberRange(0, 1000, message=_l("每科考试费应在 0 到 1000 元之间。")), _whole_fen])
    payment_deadline = DateTimeLocalField(_l("缴费截止（北京时间）"), format=_MINUTE,
                                          validators=[Optional(), sensible_datetime])
    submit = SubmitField(_l("保存缴费设置"))


class UploadForm(BaseForm):
    file = FileField(_l("文件（CSV，UTF-8 或 GBK/GB18030 编码）"),
                     validators=[FileRequired(_l("请选择文件。"))])
    submit = SubmitField(_l("上传并预览"))


class ConfirmUploadForm(BaseForm):
    token = HiddenField(validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("确认导入"))


class ManualPaymentForm(BaseForm):
    amount = DecimalField(_l("金额（元）"), places=2, validators=[
        InputRequired(_l("请填写金额。")), finite_number,
        NumberRange(Decimal("0.01"), 100000, message=_l("金额应大于 0。")), _whole_fen])
    reference = StringField(_l("交易流水号或收据号"), validators=[
        DataRequired(_l("请填写交易流水号或收据号。")), Length(max=64)])
    paid_at = DateTimeLocalField(_l("缴费时间（北京时间，不填为现在）"), format=_MINUTE,
                                 validators=[Optional(), sensible_datetime])
    note = StringField(_l("说明（记入审计日志）"), validators=[
        DataRequired(_l("请填写说明（例如现场缴费、收据由谁经手）。")),
        Length(max=500, message=_l("说明最多 %(max)d 个字。"))])
    submit = SubmitField(_l("记录缴费"))


def timetable_form(subjects, data=None):
    """A form with a start and an end for each of *subjects* (Beijing time)."""

    class TimetableForm(BaseForm):
        submit = SubmitField(_l("保存考试日程"))

    for subject in subjects:
        name = labels.SUBJECTS[subject]
        setattr(TimetableForm, f"{subject.value}_starts", DateTimeLocalField(
            _l("%(subject)s 开始", subject=name), format=_MINUTE,
            validators=[InputRequired(_l("请填写开始时间。")), sensible_datetime]))
        setattr(TimetableForm, f"{subject.value}_ends", DateTimeLocalField(
            _l("%(subject)s 结束", subject=name), format=_MINUTE,
            validators=[InputRequired(_l("请填写结束时间。")), sensible_datetime]))
    return TimetableForm(data=data)


class KeyDecisionForm(BaseForm):
    """An administrator's conclusion on a flagged item after the sitting."""

    kind = RadioField(_l("结论"), choices=as_choices([
        ("KEEP", _l("维持原答案")), ("REKEY", _l("更正答案")),
        ("ADD_KEY", _l("增加可接受的答案")), ("VOID", _l("作废本题"))]),
        validators=[DataRequired()])
    keys = StringField(_l("答案字母（更正答案或增加答案时填写，如 B 或 ACD）"),
                       validators=[Optional(), Length(max=5), Regexp(r"^[A-Ea-e]*$")])
    reason = TextAreaField(_l("理由"), validators=[DataRequired(), Length(max=1000)])
    submit = SubmitField(_l("记录结论并重新计分"))
