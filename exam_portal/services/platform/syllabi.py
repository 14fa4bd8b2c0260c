"""Which syllabus version is in force today, and the versions a page may offer.

The rule itself (the version an exam year uses, the coming exam year) is domain data in
question_bank.syllabus; this module only supplies today's date and the exam month."""

from datetime import date

from flask import current_app
from flask_babel import gettext

from exam_portal.services.platform.clock import today_local
from question_bank import syllabus


def in_force(today: date | None = None) -> str:
    """The syllabus version of the coming exam: new items are written against it, and
    candidates practise against it unless they choose otherwise."""
    return syllabus.current(today or today_local(), current_app.config["EXAM_MONTH"])


def loaded() -> list[str]:
    """The versions whose trees are all there, oldest first: the only ones to offer."""
    return [code for code in sorted(syllabus.VERSIONS) if syllabus.is_loaded(code)]


def chosen(value: str | None, default: str) -> str:
    """*value* when it names a loaded version (a query argument, a form field), else
    *default*: odd input falls back instead of failing."""
    return value if value in loaded() else default


def label(version: str) -> str:
    """The version's name in the user's language, e.g. "2025 年版考试大纲（2026 年起使用）"."""
    known = syllabus.VERSIONS.get(version)
    return gettext(known.label) if known else version


def year_rule() -> str:
    """Which exam years use which version, e.g. "2019–2025 年的考试用 2018 年版；2026 年起
    的考试用 2025 年版"."""
    ordered = sorted(syllabus.VERSIONS.values(), key=lambda version: version.in_force_from)
    parts = []
    for version, following in zip(ordered, [*ordered[1:], None], strict=True):
        if following is None:
            parts.append(gettext("%(first)d 年起的考试用 %(version)s 年版",
                                 first=version.in_force_from, version=version.code))
        else:
            parts.append(gettext("%(first)d–%(last)d 年的考试用 %(version)s 年版",
                                 first=version.in_force_from,
                                 last=following.in_force_from - 1, version=version.code))
    return gettext("；").join(parts)


def short_label(version: str) -> str:
    """The version's short name, e.g. "2025 年版"."""
    return gettext("%(version)s 年版", version=version)
