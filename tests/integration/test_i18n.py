"""Chinese by default, English by a switch; the English catalogue is complete."""

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

# Pages, forms and access rules: they read and write alike on both databases.
pytestmark = pytest.mark.usefixtures("one_leg")

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "exam_portal/translations/en/LC_MESSAGES/messages.po"


def _catalogue():
    with CATALOGUE.open("rb") as handle:
        return read_po(handle)


def test_no_english_catalogue_entry_is_empty():
    empty = [m.id for m in _catalogue() if m.id and not (
        all(m.string) if isinstance(m.string, tuple) else m.string)]
    assert empty == []


def test_every_message_in_the_code_is_in_the_catalogue(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [str(Path(sys.executable).with_name("pybabel")), "extract",
         "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "-k", "N_", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with pot.open("rb") as handle:
        extracted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalogue() if m.id}
    assert extracted - translated == set(), "run scripts/i18n.sh and translate"


def test_no_translation_holds_an_ascii_double_quote():
    # Translations are marked safe and many sit inside HTML attributes (data-confirm,
    # placeholder): an ASCII " there would cut the attribute short.
    quoted = [m.id for m in _catalogue() if m.id and '"' in str(m.string)]
    assert quoted == [], "use “ ” in translations"


def test_pages_default_to_chinese_and_switch_to_english(client):
    page = client.get("/auth/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in page and "忘记密码" in page
    response = client.post("/language", data={"locale": "en", "next": "/auth/login"})
    assert response.headers["Location"] == "/auth/login"
    page = client.get("/auth/login").get_data(as_text=True)
    assert 'lang="en"' in page and "Forgot your password?" in page
    assert "忘记密码" not in page


def test_an_unknown_language_is_ignored(client):
    client.post("/language", data={"locale": "xx"})
    assert 'lang="zh-CN"' in client.get("/").get_data(as_text=True)


def test_a_template_follows_a_forced_language_within_one_request(app):
    # Templates keep the request's catalogue once looked up: a language forced for a
    # moment (a message in its recipient's language) must still get its own.
    from flask import render_template_string
    from flask_babel import force_locale

    page = "{{ _('忘记密码？') }}"
    with app.test_request_context("/"):
        assert render_template_string(page) == "忘记密码？"
        with force_locale("en"):
            assert render_template_string(page) == "Forgot your password?"
        assert render_template_string(page) == "忘记密码？"
