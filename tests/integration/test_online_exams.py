"""Online sittings: a registered candidate sits each subject once inside the exam window,
sees neither keys nor marks before publication, and the paper's score becomes the
subject score; administrators extend or reopen a sitting with a reason."""

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.attempts import Attempt, AttemptItem
from exam_portal.models.audit import AuditEvent
from exam_portal.models.bank import ItemPool
from exam_portal.models.sittings import ExamSession, Registration, ResultSource, SubjectResult
from exam_portal.services import ServiceError
from exam_portal.services.delivery import attempts, hand_in
from exam_portal.services.exam_sessions import (
    forms,
    online_exams,
    past_papers,
    registration_review,
    results,
    scores,
    sittings,
)
from question_bank.levels import Level
from question_bank.practice import Mode
from question_bank.subjects import Subject

from .form_support import lock_forms, settle_key_review
from .practice_support import (
    SENTINEL,
    login,
    objective_bank,
    run_marking,
    save,
    shown_keys,
    start,
)
from .test_sittings import NOW, _actor, _candidate, _fields, _register, _session
from .test_sittings_pages import _admin_client

# Sittings as pages and rules: the same on both databases (their races run on both in
# test_state_races.py and test_hand_in_race.py).
pytestmark = pytest.mark.usefixtures("one_leg")

EXAM_OPENS = NOW + timedelta(days=60)


@pytest.fixture
def sitting(app, admin):
    """An online session (verified before the exam) with one verified registration and a
    bank of COMP_JR and PRAC_JR papers; the test runs inside the exam window."""
    objective_bank(app, Subject.COMP_JR, pool=ItemPool.SECURE)
    objective_bank(app, Subject.PRAC_JR, pool=ItemPool.SECURE)
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    lock_forms(app, session_id, admin)
    registration_id, user_id, email = verified_registration(app, admin, session_id)
    with freeze_time(EXAM_OPENS + timedelta(hours=1)):
        yield session_id, registration_id, user_id, login(app, email)


def verified_registration(app, admin, session_id) -> tuple[int, int, str]:
    """A new candidate registered for the session's 助理 level and verified: the
    registration's id, the candidate's id and e-mail."""
    user_id = _candidate(app)
    registration = _register(app, user_id, session_id)
    with app.app_context():
        registration_review.review([db.session.get(Registration, registration.id)], verify=True,
                        reason="", actor=_actor(admin), now=NOW)
        db.session.commit()
        return registration.id, user_id, db.session.get(User, user_id).email


@pytest.fixture
def admin(app) -> int:
    from exam_portal.models.accounts import Role

    from ..factories import make_user

    return make_user(app, Role.ADMIN, email="online-admin@example.com")


def _start(client, registration_id, subject="COMP_JR") -> int:
    response = client.post(f"/exams/registrations/{registration_id}/subjects/{subject}/start")
    assert response.status_code == 302, response.status_code
    assert "/practice/attempts/" in response.headers["Location"], response.headers["Location"]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _answer_all_right(app, client, attempt_id) -> None:
    device = client.post(f"/practice/attempts/{attempt_id}/open").get_json()["device"]
    for seq, (position, keys) in enumerate(sorted(shown_keys(app, attempt_id).items()), 1):
        assert save(client, attempt_id, position, device, seq, selected=keys).status_code == 200


