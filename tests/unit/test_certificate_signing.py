"""Signed certificate records (CE-1, CE-6): canonical bytes, Ed25519 signatures that
fail on any change, key ids for rotation, opaque numbers and unguessable codes."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from question_bank import certificates as c

RECORD = {"number": "SW-0123456789ABCDEF", "holder": "林晓", "level": "ASSISTANT",
          "region": None, "year": 2026, "approved_on": "2026-09-30"}


@pytest.fixture(scope="module")
def key():
    return c.private_key(c.new_key_seed())


def test_the_canonical_form_ignores_key_order_and_keeps_chinese_text():
    shuffled = dict(reversed(list(RECORD.items())))
    assert c.canonical(shuffled) == c.canonical(RECORD)
    assert "林晓".encode() in c.canonical(RECORD) and b" " not in c.canonical(RECORD)


def test_a_signature_verifies_with_its_key_id_only(key):
    payload = c.canonical(RECORD)
    signature = c.sign(payload, key)
    keys = {"k1": c.public_key_bytes(key)}
    assert c.verify(payload, signature, "k1", keys)
    assert not c.verify(payload, signature, "k2", keys)
    other = c.private_key(c.new_key_seed())
    assert not c.verify(payload, signature, "k1", {"k1": c.public_key_bytes(other)})


@settings(max_examples=200)
@given(data=st.data())
def test_changing_any_byte_of_the_payload_or_the_signature_fails(key, data):
    payload = c.canonical(RECORD)
    signature = c.sign(payload, key)
    keys = {"k1": c.public_key_bytes(key)}
    index = data.draw(st.integers(0, len(payload) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = payload[:index] + bytes([payload[index] ^ flip]) + payload[index + 1:]
    assert not c.verify(changed, signature, "k1", keys)
    raw = bytearray(c.from_b64url(signature))
    raw[data.draw(st.integers(0, len(raw) - 1))] ^= flip
    assert not c.verify(payload, c.b64url(bytes(raw)), "k1", keys)


@pytest.mark.parametrize("signature", ["", "not base64!", "AAAA", "a=b", "x" * 200])
def test_a_malformed_signature_is_simply_invalid(key, signature):
    assert not c.verify(c.canonical(RECORD), signature, "k1", {"k1": c.public_key_bytes(key)})


def test_rotation_keeps_old_signatures_verifying():
    old_seed, new_seed = c.new_key_seed(), c.new_key_seed()
    (old_id, old_key), = c.parse_keys(f"2025:{old_seed}")
    signature = c.sign(c.canonical(RECORD), old_key)
    rotated = c.parse_keys(f"2026:{new_seed},2025:{old_seed}")
    assert [kid for kid, _ in rotated] == ["2026", "2025"]  # the first signs from now on
    published = {kid: c.public_key_bytes(k) for kid, k in rotated}
    assert c.verify(c.canonical(RECORD), signature, old_id, published)


@pytest.mark.parametrize("setting", ["", "k1", "k1:", ":seed", "k1:short",
                                     f"k1:{'A' * 43},k1:{'B' * 43}"])
def test_bad_key_settings_are_refused(setting):
    with pytest.raises(ValueError):
        c.parse_keys(setting)


def test_numbers_and_codes_are_opaque_and_unguessable():
    numbers = {c.new_number() for _ in range(2000)}
    assert len(numbers) == 2000
    assert all(n.startswith("SW-") and len(n) == 19 for n in numbers)
    assert len(c.from_b64url(c.new_code())) == 20  # 160 bits
