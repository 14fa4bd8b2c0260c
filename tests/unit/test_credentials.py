"""Offline credentials (CE-1, CE-6): an Open Badges 3.0-shaped payload in a compact JWS
(EdDSA) that fails on any changed byte, refuses every algorithm but EdDSA, and keeps
verifying after a key rotation with a JWK Set that holds both keys."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from question_bank import certificates as c
from question_bank import credentials as cr

BASE = "https://portal.example.cn"
KEYS_URL = f"{BASE}/.well-known/exam-portal-keys.json"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
RECORD = {
    "number": "SW-0123456789ABCDEF", "kind": "QUALIFICATION",
    "title": "社会工作者职业资格考试合格证明",
    "issuer": "社会工作者考试门户运营单位",
    "holder": {"name": "林晓", "id": "110101********1234", "gender": "FEMALE",
               "birth_date": "1990-05-01"},
    "level": "ASSISTANT", "approved_on": "2026-11-20", "valid_region": "54",
    "session": {"year": 2026, "name": "2026 年考试"}, "issued_at": "2026-11-25T08:30:00+00:00",
    "replaces": None, "programme": {"name": "未知的将来字段"},
}
ACHIEVEMENT = cr.Achievement("QUALIFICATION:ASSISTANT", "助理社会工作师",
                             "通过助理社会工作师考试", "两个科目同一年合格", "Certification")


def _key():
    return c.private_key(c.new_key_seed())


OLD, NEW = _key(), _key()
KEYS = {"2025": c.public_key_bytes(OLD), "2026": c.public_key_bytes(NEW)}


def _credential(**changes) -> dict:
    return cr.build_credential({**RECORD, **changes}, ACHIEVEMENT, issuer_id=f"{BASE}/",
                               verify_url=f"{BASE}/verify?n=SW-0123456789ABCDEF&c=code")


def _token(key=NEW, key_id="2026", **changes) -> str:
    return cr.encode(_credential(**changes), key_id, key, kid=f"{KEYS_URL}#{key_id}")


def _b64(value) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict, dict]:
    header, payload, _signature = token.split(".")
    return (json.loads(c.from_b64url(header)), json.loads(c.from_b64url(payload)))


def test_a_credential_round_trips_with_its_key_id_and_payload():
    token = _token()
    result = cr.verify(token, KEYS, now=NOW)
    assert result.is_valid and result.reason is None and result.key_id == "2026"
    record = result.payload["certificateRecord"]
    assert {**record, "holder": RECORD["holder"]} == RECORD  # unknown fields ride along
    assert _token() == token  # Ed25519 is deterministic: the same download, the same bytes


def test_a_credential_never_carries_what_unmasks_the_id():
    # 110101 + 19900501 + 1234: the masked ID and the birth date together are the number.
    text = json.dumps(_credential())
    assert "1990" not in text and "FEMALE" not in text
    assert _credential()["certificateRecord"]["holder"] == {"name": "林晓",
                                                           "id": "110101********1234"}


def test_the_header_is_alg_kid_and_typ_only():
    header, _payload = _parts(_token())
    assert header == {"alg": "EdDSA", "kid": f"{KEYS_URL}#2026", "typ": "JWT"}


def test_the_payload_uses_open_badges_3_field_names():
    _header, payload = _parts(_token())
    assert payload["@context"] == ["https://www.w3.org/ns/credentials/v2",
                                   "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert payload["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert payload["id"].startswith("urn:uuid:")
    assert payload["issuer"] == {"id": f"{BASE}/", "type": ["Profile"],
                                 "name": "社会工作者考试门户运营单位"}
    assert payload["validFrom"] == "2026-11-25T08:30:00Z"
    assert payload["name"] == RECORD["title"]
    subject = payload["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"] and "id" not in subject
    assert subject["identifier"] == [
        {"type": "IdentityObject", "identityType": "name", "hashed": False,
         "identityHash": "林晓"},
        {"type": "IdentityObject", "identityType": "nationalIdentityNumber", "hashed": False,
         "identityHash": "110101********1234"}]
    assert subject["licenseNumber"] == "SW-0123456789ABCDEF"
    achievement = subject["achievement"]
    assert achievement["id"].startswith("urn:uuid:") and achievement["type"] == ["Achievement"]
    assert achievement["name"] == "助理社会工作师" and achievement["description"]
    assert achievement["criteria"] == {"narrative": "两个科目同一年合格"}
    assert achievement["achievementType"] == "Certification"
    assert payload["credentialStatus"] == {"id": f"{BASE}/verify?n=SW-0123456789ABCDEF&c=code",
                                           "type": "ExamPortalVerifyPage"}
    # The JWT claims of OB 3.0 §8.2 mirror the credential; no sub without a subject id.
    assert payload["iss"] == f"{BASE}/" and payload["jti"] == payload["id"]
    assert payload["nbf"] == int(datetime(2026, 11, 25, 8, 30, tzinfo=UTC).timestamp())
    assert "sub" not in payload and "exp" not in payload


def test_one_achievement_id_for_every_holder_and_one_credential_id_per_certificate():
    one, other = _credential(), _credential(number="SW-ZZZZZZZZZZZZZZZZ",
                                            holder={"name": "王芳", "id": "3201**********5678"})
    assert one["credentialSubject"]["achievement"]["id"] == \
        other["credentialSubject"]["achievement"]["id"]
    assert one["id"] != other["id"]


@settings(max_examples=400)
@given(data=st.data())
def test_changing_any_byte_of_header_payload_or_signature_fails(data):
    token = _token().encode("ascii")
    index = data.draw(st.integers(0, len(token) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda byte: byte != token[index]))
    changed = token[:index] + bytes([value]) + token[index + 1:]
    result = cr.verify(changed.decode("latin-1"), KEYS, now=NOW)
    assert not result.is_valid and result.payload is None


def test_changing_each_byte_in_turn_fails():
    token = _token()
    for index, char in enumerate(token):
        changed = token[:index] + chr(ord(char) ^ 1) + token[index + 1:]
        assert not cr.verify(changed, KEYS, now=NOW).is_valid, index


def test_a_signature_spelled_differently_with_the_same_bytes_fails():
    # 64 signature bytes take 86 base64url characters: the last one carries 4 spare bits
    # that lenient decoders ignore, so a second spelling decodes to the same bytes.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    token = _token()
    twin = token[:-1] + alphabet[alphabet.index(token[-1]) ^ 1]
    assert base64.urlsafe_b64decode(twin.rsplit(".", 1)[1] + "==") == \
        base64.urlsafe_b64decode(token.rsplit(".", 1)[1] + "==")
    assert cr.verify(twin, KEYS, now=NOW).reason is cr.Reason.MALFORMED


def _forged(header: dict, signature: bytes = b"") -> str:
    _header, payload = _parts(_token())
    return f"{_b64(header)}.{_b64(payload)}.{_b64(signature) if signature else ''}"


def test_alg_none_hs256_and_other_algorithms_are_refused():
    assert cr.verify(_forged({"alg": "none", "kid": "2026", "typ": "JWT"}), KEYS,
                     now=NOW).reason is cr.Reason.MALFORMED  # an empty signature
    unsigned = _forged({"alg": "none", "kid": "2026"}) + "AAAA"
    assert cr.verify(unsigned, KEYS, now=NOW).reason is cr.Reason.WRONG_ALGORITHM
    # The classic confusion: HMAC keyed with the published public key.
    header = {"alg": "HS256", "kid": "2026", "typ": "JWT"}
    signing_input = _forged(header)[:-1]
    mac = hmac.new(KEYS["2026"], signing_input.encode(), hashlib.sha256).digest()
    assert cr.verify(signing_input + "." + _b64(mac), KEYS, now=NOW).reason is \
        cr.Reason.WRONG_ALGORITHM
    for alg in ("RS256", "ES256", "eddsa", "Ed25519", None):
        token = _forged({"alg": alg, "kid": "2026"}, b"x" * 64)
        assert cr.verify(token, KEYS, now=NOW).reason is cr.Reason.WRONG_ALGORITHM


def test_a_header_without_kid_or_with_extra_members_is_refused():
    token = _token()
    _header, payload, signature = token.split(".")
    no_kid = f"{_b64({'alg': 'EdDSA', 'typ': 'JWT'})}.{payload}.{signature}"
    assert cr.verify(no_kid, KEYS, now=NOW).reason is cr.Reason.NO_KEY_ID
    for header in ({"alg": "EdDSA", "kid": "2026", "crit": ["exp"]},
                   {"alg": "EdDSA", "kid": "2026", "jwk": {"kty": "OKP"}},
                   {"alg": "EdDSA", "kid": "2026", "typ": "vc+ld+json"}):
        assert cr.verify(f"{_b64(header)}.{payload}.{signature}", KEYS,
                         now=NOW).reason is cr.Reason.MALFORMED


# A header nested 20,000 deep: json.loads raises RecursionError, not ValueError.
_DEEP = base64.urlsafe_b64encode(b'{"alg":' + b"[" * 20_000).rstrip(b"=").decode()


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "...", "eyJ.eyJ.AA", "x" * 70_000,
                                   "林.晓.证", None, 42, f"{_DEEP}.e30.AA"])
def test_garbage_is_malformed_and_never_raises(token):
    assert cr.verify(token, KEYS, now=NOW).reason is cr.Reason.MALFORMED


def test_old_credentials_verify_after_a_rotation_with_both_keys_published():
    old_token = _token(OLD, "2025")
    assert cr.verify(old_token, KEYS, now=NOW).is_valid
    published = cr.parse_jwk_set(json.dumps(cr.jwk_set(KEYS)))
    assert published == KEYS
    assert cr.verify(old_token, published, now=NOW).key_id == "2025"
    without_old = {"2026": KEYS["2026"]}
    assert cr.verify(old_token, without_old, now=NOW).reason is cr.Reason.UNKNOWN_KEY
    # A different key under a published key id is a bad signature, not a valid one.
    assert cr.verify(_token(_key(), "2026"), KEYS, now=NOW).reason is cr.Reason.BAD_SIGNATURE


def test_a_bare_kid_also_names_the_key():
    token = cr.encode(_credential(), "2026", NEW)
    assert _parts(token)[0]["kid"] == "2026" and cr.verify(token, KEYS, now=NOW).is_valid


def test_claims_that_disagree_with_the_credential_fail_even_when_signed():
    _header, payload = _parts(_token())
    header = {"alg": "EdDSA", "kid": "2026", "typ": "JWT"}
    for change in ({"iss": "https://other.example/"}, {"jti": "urn:uuid:0"},
                   {"nbf": payload["nbf"] - 1}, {"sub": "did:example:someone"},
                   {"type": ["VerifiableCredential"]}, {"exp": payload["nbf"] + 10}):
        signing_input = f"{_b64(header)}.{_b64({**payload, **change})}"
        token = f"{signing_input}.{_b64(NEW.sign(signing_input.encode()))}"
        assert cr.verify(token, KEYS, now=NOW).reason is cr.Reason.BAD_CLAIMS, change


def test_a_credential_is_not_valid_before_its_valid_from():
    token = _token(issued_at="2027-01-01T00:00:00+00:00")
    assert cr.verify(token, KEYS, now=NOW).reason is cr.Reason.NOT_YET_VALID
    assert cr.verify(token, KEYS, now=datetime(2027, 1, 1, tzinfo=UTC)).is_valid
    assert cr.verify(token, KEYS, now=datetime(2027, 1, 1, tzinfo=UTC)
                     - timedelta(seconds=cr.NOT_BEFORE_LEEWAY - 1)).is_valid


def test_the_jwk_set_lists_public_keys_only():
    published = cr.jwk_set(KEYS)
    assert published["keys"][0] == {"kty": "OKP", "crv": "Ed25519", "x": c.b64url(KEYS["2025"]),
                                    "kid": "2025", "alg": "EdDSA", "use": "sig"}
    assert all("d" not in key for key in published["keys"])


@pytest.mark.parametrize("key_set", [
    "not json", "[]", {"keys": "x"}, {"keys": [1]},
    {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "k"}]},
    {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": c.b64url(bytes(32))}]},
    {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": c.b64url(bytes(32)), "kid": "k"}] * 2},
    {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": c.b64url(bytes(32)), "kid": "k",
               "d": c.b64url(bytes(32))}]},
])
def test_a_malformed_key_set_is_refused(key_set):
    with pytest.raises(ValueError):
        cr.parse_jwk_set(key_set if isinstance(key_set, str) else json.dumps(key_set))


def test_keys_of_other_kinds_in_a_key_set_are_skipped():
    key_set = {"keys": [{"kty": "RSA", "kid": "rsa", "n": "x", "e": "AQAB"},
                        {"kty": "OKP", "crv": "X25519", "kid": "x", "x": "x"},
                        cr.public_jwk("2026", KEYS["2026"])]}
    assert cr.parse_jwk_set(key_set) == {"2026": KEYS["2026"]}
