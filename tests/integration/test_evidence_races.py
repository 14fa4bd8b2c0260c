"""Evidence uploads and deletions racing the registration's review (RELIABILITY EX-15's
walk, with test_state_races.interleave): once a decision is recorded, no upload or
deletion changes the documents it was taken on.

Each test stops one request in the middle (holding the registration's row lock, or
before taking it, as a page that read "waiting for review") while the other runs, then
checks the invariant: when the review changed the registration, the documents now are
exactly those its transaction saw when it decided; when it did not, the registration
still waits for review. Every stored file belongs to a row, and every row has its file.
On PostgreSQL the row lock orders them; on SQLite the single write lock does.
"""

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.evidence import EvidenceDocument, EvidenceKind
from exam_portal.models.sittings import Registration, RegistrationStatus
from exam_portal.services.exam_sessions import evidence, registration_review, sittings

from .. import evidence_files
from ..factories import make_user
from .test_sittings import NOW, _actor, _candidate, _register, _session
from .test_state_races import _stop_after, interleave

pytestmark = pytest.mark.db


@pytest.fixture
def admin(app) -> int:
    return make_user(app, Role.ADMIN, email="evidence-race-admin@example.com")


def _document_ids(registration_id) -> set[int]:
    return set(db.session.scalars(sa.select(EvidenceDocument.id).where(
        EvidenceDocument.registration_id == registration_id)))


def _registered(app, admin) -> tuple[int, int]:
    session_id = _session(app, admin)
    user_id = _candidate(app)
    return user_id, _register(app, user_id, session_id).id


def _upload(user_id, registration_id, *, pause=None) -> EvidenceDocument:
    """An upload as the page makes it: checked and stored, then attached."""
    checked, problems = evidence.check_document(evidence_files.pdf(), "degree.pdf")
    assert not problems
    stored = evidence.store(checked)
    if pause is not None:
        registration = db.session.get(Registration, registration_id)
        assert registration.status is RegistrationStatus.DECLARED  # as the page showed
        pause()
    document = evidence.attach(registration_id, db.session.get(User, user_id),
                               evidence.Target(EvidenceKind.DEGREE), stored)
    return document.id


def _review(admin, registration_id, *, seen: str | None = None):
    """Verify the registration, from its page (with the documents it showed) or in bulk;
    return (changed, the documents as the deciding transaction saw them)."""
    registration = db.session.get(Registration, registration_id)
    if seen is None:
        changed, _refused = registration_review.review(
            [registration], verify=True, reason="", actor=_actor(admin), now=NOW)
    else:
        changed, _refused = registration_review.decide(
            registration, verify=True, reason="", evidence_seen=seen, actor=_actor(admin),
            now=NOW)
    return changed, _document_ids(registration_id)


def _assert_nothing_changed_after_the_decision(app, registration_id, decision):
    changed, seen = decision.value
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        now = _document_ids(registration_id)
        if changed:
            assert registration.status is RegistrationStatus.VERIFIED
            assert now == seen, f"documents changed after the decision: {seen} -> {now}"
        else:
            assert registration.status is RegistrationStatus.DECLARED
        keys = set(db.session.scalars(sa.select(EvidenceDocument.storage_key)))
    folder = Path(app.config["EVIDENCE_DIR"])
    stored = {path.name for path in folder.iterdir()} if folder.exists() else set()
    assert stored == keys, "a stored file without its row, or a row without its file"


def _fingerprint(app, registration_id) -> str:
    with app.app_context():
        return evidence.fingerprint(registration_id)


