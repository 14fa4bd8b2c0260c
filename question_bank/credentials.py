"""Offline credentials: a certificate record as an Open Badges 3.0 credential, signed as
a compact JWS (EdDSA over Ed25519) and checked with a JWK Set alone.

The payload uses the field names of Open Badges 3.0 on the Verifiable Credentials Data
Model 2.0 (`@context`, `type`, `issuer`, `validFrom`, `credentialSubject` with an
`achievement`), with the JWT claims OB 3.0 §8.2 asks for (`iss`, `jti`, `nbf`) beside
them; nothing here does JSON-LD processing. The JOSE header is `alg`, `kid` and `typ`
only (OB 3.0 allows no others; `typ`, if present, is "JWT"). Verification accepts
EdDSA alone and canonical base64url alone, so no byte of a credential can change
without it failing. Revocation cannot be known offline: `credentialStatus` names the
public verify page, which is the authority on it.
"""

import base64
import enum
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from .certificates import b64url

CONTEXTS = ("https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json")
CREDENTIAL_TYPES = ("VerifiableCredential", "OpenBadgeCredential")
ALGORITHM = "EdDSA"
MEDIA_TYPE = "JWT"  # the header typ
# Not a status-list type: a pointer to the page that tells valid from revoked.
STATUS_TYPE = "ExamPortalVerifyPage"
MAX_TOKEN_LENGTH = 64 * 1024
NOT_BEFORE_LEEWAY = 300  # seconds of clock difference between issuer and verifier

_B64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Achievement:
    """What the credential says was achieved; the same for every holder of it."""

    key: str  # what tells achievements apart, e.g. "QUALIFICATION:ASSISTANT"
    name: str
    description: str
    narrative: str
    achievement_type: str | None = None  # an OB 3.0 AchievementType, e.g. "Certification"


class Reason(enum.StrEnum):
    MALFORMED = "not a well-formed compact JWS credential"
    WRONG_ALGORITHM = "the algorithm is not EdDSA"
    NO_KEY_ID = "the header names no key (kid)"
    UNKNOWN_KEY = "signed by a key that is not in the key set"
    BAD_SIGNATURE = "the signature does not match the content"
    BAD_CLAIMS = "the JWT claims do not match the credential"
    NOT_YET_VALID = "not valid yet (validFrom is in the future)"
    EXPIRED = "expired (validUntil has passed)"


@dataclass(frozen=True)
class Verification:
    reason: Reason | None  # None when valid
    key_id: str | None = None
    payload: dict | None = field(default=None, compare=False)  # only when valid

    @property
    def is_valid(self) -> bool:
        return self.reason is None


# Building ------------------------------------------------------------------------------

def _urn(namespace: str, name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL, namespace), name)}"


def _timestamp(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a timestamp without a time zone")
    return moment.astimezone(UTC)


def _identity(identity_type: str, value: str) -> dict:
    # OB 3.0 IdentityObject: identityHash holds the plaintext value when hashed is false.
    return {"type": "IdentityObject", "identityType": identity_type, "hashed": False,
            "identityHash": value}


def build_credential(record: Mapping, achievement: Achievement, *, issuer_id: str,
                     verify_url: str) -> dict:
    """An OpenBadgeCredential for a signed certificate record (holder, number, title,
    issuer, issued_at, ...); the record rides along under `certificateRecord`, so fields
    this module does not know are kept — except the holder's birth date and gender."""
    holder = record.get("holder") or {}
    identifiers = [_identity("name", holder["name"])] if holder.get("name") else []
    if holder.get("id"):
        # The masked ID as printed on the certificate, never the full number.
        identifiers.append(_identity("nationalIdentityNumber", holder["id"]))
    if not identifiers:
        raise ValueError("a credential needs the holder's name or ID")
    achieved = {"id": _urn(issuer_id, f"achievement:{achievement.key}"),
                "type": ["Achievement"], "name": achievement.name,
                "description": achievement.description,
                "criteria": {"narrative": achievement.narrative}}
    if achievement.achievement_type:
        achieved["achievementType"] = achievement.achievement_type
    return {
        "@context": list(CONTEXTS),
        "id": _urn(issuer_id, f"certificate:{record['number']}"),
        "type": list(CREDENTIAL_TYPES),
        "issuer": {"id": issuer_id, "type": ["Profile"], "name": record["issuer"]},
        "validFrom": _timestamp(record["issued_at"]).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "name": record["title"],
        "credentialSubject": {"type": ["AchievementSubject"], "identifier": identifiers,
                              "licenseNumber": record["number"], "achievement": achieved},
        "credentialStatus": {"id": verify_url, "type": STATUS_TYPE},
        "certificateRecord": {**record, "holder": _public_holder(holder)},
    }


def _public_holder(holder: Mapping) -> dict:
    # The masked ID hides exactly the birth date (110105********002X): a credential
    # that carried the birth date as well would give away the whole ID number.
    return {key: value for key, value in holder.items() if key not in ("birth_date", "gender")}


# Keys ----------------------------------------------------------------------------------

def public_jwk(key_id: str, public_key: bytes) -> dict:
    """One public key as a JWK (RFC 8037: OKP, Ed25519)."""
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(public_key), "kid": key_id,
            "alg": ALGORITHM, "use": "sig"}


def jwk_set(public_keys: Mapping[str, bytes]) -> dict:
    return {"keys": [public_jwk(key_id, raw) for key_id, raw in public_keys.items()]}