def test_a_candidate_sits_a_subject_once_and_sees_nothing_before_publication(app, sitting):
    session_id, registration_id, user_id, client = sitting
    page = client.get("/exams").get_data(as_text=True)
    assert "开始考试" in page
    attempt_id = _start(client, registration_id)
    assert _start(client, registration_id) == attempt_id  # resumed, not a second paper
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        session = db.session.get(ExamSession, session_id)
        assert attempt.mode is Mode.EXAM and attempt.registration_id == registration_id
        assert attempt.deadline_at <= session.exam_closes_at
    page = client.get(f"/practice/attempts/{attempt_id}").get_data(as_text=True)
    assert "exam-sitting" in page and SENTINEL not in page
    assert SENTINEL not in client.get(f"/practice/attempts/{attempt_id}/paper").get_data(
        as_text=True)
    _answer_all_right(app, client, attempt_id)
    client.post(f"/practice/attempts/{attempt_id}/submit")
    shown = client.get(f"/practice/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "已交卷" in shown and "答案" not in shown.split("<main")[1].split("已交卷")[0]
    assert "100" not in shown.split("<main")[1]  # no score either
    assert "is-key" not in shown and SENTINEL not in shown
    refused = client.post(f"/exams/registrations/{registration_id}/subjects/COMP_JR/start",
                          follow_redirects=True)
    assert "只能参加一次" in refused.get_data(as_text=True)
    with app.app_context():
        # Handed in, not marked: the marking run marks it (the expiry cron).
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.submitted_at is not None and attempt.marked_at is None
        assert attempt.score_halves is None and not db.session.scalars(
            sa.select(SubjectResult)).all()
    assert "0 overdue attempts handed in, 1 exam papers marked" in run_marking(app)
    assert "0 exam papers marked" in run_marking(app)
    with app.app_context():
        result = db.session.scalars(sa.select(SubjectResult)).one()
        assert (result.subject, result.source, result.attempt_id, result.score_halves) == (
            Subject.COMP_JR, ResultSource.ONLINE, attempt_id, 200)
    # Not practice: it stays out of the history and of the wrong-answer book.
    assert f"/practice/attempts/{attempt_id}" not in client.get(
        "/practice/attempts").get_data(as_text=True)


def test_a_wrong_answer_in_an_exam_never_enters_the_wrong_answer_book(app, sitting):
    _session_id, registration_id, _user_id, client = sitting
    attempt_id = _start(client, registration_id)
    device = client.post(f"/practice/attempts/{attempt_id}/open").get_json()["device"]
    position, keys = next(iter(shown_keys(app, attempt_id).items()))
    wrong = next(letter for letter in "ABCD" if letter not in keys)
    save(client, attempt_id, position, device, 1, selected=[wrong])
    client.post(f"/practice/attempts/{attempt_id}/submit")
    with app.app_context():
        from exam_portal.models.attempts import ReviewCard

        assert db.session.scalar(sa.select(sa.func.count()).select_from(ReviewCard)) == 0


def test_the_exam_paper_is_reviewed_once_released_as_a_past_paper(app, sitting, admin):
    session_id, registration_id, _user_id, client = sitting
    attempt_id = _start(client, registration_id)
    client.post(f"/practice/attempts/{attempt_id}/submit")
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        results.compute_results(session, now=session.exam_closes_at)
        with pytest.raises(ServiceError, match="试题分析"):
            results.publish(session, _actor(admin), now=session.exam_closes_at)
        settle_key_review(session, _actor(admin), session.exam_closes_at)
        results.compute_results(session, now=session.exam_closes_at)
        results.publish(session, _actor(admin), now=session.exam_closes_at)
        db.session.commit()
    # Published: the scores, but the exam's items stay confidential until released.
    shown = client.get(f"/practice/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "is-key" not in shown and "试题保密" in shown
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        past_papers.release(session, _actor(admin), now=session.exam_closes_at)
        db.session.commit()
    shown = client.get(f"/practice/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "is-key" in shown


def test_no_sitting_outside_the_window_or_without_a_verified_registration(app, admin):
    objective_bank(app, Subject.COMP_JR)
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    user_id = _candidate(app)
    registration = _register(app, user_id, session_id)  # declared, not verified
    with app.app_context():
        email = db.session.get(User, user_id).email
    with freeze_time(EXAM_OPENS + timedelta(hours=1)):
        client = login(app, email)
        refused = client.post(f"/exams/registrations/{registration.id}/subjects/COMP_JR/start",
                              follow_redirects=True)
        assert "还不能参加考试" in refused.get_data(as_text=True)
    with app.app_context():
        registration_review.review([db.session.get(Registration, registration.id)], verify=True,
                        reason="", actor=_actor(admin), now=NOW)
        db.session.commit()
    for moment in (EXAM_OPENS - timedelta(minutes=1), EXAM_OPENS + timedelta(days=1)):
        with freeze_time(moment):
            client = login(app, email)
            refused = client.post(
                f"/exams/registrations/{registration.id}/subjects/COMP_JR/start",
                follow_redirects=True)
            assert "不在考试时间内" in refused.get_data(as_text=True)
    with freeze_time(EXAM_OPENS + timedelta(hours=1)):
        client = login(app, email)
        for subject in ("COMP_MID", "NOPE"):
            response = client.post(
                f"/exams/registrations/{registration.id}/subjects/{subject}/start",
                follow_redirects=True)
            assert response.status_code in (200, 404)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Attempt.id))) == 0


