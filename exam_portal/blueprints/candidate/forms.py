"""Forms for candidates' practice: starting a set, self-scoring, bookmarks, notes and
error reports."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    DecimalField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from exam_portal.web.forms import BaseForm, finite_number
from question_bank.practice import Mode


class StartAttemptForm(BaseForm):
    mode = HiddenField(validators=[DataRequired()])
    count = SelectField(_l("题量"), coerce=int, validate_choice=False, validators=[Optional()])
    chapters = SelectMultipleField(_l("章节"), option_widget=CheckboxInput(),
                                   widget=ListWidget(prefix_label=False),
                                   validate_choice=False)
    variant = SelectField(_l("题型组合"), validate_choice=False, validators=[Optional()])
    # The syllabus version the page offered; the view falls back on odd values.
    syllabus_version = HiddenField(validators=[Optional()])
    submit = SubmitField(_l("开始"))

    def chosen_mode(self) -> Mode | None:
        """A practice mode; an exam sitting is started from its registration only."""
        mode = Mode(self.mode.data) if self.mode.data in Mode.__members__ else None
        return mode if mode is not None and mode.is_practice else None


class SelfScoreForm(BaseForm):
    points = DecimalField(_l("自评分"), places=1,
                          validators=[InputRequired(), finite_number, NumberRange(min=0, max=200)])
    submit = SubmitField(_l("保存自评"))


class BookmarkForm(BaseForm):
    submit = SubmitField(_l("收藏"))


class ExamDayForm(BaseForm):
    """The exam date a candidate plans for when no registration gives one."""

    exam_day = DateField(_l("考试日期"), validators=[DataRequired(_l("请填写考试日期。"))])
    submit = SubmitField(_l("保存并生成计划"))


class NoteForm(BaseForm):
    """A note on an item; its length and an empty note's meaning are the service's."""

    text = TextAreaField(_l("笔记"))
    next = HiddenField()


class ReportForm(BaseForm):
    """A report of an error in an item (纠错); kind and text are checked by the service."""

    kind = SelectField(_l("错误类型"), validate_choice=False)
    text = TextAreaField(_l("哪里有误"))
    version_id = HiddenField()
    next = HiddenField()

    def asked_version(self) -> int | None:
        value = self.version_id.data or ""
        return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None
