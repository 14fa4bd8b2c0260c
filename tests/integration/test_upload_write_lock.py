"""Reading an upload holds no write lock (RELIABILITY LD-5): while a trainer's item file
or an administrator's score sheet is being parsed, a candidate's save is answered at
once and lands.

SQLite has one write lock for the whole database, and a POST's transaction takes it with
its first query (the signed-in user), so a parse inside that transaction made every
save wait out busy_timeout (5 s) and fail. PostgreSQL locks rows, not the database:
there these tests pass with or without the fix, and show nothing else broke."""

import io
import multiprocessing
import re
import threading

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.bank import Item
from exam_portal.services.exam_sessions import score_import
from question_bank.formats import json_format

from ..factories import make_user
from ..unit.bank_samples import MULTI, SINGLE
from . import test_score_import
from .practice_support import candidate, objective_bank, open_attempt, save, start
from .test_authoring import _login
from .test_practice import _responses

paper_session = test_score_import.paper_session  # the fixture: a paper session after its exam

# busy_timeout is 5 s: a save that waits for the lock is not answered within this.
ANSWERED_WITHIN = 3


class SlowReader:
    """Wrap a reader so that it waits, once started, until the test lets it go (also
    when it runs in a child process, as the command line's import reads)."""

    def __init__(self, reader):
        self.reader = reader
        events = multiprocessing.get_context("fork")
        self.parsing, self.release = events.Event(), events.Event()

    def __call__(self, *args, **kwargs):
        self.parsing.set()
        self.release.wait(30)
        return self.reader(*args, **kwargs)


def _in_thread(work) -> tuple[threading.Thread, dict]:
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(response=work()), daemon=True)
    thread.start()
    return thread, outcome


@pytest.fixture
def sitting(app):
    """A candidate with a mock paper open: (client, attempt id, device)."""
    objective_bank(app)
    _, client = candidate(app)
    attempt_id = start(client)
    return client, attempt_id, open_attempt(client, attempt_id)["device"]


def _save_while_parsing(app, slow: SlowReader, upload, sitting):
    """Send *upload* in a thread; while its file is parsed, save an answer and check it
    is answered in time and lands. Return the upload's response."""
    client, attempt_id, device = sitting
    uploading, uploaded = _in_thread(upload)
    try:
        assert slow.parsing.wait(10), "the upload never reached the parser"
        saving, saved = _in_thread(lambda: save(client, attempt_id, 1, device, 1))
        saving.join(ANSWERED_WITHIN)
        answered = saved.get("response")
    finally:
        slow.release.set()
        uploading.join(30)
    saving.join(30)
    assert answered is not None, "the save waited for the upload's parse"
    assert answered.status_code == 200, answered.status_code
    assert _responses(app, attempt_id)[1][2] == 1  # the save landed
    return uploaded["response"]


def _post_items(client, data: bytes):
    return client.post("/authoring/import", data={"file": (io.BytesIO(data), "bank.json")},
                       content_type="multipart/form-data")


@pytest.fixture
def trainer(app):
    make_user(app, Role.TRAINER, email="importer@example.com")
    return _login(app, "importer@example.com")


ITEMS = json_format.write([("lock-1", SINGLE), ("lock-2", MULTI)])


def test_a_save_is_answered_while_an_item_import_is_previewed(app, sitting, trainer,
                                                               monkeypatch):
    slow = SlowReader(json_format.read)
    monkeypatch.setattr(json_format, "read", slow)
    preview = _save_while_parsing(app, slow, lambda: _post_items(trainer, ITEMS), sitting)
    assert preview.status_code == 200 and "新建：2" in preview.get_data(as_text=True)


def test_a_save_is_answered_while_an_item_import_is_confirmed(app, sitting, trainer,
                                                              monkeypatch):
    preview = _post_items(trainer, ITEMS)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"',
                      preview.get_data(as_text=True)).group(1)
    slow = SlowReader(json_format.read)
    monkeypatch.setattr(json_format, "read", slow)
    confirmed = _save_while_parsing(
        app, slow, lambda: trainer.post("/authoring/import/confirm", data={"token": token}),
        sitting)
    assert confirmed.status_code == 302
    with app.app_context():
        assert set(db.session.scalars(sa.select(Item.external_id).where(
            Item.external_id.like("lock-%")))) == {"lock-1", "lock-2"}


