"""The language of a request: the visitor's choice, else the account's, else the first."""

from flask import Flask, current_app, g, has_request_context, session
from flask_babel import get_locale, get_translations
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


def translations():
    """The catalogue of the language in use, kept for the request while that language
    stays (force_locale, refresh give a new Locale object, so the copy is not reused).
    Flask-Babel's own lookup costs about 17 µs a string, a page's strings several ms."""
    locale = get_locale()
    kept = g.get("_portal_translations")
    if kept is not None and kept[0] is locale:
        return kept[1]
    found = get_translations()
    g._portal_translations = (locale, found)
    return found


def install_template_gettext(app: Flask) -> None:
    """Templates translate through `translations`, as Flask-Babel's callables do
    through its lookup (the same catalogues, the same newstyle formatting)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda string: translations().ugettext(string),
        ngettext=lambda singular, plural, n: translations().ungettext(singular, plural, n),
        pgettext=lambda context, string: translations().upgettext(context, string),
        npgettext=lambda context, singular, plural, n: translations().unpgettext(
            context, singular, plural, n),
        newstyle=True)
