"""The delivery page's questions as rendered HTML, cached per process.

A question's HTML holds no answer state (the page's script applies it), so it depends
only on the item version, its place in the paper and the language: rendering it once
instead of on every page load takes the template engine off the hot path.
"""

import re

from flask import render_template
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup, escape

from exam_portal.services.delivery import paper_cache
from exam_portal.services.delivery.paper_cache import LRU, cache_key

_fragments = LRU(20_000)


def questions_html(items, *, feedback_mode: bool) -> Markup:
    """The HTML of every question of a paper (its slots or attempt items), in order."""
    locale, total = str(get_locale()), len(items)
    keys = [cache_key((locale, item.item_version_id, item.option_order, item.position,
                       item.section, item.points_halves, total, feedback_mode))
            for item in items]
    parts = [_fragments.get(key) for key in keys]
    missing = [item for item, part in zip(items, parts, strict=True) if part is None]
    if missing:
        views = dict(zip((item.position for item in missing),
                         paper_cache.candidate_views(missing), strict=True))
        for index, item in enumerate(items):
            if parts[index] is None:
                parts[index] = render_template("candidate/_question.html",
                                               v=views[item.position], total=total,
                                               feedback_mode=feedback_mode,
                                               item_id=item.item_id)
                _fragments.put(keys[index], parts[index])
    return Markup("".join(parts))  # noqa: S704 - each part is an escaped template render


def navigator_html(total: int) -> Markup:
    """The question navigator for a paper of *total* items."""
    key = (str(get_locale()), "navigator", total)
    html = _fragments.get(key)
    if html is None:
        html = render_template("candidate/_navigator.html", total=total)
        _fragments.put(key, html)
    return Markup(html)  # noqa: S704 - an escaped template render


# The delivery page: rendered once per attempt and language with slots for what differs
# per request, split at the slots once (so nothing filled in is ever read as a slot).
_SLOT = re.compile(r'"\{\{slot:(json_\w+)\}\}"|\{\{slot:(\w+)\}\}')


def _slot(name: str) -> str:
    return "{{slot:" + name + "}}"


def delivery_shell_key(language: str, attempt_id: int, seed: int) -> tuple:
    # With the seed: an attempt id reused after a restore is another paper.
    return cache_key((language, "delivery-shell", attempt_id, seed))


def delivery_shell(attempt, total: int, language: str) -> tuple[str, ...]:
    """The delivery page of *attempt* with its per-request parts left as slots, from
    the cache or rendered now (in a request, in the user's *language*, the code
    select_locale chose): text and slot names, alternating."""
    key = delivery_shell_key(language, attempt.id, attempt.seed)
    shell = _fragments.get(key)
    if shell is None:
        html = render_template(
            "candidate/take_attempt.html", attempt=attempt, total=total,
            navigator=navigator_html(total), messages=delivery_messages(),
            csrf_token=lambda: _slot("csrf"), account_email=_slot("email"),
            next_path=_slot("next"), flashes_slot=_slot("flashes"),
            state=_slot("json_state"), bookmarked=_slot("json_bookmarked"))
        shell = tuple(part or "" for part in _SLOT.split(html))
        _fragments.put(key, shell)
    return shell


def cached_delivery_shell(language: str, attempt_id: int,
                          seed: int) -> tuple[str, ...] | None:
    return _fragments.get(delivery_shell_key(language, attempt_id, seed))


def fill_delivery_shell(shell: tuple[str, ...], *, csrf: str, email: str, next_path: str,
                        flashes: str, state: dict, bookmarked: list[int]) -> str:
    """*flashes* is rendered HTML (the flashed-messages template), the rest is data."""
    return _fill(shell, {"csrf": str(escape(csrf)), "email": str(escape(email)),
                         "next": str(escape(next_path)), "flashes": flashes,
                         "json_state": htmlsafe_json_dumps(state),
                         "json_bookmarked": htmlsafe_json_dumps(bookmarked)})


def _fill(shell: tuple[str, ...], values: dict[str, str]) -> str:
    # split() left [text, JSON slot, HTML slot, text, …]: one of each pair is empty.
    parts = []
    for index in range(0, len(shell), 3):
        parts.append(shell[index])
        if index + 2 < len(shell):
            parts.append(values[shell[index + 1] or shell[index + 2]])
    return "".join(parts)


