"""Forms for training programmes: name, description, level and, per objective subject,
how many mock papers must be passed at which minimum score."""

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from exam_portal.services.certification.training import MAX_DESCRIPTION, MAX_NAME
from exam_portal.services.platform import labels
from exam_portal.web.forms import BaseForm, as_choices, strip_whitespace
from question_bank.levels import Level
from question_bank.subjects import OBJECTIVE_SUBJECTS
from question_bank.training import MAX_PAPERS

DEFAULT_PERCENT = 60  # the practice pass mark: 60 % of full marks


class ProgrammeForm(BaseForm):
    name = StringField(_l("项目名称"), filters=[strip_whitespace],
                       validators=[DataRequired(), Length(max=MAX_NAME)])
    description = TextAreaField(_l("说明（考生可见）"), filters=[strip_whitespace],
                                validators=[Length(max=MAX_DESCRIPTION)])
    level = SelectField(_l("级别（印在证书上）"), choices=as_choices(
        [("", _l("不限级别"))] + [(level.value, labels.LEVELS[level]) for level in Level]))
    submit = SubmitField(_l("保存"))

    def papers(self, subject):
        return self[f"papers_{subject.value}"]

    def percent(self, subject):
        return self[f"percent_{subject.value}"]


for _subject in OBJECTIVE_SUBJECTS:
    setattr(ProgrammeForm, f"papers_{_subject.value}", IntegerField(
        _l("%(subject)s：须通过的模拟试卷份数（0 或空表示不要求）",
           subject=labels.SUBJECTS[_subject]),
        validators=[Optional(), NumberRange(0, MAX_PAPERS)]))
    setattr(ProgrammeForm, f"percent_{_subject.value}", IntegerField(
        _l("%(subject)s：每份最低得分率（%%）", subject=labels.SUBJECTS[_subject]),
        default=DEFAULT_PERCENT, validators=[Optional(), NumberRange(0, 100)]))
