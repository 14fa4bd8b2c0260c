"""Forms for trainers: review decisions, bulk approval, import."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..forms import BaseForm


class ReviewForm(BaseForm):
    comment = TextAreaField(_l("审核意见或退回原因"), validators=[DataRequired(), Length(max=2000)])
    approve = SubmitField(_l("通过并发布"))
    reject = SubmitField(_l("退回修改"))


class BulkApproveForm(BaseForm):
    comment = TextAreaField(_l("审核意见"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("批量通过所选题目"))


class ImportForm(BaseForm):
    file = FileField(_l("题目文件（XLSX、CSV 或 JSON）"), validators=[FileRequired()])
    submit = SubmitField(_l("上传并预览"))


class ConfirmImportForm(BaseForm):
    token = HiddenField(validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("确认导入"))
