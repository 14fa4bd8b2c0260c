"""Signed checkpoints of the audit log's head (DP-6): a self-describing file that fails
on any change, a key id for rotation, and the rule for "the log still extends it"."""

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from question_bank import audit_checkpoints as checkpoints
from question_bank import certificates as signing

HEAD = "ab" * 32
OTHER_HEAD = "cd" * 32
CREATED = datetime(2026, 12, 6, 4, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture(scope="module")
def key():
    return signing.private_key(signing.new_key_seed())


@pytest.fixture(scope="module")
def checkpoint(key):
    return checkpoints.sign(portal="https://portal.example.cn", events=5, head_hash=HEAD,
                            head_event_id=7, created_at=CREATED, key_id="audit-1", key=key)


@pytest.fixture(scope="module")
def public_keys(key):
    return {"audit-1": signing.public_key_bytes(key)}


def test_a_checkpoint_file_reads_back_as_itself_and_verifies(checkpoint, public_keys):
    data = checkpoints.to_json(checkpoint)
    assert checkpoints.parse(data) == checkpoint
    assert checkpoints.signature_problem(checkpoints.parse(data), public_keys) is None


def test_the_file_says_what_it_is_and_what_it_counts(checkpoint):
    fields = json.loads(checkpoints.to_json(checkpoint))
    assert fields["format"] == "exam-portal-audit-checkpoint" and fields["version"] == 1
    assert fields["events"] == 5 and fields["head_hash"] == HEAD
    assert fields["head_event_id"] == 7 and fields["created_at"] == "2026-12-06T04:00:00.123456Z"
    assert fields["algorithm"] == "Ed25519" and fields["key_id"] == "audit-1"
    assert fields["portal"] == "https://portal.example.cn" and fields["signature"]


def test_an_unknown_key_and_a_foreign_key_under_a_known_id_are_told_apart(checkpoint):
    stranger = signing.private_key(signing.new_key_seed())
    assert checkpoints.signature_problem(checkpoint, {}) is checkpoints.Problem.UNKNOWN_KEY
    assert checkpoints.signature_problem(
        checkpoint, {"audit-1": signing.public_key_bytes(stranger)}
    ) is checkpoints.Problem.BAD_SIGNATURE


@settings(max_examples=300)
@given(data=st.data())
def test_no_change_to_any_byte_of_the_file_passes_unnoticed(checkpoint, public_keys, data):
    original = checkpoints.to_json(checkpoint)
    position = data.draw(st.integers(0, len(original) - 1))
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != original[position]))
    changed = original[:position] + bytes([replacement]) + original[position + 1:]
    try:
        parsed = checkpoints.parse(changed)
    except checkpoints.InvalidCheckpoint:
        return
    # Still a checkpoint: either the very same one (white space between members) or
    # one whose signature fails.
    assert parsed == checkpoint or checkpoints.signature_problem(parsed, public_keys)


@pytest.mark.parametrize("events, hash_at_count, problem", [
    (5, HEAD, None),  # the same log
    (9, HEAD, None),  # the log grew since: its 5th event is still the one signed
    (4, None, checkpoints.Problem.FEWER_EVENTS),  # the newest rows were removed
    (0, None, checkpoints.Problem.FEWER_EVENTS),  # emptied
    (5, OTHER_HEAD, checkpoints.Problem.DIFFERENT_HEAD),  # rewritten, hashes recomputed
    (9, OTHER_HEAD, checkpoints.Problem.DIFFERENT_HEAD),  # cut, then grew again
])
def test_the_log_extends_a_checkpoint_only_with_as_many_events_and_the_same_head(
        checkpoint, events, hash_at_count, problem):
    assert checkpoints.extension_problem(checkpoint, events=events,
                                         hash_at_count=hash_at_count) is problem


def test_a_checkpoint_of_an_empty_log_is_extended_by_any_log(key):
    empty = checkpoints.sign(portal="p", events=0, head_hash=checkpoints.GENESIS_HASH,
                             head_event_id=None, created_at=CREATED, key_id="k", key=key)
    assert checkpoints.parse(checkpoints.to_json(empty)) == empty
    assert checkpoints.extension_problem(empty, events=0,
                                         hash_at_count=checkpoints.GENESIS_HASH) is None


def _with(checkpoint, **changes) -> bytes:
    fields = json.loads(checkpoints.to_json(checkpoint))
    fields.update(changes)
    return json.dumps(fields).encode()


@pytest.mark.parametrize("data", [
    b"", b"\xff\xfe", b"[]", b"null", b"{" * 10_000, b"x" * 100_000,
    b'{"format": "exam-portal-audit-checkpoint", "format": "other"}',
])
def test_what_is_not_a_checkpoint_is_refused_with_a_reason(data):
    with pytest.raises(checkpoints.InvalidCheckpoint) as refused:
        checkpoints.parse(data)
    assert refused.value.reason


@pytest.mark.parametrize("changes", [
    {"format": "something-else"}, {"version": 2}, {"algorithm": "HS256"},
    {"events": -1}, {"events": True}, {"events": 5.0}, {"events": "5"},
    {"head_hash": "AB" * 32}, {"head_hash": "ab" * 31}, {"head_event_id": 0},
    {"created_at": "2026-12-06 04:00:00"}, {"created_at": "2026-12-6T04:00:00.123456Z"},
    {"key_id": ""}, {"key_id": "a b"}, {"signature": 12}, {"portal": None},
    {"extra": "a field the signature would cover but no reader knows"},
])
def test_each_field_is_checked_for_its_type_and_form(checkpoint, changes):
    with pytest.raises(checkpoints.InvalidCheckpoint):
        checkpoints.parse(_with(checkpoint, **changes))


def test_a_missing_field_is_refused(checkpoint):
    fields = json.loads(checkpoints.to_json(checkpoint))
    del fields["events"]
    with pytest.raises(checkpoints.InvalidCheckpoint, match="events"):
        checkpoints.parse(json.dumps(fields).encode())


def test_public_keys_are_read_and_written_as_kid_colon_key(key):
    other = signing.private_key(signing.new_key_seed())
    keys = {"audit-1": signing.public_key_bytes(key), "audit-2": signing.public_key_bytes(other)}
    setting = checkpoints.public_keys_setting(keys)
    assert checkpoints.parse_public_keys(setting) == keys
    assert checkpoints.parse_public_keys(f" {setting} ,") == keys


@pytest.mark.parametrize("setting", [
    "", "audit-1", "audit-1:", ":AAAA", "audit-1:not*base64",
    f"audit-1:{signing.b64url(b'short')}",
    f"a:{signing.b64url(bytes(32))},a:{signing.b64url(bytes(32))}",
])
def test_a_malformed_public_key_setting_is_refused(setting):
    with pytest.raises(ValueError):
        checkpoints.parse_public_keys(setting)
