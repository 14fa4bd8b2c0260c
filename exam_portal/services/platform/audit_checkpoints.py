"""Checkpoints of the audit log written as files outside the database, and the check that
the database still extends them (RELIABILITY DP-6).

The hash chain (services/audit.py) finds a row changed or removed in the middle, but a
log whose newest rows are gone, or which is empty, is a shorter chain that verifies.
A checkpoint records how many events the log held and the hash of the last one, signed
(question_bank/audit_checkpoints.py); kept where the database's users cannot reach, it
shows such a cut: the log then holds fewer events than one counted, or another event at
its count.

`write_checkpoint` is `flask audit checkpoint` (from cron): it reads the chain in one
snapshot with no write transaction open, and refuses to sign a broken chain or one that
no longer extends the newest checkpoint already in the folder, so the run that would
have covered up a cut reports it instead. Each checkpoint is a new file, readable by its
owner only, never replacing one. `check_folder` is `flask audit verify --checkpoints`:
every checkpoint in a folder against the log. Their words are for the operator's
terminal, in English like the other commands.
"""

import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import current_app

from exam_portal.extensions import no_write_lock
from exam_portal.services.platform import audit
from question_bank import audit_checkpoints as checkpoints
from question_bank import certificates as signing

FILE_PREFIX = "audit-checkpoint-"
FILE_MODE = 0o600  # the operator's alone, whatever the umask

EXTENDED = "extended"
NOT_EXTENDED = "NOT EXTENDED"
INVALID = "INVALID"


class CheckpointError(Exception):
    """A checkpoint that cannot be written, or a folder that cannot be checked."""


def signing_key():
    """The key id and key that sign new checkpoints: the first of AUDIT_CHECKPOINT_KEYS."""
    setting = current_app.config.get("AUDIT_CHECKPOINT_KEYS")
    if not setting:
        raise CheckpointError(
            "AUDIT_CHECKPOINT_KEYS is not set: make a key with `flask --app exam_portal "
            "audit new-key` and set it where checkpoints are written")
    return signing.parse_keys(setting)[0]


def public_keys() -> dict[str, bytes]:
    """Every key that checks checkpoints: the signing keys' public parts first, then the
    public-only ones (AUDIT_CHECKPOINT_PUBLIC_KEYS)."""
    config = current_app.config
    keys = {key_id: signing.public_key_bytes(key) for key_id, key
            in signing.parse_keys(config["AUDIT_CHECKPOINT_KEYS"])} \
        if config.get("AUDIT_CHECKPOINT_KEYS") else {}
    if config.get("AUDIT_CHECKPOINT_PUBLIC_KEYS"):
        listed = checkpoints.parse_public_keys(config["AUDIT_CHECKPOINT_PUBLIC_KEYS"])
        keys.update({key_id: raw for key_id, raw in listed.items() if key_id not in keys})
    return keys


# Reading and judging ----------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """One checkpoint file: what it holds, or why it is not a checkpoint."""

    path: Path
    checkpoint: checkpoints.Checkpoint | None
    unreadable: str | None = None


@dataclass(frozen=True)
class Verdict:
    entry: Entry
    status: str  # EXTENDED, NOT_EXTENDED or INVALID
    reason: str | None = None


def checkpoint_paths(folder: Path) -> list[Path]:
    """The checkpoint files in *folder*, oldest first (a name begins with its time)."""
    if not folder.is_dir():
        raise CheckpointError(f"folder {folder} does not exist")
    return sorted(folder.glob(f"{FILE_PREFIX}*.json"))


def read(path: Path) -> Entry:
    """What a checkpoint file holds, or why it is not one."""
    if not path.is_file():  # a pipe planted under the name would hang the read
        return Entry(path, None, "not a regular file")
    try:
        with path.open("rb") as file:
            data = file.read(checkpoints.MAX_FILE_BYTES + 1)
    except OSError as error:
        return Entry(path, None, f"cannot be read ({error.strerror})")
    try:
        return Entry(path, checkpoints.parse(data))
    except checkpoints.InvalidCheckpoint as error:
        return Entry(path, None, error.reason)


def judge(entry: Entry, chain: audit.ChainReport, keys: dict[str, bytes]) -> Verdict:
    """Whether the log read as *chain* extends the checkpoint, which must be signed by
    one of *keys*."""
    checkpoint = entry.checkpoint
    if checkpoint is None:
        return Verdict(entry, INVALID, f"not a checkpoint file: {entry.unreadable}")
    problem = checkpoints.signature_problem(checkpoint, keys)
    if problem is checkpoints.Problem.UNKNOWN_KEY:
        return Verdict(entry, INVALID, f"signed by key {checkpoint.key_id}, which is not "
                       "among the checkpoint keys (AUDIT_CHECKPOINT_KEYS, "
                       "AUDIT_CHECKPOINT_PUBLIC_KEYS)")
    if problem is checkpoints.Problem.BAD_SIGNATURE:
        return Verdict(entry, INVALID, f"the signature does not match the content for key "
                       f"{checkpoint.key_id}: the file was altered, or signed with another "
                       "key under that id")
    if not chain.is_intact and checkpoint.events >= chain.count:
        return Verdict(entry, NOT_EXTENDED, "cannot be vouched for: the chain breaks "
                       f"before its event {checkpoint.events} (at row id {chain.broken_at})")
    found = chain.hashes.get(checkpoint.events)
    problem = checkpoints.extension_problem(checkpoint, events=chain.count,
                                            hash_at_count=found)
    if problem is checkpoints.Problem.FEWER_EVENTS:
        return Verdict(entry, NOT_EXTENDED, f"the log holds {chain.count} events, the "
                       f"checkpoint counted {checkpoint.events}: the newest events were "
                       "removed (deleted, truncated, or an older backup restored)")
    if problem is checkpoints.Problem.DIFFERENT_HEAD:
        return Verdict(entry, NOT_EXTENDED, f"event {checkpoint.events} of the log has hash "
                       f"{(found or '?')[:16]}…, the checkpoint signed "
                       f"{checkpoint.head_hash[:16]}…: the log was rewritten up to there")
    return Verdict(entry, EXTENDED)


