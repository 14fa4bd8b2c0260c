"""The marking form: the confirmation (CSRF) plus a comment field per key point of the
answer's rubric, so the comments pass BaseForm's input rules (no control characters)
like every other text a user writes."""

from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField

from exam_portal.blueprints.account.forms import ConfirmForm


def feedback_field(part: int, key_point: int) -> str:
    """The name of a key point's comment field (mark_answer.html posts fb-<p>-<k>)."""
    return f"fb-{part}-{key_point}"


def marking_form(rubric) -> ConfirmForm:
    fields = {feedback_field(p, k): TextAreaField(_l("要点“%(kp)s”的评语", kp=text))
              for p, part in enumerate(rubric.parts)
              for k, (text, _points) in enumerate(part.key_points)}
    return type("MarkingForm", (ConfirmForm,), fields)()
