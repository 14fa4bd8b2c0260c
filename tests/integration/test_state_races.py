"""Writes that race a state change of the same record, one request stopped in the middle
while the other runs to its end (RELIABILITY EX-15's walk): publication against score
corrections and pass lines, a certificate's revocation against another and against a
reissue, a registration's review against its withdrawal, a mark against the final mark.

On PostgreSQL (READ COMMITTED) a request that checked a state (not published, valid,
declared, not final) and wrote after another request changed it used to write anyway:
each test stops the first request between its check and its write, lets the second
commit, and asserts the invariant. On SQLite a writing request holds the only write
lock from its first statement, so the second waits; the tests run there too.
"""

import threading
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.attempts import Attempt, AttemptStatus, EndedBy, Response
from exam_portal.models.audit import AuditEvent
from exam_portal.models.bank import ItemPool
from exam_portal.models.certificates import Certificate, CertificateStatus
from exam_portal.models.marking import Mark
from exam_portal.models.sittings import (
    ExamSession,
    Registration,
    RegistrationStatus,
    SubjectResult,
)
from exam_portal.services import ServiceError
from exam_portal.services.certification import certificates, reissuing
from exam_portal.services.delivery import hand_in
from exam_portal.services.exam_sessions import (
    exam_marking,
    online_exams,
    registration_review,
    results,
    scores,
    sittings,
)
from question_bank.levels import Level
from question_bank.subjects import Subject

from ..factories import make_user
from .form_support import lock_forms
from .practice_support import login, objective_bank
from .test_certificates import _achieved, _issue
from .test_exam_marking import ANSWERS, EXAM_TIME, _bank, _mark_next, _markers, _sat_paper
from .test_online_exams import EXAM_OPENS, _answer_all_right, _start, verified_registration
from .test_results import _compute, _session_of_year, _sit
from .test_sittings import NOW, _actor, _candidate, _register, _session

pytestmark = pytest.mark.db

# How long the second request may run while the first is stopped: when it waits for
# the first (a lock), it is let go after this and finishes once the first commits.
PATIENCE = 1.5


@dataclass
class Outcome:
    value: object = None
    error: BaseException | None = None

    @property
    def refused(self) -> bool:
        return isinstance(self.error, ServiceError)

    @property
    def done(self) -> bool:
        return self.error is None


def interleave(app, first, second) -> tuple[Outcome, Outcome]:
    """Run *first(pause)* as one request until it calls pause(), then *second()* as
    another to its end (or until it has waited PATIENCE), then let *first* finish.
    Each runs in an app context of its own (its own connection) and commits; a
    ServiceError rolls back, as a view does."""
    reached, resume = threading.Event(), threading.Event()
    outcomes = [Outcome(), Outcome()]

    def pause():
        reached.set()
        resume.wait(timeout=10)

    def run(index, work):
        with app.app_context():
            try:
                outcomes[index].value = work(pause) if index == 0 else work()
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 - the test reads it
                db.session.rollback()
                outcomes[index].error = error

    one = threading.Thread(target=run, args=(0, first))
    one.start()
    assert reached.wait(timeout=10), "the first request never reached its pause"
    two = threading.Thread(target=run, args=(1, second))
    two.start()
    two.join(timeout=PATIENCE)
    resume.set()
    one.join(timeout=30)
    two.join(timeout=30)
    for outcome in outcomes:
        if outcome.error is not None and not outcome.refused:
            raise outcome.error
    return outcomes[0], outcomes[1]


def _stop_after(monkeypatch, owner, name, pause_holder):
    """Make owner.name call pause (once) after it returns, in the first request only."""
    real = getattr(owner, name)
    state = {"paused": False}

    def wrapper(*args, **kwargs):
        value = real(*args, **kwargs)
        pause = pause_holder.get(threading.get_ident())
        if pause is not None and not state["paused"]:
            state["paused"] = True
            pause()
        return value

    monkeypatch.setattr(owner, name, wrapper)


# Results and publication --------------------------------------------------------------

@pytest.fixture
def admin(app) -> int:
    return make_user(app, Role.ADMIN, email="race-admin@example.com")


def _computed_session(app, admin) -> tuple[int, int]:
    session_id = _session_of_year(app, admin, 2026)
    registration_id = _sit(app, _candidate(app), session_id, Level.ASSISTANT,
                           {Subject.COMP_JR: "70", Subject.PRAC_JR: "70"})
    _compute(app, session_id)
    return session_id, registration_id