@dataclass(frozen=True)
class FolderReport:
    chain: audit.ChainReport
    verdicts: list[Verdict]

    @property
    def failures(self) -> list[Verdict]:
        return [verdict for verdict in self.verdicts if verdict.status != EXTENDED]


def check_folder(folder: Path) -> FolderReport:
    """Check the chain and every checkpoint in *folder* against it, in one read."""
    entries = [read(path) for path in checkpoint_paths(folder)]
    if not entries:
        raise CheckpointError(f"no checkpoint files ({FILE_PREFIX}*.json) in {folder}")
    keys = public_keys()
    if not keys:
        raise CheckpointError("no checkpoint keys to check with: set AUDIT_CHECKPOINT_KEYS "
                              "or AUDIT_CHECKPOINT_PUBLIC_KEYS")
    with no_write_lock():
        chain = audit.verify_chain({e.checkpoint.events for e in entries if e.checkpoint})
    return FolderReport(chain, [judge(entry, chain, keys) for entry in entries])


# Writing ----------------------------------------------------------------------------

def write_checkpoint(folder: Path | None, *, now: datetime):
    """Sign the head of the log as read now and write it into *folder* (default
    AUDIT_CHECKPOINT_DIR) as a new file; return its path and the checkpoint."""
    if folder is None:
        configured = current_app.config.get("AUDIT_CHECKPOINT_DIR")
        if not configured:
            raise CheckpointError("no folder: name one, or set AUDIT_CHECKPOINT_DIR")
        folder = Path(configured)
    key_id, key = signing_key()
    # Never made on the fly: a folder that is missing may be storage not mounted.
    paths = checkpoint_paths(Path(folder))
    newest = read(paths[-1]) if paths else None
    with no_write_lock():
        chain = _chain_since(newest)
    if not chain.is_intact:
        raise CheckpointError(f"audit log BROKEN at event {chain.broken_at}: {chain.reason}; "
                              "no checkpoint written")
    if newest is not None:
        verdict = judge(newest, chain, public_keys())
        if verdict.status != EXTENDED:
            raise CheckpointError(
                f"the log does not extend the newest checkpoint {newest.path.name}: "
                f"{verdict.reason}. No checkpoint written; see `flask --app exam_portal "
                f"audit verify --checkpoints {folder}`. Where the cause is known (an "
                "older backup restored), move the checkpoints the log no longer extends "
                "into a folder of their own, with a note of why")
    checkpoint = checkpoints.sign(
        portal=current_app.config["PUBLIC_BASE_URL"], events=chain.count,
        head_hash=chain.head_hash, head_event_id=chain.head_id, created_at=now,
        key_id=key_id, key=key)
    return _write_new(Path(folder), checkpoint), checkpoint


def _chain_since(newest: Entry | None) -> audit.ChainReport:
    """The chain as far as the newest checkpoint needs: only the rows after it when it
    is genuine and still extended (a cron run then reads what is new, not the whole log;
    `audit verify --checkpoints` reads it all); otherwise all of it, for the reason."""
    checkpoint = newest.checkpoint if newest is not None else None
    if checkpoint is None or checkpoints.signature_problem(checkpoint, public_keys()):
        return audit.verify_chain()
    since = audit.verify_chain_from(checkpoint.events, checkpoint.head_hash)
    return since if since is not None else audit.verify_chain([checkpoint.events])


def _write_new(folder: Path, checkpoint: checkpoints.Checkpoint) -> Path:
    """Write the file whole under a hidden name, then give it its own by a link, which,
    unlike a rename, never replaces a file of that name."""
    stamp = checkpoint.created_at.strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{FILE_PREFIX}{stamp}-{checkpoint.events}-{secrets.token_hex(3)}.json"
    partial = folder / f".{path.name}.partial"
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        with os.fdopen(descriptor, "wb") as file:
            os.fchmod(file.fileno(), FILE_MODE)
            file.write(checkpoints.to_json(checkpoint))
            file.flush()
            os.fsync(file.fileno())
        os.link(partial, path)
        _sync_folder(folder)
    except OSError as error:
        raise CheckpointError(f"cannot write {path}: {error.strerror}") from error
    finally:
        partial.unlink(missing_ok=True)
    return path


def _sync_folder(folder: Path) -> None:
    # The new name must survive a crash as well as the file's bytes.
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
