"""Offline credentials (issue 6): the holder and administrators download a certificate
as a signed Open Badges 3.0 credential, the public keys sit at a well-known URL, and
`flask certificates verify` checks a credential without the database (CE-1, CE-5, CE-6)."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.certificates import Certificate
from exam_portal.services.certification import certificates
from question_bank import certificates as signing
from question_bank import credentials as offline

from ..conftest import PASSWORD, portal_config
from .test_certificates import _achieved, _issue, admin  # noqa: F401  (admin: a fixture)
from .test_sittings import NOW, _actor, _candidate

KEYS_URL = "/.well-known/exam-portal-keys.json"
UNREACHABLE_DB = "postgresql+psycopg://nobody@127.0.0.1:9/nowhere"


def _login(app, user_id=None, email=None):
    if email is None:
        with app.app_context():
            email = db.session.get(User, user_id).email
    client = app.test_client()
    client.post("/auth/login", data={"email": email, "password": PASSWORD})
    return client


def _owned_certificate(app, admin):  # noqa: F811
    qualification_id, user_id = _achieved(app, admin, region="54", marks=("55", "70"))
    return _issue(app, admin, qualification_id), user_id


def _published(client) -> dict[str, bytes]:
    return offline.parse_jwk_set(client.get(KEYS_URL).data)


def test_the_holder_downloads_a_credential_that_verifies_with_the_published_keys(app, admin):  # noqa: F811
    certificate, user_id = _owned_certificate(app, admin)
    owner = _login(app, user_id)
    assert "credential.jwt" in owner.get("/account/certificates").get_data(as_text=True)
    response = owner.get(f"/account/certificates/{certificate.id}/credential.jwt")
    assert response.status_code == 200 and response.mimetype == "application/jwt"
    assert f'filename="{certificate.number}.jwt"' in response.headers["Content-Disposition"]
    result = offline.verify(response.get_data(as_text=True), _published(app.test_client()),
                            now=datetime.now(UTC))
    assert result.is_valid and result.key_id == "test-1"
    payload = result.payload
    assert payload["credentialSubject"]["licenseNumber"] == certificate.number
    assert payload["credentialSubject"]["identifier"][0]["identityHash"] == "林晓"
    assert payload["issuer"]["name"] == app.config["CERT_ISSUER"]
    assert payload["credentialStatus"]["id"] == (
        f"{app.config['PUBLIC_BASE_URL']}/verify?n={certificate.number}"
        f"&c={certificate.verification_code}")
    with app.app_context():  # the record as signed at issue, the valid region with it
        stored = json.loads(db.session.get(Certificate, certificate.id).payload)
    public = {**stored, "holder": {"name": "林晓", "id": stored["holder"]["id"]}}
    assert payload["certificateRecord"] == public and stored["valid_region"] == "540000"
    assert stored["holder"]["birth_date"][:4] not in json.dumps(payload)  # unmasks the ID
    header = json.loads(signing.from_b64url(response.get_data(as_text=True).split(".")[0]))
    assert header == {"alg": "EdDSA", "typ": "JWT",
                      "kid": f"{app.config['PUBLIC_BASE_URL']}{KEYS_URL}#test-1"}
    admin_client = _login(app, email="cert-admin@example.com")
    by_admin = admin_client.get(f"/admin/certificates/{certificate.id}/credential.jwt")
    assert by_admin.status_code == 200 and by_admin.data == response.data  # same bytes


def test_another_candidate_gets_404_and_only_admins_use_the_admin_route(app, admin):  # noqa: F811
    certificate, user_id = _owned_certificate(app, admin)
    other = _login(app, _candidate(app))
    assert other.get(f"/account/certificates/{certificate.id}/credential.jwt"
                     ).status_code == 404
    assert other.get("/account/certificates/999999/credential.jwt").status_code == 404
    owner = _login(app, user_id)
    assert owner.get(f"/admin/certificates/{certificate.id}/credential.jwt").status_code == 403
    anonymous = app.test_client().get(f"/account/certificates/{certificate.id}/credential.jwt")
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]


def test_a_revoked_certificate_has_no_credential_for_anyone(app, admin):  # noqa: F811
    certificate, user_id = _owned_certificate(app, admin)
    with app.app_context():
        certificates.revoke(db.session.get(Certificate, certificate.id), "资格撤销",
                            _actor(admin), now=NOW)
        db.session.commit()
    owner = _login(app, user_id)
    assert "credential.jwt" not in owner.get("/account/certificates").get_data(as_text=True)
    refused = owner.get(f"/account/certificates/{certificate.id}/credential.jwt",
                        follow_redirects=True)
    assert "已吊销，不再提供离线凭证" in refused.get_data(as_text=True)
    # Nor for the administrator: it would check VALID offline for ever.
    admin_client = _login(app, email="cert-admin@example.com")
    detail = admin_client.get(f"/admin/certificates/{certificate.id}").get_data(as_text=True)
    assert "credential.jwt" not in detail and "不再提供离线凭证" in detail
    refused = admin_client.get(f"/admin/certificates/{certificate.id}/credential.jwt")
    assert refused.status_code == 302 and "/admin/certificates/" in refused.location


def test_no_credential_is_signed_for_a_record_edited_behind_the_portal(app, admin):  # noqa: F811
    certificate, user_id = _owned_certificate(app, admin)
    with app.app_context():
        db.session.get(Certificate, certificate.id).holder_name = "王芳"
        db.session.commit()
    response = _login(app, user_id).get(
        f"/account/certificates/{certificate.id}/credential.jwt", follow_redirects=True)
    assert "签名校验失败" in response.get_data(as_text=True)
    assert response.mimetype == "text/html"


def test_the_well_known_key_set_lists_every_key_and_is_cacheable(make_app, app, admin):  # noqa: F811
    certificate, user_id = _owned_certificate(app, admin)
    old_token = _login(app, user_id).get(
        f"/account/certificates/{certificate.id}/credential.jwt").get_data(as_text=True)
    rotated = make_app(CERT_SIGNING_KEYS=f"test-2:{signing.new_key_seed()},"
                                         f"{app.config['CERT_SIGNING_KEYS']}")
    client = rotated.test_client()  # nobody signed in
    response = client.get(KEYS_URL)
    assert response.status_code == 200 and response.mimetype == "application/jwk-set+json"
    assert "public" in response.headers["Cache-Control"]
    assert "max-age=3600" in response.headers["Cache-Control"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    keys = response.get_json()["keys"]
    assert [key["kid"] for key in keys] == ["test-2", "test-1"]
    assert all(set(key) == {"kty", "crv", "x", "kid", "alg", "use"} for key in keys)
    again = client.get(KEYS_URL, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    published = offline.parse_jwk_set(response.data)
    assert offline.verify(old_token, published, now=datetime.now(UTC)).is_valid
    new_owner = _login(rotated, user_id)  # new credentials are signed with the new key
    new_token = new_owner.get(f"/account/certificates/{certificate.id}/credential.jwt"
                              ).get_data(as_text=True)
    assert offline.verify(new_token, published, now=datetime.now(UTC)).key_id == "test-2"


def _offline_app(**overrides):
    """The portal configured against a database that does not answer."""
    from exam_portal import create_app

    return create_app(portal_config(UNREACHABLE_DB, **overrides))


def test_the_command_verifies_a_credential_without_the_database(app, admin, tmp_path):  # noqa: F811
    certificate, user_id = _owned_certificate(app, admin)
    token = _login(app, user_id).get(
        f"/account/certificates/{certificate.id}/credential.jwt").data
    (tmp_path / "mine.jwt").write_bytes(token + b"\n")
    (tmp_path / "keys.json").write_bytes(app.test_client().get(KEYS_URL).data)
    offline_app = _offline_app(CERT_SIGNING_KEYS=app.config["CERT_SIGNING_KEYS"])
    runner = offline_app.test_cli_runner()
    result = runner.invoke(args=["certificates", "verify", str(tmp_path / "mine.jwt")])
    assert result.exit_code == 0, result.output
    assert "林晓" in result.output and certificate.number in result.output
    assert "ASSISTANT" in result.output and "test-1" in result.output
    assert "西藏" in result.output and result.output.rstrip().splitlines()[-1].startswith("VALID")
    # A verifier holding none of our secrets: the published key set only.
    stranger = _offline_app(CERT_SIGNING_KEYS=f"other:{signing.new_key_seed()}")
    alone = stranger.test_cli_runner().invoke(args=[
        "certificates", "verify", str(tmp_path / "mine.jwt"), "--keys",
        str(tmp_path / "keys.json")])
    assert alone.exit_code == 0 and "VALID" in alone.output
    unknown = stranger.test_cli_runner().invoke(
        args=["certificates", "verify", str(tmp_path / "mine.jwt")])
    assert unknown.exit_code == 1 and "INVALID" in unknown.output
    assert "not in the key set" in unknown.output


def test_the_command_refuses_a_tampered_credential(app, admin, tmp_path):  # noqa: F811
    certificate, user_id = _owned_certificate(app, admin)
    token = _login(app, user_id).get(
        f"/account/certificates/{certificate.id}/credential.jwt").get_data(as_text=True)
    header, payload, signature = token.split(".")
    claims = json.loads(signing.from_b64url(payload))
    claims["credentialSubject"]["achievement"]["name"] = "高级社会工作师 Senior Social Worker"
    forged = f"{header}.{signing.b64url(json.dumps(claims).encode())}.{signature}"
    (tmp_path / "forged.jwt").write_text(forged)
    (tmp_path / "garbage.jwt").write_bytes(b"\xff\xfe not a credential")
    runner = _offline_app(CERT_SIGNING_KEYS=app.config["CERT_SIGNING_KEYS"]).test_cli_runner()
    result = runner.invoke(args=["certificates", "verify", str(tmp_path / "forged.jwt")])
    assert result.exit_code == 1 and "INVALID: the signature does not match" in result.output
    assert "Senior" not in result.output  # nothing unverified is shown
    garbage = runner.invoke(args=["certificates", "verify", str(tmp_path / "garbage.jwt")])
    assert garbage.exit_code == 1 and "not a well-formed" in garbage.output


@pytest.mark.parametrize("keys", ["missing.json", "bad.json"])
def test_the_command_says_when_it_has_no_usable_keys(app, tmp_path, keys):
    (tmp_path / "bad.json").write_text('{"keys": [{"kty": "OKP", "crv": "Ed25519"}]}')
    (tmp_path / "x.jwt").write_text("a.b.c")
    result = _offline_app().test_cli_runner().invoke(args=[
        "certificates", "verify", str(tmp_path / "x.jwt"), "--keys", str(tmp_path / keys)])
    assert result.exit_code == 1 and "no keys to check with" in result.output


def test_the_documented_command_runs_as_a_process(one_leg, app, admin, tmp_path):  # noqa: F811
    certificate, user_id = _owned_certificate(app, admin)
    (tmp_path / "mine.jwt").write_bytes(_login(app, user_id).get(
        f"/account/certificates/{certificate.id}/credential.jwt").data)
    (tmp_path / "keys.json").write_bytes(app.test_client().get(KEYS_URL).data)
    env = {**os.environ, "DATABASE_URL": UNREACHABLE_DB, "CERT_SIGNING_KEYS": ""}
    command = [sys.executable, "-m", "flask", "--app", "exam_portal", "certificates",
               "verify", str(tmp_path / "mine.jwt"), "--keys", str(tmp_path / "keys.json")]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert certificate.number in done.stdout and "VALID" in done.stdout
