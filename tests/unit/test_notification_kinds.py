"""The notification registry's rules, without an app: defaults per kind and channel, the
limits of a kind's name, and what a plugged-in channel must provide."""

import pytest

from exam_portal.services.platform import notifications


@pytest.fixture
def kinds():
    @notifications.kind("unit_plain")
    def _plain(params):
        return notifications.Notice("plain")

    @notifications.kind("unit_opt_in", opt_in=True)
    def _opt_in(params):
        return notifications.Notice("opt-in")

    yield
    notifications.KINDS.pop("unit_plain")
    notifications.KINDS.pop("unit_opt_in")


@pytest.mark.parametrize(("kind", "channel", "expected"), [
    ("unit_plain", notifications.IN_APP, True),
    ("unit_plain", notifications.EMAIL, True),
    ("unit_opt_in", notifications.IN_APP, False),
    ("unit_opt_in", notifications.EMAIL, False),
    ("unit_plain", "sms", False),  # a plugged-in channel is off until the user says
    ("unknown", notifications.IN_APP, False),
])
def test_a_kinds_default_on_each_channel(kinds, kind, channel, expected):
    assert notifications.default(kind, channel) is expected


def test_a_kind_name_longer_than_its_column_is_refused():
    with pytest.raises(ValueError, match="longer than 40"):
        notifications.kind("k" * 41)


def test_a_notice_without_a_subject_has_no_link():
    assert notifications.Notice("title").url() is None


def test_a_channel_must_say_how_it_sends():
    class Silent(notifications.Channel):
        name = "silent"

    with pytest.raises(TypeError):
        Silent()
