"""JSON: an array of item records (or {"items": [...]}); lossless for every item type."""

import json

from ..i18n import N_
from . import limits
from .limits import UnreadableFile
from .records import ItemRecord, from_record, to_record


def read(data: bytes, *, max_items: int | None = None,
         caps: limits.Limits = limits.WEB) -> list[ItemRecord]:
    """Read every item in a JSON file."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise UnreadableFile(N_("文件不是 UTF-8 编码。")) from error
    except RecursionError as error:
        raise limits.json_too_deep(caps) from error
    except ValueError as error:
        raise UnreadableFile(N_("不是有效的 JSON 文件。")) from error
    limits.check_json_depth(document, caps)
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        document = document["items"]
    if not isinstance(document, list):
        raise UnreadableFile(N_("JSON 文件应为题目数组。"))
    if max_items is not None and len(document) > max_items:
        raise UnreadableFile(N_("文件中的题目超过 %(n)d 道，请用命令行导入。"), n=max_items)
    return [from_record(entry, number) for number, entry in enumerate(document, 1)]


def write(items) -> bytes:
    """Write (external_id, content) pairs as a JSON array."""
    records = [to_record(external_id, content) for external_id, content in items]
    return (json.dumps(records, ensure_ascii=False, indent=2) + "\n").encode()
