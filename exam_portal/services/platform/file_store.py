"""Where registration evidence is kept: candidates' documents and ID photos, as files
outside the web root, under keys the caller makes (random hex, say) and keeps in the
database with the file's kind.

One small interface, two backends chosen by `EVIDENCE_STORE` (as MAIL_BACKEND chooses
a mail transport): "local", a private folder (`EVIDENCE_DIR`, mode 0700, each file 0600,
written whole or not at all), or "s3", a bucket of any S3-compatible service. A key is
letters, digits, "-" and "_" only, so it can never name a path outside the store. The
store serves nobody: a view that shows a file checks who asks, then sends what `get`
returned.

Files and rows live in two places that cannot commit together, so their order is
fixed: a new file is stored before its row is written and is deleted again unless that
transaction commits (`delete_unless_committed`); a file whose row goes is deleted only
once that transaction has committed (`delete_after_commit`). A crash between the two
leaves at worst a file no row names, never a row without its file.
"""

import logging
import os
import re
import secrets
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from flask import current_app

from exam_portal.extensions import db

log = logging.getLogger(__name__)

KEY = re.compile(r"[A-Za-z0-9_-]{1,128}")
DIR_MODE = 0o700
FILE_MODE = 0o600
# The folder's own files start with ".", which no key may: a temporary file can never be
# taken for, or collide with, a stored one.
_PARTIAL_PREFIX = ".partial-"


class FileStoreError(Exception):
    """A file that cannot be stored or read, with the reason."""


class InvalidKey(FileStoreError, ValueError):
    """A key outside the safe characters (it could name another path)."""


class MissingFile(FileStoreError, LookupError):
    """No file is stored under the key."""


class FileStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...


def check_key(key: str) -> str:
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise InvalidKey(f"invalid file key {key!r}: 1-128 letters, digits, - or _")
    return key


class LocalFileStore:
    """A folder on this machine. The content type is not kept: the database row that
    holds the key holds the kind."""

    def __init__(self, directory):
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / check_key(key)

    def _folder(self) -> Path:
        if not self.directory.is_dir():
            self.directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            os.chmod(self.directory, DIR_MODE)  # whatever the umask
        return self.directory

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store *data* under *key*, replacing what was there; readers see the old file
        or the new one, never a part."""
        path = self._path(key)
        partial = self._folder() / f"{_PARTIAL_PREFIX}{secrets.token_hex(8)}"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as file:
                os.fchmod(file.fileno(), FILE_MODE)
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        _sync_folder(self.directory)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as error:
            raise MissingFile(f"no file stored under {key}") from error

    def delete(self, key: str) -> None:
        """Remove the file under *key*; nothing happens if there is none."""
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


def _sync_folder(directory: Path) -> None:
    # The rename is durable only once the folder's entry is on disk too.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class S3FileStore:
    """A bucket of an S3-compatible service (AWS S3, MinIO, Ceph, a cloud's object
    storage). Credentials come the usual AWS ways: AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY in the environment, a shared credentials file, an instance
    role. boto3 is imported only here, so a portal storing locally never loads it."""

    def __init__(self, bucket: str, *, endpoint: str | None = None, region: str | None = None,
                 addressing_style: str = "auto", client=None):
        self.bucket = bucket
        if client is None:
            import boto3
            from botocore.config import Config as BotoConfig

            client = boto3.client("s3", endpoint_url=endpoint or None, region_name=region or None,
                                  config=BotoConfig(
                                      s3={"addressing_style": addressing_style},
                                      connect_timeout=5, read_timeout=30,
                                      retries={"max_attempts": 3, "mode": "standard"},
                                      # Checksums only where S3 requires them: many
                                      # S3-compatible services refuse the CRC headers
                                      # that botocore adds by default since 1.36.
                                      request_checksum_calculation="when_required",
                                      response_checksum_validation="when_required"))
        self.client = client

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store *data* under *key*, replacing what was there (S3 writes an object whole)."""
        self.client.put_object(Bucket=self.bucket, Key=check_key(key), Body=data,
                               ContentType=content_type)

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
        except self.client.exceptions.NoSuchKey as error:
            raise MissingFile(f"no file stored under {key}") from error
        with response["Body"] as body:
            return body.read()

    def delete(self, key: str) -> None:
        """Remove the object under *key*; nothing happens if there is none."""
        self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


def for_config(config) -> FileStore:
    """The store `EVIDENCE_STORE` names, set up from *config*."""
    backend = config["EVIDENCE_STORE"]
    if backend == "s3":
        return S3FileStore(config["EVIDENCE_S3_BUCKET"], endpoint=config["EVIDENCE_S3_ENDPOINT"],
                           region=config["EVIDENCE_S3_REGION"],
                           addressing_style=config["EVIDENCE_S3_ADDRESSING_STYLE"])
    if backend == "local":
        return LocalFileStore(config["EVIDENCE_DIR"])
    raise FileStoreError(f"EVIDENCE_STORE must be local or s3, not {backend!r}")


def current() -> FileStore:
    """The application's store, made on first use and then shared (an S3 client is
    thread-safe and costs a few milliseconds to make)."""
    store = current_app.extensions.get("evidence_store")
    if store is None:
        store = current_app.extensions["evidence_store"] = for_config(current_app.config)
    return store


# Deleting files with the transaction that drops or refuses their rows -------------------

_AFTER_COMMIT = "file_store.delete_after_commit"
_UNLESS_COMMITTED = "file_store.delete_unless_committed"


def new_key(prefix: str) -> str:
    """A fresh random key (128 bits), *prefix* first, e.g. "doc-3f…"."""
    return check_key(f"{prefix}-{secrets.token_hex(16)}")


def delete_after_commit(key: str) -> None:
    """Delete the file under *key* once the session's transaction commits (its row was
    deleted or replaced in it); keep it if the transaction rolls back."""
    _listen()
    db.session.info.setdefault(_AFTER_COMMIT, set()).add(check_key(key))


def delete_unless_committed(key: str) -> None:
    """Delete the file just stored under *key* when the session's transaction ends
    without committing (the row that names it was refused or never written)."""
    _listen()
    db.session.connection()  # a transaction is open, so its end is seen
    db.session.info.setdefault(_UNLESS_COMMITTED, set()).add(check_key(key))


def _listen() -> None:
    if not sa.event.contains(db.session, "after_commit", _committed):
        sa.event.listen(db.session, "after_commit", _committed)
        sa.event.listen(db.session, "after_transaction_end", _ended)


def _committed(session) -> None:
    session.info.pop(_UNLESS_COMMITTED, None)
    _delete_all(session.info.pop(_AFTER_COMMIT, ()))


def _ended(session, transaction) -> None:
    if transaction.parent is not None:
        return  # a savepoint: the outer transaction decides
    # After a commit the lists are already empty (after_commit comes first).
    session.info.pop(_AFTER_COMMIT, None)
    _delete_all(session.info.pop(_UNLESS_COMMITTED, ()))


def _delete_all(keys) -> None:
    for key in sorted(keys):
        try:
            current().delete(key)
        except Exception:  # noqa: BLE001 - the transaction is over: a file left behind is logged
            log.exception("evidence file %s could not be deleted; remove it by hand", key)