def test_someone_elses_registration_or_the_practice_route_cannot_start_a_sitting(app,
                                                                                sitting):
    _session_id, registration_id, _user_id, _client = sitting
    other_id = _candidate(app)
    with app.app_context():
        other = login(app, db.session.get(User, other_id).email)
    assert other.post(f"/exams/registrations/{registration_id}/subjects/COMP_JR/start"
                      ).status_code == 404
    forged = other.post("/practice/subjects/COMP_JR/start", data={"mode": "EXAM"},
                        follow_redirects=True)
    assert forged.status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Attempt.id)).where(
            Attempt.mode == Mode.EXAM)) == 0
        with pytest.raises(attempts.CannotStart):
            attempts.start_attempt(other_id, Subject.COMP_JR, Mode.EXAM,
                                   now=EXAM_OPENS + timedelta(hours=1))


def test_exam_items_cannot_be_bookmarked(app, sitting):
    _session_id, registration_id, _user_id, client = sitting
    attempt_id = _start(client, registration_id)
    response = client.post(f"/practice/attempts/{attempt_id}/responses/1/bookmark",
                           json={"bookmarked": True})
    assert response.status_code == 404


@pytest.mark.both_databases
def test_two_starts_at_once_give_one_paper(app, sitting):
    session_id, registration_id, user_id, _client = sitting
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        plan = attempts.Sitting(registration_id, session.law_cutoff, session.exam_closes_at)
        form = forms.paper_of(forms.form_for(db.session.get(Registration, registration_id),
                                             Subject.COMP_JR))
        now = EXAM_OPENS + timedelta(hours=1)
        first = attempts.start_sitting(user_id, Subject.COMP_JR, now=now, sitting=plan,
                                       form=form)
        second = attempts.start_sitting(user_id, Subject.COMP_JR, now=now, sitting=plan,
                                        form=form)
        db.session.commit()
        assert first.id == second.id
        assert db.session.scalar(sa.select(sa.func.count(Attempt.id))) == 1


