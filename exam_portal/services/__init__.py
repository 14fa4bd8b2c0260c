"""Use cases: services flush, never commit; the view or command commits once."""


class ServiceError(Exception):
    """A use case refused; the message is safe to show to the user."""