# The page an exam paper's candidate lands on after handing in ("已交卷"), until the
# results are published. At the end of an exam every candidate's page loads it within
# the same seconds, so it is rendered once per subject and language, with everything
# of the candidate's own left as a slot: the shell is shared by all of them, and nothing
# of one candidate may be in it (the notification badge is a slot too).
_BADGE_MARK = 987654321  # the count in the badge rendered once per language


def submitted_shell_key(language: str, subject: str) -> tuple:
    return cache_key((language, "submitted-shell", subject))


def submitted_shell(subject, language: str) -> tuple[tuple[str, ...], str]:
    """The "handed in" page of an exam paper in *subject* with its per-candidate parts
    left as slots, and the notification badge for _BADGE_MARK unread notices, from the
    cache or rendered now (in a request, in the user's *language*)."""
    key = submitted_shell_key(language, subject.value)
    found = _fragments.get(key)
    if found is None:
        html = render_template(
            "candidate/exam_submitted.html", subject=subject,
            submitted_at_text=_slot("submitted"), csrf_token=lambda: _slot("csrf"),
            account_email=_slot("email"), next_path=_slot("next"),
            flashes_slot=_slot("flashes"), unread_badge=_slot("badge"))
        badge = render_template("_unread_badge.html", unread=_BADGE_MARK).strip()
        found = (tuple(part or "" for part in _SLOT.split(html)), badge)
        _fragments.put(key, found)
    return found


def cached_submitted_shell(language: str, subject: str):
    return _fragments.get(submitted_shell_key(language, subject))


def fill_submitted_shell(found: tuple[tuple[str, ...], str], *, csrf: str, email: str,
                         next_path: str, flashes: str, submitted_at: str,
                         unread: int) -> str:
    """*flashes* is rendered HTML (the flashed-messages template), the rest is data."""
    shell, badge = found
    return _fill(shell, {
        "csrf": str(escape(csrf)), "email": str(escape(email)),
        "next": str(escape(next_path)), "flashes": flashes,
        "submitted": str(escape(submitted_at)),
        "badge": " " + badge.replace(str(_BADGE_MARK), str(int(unread))) if unread else ""})


def delivery_messages() -> dict:
    """The delivery page script's texts in the user's language."""
    key = (str(get_locale()), "messages")
    messages = _fragments.get(key)
    if messages is None:
        messages = {name: str(text) for name, text in _MESSAGES.items()}
        _fragments.put(key, messages)
    return messages


_MESSAGES = {
    "saved": _l("已保存"),
    "saving": _l("正在保存…"),
    "offline": _l("网络已断开：{n} 个答案暂存在本机，联网后自动发送"),
    "retrying": _l("保存失败，正在重试：{n} 个答案待发送"),
    "invalid": _l("这个答案无法保存："),
    "unanswered": _l("还有 {n} 道题未作答：第 {list} 题。"),
    "allAnswered": _l("所有题目都已作答。"),
    "unsent": _l("还有 {n} 个答案没有送达服务器。"
                 "请联网后再交卷；时间到时将按服务器已保存的答案交卷。"),
    "timeUp": _l("时间到，正在交卷…"),
    "correct": _l("回答正确"),
    "wrong": _l("回答错误"),
    "partly": _l("部分正确"),
    "key": _l("正确答案："),
    "explanation": _l("解析："),
    "keyPoints": _l("答题要点："),
    "points": _l("分"),
    "score": _l("得分："),
    "selfScore": _l("自评分（仅供参考，不计入成绩）："),
    "saveSelfScore": _l("保存自评"),
    "selfScoreSaved": _l("自评已保存"),
    "recallQuestion": _l("这道题已加入复习。答对时感觉如何？"),
    "recallEasy": _l("容易（秒答）"),
    "recallHard": _l("困难（想了很久）"),
    "recallSaved": _l("已按你的感受重新安排复习。"),
    "answerFirst": _l("请先作答，并等答案保存后再核对。"),
    "closed": _l("这次练习已经交卷。"),
    "separator": _l("、"),
    "question": _l("第 {n} 题"),
    "navLabel": _l("{question}：{states}"),
    "stateAnswered": _l("已答"),
    "stateUnanswered": _l("未答"),
    "stateFlagged": _l("已标记"),
    "stateUnsent": _l("尚未保存到服务器"),
    "stateRight": _l("回答正确"),
    "stateWrong": _l("回答错误"),
    "statePartly": _l("部分正确"),
    "timeLeft": _l("剩余时间：{n} 分钟。"),
    "timeLeftHandIn": _l("剩余时间：{n} 分钟，请检查答案，按时交卷。"),
}


def clear() -> None:
    _fragments.clear()
