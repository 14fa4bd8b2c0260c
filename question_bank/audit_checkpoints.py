"""Signed checkpoints of the audit log: how many events it held and the hash of the last
one, at a moment, signed with Ed25519 under a key id and kept outside the database.

The hash chain shows a row changed or removed in the middle of the log, but nothing in
the database knows where the chain should end: remove the newest rows, or all of them,
and what is left still verifies. A checkpoint is the chain's counterpart of a signed tree
head in Certificate Transparency (RFC 6962 §3.5): "the log held N events and the N-th
had hash H". A log extends it only if it still holds at least N events and its N-th has
hash H; since every hash covers its predecessor's, that vouches for all N. The signature
says who wrote it, so someone who can write where checkpoints are kept, but lacks the
key, cannot add one that fits a shortened or rewritten log.

Here are the file's form, its signature and that rule; no Flask and no database, so a
checkpoint can be checked with the public keys alone. Signing reuses the certificate
primitives (canonical JSON, Ed25519, key ids), under a key of its own.
"""

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import certificates as signing
from . import credentials
from .errors import QuestionBankError

FORMAT = "exam-portal-audit-checkpoint"
VERSION = 1
ALGORITHM = "Ed25519"
GENESIS_HASH = "0" * 64  # what the first event of the log follows
MAX_FILE_BYTES = 16 * 1024  # a checkpoint is about 500 bytes
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_HASH = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_FIELDS = ("format", "version", "portal", "events", "head_hash", "head_event_id",
           "created_at", "algorithm", "key_id", "signature")


class InvalidCheckpoint(QuestionBankError):
    """Not a checkpoint file this module writes; `reason` says which part is wrong."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Problem(enum.StrEnum):
    UNKNOWN_KEY = "signed by a key that is not among the checkpoint keys"
    BAD_SIGNATURE = "the signature does not match the content"
    FEWER_EVENTS = "the log holds fewer events than the checkpoint counted"
    DIFFERENT_HEAD = "the log's event at the checkpoint's count is not the one signed"


@dataclass(frozen=True)
class Checkpoint:
    portal: str  # whose log: the portal's public address
    events: int  # how many events the log held
    head_hash: str  # the hash of the last of them (GENESIS_HASH for none)
    head_event_id: int | None  # its row id, for people: ids are not hashed
    created_at: datetime
    key_id: str
    signature: str

    def record(self) -> dict:
        """What the signature covers: every field of the file but the signature."""
        return {"format": FORMAT, "version": VERSION, "portal": self.portal,
                "events": self.events, "head_hash": self.head_hash,
                "head_event_id": self.head_event_id,
                "created_at": self.created_at.astimezone(UTC).strftime(_TIME_FORMAT),
                "algorithm": ALGORITHM, "key_id": self.key_id}


def sign(*, portal: str, events: int, head_hash: str, head_event_id: int | None,
         created_at: datetime, key_id: str, key: Ed25519PrivateKey) -> Checkpoint:
    """Sign the head of a log of *events* events."""
    unsigned = Checkpoint(portal, events, head_hash, head_event_id,
                          created_at.astimezone(UTC), key_id, signature="")
    _check(unsigned.record())
    signature = signing.sign(signing.canonical(unsigned.record()), key)
    return Checkpoint(**{**asdict(unsigned), "signature": signature})


def to_json(checkpoint: Checkpoint) -> bytes:
    """The file: JSON a person can read, with the signature beside what it covers."""
    fields = {**checkpoint.record(), "signature": checkpoint.signature}
    return (json.dumps(fields, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def parse(data: bytes) -> Checkpoint:
    """Read a checkpoint file; InvalidCheckpoint unless it has exactly the fields of
    this format, each of its type and form (the signature is not checked here)."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidCheckpoint(f"larger than {MAX_FILE_BYTES} bytes")
    try:
        fields = json.loads(data.decode("utf-8"),
                            object_pairs_hook=credentials.no_duplicate_members)
    except (ValueError, RecursionError) as error:  # also UnicodeDecodeError
        raise InvalidCheckpoint(f"not JSON ({error.__class__.__name__})") from error
    if not isinstance(fields, dict):
        raise InvalidCheckpoint("not a JSON object")
    missing = [name for name in _FIELDS if name not in fields]
    if missing:
        raise InvalidCheckpoint(f"missing {', '.join(missing)}")
    unknown = sorted(set(fields) - set(_FIELDS))
    if unknown:
        raise InvalidCheckpoint(f"unknown field {', '.join(unknown)}")
    if not isinstance(fields["signature"], str) or not fields["signature"]:
        raise InvalidCheckpoint("signature is not text")
    record = {name: fields[name] for name in _FIELDS if name != "signature"}
    _check(record)
    created_at = datetime.strptime(record["created_at"], _TIME_FORMAT).replace(tzinfo=UTC)
    return Checkpoint(record["portal"], record["events"], record["head_hash"],
                      record["head_event_id"], created_at, record["key_id"],
                      fields["signature"])