def _post_scores(admin, session_id, numbers):
    first, second = numbers
    sheet = test_score_import._csv([["准考证号", "科目", "成绩"], [first, "COMP_JR", "72"],
                                    [second, "COMP_JR", "61"]])
    return admin.post(f"/admin/sessions/{session_id}/scores/import",
                      data={"file": (io.BytesIO(sheet), "scores.csv")},
                      content_type="multipart/form-data")


# In both, the candidate signs in after paper_session has set the clock past the exam.
def test_a_save_is_answered_while_a_score_sheet_is_previewed(app, paper_session, sitting,
                                                             monkeypatch):
    admin, session_id, numbers = paper_session
    slow = SlowReader(score_import.READERS[".csv"])
    monkeypatch.setitem(score_import.READERS, ".csv", slow)
    preview = _save_while_parsing(app, slow, lambda: _post_scores(admin, session_id, numbers),
                                  sitting)
    assert "新增成绩：2" in preview.get_data(as_text=True)


def test_a_save_is_answered_while_a_score_sheet_is_confirmed(app, paper_session, sitting,
                                                             monkeypatch):
    admin, session_id, numbers = paper_session
    preview = _post_scores(admin, session_id, numbers).get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', preview).group(1)
    slow = SlowReader(score_import.READERS[".csv"])
    monkeypatch.setitem(score_import.READERS, ".csv", slow)
    confirmed = _save_while_parsing(app, slow, lambda: admin.post(
        f"/admin/sessions/{session_id}/scores/import/confirm",
        data={"token": token, "reason": ""}), sitting)
    assert confirmed.status_code == 302
    assert [score for _subject, score, _passed in test_score_import._scores(app)] == [
        144, 122]


def test_a_save_is_answered_while_the_command_line_import_is_parsed(app, sitting, tmp_path,
                                                                    monkeypatch):
    make_user(app, Role.TRAINER, email="bulk@example.com")
    path = tmp_path / "bank.json"
    path.write_bytes(ITEMS)
    slow = SlowReader(json_format.read)
    monkeypatch.setattr(json_format, "read", slow)
    runner = app.test_cli_runner()
    result = _save_while_parsing(app, slow, lambda: runner.invoke(
        args=["bank", "import", str(path), "--as", "bulk@example.com"]), sitting)
    assert result.exit_code == 0 and "imported" in result.output, result.output


def _registered_candidate(app):
    """A candidate registered for a session: (their client, the registration id)."""
    from .practice_support import login
    from .test_sittings import _candidate, _register, _session

    admin = make_user(app, Role.ADMIN, email="evidence-lock-admin@example.com")
    user_id = _candidate(app)
    registration_id = _register(app, user_id, _session(app, admin)).id
    with app.app_context():
        from exam_portal.models.accounts import User

        email = db.session.get(User, user_id).email
    return login(app, email), registration_id


@pytest.mark.parametrize("slow_part", ["check", "store"])
def test_a_save_is_answered_while_a_document_is_checked_and_stored(app, sitting, monkeypatch,
                                                                   slow_part):
    from exam_portal.services.platform import file_store
    from question_bank import documents

    from .. import evidence_files

    client, registration_id = _registered_candidate(app)
    if slow_part == "check":
        slow = SlowReader(documents.check_document)
        monkeypatch.setattr(documents, "check_document", slow)
    else:
        slow = SlowReader(file_store.LocalFileStore.put)
        monkeypatch.setattr(file_store.LocalFileStore, "put",
                            lambda store, *args, **kwargs: slow(store, *args, **kwargs))
    uploaded = _save_while_parsing(app, slow, lambda: client.post(
        f"/exams/registrations/{registration_id}/documents",
        data={"target": "DEGREE", "file": (io.BytesIO(evidence_files.pdf()), "d.pdf")},
        content_type="multipart/form-data"), sitting)
    assert uploaded.status_code == 302


def test_a_save_is_answered_while_an_id_photo_is_checked(app, sitting, monkeypatch):
    from question_bank import documents

    from .. import evidence_files

    client, _registration_id = _registered_candidate(app)
    slow = SlowReader(documents.check_photo)
    monkeypatch.setattr(documents, "check_photo", slow)
    uploaded = _save_while_parsing(app, slow, lambda: client.post(
        "/account/photo", data={"photo-photo": (io.BytesIO(evidence_files.photo()), "p.jpg")},
        content_type="multipart/form-data"), sitting)
    assert uploaded.status_code == 302