def _publish(admin, session_id):
    session = db.session.get(ExamSession, session_id)
    results.publish(session, _actor(admin), now=session.exam_closes_at)


def _assert_published_results_are_marked(app, session_id):
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        if session.results_published_at is not None:
            assert results.unmarked_count(session) == 0


def test_a_correction_read_before_publication_is_refused_once_it_is_published(app, admin):
    session_id, registration_id = _computed_session(app, admin)

    def correct(pause):
        registration = db.session.get(Registration, registration_id)
        assert registration.session.results_published_at is None  # as the page showed
        pause()
        return scores.correct_score(registration, Subject.COMP_JR, Decimal(50),
                                     reason="复核", actor=_actor(admin),
                                     now=registration.session.exam_closes_at)

    corrected, published = interleave(app, correct, lambda: _publish(admin, session_id))
    # Either the correction came first (publication then waits for the results to be
    # computed again) or publication did, and the correction is refused.
    assert published.done != corrected.done, (published, corrected)
    if published.done:
        assert "已发布" in str(corrected.error)
    _assert_published_results_are_marked(app, session_id)


def test_publication_checked_before_a_correction_commits_does_not_publish_it(
        app, admin, monkeypatch):
    session_id, registration_id = _computed_session(app, admin)
    pauses = {}
    _stop_after(monkeypatch, results, "unmarked_count", pauses)

    def publish(pause):
        pauses[threading.get_ident()] = pause
        _publish(admin, session_id)

    def correct():
        registration = db.session.get(Registration, registration_id)
        return scores.correct_score(registration, Subject.COMP_JR, Decimal(50),
                                     reason="复核", actor=_actor(admin),
                                     now=registration.session.exam_closes_at)

    published, corrected = interleave(app, publish, correct)
    assert published.done != corrected.done, (published, corrected)
    _assert_published_results_are_marked(app, session_id)


def test_a_pass_line_set_during_publication_is_refused_or_publication_waits(
        app, admin, monkeypatch):
    session_id, _registration_id = _computed_session(app, admin)
    pauses = {}
    _stop_after(monkeypatch, results, "unmarked_count", pauses)

    def publish(pause):
        pauses[threading.get_ident()] = pause
        _publish(admin, session_id)

    def set_line():
        session = db.session.get(ExamSession, session_id)
        sittings.set_pass_line(session, Subject.COMP_JR, "", Decimal(75), _actor(admin))

    published, line_set = interleave(app, publish, set_line)
    assert published.done != line_set.done, (published, line_set)
    _assert_published_results_are_marked(app, session_id)


# Certificates -------------------------------------------------------------------------

def _revoke(admin, certificate_id, reason):
    certificate = db.session.get(Certificate, certificate_id)
    certificates.revoke(certificate, reason, _actor(admin), now=NOW + timedelta(days=80))


def test_two_revocations_at_once_revoke_once_with_one_reason(app, admin):
    qualification_id, _ = _achieved(app, admin)
    certificate_id = _issue(app, admin, qualification_id).id

    def revoke_later(pause):
        certificate = db.session.get(Certificate, certificate_id)
        assert certificate.status is CertificateStatus.VALID  # as the page showed
        pause()
        certificates.revoke(certificate, "第二位管理员的原因", _actor(admin),
                            now=NOW + timedelta(days=80))

    later, first = interleave(app, revoke_later,
                              lambda: _revoke(admin, certificate_id, "舞弊"))
    assert first.done != later.done and (first.refused or later.refused), (first, later)
    with app.app_context():
        stored = db.session.get(Certificate, certificate_id)
        assert stored.revoked_reason == ("舞弊" if first.done else "第二位管理员的原因")
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "certificate.revoked")) == 1


def test_a_reissue_racing_a_revocation_never_overwrites_it(app, admin):
    qualification_id, _ = _achieved(app, admin)
    certificate_id = _issue(app, admin, qualification_id).id

    def reissue(pause):
        certificate = db.session.get(Certificate, certificate_id)
        assert certificate.status is CertificateStatus.VALID
        pause()
        return reissuing.reissue(certificate, "姓名更正", _actor(admin),
                                    now=NOW + timedelta(days=80)).id

    reissued, revoked = interleave(app, reissue,
                                   lambda: _revoke(admin, certificate_id, "舞弊"))
    assert revoked.done != reissued.done, (revoked, reissued)
    with app.app_context():
        stored = db.session.get(Certificate, certificate_id)
        valid = db.session.scalar(sa.select(sa.func.count(Certificate.id)).where(
            Certificate.qualification_id == qualification_id,
            Certificate.status == CertificateStatus.VALID))
        if revoked.done:  # the revocation stands: no replacement, its reason kept
            assert (stored.status, stored.revoked_reason, valid) == (
                CertificateStatus.REVOKED, "舞弊", 0)
        else:  # replaced first: the old one was revoked by the reissue, once
            assert (stored.revoked_reason, valid) == ("姓名更正", 1)


