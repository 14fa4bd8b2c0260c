"""Display text for domain values, in the user's language."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from exam_portal.models.jobs import JobStatus
from exam_portal.services.platform.clock import date_text
from question_bank import dates, eligibility, regions
from question_bank.item_analysis import FlagCode
from question_bank.items import ItemType
from question_bank.levels import CertificateMethod, Education, Gender, Level
from question_bank.subjects import Subject

LEVELS = {
    Level.ASSISTANT: _l("助理社会工作师"),
    Level.INTERMEDIATE: _l("社会工作师"),
    Level.SENIOR: _l("高级社会工作师"),
}
EDUCATIONS = {
    Education.BELOW_HIGH_SCHOOL: _l("初中及以下"),
    Education.HIGH_SCHOOL: _l("高中或中专"),
    Education.JUNIOR_COLLEGE: _l("大专"),
    Education.BACHELOR: _l("本科"),
    Education.MASTER: _l("硕士研究生"),
    Education.DOCTOR: _l("博士研究生"),
}
METHODS = {
    CertificateMethod.EXAM: _l("考试取得"),
    CertificateMethod.REVIEW: _l("评审取得"),
}
GENDERS = {Gender.MALE: _l("男"), Gender.FEMALE: _l("女")}
SUBJECTS = {
    Subject.COMP_JR: _l("社会工作综合能力（初级）"),
    Subject.PRAC_JR: _l("社会工作实务（初级）"),
    Subject.COMP_MID: _l("社会工作综合能力（中级）"),
    Subject.LAW_MID: _l("社会工作法规与政策"),
    Subject.PRAC_MID: _l("社会工作实务（中级）"),
    Subject.PRAC_SR: _l("社会工作实务（高级）"),
}
ITEM_TYPES = {
    ItemType.SINGLE: _l("单项选择题"),
    ItemType.MULTI: _l("多项选择题"),
    ItemType.CASE_ANALYSIS: _l("案例分析题"),
    ItemType.PLAN_DESIGN: _l("方案设计题"),
    ItemType.ESSAY: _l("论述题"),
}

JOB_STATUSES = {JobStatus.QUEUED: _l("排队中"), JobStatus.RUNNING: _l("进行中"),
                JobStatus.SUCCEEDED: _l("已完成"), JobStatus.FAILED: _l("失败")}


def region_name(code: str | None, locale: str) -> str:
    """An exam area, pass-line area or region limit by name: "四川省凉山彝族自治州",
    in English "Sichuan 凉山彝族自治州" (names below the province are kept in Chinese).
    Takes six-digit codes and the two-digit province codes of older records."""
    if not code:
        return ""
    return regions.english_name(code) if locale == "en" else regions.full_name(code)


def province_choices(locale: str, *, blank: str | None = None) -> list[tuple[str, str]]:
    """The provincial-level exam regions by six-digit code, for an area picker."""
    choices = [("", blank)] if blank is not None else []
    return choices + [(area.code, region_name(area.code, locale))
                      for area in regions.provinces()]


def format_span(span: dates.Span) -> str:
    """A calendar span in words: "14 年", "1 个月 28 天"."""
    parts = []
    if span.years:
        parts.append(_("%(n)d 年", n=span.years))
    if span.months:
        parts.append(_("%(n)d 个月", n=span.months))
    if span.days or not parts:
        parts.append(_("%(n)d 天", n=span.days))
    return " ".join(parts)


def counted_experience(days: int, cutoff) -> str:
    """Counted social-work days as the calendar counts them, up to the cutoff."""
    return format_span(dates.span_ending(days, cutoff))


def describe_route(route: eligibility.Route) -> str:
    """Say in one sentence what a route requires."""
    education = EDUCATIONS[route.min_education]
    if route.requires_social_work_major:
        text = _("社会工作专业%(education)s及以上学历", education=education)
    else:
        text = _("%(education)s及以上学历", education=education)
    if route.required_certificate is not None:
        certificate = LEVELS[route.required_certificate]
        if route.certificate_by_exam_only:
            text += _("，通过考试取得%(level)s证书", level=certificate)
        else:
            text += _("，取得%(level)s证书", level=certificate)
    if route.years == 0:
        return text + _("（无工作年限要求）")
    if route.counted_from == "certificate":
        return text + _("，取得证书后从事社会工作满 %(n)d 年", n=route.years)
    return text + _("，从事社会工作满 %(n)d 年", n=route.years)


def describe_route_code(code: str) -> str:
    """A registration's recorded route in words (the code itself if it is unknown)."""
    route = next((route for route in eligibility.ROUTES if route.code == code), None)
    return describe_route(route) if route else code


def describe_shortfall(shortfall: eligibility.Shortfall, cutoff) -> str:
    """Say what the candidate still lacks for the closest route."""
    route = shortfall.route
    kind = eligibility.ShortfallKind
    if shortfall.kind == kind.EDUCATION:
        return _("需要%(education)s或以上学历。", education=EDUCATIONS[route.min_education])
    if shortfall.kind == kind.MAJOR:
        return _("此途径要求社会工作专业学历。")
    if shortfall.kind == kind.NO_GRADUATION_DATE:
        return _("请在个人资料中填写取得学历（毕业）的日期。")
    if shortfall.kind == kind.GRADUATION_AFTER_CUTOFF:
        return _("学历须在 %(date)s 或之前取得。", date=date_text(cutoff))
    if shortfall.kind == kind.CERTIFICATE:
        level = LEVELS[route.required_certificate]
        if route.certificate_by_exam_only:
            return _("需要先通过考试取得%(level)s证书（评审取得的不计）。", level=level)
        return _("需要先取得%(level)s证书。", level=level)
    # The days still missing, told as the calendar counts them from the first day of
    # the years the route asks for.
    duration = format_span(dates.span_starting(
        shortfall.missing_days, eligibility.window_first_day(route.years, cutoff)))
    if route.counted_from == "certificate":
        return _(
            "取得%(level)s证书后，还需 %(duration)s 的社会工作经历。",
            level=LEVELS[route.required_certificate], duration=duration,
        )
    return _("还需 %(duration)s 的社会工作经历。", duration=duration)


# Why an item's statistics send it for review (question_bank.item_analysis).
ANALYSIS_FLAGS = {
    FlagCode.FACILITY_LOW: _l("通过率过低"),
    FlagCode.FACILITY_HIGH: _l("通过率过高"),
    FlagCode.DISCRIMINATION_NEGATIVE: _l("区分度为负"),
    FlagCode.DISCRIMINATION_LOW: _l("区分度接近零"),
    FlagCode.DISCRIMINATION_UNDEFINED: _l("区分度无法计算"),
    FlagCode.DISTRACTOR_RARE: _l("干扰项很少被选"),
    FlagCode.DISTRACTOR_POSITIVE: _l("干扰项区分度为正"),
    FlagCode.DISTRACTOR_PREFERRED_BY_TOP_GROUP: _l("高分组更多选择干扰项"),
}
