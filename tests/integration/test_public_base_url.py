"""The portal's public address follows the port it is run on (scripts/run.sh's PORT),
unless PUBLIC_BASE_URL says otherwise: certificate QR codes, credential links and mailed
links point at the portal that printed them."""

from types import SimpleNamespace

import pytest

from exam_portal.config import settings_from_env
from exam_portal.services.certification import certificate_pdf, credentials

CERTIFICATE = SimpleNamespace(number="SW-7K2M9Q4XH3TBR8VW", verification_code="abc123")


def test_a_portal_run_on_another_port_prints_links_to_that_port(monkeypatch, make_app):
    monkeypatch.setenv("PORT", "5050")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    app = make_app()
    with app.app_context():
        assert certificate_pdf.verify_url(CERTIFICATE) == (
            "http://127.0.0.1:5050/verify?n=SW-7K2M9Q4XH3TBR8VW&c=abc123")
        assert credentials.keys_url().startswith("http://127.0.0.1:5050/")


def test_without_a_port_the_address_is_the_default_one(monkeypatch, make_app):
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    app = make_app()
    assert app.config["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"


def test_an_explicit_public_address_wins_over_the_port():
    settings = settings_from_env({"PORT": "5050", "PUBLIC_BASE_URL": "https://portal.example.cn"})
    assert settings["PUBLIC_BASE_URL"] == "https://portal.example.cn"


@pytest.mark.parametrize("port", ["50x", "0", "70000", "５０５０", "-1"])
def test_a_port_that_is_not_a_port_is_refused_at_start(port):
    with pytest.raises(RuntimeError, match="PORT"):
        settings_from_env({"PORT": port})


@pytest.mark.parametrize("port", ["abc", "0", "70000"])
def test_run_sh_refuses_a_bad_port_before_doing_anything(port):
    import os
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "run.sh"
    result = subprocess.run(["bash", str(script)], env={**os.environ, "PORT": port},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "PORT must be a number" in result.stderr and result.stdout == ""
