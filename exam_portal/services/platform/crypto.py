"""Field encryption and keyed blind indexes for sensitive personal data."""

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_RESIDENT_ID_AAD = b"resident_id:v1"


def _key(config_key: str, label: bytes) -> bytes:
    configured = current_app.config.get(config_key)
    if configured:
        raw = base64.urlsafe_b64decode(configured)
        if len(raw) != 32:
            raise RuntimeError(f"{config_key} must be 32 bytes in URL-safe base64")
        return raw
    return _derived(label)


def _derived(label: bytes) -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(
        secret
    )


def encrypt_resident_id(number: str) -> bytes:
    """Encrypt a resident ID with AES-256-GCM; the nonce is stored in front."""
    nonce = os.urandom(12)
    aead = AESGCM(_key("DATA_ENCRYPTION_KEY", b"exam-portal resident-id encryption"))
    return nonce + aead.encrypt(nonce, number.encode(), _RESIDENT_ID_AAD)


def decrypt_resident_id(blob: bytes) -> str:
    """Decrypt a value made by encrypt_resident_id."""
    aead = AESGCM(_key("DATA_ENCRYPTION_KEY", b"exam-portal resident-id encryption"))
    return aead.decrypt(blob[:12], blob[12:], _RESIDENT_ID_AAD).decode()


def resident_id_index(number: str) -> str:
    """Return the keyed hash that keeps resident IDs unique without storing them."""
    key = _key("BLIND_INDEX_KEY", b"exam-portal resident-id blind index")
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


def login_throttle_key(text: str) -> str:
    """Return the keyed hash a login counter is filed under, so that the table holds
    no email or client address (an unkeyed hash of an IPv4 address is reversed by
    trying all four billion)."""
    # From SECRET_KEY: rotating it only starts the counters afresh.
    key = _derived(b"exam-portal login throttle")
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
