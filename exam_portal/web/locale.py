"""The language of a request: the visitor's choice, else the account's, else the first."""

from flask import current_app, has_request_context, session
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands speak the default language
        return languages[0]
    chosen = session.get("locale")
    if chosen is None and current_user and current_user.is_authenticated:
        chosen = current_user.locale
    return language_for(chosen, languages)


def language_for(chosen: str | None, languages) -> str:
    """The language code to use: the chosen one if the portal speaks it."""
    return chosen if chosen in languages else languages[0]