# Registrations ------------------------------------------------------------------------

def test_a_review_racing_the_candidates_withdrawal_says_so(app, admin):
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    user_id = _candidate(app)
    registration_id = _register(app, user_id, session_id).id

    def review(pause):
        registration = db.session.get(Registration, registration_id)
        assert registration.status is RegistrationStatus.DECLARED
        pause()
        return registration_review.review([registration], verify=True, reason="",
                                          actor=_actor(admin), now=NOW)

    def withdraw():
        registration = db.session.get(Registration, registration_id)
        sittings.withdraw(registration, db.session.get(User, user_id), now=NOW)

    with freeze_time(NOW):
        reviewed, withdrawn = interleave(app, review, withdraw)
    # Either order is fine; a review of a registration withdrawn meanwhile says so.
    assert withdrawn.done and reviewed.done
    changed, refused = reviewed.value
    assert (changed, len(refused)) in ((1, 0), (0, 1))
    with app.app_context():
        assert db.session.get(Registration, registration_id) is None


def test_a_review_racing_a_new_declaration_leaves_the_new_one_to_be_reviewed(app, admin):
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    user_id = _candidate(app)
    registration_id = _register(app, user_id, session_id).id
    with app.app_context():
        registration_review.review([db.session.get(Registration, registration_id)], verify=False,
                        reason="照片不合格", actor=_actor(admin), now=NOW)
        db.session.commit()

    def verify_the_rejected_one(pause):
        registration = db.session.get(Registration, registration_id)
        assert registration.status is RegistrationStatus.REJECTED  # as the page showed
        pause()
        return registration_review.review([registration], verify=True, reason="",
                               actor=_actor(admin), now=NOW + timedelta(minutes=1))

    def declare_again():
        sittings.register(db.session.get(User, user_id),
                          db.session.get(ExamSession, session_id), Level.ASSISTANT, "11",
                          declared=True, now=NOW + timedelta(minutes=2))

    with freeze_time(NOW + timedelta(minutes=2)):
        reviewed, declared = interleave(app, verify_the_rejected_one, declare_again)
    assert reviewed.done != declared.done or (reviewed.done and reviewed.value[0] == 0), (
        reviewed, declared)
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        if declared.done:
            # Never "verified" on the strength of a declaration the reviewer did not see.
            assert registration.status is RegistrationStatus.DECLARED, registration.status
        else:  # verified first; declaring again is then refused
            assert registration.status is RegistrationStatus.VERIFIED


# Marking ------------------------------------------------------------------------------

def test_a_mark_change_that_meets_the_final_mark_is_refused(app, admin, monkeypatch):
    """Two markers agree on an answer, so its final mark is known; the first marker's
    change of their own mark, checked a moment before, may not land after it."""
    _bank(app)
    session_id, attempt_id, _ = _sat_paper(app, admin)
    first, second = _markers(app, 2)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        mark = exam_marking.next_mark(session, db.session.get(User, first), now=EXAM_TIME)
        shape = exam_marking.view(mark, db.session.get(User, first)).rubric.shape
        exam_marking.submit(mark, db.session.get(User, first),
                            [[Decimal(5)] * size for size in shape], now=EXAM_TIME)
        db.session.commit()
        first_mark_id, position = mark.id, mark.position
        second_mark = exam_marking.next_mark(session, db.session.get(User, second),
                                             now=EXAM_TIME)
        assert second_mark.position == position
        db.session.commit()
        second_mark_id = second_mark.id
    pauses = {}
    _stop_after(monkeypatch, exam_marking.marking, "total", pauses)

    def change_first(pause):
        pauses[threading.get_ident()] = pause
        marker = db.session.get(User, first)
        exam_marking.submit(db.session.get(Mark, first_mark_id), marker,
                            [[Decimal(0)] * size for size in shape], now=EXAM_TIME)

    def second_agrees():
        marker = db.session.get(User, second)
        exam_marking.submit(db.session.get(Mark, second_mark_id), marker,
                            [[Decimal(5)] * size for size in shape], now=EXAM_TIME)

    changed, agreed = interleave(app, change_first, second_agrees)
    assert agreed.done
    with app.app_context():
        marks = {m.round: m.total_halves for m in db.session.scalars(
            sa.select(Mark).where(Mark.attempt_id == attempt_id, Mark.position == position))}
        final = db.session.get(Response, (attempt_id, position)).score_halves
        if changed.done:
            # The change landed first: the final mark is the one its marks give.
            assert final is None or final == (marks[1] + marks[2]) // 2
        else:
            assert changed.refused and marks[1] == 20 and final == 20


