"""The delivery page's questions as rendered HTML, cached per process.

A question's HTML holds no answer state (the page's script applies it), so it depends
only on the item version, its place in the paper and the language: rendering it once
instead of on every page load takes the template engine off the hot path.
"""

from flask import render_template
from flask_babel import get_locale
from markupsafe import Markup

from ..services.paper_cache import LRU, cache_key

_fragments = LRU(20_000)


def questions_html(items, views, *, feedback_mode: bool) -> Markup:
    """The HTML of every question of a paper, in order."""
    locale, total = str(get_locale()), len(views)
    parts = []
    for item, view in zip(items, views, strict=True):
        key = cache_key((locale, item.item_version_id, item.option_order, item.position,
                         item.section, item.points_halves, total, feedback_mode))
        html = _fragments.get(key)
        if html is None:
            html = render_template("candidate/_question.html", v=view, total=total,
                                   feedback_mode=feedback_mode)
            _fragments.put(key, html)
        parts.append(html)
    return Markup("".join(parts))  # noqa: S704 - each part is an escaped template render


def clear() -> None:
    _fragments.clear()
