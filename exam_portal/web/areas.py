"""The area picker: an exam area, a pass line's designated area or a certificate's
region limit, by GB/T 2260 code, chosen down to the county.

Without JavaScript the form shows the provinces and a box for the six-digit code of an
area inside the chosen one (the area lookup page lists them); with it, app.js turns the
box into lists of the province's prefectures and their counties."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.utils import unset_value
from wtforms.validators import ValidationError

from exam_portal.services.platform import labels
from exam_portal.web.forms import as_choices
from question_bank import regions


class AreaField(SelectField):
    """`.data` is the six-digit code of the deepest area chosen, or None."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, validate_choice=False, **kwargs)
        self.detail = ""

    def set_provinces(self, locale: str, blank) -> None:
        self.choices = as_choices(labels.province_choices(locale, blank=blank))

    def process(self, formdata, data=unset_value, extra_filters=None):
        super().process(formdata, data, extra_filters)
        if formdata is not None and self.name in formdata:
            self.detail = (formdata.get(self.detail_name) or "").strip()
        elif self.data:
            # A stored area: the list shows its province, the box the area itself.
            province = regions.province_of(self.data)
            if province and province != regions.normalise(self.data):
                self.detail = regions.normalise(self.data)
            self.data = province or self.data

    @property
    def detail_name(self) -> str:
        return f"{self.name}-detail"

    def pre_validate(self, form):
        province = regions.normalise(self.data) if self.data else None
        if self.data and (province is None or regions.province_of(province) != province):
            raise ValidationError(_l("请从列表中选择省份。"))
        if not self.detail:
            self.data = province
            return
        code = regions.normalise(self.detail) if len(self.detail) == 6 else None
        if code is None:
            raise ValidationError(_l("下级地区请填写 6 位行政区划代码（可在地区代码查询页查找）。"))
        if province is None or not regions.contains(province, code):
            raise ValidationError(_l("所填下级地区不在所选省份内。"))
        self.data = code
