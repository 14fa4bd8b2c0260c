"""The base form every portal form derives from."""

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

# NUL and other control characters break PostgreSQL text columns and forge log
# lines; tabs and newlines are allowed only where a field spans several lines.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_CONTROL_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


class BaseForm(FlaskForm):
    """Refuses control characters in every text field, with one clear message."""

    def validate(self, extra_validators=None) -> bool:
        is_valid = super().validate(extra_validators)
        for field in self:
            if not isinstance(field.data, str):
                continue
            pattern = _CONTROL if isinstance(field, TextAreaField) else _CONTROL_SINGLE_LINE
            if pattern.search(field.data):
                field.errors = [*field.errors, str(_l("不能包含控制字符。"))]
                is_valid = False
        return is_valid


def as_choices(pairs) -> list[SelectChoice]:
    """Turn (value, label) pairs into select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def strip_whitespace(value):
    return value.strip() if isinstance(value, str) else value


def email_field(label, *, check_format: bool = True) -> EmailField:
    """An email field that forgives surrounding spaces pasted with the address."""
    validators = [DataRequired(), Length(max=254)]
    if check_format:
        validators.append(Email())
    return EmailField(label, filters=[strip_whitespace], validators=validators)
