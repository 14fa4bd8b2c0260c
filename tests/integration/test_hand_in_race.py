"""Saves racing the hand-in (RELIABILITY EX-15): every save acknowledged with 200 is in
the marked paper, and nothing changes a paper once it is marked.

On PostgreSQL (READ COMMITTED) a save that read the attempt as open in its own
snapshot used to wait for the hand-in's row locks and write after it committed: an
acknowledged answer the score never saw, or a position stored with no mark. Several
candidate connections save (new positions and changed answers) while another hands
the paper in, over many trials; SQLite, with its single writer, runs the same trials.
"""

import functools
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import Role
from exam_portal.models.attempts import (
    Attempt,
    AttemptStatus,
    Response,
    ReviewCard,
    ReviewLog,
)
from exam_portal.models.bank import ItemPool
from exam_portal.models.sittings import SubjectResult
from exam_portal.services.delivery import hand_in
from question_bank.levels import Level
from question_bank.subjects import Subject

from ..factories import make_user
from .form_support import lock_forms
from .practice_support import (
    candidate,
    case_item,
    login,
    objective_bank,
    open_attempt,
    publish,
    run_marking,
    save,
    shown_keys,
    start,
    wrong_choice,
)
from .test_online_exams import EXAM_OPENS, _start, verified_registration
from .test_sittings import _session

SAVERS = 6
TRIALS = 8


@dataclass
class Ledger:
    """What the server acknowledged: position -> (seq, selected) of the newest 200."""

    acknowledged: dict[int, tuple[int, list[str]]] = field(default_factory=dict)
    refused_after_hand_in: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    first: threading.Event = field(default_factory=threading.Event)

    def record(self, position: int, seq: int, selected: list[str]) -> None:
        self.first.set()
        with self.lock:
            known = self.acknowledged.get(position)
            if known is None or known[0] < seq:
                self.acknowledged[position] = (seq, selected)


def _clone(app, client):
    """Another connection of the same signed-in browser (one login, one session)."""
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    return copy


def _race(app, client, attempt_id: int, rng: random.Random) -> Ledger:
    """Savers write new answers and change earlier ones until the paper is handed in
    (and a little after); the hand-in lands at a random moment among them."""
    device = open_attempt(client, attempt_id)["device"]
    keys = shown_keys(app, attempt_id)
    positions = sorted(keys)
    ledger = Ledger()
    handed_in = threading.Event()
    start_line = threading.Barrier(SAVERS + 1)
    failures = []

    def saver(index: int) -> None:
        own = _clone(app, client)
        mine = positions[index::SAVERS]
        start_line.wait()
        seq, late = 0, 0
        while late < 3:
            for position in mine:
                seq += 1
                # Alternate the key and a wrong answer, so each change moves the score.
                right = (seq + position) % 2 == 0
                selected = keys[position] if right else [
                    next(letter for letter in "ABCD" if letter not in keys[position])]
                response = save(own, attempt_id, position, device, seq, selected=selected)
                if response.status_code == 200:
                    ledger.record(position, seq, selected)
                elif response.status_code == 409:
                    ledger.refused_after_hand_in += 1
                else:
                    failures.append((response.status_code, response.get_data(as_text=True)))
                if handed_in.is_set():
                    late += 1
                    if late >= 3:
                        break

    threads = [threading.Thread(target=saver, args=(index,)) for index in range(SAVERS)]
    for thread in threads:
        thread.start()
    start_line.wait()
    # From the first acknowledged save: on a loaded machine the savers' first requests
    # can take longer than the whole random delay, and the race would be over unrun.
    ledger.first.wait(timeout=30)
    time.sleep(rng.uniform(0.0, 0.25))
    handed = _clone(app, client).post(f"/practice/attempts/{attempt_id}/submit",
                                      json={}, headers={"Accept": "application/json"})
    handed_in.set()
    for thread in threads:
        thread.join(timeout=60)
    assert handed.status_code in (200, 302), handed.get_data(as_text=True)
    assert not failures, failures[:3]
    return ledger


def _assert_paper_is_what_was_acknowledged(app, attempt_id: int, ledger: Ledger) -> int:
    """The stored answers are exactly the newest acknowledged ones, each marked, and
    the recorded score is theirs. Returns the score in half-points."""
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.status is AttemptStatus.SUBMITTED
        stored = {row.position: row for row in db.session.scalars(
            sa.select(Response).where(Response.attempt_id == attempt_id))}
        assert set(stored) == set(ledger.acknowledged), (
            "positions stored without a 200 or acknowledged and lost: "
            f"{sorted(set(stored) ^ set(ledger.acknowledged))}")
        for position, (seq, _selected) in ledger.acknowledged.items():
            assert stored[position].seq == seq, (position, stored[position].seq, seq)
        unmarked = [position for position, row in stored.items() if row.score_halves is None]
        assert not unmarked, f"positions saved with no mark: {unmarked}"
        assert attempt.score_halves == hand_in.recompute_score(attempt)
        assert attempt.score_halves == sum(row.score_halves for row in stored.values())
        return attempt.score_halves