@pytest.mark.parametrize("from_the_page", [True, False], ids=["page", "bulk"])
def test_an_upload_holding_the_registration_makes_the_review_wait(
        app, admin, monkeypatch, from_the_page):
    user_id, registration_id = _registered(app, admin)
    seen = _fingerprint(app, registration_id) if from_the_page else None
    pauses = {}
    _stop_after(monkeypatch, evidence, "_locked_own", pauses)

    def upload(pause):
        pauses[threading.get_ident()] = pause
        return _upload(user_id, registration_id)

    with freeze_time(NOW):
        uploaded, reviewed = interleave(app, upload,
                                        lambda: _review(admin, registration_id, seen=seen))
    assert uploaded.done and reviewed.done
    # The review waited for the upload: from the page it is refused (the documents
    # changed since it was shown); in bulk it decides with the document there.
    assert reviewed.value[0] == (0 if from_the_page else 1)
    _assert_nothing_changed_after_the_decision(app, registration_id, reviewed)


def test_an_upload_waiting_for_a_review_under_way_is_refused(app, admin):
    user_id, registration_id = _registered(app, admin)
    seen = _fingerprint(app, registration_id)

    def review(pause):
        decided = _review(admin, registration_id, seen=seen)
        pause()  # decided, not yet committed: the row is locked
        return decided

    with freeze_time(NOW):
        reviewed, uploaded = interleave(app, review, lambda: _upload(user_id, registration_id))
    assert reviewed.done and reviewed.value[0] == 1
    assert uploaded.refused and "已经审核" in str(uploaded.error)
    _assert_nothing_changed_after_the_decision(app, registration_id, reviewed)


def test_an_upload_read_before_the_review_lands_before_it_or_not_at_all(app, admin):
    user_id, registration_id = _registered(app, admin)

    def upload(pause):
        return _upload(user_id, registration_id, pause=pause)

    with freeze_time(NOW):
        uploaded, reviewed = interleave(app, upload, lambda: _review(admin, registration_id))
    # PostgreSQL: the review commits while the upload waits, which then finds the
    # registration reviewed. SQLite: the upload's transaction holds the write lock from
    # its first read, so it lands first and the review decides with it.
    assert reviewed.done and uploaded.done != uploaded.refused
    if uploaded.refused:
        assert "已经审核" in str(uploaded.error)
    _assert_nothing_changed_after_the_decision(app, registration_id, reviewed)


def test_a_deletion_racing_the_review_leaves_the_decision_its_documents(app, admin):
    user_id, registration_id = _registered(app, admin)
    with app.app_context():
        document_id = _upload(user_id, registration_id)
        db.session.commit()
    seen = _fingerprint(app, registration_id)

    def review(pause):
        decided = _review(admin, registration_id, seen=seen)
        pause()
        return decided

    def delete():
        evidence.remove(document_id, registration_id, db.session.get(User, user_id))

    with freeze_time(NOW):
        reviewed, deleted = interleave(app, review, delete)
    assert reviewed.value[0] == 1 and deleted.refused
    _assert_nothing_changed_after_the_decision(app, registration_id, reviewed)
    with app.app_context():
        assert _document_ids(registration_id) == {document_id}


def test_a_withdrawal_racing_an_upload_takes_the_document_along(app, admin, monkeypatch):
    user_id, registration_id = _registered(app, admin)
    pauses = {}
    _stop_after(monkeypatch, evidence, "_locked_own", pauses)

    def upload(pause):
        pauses[threading.get_ident()] = pause
        return _upload(user_id, registration_id)

    def withdraw():
        sittings.withdraw(db.session.get(Registration, registration_id),
                          db.session.get(User, user_id), now=NOW)

    with freeze_time(NOW):
        # The upload stops holding the registration's row: the withdrawal waits, then
        # deletes the document that landed meanwhile, and its file.
        uploaded, withdrawn = interleave(app, upload, withdraw)
    assert uploaded.done and withdrawn.done
    with app.app_context():
        assert db.session.get(Registration, registration_id) is None
        assert db.session.scalar(sa.select(sa.func.count(EvidenceDocument.id))) == 0
    folder = Path(app.config["EVIDENCE_DIR"])
    assert not folder.exists() or not any(folder.iterdir())
