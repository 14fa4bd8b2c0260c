"""A readable difference between two versions of an item."""

import difflib
from dataclasses import dataclass

from .formats.records import to_record


@dataclass(frozen=True)
class FieldChange:
    """One changed field: its name and the text as (operation, fragment) pairs."""

    field: str
    before: str
    after: str
    fragments: tuple[tuple[str, str], ...]  # ("equal" | "delete" | "insert", text)


def diff_contents(old, new) -> list[FieldChange]:
    """Compare two ItemContent values field by field, character by character."""
    before, after = _flatten(to_record(None, old)), _flatten(to_record(None, new))
    changes = []
    for name in dict.fromkeys([*before, *after]):
        old_text, new_text = before.get(name, ""), after.get(name, "")
        if old_text != new_text:
            changes.append(FieldChange(name, old_text, new_text, _fragments(old_text, new_text)))
    return changes


def _flatten(record: dict, prefix: str = "") -> dict[str, str]:
    flat = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for number, entry in enumerate(value, 1):
                flat.update(_flatten(entry, f"{name}.{number}."))
        elif isinstance(value, list):
            flat[name] = "\n".join(map(str, value))
        else:
            flat[name] = "" if value is None else str(value)
    return flat


def _fragments(old: str, new: str) -> tuple[tuple[str, str], ...]:
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    fragments = []
    for operation, i1, i2, j1, j2 in matcher.get_opcodes():
        if operation == "equal":
            fragments.append(("equal", old[i1:i2]))
            continue
        if i2 > i1:
            fragments.append(("delete", old[i1:i2]))
        if j2 > j1:
            fragments.append(("insert", new[j1:j2]))
    return tuple(fragments)
