"""Forms for revoking and reissuing certificates."""

from flask_babel import lazy_gettext as _l
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from exam_portal.web.forms import BaseForm


class RevokeForm(BaseForm):
    reason = StringField(_l("原因（记入审计日志，吊销原因公开显示）"), validators=[
        DataRequired(_l("请填写原因。")), Length(max=500, message=_l("原因最多 %(max)d 个字。"))])
    submit = SubmitField(_l("确定"))