def test_an_administrator_extends_and_reopens_a_sitting_with_a_reason(app, sitting, admin):
    admin_id = admin
    session_id, registration_id, _user_id, client = sitting
    attempt_id = _start(client, registration_id)
    admin = _admin_client(app)
    url = f"/admin/sessions/{session_id}/sittings/{attempt_id}"
    listing = admin.get(f"/admin/sessions/{session_id}/sittings").get_data(as_text=True)
    assert "作答中" in listing
    refused = admin.post(f"{url}/extend", data={"minutes": "20", "reason": ""},
                         follow_redirects=True)
    assert "请填写原因" in refused.get_data(as_text=True)
    with app.app_context():
        before = db.session.get(Attempt, attempt_id).deadline_at
    admin.post(f"{url}/extend", data={"minutes": "20", "reason": "考点网络中断，已核实"})
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).deadline_at == before + timedelta(
            minutes=20)
    _answer_all_right(app, client, attempt_id)
    client.post(f"/practice/attempts/{attempt_id}/submit")
    listing = f"/admin/sessions/{session_id}/sittings"
    assert "已交卷，待计分" in admin.get(listing).get_data(as_text=True)
    run_marking(app)
    shown = admin.get(listing).get_data(as_text=True)
    assert "已交卷" in shown and "待计分" not in shown
    assert admin.post(f"{url}/extend", data={"minutes": "5", "reason": "x"},
                      follow_redirects=True).status_code == 200
    reopened = admin.post(f"{url}/reopen", data={"minutes": "15", "reason": "交卷时断电"},
                          follow_redirects=True)
    assert "已重新开放 15 分钟" in reopened.get_data(as_text=True)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.is_open and attempt.score_halves is None and attempt.marked_at is None
        assert db.session.scalar(sa.select(sa.func.count(SubjectResult.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action.in_(["sitting.extended", "sitting.reopened"]))) == 2
    client.post(f"/practice/attempts/{attempt_id}/submit")
    run_marking(app)
    with app.app_context():
        assert db.session.scalars(sa.select(SubjectResult.score_halves)).one() == 200
        with pytest.raises(ServiceError, match="分钟"):
            online_exams.reopen(db.session.get(Attempt, attempt_id), 0, "x",
                                _actor(admin_id), now=EXAM_OPENS)


def test_a_paper_of_an_analysed_form_cannot_be_reopened(app, sitting, admin):
    session_id, registration_id, _user_id, client = sitting
    attempt_id = _start(client, registration_id)
    client.post(f"/practice/attempts/{attempt_id}/submit")
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        settle_key_review(session, _actor(admin), session.exam_closes_at)
        db.session.commit()
        with pytest.raises(ServiceError, match="试题分析"):
            online_exams.reopen(db.session.get(Attempt, attempt_id), 15, "交卷时断电",
                                _actor(admin), now=EXAM_OPENS + timedelta(hours=2))
        db.session.rollback()
        assert not db.session.get(Attempt, attempt_id).is_open


def test_a_paper_marked_while_its_registration_was_rejected_counts_once_verified_again(
        app, sitting, admin):
    session_id, registration_id, _user_id, client = sitting
    attempt_id = _start(client, registration_id)
    _answer_all_right(app, client, attempt_id)
    client.post(f"/practice/attempts/{attempt_id}/submit")

    def review(verify):
        with app.app_context():
            registration_review.review([db.session.get(Registration, registration_id)],
                                       verify=verify, reason="" if verify else "学历证明不清晰",
                                       actor=_actor(admin), now=EXAM_OPENS)
            db.session.commit()

    review(False)
    run_marking(app)  # marked while rejected: no subject score
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).marked_at is not None
        assert db.session.scalar(sa.select(sa.func.count(SubjectResult.id))) == 0
    review(True)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        results.compute_results(session, now=session.exam_closes_at)
        db.session.commit()
        assert db.session.scalars(sa.select(SubjectResult.score_halves)).one() == 200


def test_a_paper_the_marking_run_cannot_mark_does_not_stop_the_others(
        app, sitting, admin, monkeypatch):
    session_id, registration_id, _user_id, client = sitting
    first = _start(client, registration_id)
    client.post(f"/practice/attempts/{first}/submit")
    other_registration, _other_user, email = verified_registration(app, admin, session_id)
    other = login(app, email)
    second = _start(other, other_registration)
    other.post(f"/practice/attempts/{second}/submit")
    real = hand_in._mark

    def failing(attempt, now):
        if attempt.id == first:
            raise RuntimeError("a broken paper")
        return real(attempt, now)

    monkeypatch.setattr(hand_in, "_mark", failing)
    result = app.test_cli_runner().invoke(args=["attempts", "expire"])
    assert result.exit_code == 1 and "1 exam papers marked" in result.output
    assert f"attempts {first})" in result.output
    with app.app_context():
        assert db.session.get(Attempt, first).marked_at is None
        assert db.session.get(Attempt, second).marked_at is not None
    monkeypatch.setattr(hand_in, "_mark", real)
    assert "1 exam papers marked" in run_marking(app)  # the next run marks it