def test_no_mark_is_given_to_a_paper_reopened_at_the_same_moment(app, admin, monkeypatch):
    """An administrator reopens a handed-in sitting (no marks yet) while a marker claims
    and marks one of its answers: the paper goes back to its candidate unmarked, or the
    reopening is refused because marking began."""
    _bank(app)
    session_id, attempt_id, _ = _sat_paper(app, admin)
    (marker_id,) = _markers(app, 1)
    pauses = {}
    # Stopped with the paper reopened but not yet committed.
    _stop_after(monkeypatch, online_exams.audit, "record", pauses)

    def reopen(pause):
        pauses[threading.get_ident()] = pause
        online_exams.reopen(db.session.get(Attempt, attempt_id), 30, "系统故障，经核实",
                            _actor(admin), now=EXAM_TIME)

    def mark():
        session = db.session.get(ExamSession, session_id)
        marker = db.session.get(User, marker_id)
        claim = exam_marking.next_mark(session, marker, now=EXAM_TIME)
        if claim is None:
            raise ServiceError("nothing to mark: the paper is back with its candidate")
        shape = exam_marking.view(claim, marker).rubric.shape
        exam_marking.submit(claim, marker, [[Decimal(5)] * size for size in shape],
                            now=EXAM_TIME)

    with freeze_time(EXAM_TIME):
        reopened, marked = interleave(app, reopen, mark)
    assert reopened.done != marked.done, (reopened, marked)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        submitted = db.session.scalar(sa.select(sa.func.count(Mark.id)).where(
            Mark.attempt_id == attempt_id, Mark.submitted_at.is_not(None)))
        if reopened.done:
            assert attempt.status is AttemptStatus.IN_PROGRESS and submitted == 0
        else:
            assert attempt.status is AttemptStatus.SUBMITTED and submitted == 1


# The marking run (exam papers are marked after their hand-in) -------------------------

SITTING_TIME = EXAM_OPENS + timedelta(hours=1)


def _handed_in_unmarked(app, admin) -> tuple[int, int]:
    """An objective COMP_JR sitting answered with every key and handed in by the hot
    path, not marked yet: (registration id, attempt id)."""
    objective_bank(app, Subject.COMP_JR, pool=ItemPool.SECURE)
    objective_bank(app, Subject.PRAC_JR, pool=ItemPool.SECURE)
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    lock_forms(app, session_id, admin)
    registration_id, _user_id, email = verified_registration(app, admin, session_id)
    with freeze_time(SITTING_TIME):
        client = login(app, email)
        attempt_id = _start(client, registration_id)
        _answer_all_right(app, client, attempt_id)
        assert client.post(f"/practice/attempts/{attempt_id}/submit", json={}).status_code == 200
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).marked_at is None
    return registration_id, attempt_id


def _pausable(pauses: dict, work):
    """*work()* as a request for `interleave`: run first, it registers its pause for
    the `_stop_after` wrapper; run second, it has none."""
    def request(pause=None):
        if pause is not None:
            pauses[threading.get_ident()] = pause
        return work()
    return request


def _marking_run(pauses: dict, attempt_id: int, now):
    return _pausable(pauses, lambda: hand_in.mark_handed_in(attempt_id, now=now))


def _subject_results(registration_id) -> list[int]:
    return list(db.session.scalars(sa.select(SubjectResult.score_halves).where(
        SubjectResult.registration_id == registration_id)))