def parse_jwk_set(data: str | bytes | Mapping) -> dict[str, bytes]:
    """The Ed25519 keys of a JWK Set by key id (keys of other kinds are skipped);
    ValueError for a malformed set, a duplicate kid or a private key in it."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError("the key set is not JSON") from error
    entries = data.get("keys") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise ValueError('a JWK Set is an object with a "keys" list')
    keys = {}
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise ValueError("a JWK is an object")
        if "d" in entry:
            raise ValueError("the key set holds a private key: publish public keys only")
        if (entry.get("kty"), entry.get("crv")) != ("OKP", "Ed25519") or \
                entry.get("alg", ALGORITHM) != ALGORITHM or entry.get("use", "sig") != "sig":
            continue
        key_id = entry.get("kid")
        if not isinstance(key_id, str) or not key_id:
            raise ValueError("every Ed25519 key needs a kid")
        if key_id in keys:
            raise ValueError(f"key id {key_id} appears twice")
        raw = _strict_b64url(entry.get("x"))
        if raw is None or len(raw) != 32:
            raise ValueError(f"key {key_id}: x is not a 32-byte Ed25519 key")
        keys[key_id] = raw
    return keys


# Signing and verifying -----------------------------------------------------------------

def _json(value: Mapping) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _claims(credential: Mapping) -> dict:
    return {"iss": credential["issuer"]["id"], "jti": credential["id"],
            "nbf": int(_timestamp(credential["validFrom"]).timestamp())}


def encode(credential: Mapping, key_id: str, key: Ed25519PrivateKey, *,
           kid: str | None = None) -> str:
    """The credential as a compact JWS signed by *key*; *kid* (default *key_id*) goes in
    the header, e.g. the key set's URL with `#key_id` so that it can be dereferenced."""
    header = {"alg": ALGORITHM, "kid": kid or key_id, "typ": MEDIA_TYPE}
    payload = {**credential, **_claims(credential)}
    signing_input = f"{b64url(_json(header))}.{b64url(_json(payload))}"
    signature = key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url(signature)}"


def _strict_b64url(text) -> bytes | None:
    """Decode base64url without padding, only in its one canonical spelling (Python's
    decoder ignores the spare bits of the last character, which would let a signature
    change without changing its bytes)."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        return None
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return raw if b64url(raw) == text else None


def no_duplicate_members(pairs):
    """object_pairs_hook for json.loads: a member named twice is malformed (two
    readers could otherwise take different values)."""
    result = {}
    for name, value in pairs:
        if name in result:
            raise ValueError(f"duplicate member {name}")
        result[name] = value
    return result


def _json_object(raw: bytes) -> dict | None:
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicate_members)
    except (ValueError, RecursionError):  # also UnicodeDecodeError, JSONDecodeError;
        return None  # deep nesting ([[[[…) is read before any signature is checked
    return value if isinstance(value, dict) else None


def key_id_of(kid: str, public_keys: Mapping[str, bytes]) -> str | None:
    """The key a header's kid names: itself, or the fragment of a key-set URL."""
    if kid in public_keys:
        return kid
    fragment = kid.rpartition("#")[2]
    return fragment if "#" in kid and fragment in public_keys else None


def verify(token: str, public_keys: Mapping[str, bytes], *, now: datetime) -> Verification:
    """Check a compact JWS credential against the published keys (raw Ed25519 keys by
    key id); never raises for bad input."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return Verification(Reason.MALFORMED)
    parts = token.split(".")
    if len(parts) != 3:
        return Verification(Reason.MALFORMED)
    raw_header, raw_payload, signature = (_strict_b64url(part) for part in parts)
    header = _json_object(raw_header) if raw_header is not None else None
    if header is None or raw_payload is None or signature is None \
            or not set(header) <= {"alg", "kid", "typ"}:
        return Verification(Reason.MALFORMED)
    if header.get("alg") != ALGORITHM:
        return Verification(Reason.WRONG_ALGORITHM)
    if header.get("typ", MEDIA_TYPE) != MEDIA_TYPE:
        return Verification(Reason.MALFORMED)
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        return Verification(Reason.NO_KEY_ID)
    key_id = key_id_of(kid, public_keys)
    if key_id is None:
        return Verification(Reason.UNKNOWN_KEY, kid)
    try:
        Ed25519PublicKey.from_public_bytes(public_keys[key_id]).verify(
            signature, f"{parts[0]}.{parts[1]}".encode("ascii"))
    except (InvalidSignature, ValueError):
        return Verification(Reason.BAD_SIGNATURE, key_id)
    payload = _json_object(raw_payload)
    if payload is None:
        return Verification(Reason.MALFORMED, key_id)
    return _check_claims(payload, key_id, now)


def _check_claims(payload: dict, key_id: str, now: datetime) -> Verification:
    try:
        expected = _claims(payload)
        subject = payload["credentialSubject"]
        types = payload["type"]
        valid_until = payload.get("validUntil")
        expires = int(_timestamp(valid_until).timestamp()) if valid_until else None
    except (KeyError, TypeError, ValueError, AttributeError):
        return Verification(Reason.BAD_CLAIMS, key_id)
    if any(payload.get(name) != value for name, value in expected.items()) \
            or not isinstance(types, list) or "OpenBadgeCredential" not in types \
            or not isinstance(subject, dict) or payload.get("sub") != subject.get("id") \
            or payload.get("exp") != expires:
        return Verification(Reason.BAD_CLAIMS, key_id)
    if expected["nbf"] > now.timestamp() + NOT_BEFORE_LEEWAY:
        return Verification(Reason.NOT_YET_VALID, key_id)
    if expires is not None and expires <= now.timestamp():
        return Verification(Reason.EXPIRED, key_id)
    return Verification(None, key_id, payload)