def test_a_score_corrected_before_the_marking_run_stays_corrected(app, sitting, admin):
    session_id, registration_id, _user_id, client = sitting
    attempt_id = _start(client, registration_id)
    _answer_all_right(app, client, attempt_id)
    client.post(f"/practice/attempts/{attempt_id}/submit")
    with app.app_context():
        scores.correct_score(db.session.get(Registration, registration_id), Subject.COMP_JR,
                             Decimal(55), reason="复核：机读卡异常", actor=_actor(admin),
                             now=db.session.get(ExamSession, session_id).exam_closes_at)
        db.session.commit()
        assert db.session.get(Attempt, attempt_id).marked_at is not None
    assert "0 exam papers marked" in run_marking(app)
    with app.app_context():
        assert db.session.scalars(sa.select(SubjectResult.score_halves)).one() == 110


def test_a_sitting_left_open_is_handed_in_before_the_results(app, sitting, admin):
    session_id, registration_id, _user_id, client = sitting
    attempt_id = _start(client, registration_id)
    _answer_all_right(app, client, attempt_id)  # and never handed in
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        later = session.exam_closes_at + timedelta(minutes=5)
        summary = results.compute_results(session, now=later)
        db.session.commit()
        assert summary.subjects_marked == 1
        attempt = db.session.get(Attempt, attempt_id)
        assert not attempt.is_open and attempt.ended_by.value == "DEADLINE"
        settle_key_review(session, _actor(admin), later)
        results.compute_results(session, now=later)
        results.publish(session, _actor(admin), now=later)
        db.session.commit()


def test_practice_draws_only_open_items_never_the_secure_exam_paper(app, sitting, admin):
    session_id, registration_id, _user_id, client = sitting
    open_items = set(objective_bank(app, Subject.COMP_JR))
    attempt_id = _start(client, registration_id)
    refused = client.post("/practice/subjects/COMP_JR/start", data={"mode": "RANDOM"},
                          follow_redirects=True)
    assert "交卷前不能练习" in refused.get_data(as_text=True)
    client.post(f"/practice/attempts/{attempt_id}/submit")
    with app.app_context():
        exam_items = set(db.session.scalars(sa.select(AttemptItem.item_id).where(
            AttemptItem.attempt_id == attempt_id)))
    for mode in ("RANDOM", "MOCK"):
        practice_id = start(client, Subject.COMP_JR, mode=mode)
        with app.app_context():
            drawn = set(db.session.scalars(sa.select(AttemptItem.item_id).where(
                AttemptItem.attempt_id == practice_id)))
        assert drawn and drawn <= open_items and not drawn & exam_items
        client.post(f"/practice/attempts/{practice_id}/submit")


def test_once_a_sitting_has_begun_the_exam_window_may_only_end_later(app, sitting, admin):
    session_id, registration_id, _user_id, client = sitting
    _start(client, registration_id)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        for change in (dict(exam_closes_at=EXAM_OPENS + timedelta(hours=3)),
                       dict(exam_opens_at=EXAM_OPENS - timedelta(days=1))):
            with pytest.raises(ServiceError, match="只能延后结束"):
                sittings.update_session(session, _fields(levels=(Level.ASSISTANT,), **change),
                                        _actor(admin))
            db.session.rollback()
        later = EXAM_OPENS + timedelta(days=2)
        sittings.update_session(session, _fields(levels=(Level.ASSISTANT,),
                                                 exam_closes_at=later), _actor(admin))
        db.session.commit()
        assert db.session.get(ExamSession, session_id).exam_closes_at == later
