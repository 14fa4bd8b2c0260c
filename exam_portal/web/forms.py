"""The base form every portal form derives from."""

import re
from decimal import Decimal, InvalidOperation

from flask import flash, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, StopValidation, ValidationError

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


def finite_number(form, field) -> None:
    """A DecimalField validator to put first: "NaN", "sNaN" or "Infinity" parse as
    decimals, and NumberRange would then fail on them with an exception."""
    if field.data is not None and not field.data.is_finite():
        field.errors[:] = []
        raise StopValidation(str(_l("请输入数字。")))


# Dates a form may name: 0001-01-01 overflows turning Beijing time into UTC, and
# 9999-12-31 is no date anyone means.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def sensible_datetime(form, field) -> None:
    """A DateTimeLocalField (or DateField) validator: the years FIRST_YEAR to LAST_YEAR."""
    if field.data is not None and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise ValidationError(str(_l("请填写 %(first)d 年到 %(last)d 年之间的时间。",
                                     first=FIRST_YEAR, last=LAST_YEAR)))


def as_choices(pairs) -> list[SelectChoice]:
    """Turn (value, label) pairs into select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


MAX_ROW_ID = 2**31 - 1  # PostgreSQL's INTEGER: an id beyond it names no row


def posted_ids(values: list[str], limit: int) -> list[int]:
    """Row ids ticked in a form; anything but a plain number a row id can be is dropped
    (`"²".isdigit()` is true, so ASCII is checked too)."""
    ids = [int(value) for value in values
           if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ROW_ID]
    return list(dict.fromkeys(ids))[:limit]


def error_messages(form) -> list[str]:
    """Each invalid field's first error with its label, to flash after a redirect."""
    return [str(_l("%(label)s：%(error)s", label=field.label.text, error=field.errors[0]))
            for field in form if field.errors]


def submitted(form, fallback: str | None = None) -> bool:
    """Whether *form* came back valid. If not, flash why for the page the view
    redirects to: each field's error, or else *fallback* (by default that the request
    expired, all a bare confirmation can say: it carries nothing but the CSRF token)."""
    if form.validate_on_submit():
        return True
    for message in error_messages(form) or [fallback or _("请求已过期，请重试。")]:
        flash(message, "danger")
    return False


def strip_whitespace(value):
    return value.strip() if isinstance(value, str) else value


def email_field(label, *, check_format: bool = True) -> EmailField:
    """An email field that forgives surrounding spaces pasted with the address."""
    validators = [DataRequired(), Length(max=254)]
    if check_format:
        validators.append(Email())
    return EmailField(label, filters=[strip_whitespace], validators=validators)


def posted_rubric_points(rubric) -> list[list[Decimal]] | None:
    """The points a marker entered per key point of *rubric* (fields kp-<part>-<point>,
    empty meaning 0), or None when one is not a finite number (NaN and Infinity parse)."""
    try:
        points = [[Decimal(request.form.get(f"kp-{p}-{k}", "").strip() or "0")
                   for k in range(len(part.key_points))]
                  for p, part in enumerate(rubric.parts)]
    except InvalidOperation:
        return None
    return points if all(value.is_finite() for part in points for value in part) else None
