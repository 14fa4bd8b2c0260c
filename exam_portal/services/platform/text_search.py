"""Substring search in SQL: LIKE with the user's text taken literally."""


def contains(column, text: str, *, ignore_case: bool = True):
    """A condition: *column* contains *text*, whose %, _ and \\ match themselves."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if ignore_case:
        return column.ilike(pattern, escape="\\")
    return column.like(pattern, escape="\\")
