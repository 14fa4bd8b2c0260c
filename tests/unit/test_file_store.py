"""The evidence store: files go in and come out whole under safe keys, privately on
disk, or in a bucket of a real (local) S3 endpoint; the configuration refuses a
folder the web server would serve."""

import os
import secrets
import stat
import threading

import pytest
from flask import Flask

from exam_portal.config import Config, finish_config
from exam_portal.services.platform import file_store
from exam_portal.services.platform.file_store import InvalidKey, MissingFile

BAD_KEYS = ["", "../secret", "..", "a/b", "/etc/passwd", ".hidden", "a.pdf", "a\x00b",
            "a b", "证书", "x" * 129, None]


def _key() -> str:
    return secrets.token_hex(16)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# The local folder ----------------------------------------------------------------------

@pytest.fixture
def local(tmp_path):
    return file_store.LocalFileStore(tmp_path / "instance" / "evidence")


def test_a_stored_file_comes_back_whole_and_goes_away(local):
    key, data = _key(), b"%PDF-1.7\n" + bytes(range(256)) * 100
    assert not local.exists(key)
    local.put(key, data, "application/pdf")
    assert local.exists(key)
    assert local.get(key) == data
    local.put(key, b"replaced", "application/pdf")
    assert local.get(key) == b"replaced"
    local.delete(key)
    assert not local.exists(key)
    local.delete(key)  # deleting twice is harmless
    with pytest.raises(MissingFile):
        local.get(key)


@pytest.mark.parametrize("key", BAD_KEYS)
def test_a_key_that_could_name_another_path_is_refused(local, tmp_path, key):
    (tmp_path / "secret").write_bytes(b"not yours")
    for call in (lambda: local.put(key, b"x", "image/jpeg"), lambda: local.get(key),
                 lambda: local.delete(key), lambda: local.exists(key)):
        with pytest.raises(InvalidKey):
            call()
    assert (tmp_path / "secret").read_bytes() == b"not yours"


def test_the_folder_and_the_files_are_the_portal_users_alone_whatever_the_umask(local):
    old_umask = os.umask(0)
    try:
        key = _key()
        local.put(key, b"photo", "image/jpeg")
    finally:
        os.umask(old_umask)
    assert _mode(local.directory) == 0o700
    assert _mode(local.directory / key) == 0o600


def test_a_write_leaves_no_temporary_file(local):
    keys = [_key() for _ in range(5)]
    for key in keys:
        local.put(key, key.encode(), "image/png")
    assert sorted(path.name for path in local.directory.iterdir()) == sorted(keys)


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_behind(local, monkeypatch):
    key = _key()
    local.put(key, b"old", "image/jpeg")

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError):
        local.put(key, b"new", "image/jpeg")
    assert local.get(key) == b"old"
    assert [path.name for path in local.directory.iterdir()] == [key]


# Configuration -------------------------------------------------------------------------

def _app(tmp_path, **settings) -> Flask:
    app = Flask("exam_portal", instance_path=str(tmp_path / "instance"))
    app.config.from_object(Config)
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", **settings)
    finish_config(app)
    return app


def test_the_default_store_is_a_folder_in_the_instance_folder(tmp_path):
    app = _app(tmp_path)
    assert app.config["EVIDENCE_DIR"] == str(tmp_path / "instance" / "evidence")
    with app.app_context():
        store = file_store.current()
        assert isinstance(store, file_store.LocalFileStore)
        assert file_store.current() is store


def test_a_folder_inside_the_static_folder_is_refused(tmp_path):
    static = Flask("exam_portal").static_folder
    with pytest.raises(RuntimeError, match="static folder"):
        _app(tmp_path, EVIDENCE_DIR=os.path.join(static, "uploads", "evidence"))


@pytest.mark.parametrize("settings, message", [
    ({"EVIDENCE_STORE": "ftp"}, "local or s3"),
    ({"EVIDENCE_STORE": "s3"}, "EVIDENCE_S3_BUCKET"),
    ({"EVIDENCE_STORE": "s3", "EVIDENCE_S3_BUCKET": "b",
      "EVIDENCE_S3_ADDRESSING_STYLE": "sideways"}, "auto, path or virtual"),
])
def test_an_incomplete_store_setting_stops_the_start(tmp_path, settings, message):
    with pytest.raises(RuntimeError, match=message):
        _app(tmp_path, **settings)


# S3, against a real HTTP endpoint ------------------------------------------------------

@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server on a free local port, in a thread of this process."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as error:
        pytest.skip(f"moto[server] is not installed ({error}): the S3 backend is untested")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    # start() waits for the server without a timeout, and forever if the server thread
    # dies (say, no socket may be opened): wait for it at most 30 s.
    starter = threading.Thread(target=server.start, daemon=True)
    starter.start()
    starter.join(30)
    if starter.is_alive():
        pytest.skip("moto's S3 server did not start within 30 s: the S3 backend is untested")
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint, monkeypatch, tmp_path):
    # Credentials the usual way, from the environment (moto takes any).
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    bucket = f"evidence-{secrets.token_hex(4)}"
    app = _app(tmp_path, EVIDENCE_STORE="s3", EVIDENCE_S3_BUCKET=bucket,
               EVIDENCE_S3_ENDPOINT=s3_endpoint, EVIDENCE_S3_REGION="us-east-1",
               EVIDENCE_S3_ADDRESSING_STYLE="path")
    store = file_store.for_config(app.config)
    store.client.create_bucket(Bucket=bucket)
    return store


def test_an_s3_store_keeps_files_in_its_bucket(s3):
    assert isinstance(s3, file_store.S3FileStore)
    key, data = _key(), b"\xff\xd8\xff" + bytes(range(256)) * 400
    assert not s3.exists(key)
    s3.put(key, data, "image/jpeg")
    assert s3.exists(key)
    assert s3.get(key) == data
    head = s3.client.head_object(Bucket=s3.bucket, Key=key)
    assert head["ContentType"] == "image/jpeg"
    assert head["ContentLength"] == len(data)
    s3.put(key, b"replaced", "image/jpeg")
    assert s3.get(key) == b"replaced"
    s3.delete(key)
    assert not s3.exists(key)
    s3.delete(key)
    with pytest.raises(MissingFile):
        s3.get(key)


def test_an_s3_store_refuses_unsafe_keys_before_asking_the_service(s3):
    for key in BAD_KEYS:
        with pytest.raises(InvalidKey):
            s3.put(key, b"x", "image/jpeg")
    assert s3.client.list_objects_v2(Bucket=s3.bucket).get("KeyCount") == 0
