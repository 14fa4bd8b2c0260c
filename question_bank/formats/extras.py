"""Fields that GIFT, Moodle XML and QTI have no place for, carried as one JSON object.

Those formats express the stem, options, keys and explanation natively; subject,
difficulty, syllabus links, source, tags and the legal reference travel in a comment
(GIFT) or an extension element (Moodle XML, QTI) so a round trip loses nothing, while
other systems simply ignore them.
"""

import json

from ..i18n import N_
from ..items import Problem

EXTRA_FIELDS = ("subject", "difficulty", "syllabus", "source", "tags", "law")


def dump(record: dict) -> str:
    return json.dumps({name: record[name] for name in EXTRA_FIELDS if name in record},
                      ensure_ascii=False, sort_keys=True)


def load(text: str) -> tuple[dict, list[Problem]]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {}, [Problem("item", N_("附加信息不是有效的 JSON。"))]
    if not isinstance(value, dict):
        return {}, [Problem("item", N_("附加信息不是有效的 JSON。"))]
    return {name: value[name] for name in EXTRA_FIELDS if name in value}, []


def raw_value(text: str, name: str):
    """The value *name* of the JSON object *text*, whatever it is, or None."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value.get(name) if isinstance(value, dict) else None


def unsupported(item_type: str) -> Problem:
    return Problem("type", N_("此格式只能表达单选题和多选题，不能表达 %(type)s。"),
                   {"type": item_type})
