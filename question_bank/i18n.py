"""Mark domain messages for translation without depending on a translation library.

Messages are Chinese msgids with %(name)s placeholders; the portal translates
them (its catalogue extracts the ``N_`` keyword) and fills in the parameters.
"""


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext no-op name
    return message