def is_key_id(text) -> bool:
    """Whether *text* can name a checkpoint key: letters, digits, - and _, at most 64."""
    return isinstance(text, str) and bool(_KEY_ID.fullmatch(text))



def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check(record: Mapping) -> None:
    if record["format"] != FORMAT or record["version"] != VERSION:
        raise InvalidCheckpoint(f"not {FORMAT} version {VERSION}")
    if record["algorithm"] != ALGORITHM:
        raise InvalidCheckpoint(f"algorithm is not {ALGORITHM}")
    if not isinstance(record["portal"], str) or len(record["portal"]) > 500:
        raise InvalidCheckpoint("portal is not text")
    if not _is_count(record["events"]):
        raise InvalidCheckpoint("events is not a count")
    if not isinstance(record["head_hash"], str) or not _HASH.fullmatch(record["head_hash"]):
        raise InvalidCheckpoint("head_hash is not a SHA-256 hash in lower-case hex")
    head_id = record["head_event_id"]
    if record["events"] == 0:
        if head_id is not None or record["head_hash"] != GENESIS_HASH:
            raise InvalidCheckpoint("an empty log has no head event")
    elif not _is_count(head_id) or head_id == 0:
        raise InvalidCheckpoint("head_event_id is not a row id")
    created = record["created_at"]
    try:
        moment = datetime.strptime(created, _TIME_FORMAT) if isinstance(created, str) else None
    except ValueError:
        moment = None
    # One spelling only: the signature covers the text, not the moment it names.
    if moment is None or moment.strftime(_TIME_FORMAT) != created:
        raise InvalidCheckpoint("created_at is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    if not is_key_id(record["key_id"]):
        raise InvalidCheckpoint("key_id is not a key id")


def signature_problem(checkpoint: Checkpoint,
                      public_keys: Mapping[str, bytes]) -> Problem | None:
    """Why the checkpoint's signature does not hold with these public keys, or None."""
    if checkpoint.key_id not in public_keys:
        return Problem.UNKNOWN_KEY
    if not signing.verify(signing.canonical(checkpoint.record()), checkpoint.signature,
                          checkpoint.key_id, public_keys):
        return Problem.BAD_SIGNATURE
    return None


def extension_problem(checkpoint: Checkpoint, *, events: int,
                      hash_at_count: str | None) -> Problem | None:
    """Why a log of *events* events, whose event number `checkpoint.events` (counted
    from 1 in order) has hash *hash_at_count*, does not extend the checkpoint, or None.
    The log must be an intact chain for this to vouch for the events before."""
    if events < checkpoint.events:
        return Problem.FEWER_EVENTS
    if hash_at_count != checkpoint.head_hash:
        return Problem.DIFFERENT_HEAD
    return None


def parse_public_keys(setting: str) -> dict[str, bytes]:
    """Read `kid:key,kid:key` (raw 32-byte Ed25519 public keys in base64url): the keys
    that check checkpoints, e.g. of a key retired from signing. ValueError with a reason
    for anything else."""
    keys = {}
    for part in (setting or "").split(","):
        part = part.strip()
        if not part:
            continue
        key_id, _, encoded = part.partition(":")
        key_id = key_id.strip()
        if not encoded.strip():
            raise ValueError("each public key is kid:base64url-key")
        if not is_key_id(key_id):
            raise ValueError(f"key id {key_id!r}: letters, digits, - and _ only (at most 64)")
        if key_id in keys:
            raise ValueError(f"key id {key_id} appears twice")
        raw = signing.from_b64url(encoded.strip())
        if len(raw) != 32:
            raise ValueError(f"key {key_id}: an Ed25519 public key is 32 bytes")
        keys[key_id] = raw
    if not keys:
        raise ValueError("no public key")
    return keys


def public_keys_setting(public_keys: Mapping[str, bytes]) -> str:
    """The `kid:key,…` form that parse_public_keys reads."""
    return ",".join(f"{key_id}:{signing.b64url(raw)}" for key_id, raw in public_keys.items())
