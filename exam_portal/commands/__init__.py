"""Command-line tools: `flask --app exam_portal demo|users|audit|bank|mail ...`."""

from .cli import register_commands  # noqa: F401
