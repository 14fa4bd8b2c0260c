"""The form an administrator schedules a mock contest with."""

from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length

from exam_portal.services.exam_sessions.contests import TITLE_LENGTH
from exam_portal.web.forms import BaseForm, sensible_datetime, strip_whitespace

MINUTE = "%Y-%m-%dT%H:%M"
DRAWN = "spec"  # the source choice: drawn by the subject's mock spec


class ContestForm(BaseForm):
    title = StringField(_l("名称"), filters=[strip_whitespace],
                        validators=[DataRequired(), Length(max=TITLE_LENGTH)])
    subject = SelectField(_l("科目"), validators=[InputRequired()])
    source = SelectField(_l("试卷"), validators=[InputRequired()])
    opens_at = DateTimeLocalField(_l("开始（北京时间）"), format=MINUTE,
                                  validators=[InputRequired(), sensible_datetime])
    closes_at = DateTimeLocalField(_l("最晚开考（北京时间）"), format=MINUTE,
                                   validators=[InputRequired(), sensible_datetime])
    submit = SubmitField(_l("安排模考大赛"))