def test_two_marking_runs_at_once_mark_a_paper_once(app, admin, monkeypatch):
    registration_id, attempt_id = _handed_in_unmarked(app, admin)
    pauses = {}
    _stop_after(monkeypatch, hand_in, "_mark", pauses)
    one, two = interleave(app, _marking_run(pauses, attempt_id, SITTING_TIME),
                          _marking_run(pauses, attempt_id, SITTING_TIME))
    assert (one.value, two.value) == (True, False)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.score_halves == hand_in.recompute_score(attempt) == attempt.full_halves
        assert _subject_results(registration_id) == [attempt.score_halves]


@pytest.mark.parametrize("marking_first", [True, False])
def test_a_marking_run_racing_a_reopening_leaves_the_paper_open_and_unscored(
        app, admin, monkeypatch, marking_first):
    """Whichever commits first, the reopened paper has no marks, no score and no
    subject score; handed in again, the marking run scores it once."""
    registration_id, attempt_id = _handed_in_unmarked(app, admin)
    pauses = {}
    reopen = _pausable(pauses, lambda: online_exams.reopen(
        db.session.get(Attempt, attempt_id), 30, "交卷时断电，经核实", _actor(admin),
        now=SITTING_TIME))
    mark = _marking_run(pauses, attempt_id, SITTING_TIME)

    if marking_first:
        _stop_after(monkeypatch, hand_in, "_mark", pauses)  # marked, not committed
        marked, reopened = interleave(app, mark, reopen)
    else:
        _stop_after(monkeypatch, online_exams.audit, "record", pauses)  # reopened
        reopened, marked = interleave(app, reopen, mark)
    assert reopened.done and marked.value is marking_first
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.is_open and attempt.marked_at is None and attempt.score_halves is None
        assert _subject_results(registration_id) == []
        hand_in.finalise(attempt_id, now=SITTING_TIME, ended_by=EndedBy.CANDIDATE)
        db.session.commit()
        assert hand_in.mark_handed_in(attempt_id, now=SITTING_TIME)
        db.session.commit()
        assert _subject_results(registration_id) == [attempt.full_halves]


@pytest.mark.parametrize("marking_first", [True, False])
def test_the_last_mark_racing_the_marking_run_scores_the_paper_once(
        app, admin, monkeypatch, marking_first):
    """A marker's mark that makes the last subjective answer final and the marking run
    of the paper's other answers: whichever comes second completes the paper."""
    _bank(app)
    session_id, attempt_id, _user_id = _sat_paper(app, admin, answers=ANSWERS[:1] + [""] * 4,
                                                  marking_run=False)
    first_marker, second_marker = _markers(app, 2)
    _mark_next(app, session_id, first_marker, 5)
    pauses = {}
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        marker = db.session.get(User, second_marker)
        claim = exam_marking.next_mark(session, marker, now=EXAM_TIME)
        shape = exam_marking.view(claim, marker).rubric.shape
        claim_id = claim.id
        db.session.commit()

    last_mark = _pausable(pauses, lambda: exam_marking.submit(
        db.session.get(Mark, claim_id), db.session.get(User, second_marker),
        [[Decimal(5)] * size for size in shape], now=EXAM_TIME))
    mark = _marking_run(pauses, attempt_id, EXAM_TIME)

    if marking_first:
        _stop_after(monkeypatch, hand_in, "_mark", pauses)
        marked, submitted = interleave(app, mark, last_mark)
    else:
        _stop_after(monkeypatch, exam_marking, "_settle", pauses)
        submitted, marked = interleave(app, last_mark, mark)
    assert submitted.done and marked.value is True
    with app.app_context():
        scores_ = list(db.session.scalars(sa.select(SubjectResult.score_halves)))
        assert scores_ == [20] and db.session.get(Attempt, attempt_id).score_halves == 20


def test_two_levels_registered_at_the_same_moment_leave_one(app, admin):
    session_id = _session(app, admin)
    user_id = _candidate(app, work_since=date(2021, 1, 1))

    def register(level):
        return sittings.register(db.session.get(User, user_id),
                                 db.session.get(ExamSession, session_id), level, "11",
                                 declared=True, now=NOW)

    def first(pause):
        registration = register(Level.ASSISTANT)
        pause()
        return registration.level

    with freeze_time(NOW):
        assistant, intermediate = interleave(app, first, lambda: register(Level.INTERMEDIATE))
    # Whichever wins, the other is refused with the reason, never a database error.
    assert sorted([assistant.done, intermediate.done]) == [False, True]
    assert (assistant.refused or intermediate.refused)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Registration.id)).where(
            Registration.session_id == session_id, Registration.candidate_id == user_id)) == 1