def test_saves_racing_the_hand_in_never_change_a_marked_mock_paper(app):
    objective_bank(app)
    rng = random.Random(15)
    for trial in range(TRIALS):
        email = f"racer{trial}@example.com"
        make_user(app, email=email)
        client = login(app, email)
        attempt_id = start(client, Subject.COMP_JR, "MOCK")
        ledger = _race(app, client, attempt_id, rng)
        assert ledger.acknowledged, "no save landed before the hand-in"
        _assert_paper_is_what_was_acknowledged(app, attempt_id, ledger)


def test_saves_racing_the_hand_in_of_a_sitting_leave_the_subject_result_equal_to_the_answers(
        app):
    objective_bank(app, Subject.COMP_JR, pool=ItemPool.SECURE)
    objective_bank(app, Subject.PRAC_JR, pool=ItemPool.SECURE)
    admin = make_user(app, Role.ADMIN, email="race-admin@example.com")
    rng = random.Random(16)
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    lock_forms(app, session_id, admin)
    for _ in range(TRIALS):
        registration_id, _user_id, email = verified_registration(app, admin, session_id)
        with freeze_time(EXAM_OPENS + timedelta(hours=1)):
            client = login(app, email)
            attempt_id = _start(client, registration_id)
            ledger = _race(app, client, attempt_id, rng)
        with app.app_context():  # handed in by the hot path, marked by the marking run
            assert db.session.get(Attempt, attempt_id).marked_at is None
        run_marking(app)
        halves = _assert_paper_is_what_was_acknowledged(app, attempt_id, ledger)
        with app.app_context():
            result = db.session.scalar(sa.select(SubjectResult).where(
                SubjectResult.registration_id == registration_id,
                SubjectResult.subject == Subject.COMP_JR))
            assert result is not None and result.score_halves == halves


def _post(app, client, path, **kwargs):
    """A POST, to be sent later from a connection of its own."""
    return functools.partial(lambda: _clone(app, client).post(path, **kwargs))


def _all_at_once(calls):
    """Run each call on its own thread, released together; their results in order."""
    start_line = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index):
        start_line.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_checks_racing_the_hand_in_count_each_answer_once(app):
    """A practice answer is marked (and counted in the wrong-answer book) by the check
    or by the hand-in, never by both."""
    objective_bank(app, chapters=1)
    for _ in range(TRIALS):
        _, client = candidate(app)
        attempt_id = start(client, mode="CHAPTER", chapters=["COMP_JR.01"], count="10")
        device = open_attempt(client, attempt_id)["device"]
        keys = shown_keys(app, attempt_id)
        for seq, position in enumerate(sorted(keys), 1):
            choices = 4 if len(keys[position]) == 1 else 5
            assert save(client, attempt_id, position, device, seq,
                        wrong_choice(keys[position], choices)).status_code == 200
        base = f"/practice/attempts/{attempt_id}"
        calls = [_post(app, client, f"{base}/responses/{position}/check")
                 for position in sorted(keys)]
        calls.append(_post(app, client, f"{base}/submit"))
        statuses = [response.status_code for response in _all_at_once(calls)]
        assert set(statuses[:-1]) <= {200, 409} and statuses[-1] == 302, statuses
        with app.app_context():
            attempt = db.session.get(Attempt, attempt_id)
            assert attempt.score_halves == hand_in.recompute_score(attempt) == 0
            counts = db.session.scalars(sa.select(ReviewCard.times_wrong).where(
                ReviewCard.candidate_id == attempt.candidate_id)).all()
            assert sorted(counts) == [1] * len(keys), counts
            # Each wrong answer reviewed its card once, by the check or by the hand-in.
            assert db.session.scalar(sa.select(sa.func.count()).select_from(ReviewLog).where(
                ReviewLog.candidate_id == attempt.candidate_id)) == len(keys)


def test_self_scores_racing_the_hand_in_and_each_other_are_all_in_the_sum(app):
    publish(app, [case_item(Subject.PRAC_MID, "PRAC_MID.05") for _ in range(4)])
    positions = (1, 2, 3)
    for _ in range(TRIALS):
        _, client = candidate(app)
        attempt_id = start(client, Subject.PRAC_MID, mode="CHAPTER",
                           chapters=["PRAC_MID.05"], count=str(len(positions)))
        device = open_attempt(client, attempt_id)["device"]
        base = f"/practice/attempts/{attempt_id}"
        for position in positions:
            assert save(client, attempt_id, position, device, position,
                        text=f"回答 {position}").status_code == 200
            assert client.post(f"{base}/responses/{position}/check").status_code == 200
        # While open (racing the hand-in), then once handed in (racing each other).
        for round_, extra in ((1, [_post(app, client, f"{base}/submit")]), (2, [])):
            calls = [_post(app, client, f"{base}/responses/{position}/self-score",
                           json={"points": position * round_}) for position in positions]
            statuses = [response.status_code for response in _all_at_once(calls + extra)]
            assert statuses == [200] * len(positions) + [302] * len(extra), statuses
            with app.app_context():
                attempt = db.session.get(Attempt, attempt_id)
                assert attempt.status is AttemptStatus.SUBMITTED
                stored = db.session.scalars(sa.select(Response.self_score_halves).where(
                    Response.attempt_id == attempt_id)).all()
                assert sorted(stored) == [2 * position * round_ for position in positions]
                assert attempt.self_score_halves == sum(stored)


pytestmark = pytest.mark.db
