"""Certificates as signed records: the canonical form of a record, Ed25519 signatures
with a key id (so keys can rotate), and the opaque number and unguessable verification
code each certificate carries. No Flask and no database here: anyone holding the
published public keys can check a record with these functions alone."""

import base64
import binascii
import json
import secrets
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

# Crockford's base32 without I, L, O, U: read aloud and typed by people.
_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NUMBER_PREFIX = "SW"
NUMBER_LENGTH = 16  # 80 random bits: unique and in no order
CODE_BYTES = 20  # 160 random bits: cannot be guessed


def new_number() -> str:
    """An opaque certificate number, e.g. SW-7K2M9Q4XH3TBR8VW (no sequence in it)."""
    body = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(NUMBER_LENGTH))
    return f"{NUMBER_PREFIX}-{body}"


def new_code() -> str:
    """A verification code of 160 random bits (URL-safe)."""
    return secrets.token_urlsafe(CODE_BYTES)


def canonical(record: Mapping) -> bytes:
    """The bytes that are signed: JSON with sorted keys, no spaces, UTF-8 text kept as
    is. Values must be JSON types (str, int, bool, None, lists, objects)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False).encode("utf-8")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    """Decode unpadded base64url; ValueError for anything else."""
    if not isinstance(text, str) or not text or any(c in text for c in "=+/ \n"):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError("not base64url") from error


def private_key(seed_b64url: str) -> Ed25519PrivateKey:
    """A signing key from its 32-byte seed, base64url-encoded (as configured)."""
    seed = from_b64url(seed_b64url)
    if len(seed) != 32:
        raise ValueError("an Ed25519 key seed is 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(seed)


def new_key_seed() -> str:
    return b64url(secrets.token_bytes(32))


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign(payload: bytes, key: Ed25519PrivateKey) -> str:
    return b64url(key.sign(payload))


def verify(payload: bytes, signature: str, key_id: str,
           public_keys: Mapping[str, bytes]) -> bool:
    """Whether *signature* is the signature of *payload* by the key *key_id* among the
    published public keys (raw 32-byte Ed25519 keys). False for anything malformed."""
    raw = public_keys.get(key_id)
    if raw is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(from_b64url(signature), payload)
    except (InvalidSignature, ValueError):
        return False
    return True


def parse_keys(setting: str) -> list[tuple[str, Ed25519PrivateKey]]:
    """Read `kid:seed,kid:seed,...` (the first signs; the others still verify what they
    signed before a rotation). ValueError with a reason for anything else."""
    keys, seen = [], set()
    for part in (setting or "").split(","):
        part = part.strip()
        if not part:
            continue
        key_id, _, seed = part.partition(":")
        key_id = key_id.strip()
        if not key_id or not seed or not key_id.replace("-", "").replace("_", "").isalnum():
            raise ValueError("each key is kid:base64url-seed")
        if key_id in seen:
            raise ValueError(f"key id {key_id} appears twice")
        seen.add(key_id)
        keys.append((key_id, private_key(seed.strip())))
    if not keys:
        raise ValueError("no signing key")
    return keys
