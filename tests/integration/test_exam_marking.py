"""Marking subjective exam answers: blind, two markers per answer, a third when they
differ too much, never the same marker twice; the finished paper becomes the subject
score."""

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.attempts import Attempt, Response
from exam_portal.models.audit import AuditEvent
from exam_portal.models.bank import ItemPool
from exam_portal.models.marking import Mark
from exam_portal.models.sittings import ExamSession, Registration, SubjectResult
from exam_portal.services import ServiceError
from exam_portal.services.exam_sessions import exam_marking, registration_review, results, sittings
from question_bank.levels import Level
from question_bank.subjects import Subject

from ..factories import make_user
from .form_support import lock_forms
from .practice_support import case_item, login, plan_item, publish, run_marking, save
from .test_results import _intermediate_candidate
from .test_sittings import NOW, _actor, _register, _session

EXAM_TIME = NOW + timedelta(days=60, hours=1)
ANSWERS = ["案例一的作答：先评估需求，再链接资源。", "案例二的作答。", "案例三的作答。",
           "案例四的作答。", ""]  # the plan design left blank


@pytest.fixture
def admin(app) -> int:
    return make_user(app, Role.ADMIN, email="marking-admin@example.com")


def _bank(app) -> None:
    chapters = [f"PRAC_MID.{n:02d}" for n in (1, 2)]
    publish(app, [case_item(Subject.PRAC_MID, chapters[n % 2]) for n in range(6)]
            + [plan_item(Subject.PRAC_MID, chapters[n % 2]) for n in range(2)],
            pool=ItemPool.SECURE)


def _sat_paper(app, admin, answers=ANSWERS, *, marking_run=True) -> tuple[int, int, int]:
    """A verified 社会工作师 registration whose PRAC_MID paper was handed in with
    *answers* (by position) and, with *marking_run*, marked by the marking run; returns
    (session id, attempt id, candidate id)."""
    session_id = _session(app, admin, levels=(Level.INTERMEDIATE,))
    lock_forms(app, session_id, admin, [Subject.PRAC_MID])
    user_id = _intermediate_candidate(app)
    registration = _register(app, user_id, session_id, level=Level.INTERMEDIATE)
    with app.app_context():
        registration_review.review([db.session.get(Registration, registration.id)], verify=True,
                        reason="", actor=_actor(admin), now=NOW)
        db.session.commit()
        email = db.session.get(User, user_id).email
    with freeze_time(EXAM_TIME):
        client = login(app, email)
        response = client.post(
            f"/exams/registrations/{registration.id}/subjects/PRAC_MID/start")
        attempt_id = int(response.headers["Location"].rsplit("/", 1)[1])
        device = client.post(f"/practice/attempts/{attempt_id}/open").get_json()["device"]
        for position, text in enumerate(answers, 1):
            if text:
                assert save(client, attempt_id, position, device, position,
                            text=text).status_code == 200
        client.post(f"/practice/attempts/{attempt_id}/submit")
        if marking_run:
            run_marking(app)
    return session_id, attempt_id, user_id


def _markers(app, count=3) -> list[int]:
    return [make_user(app, Role.TRAINER, email=f"marker{n}-{id(app)}@example.com")
            for n in range(count)]


def _points(shape, total_per_point):
    return [[Decimal(str(total_per_point))] * size for size in shape]


def _mark_next(app, session_id, marker_id, per_point) -> Mark | None:
    """Claim the marker's next answer and give *per_point* on every key point."""
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        marker = db.session.get(User, marker_id)
        mark = exam_marking.next_mark(session, marker, now=EXAM_TIME)
        if mark is None:
            db.session.commit()
            return None
        shape = exam_marking.view(mark, marker).rubric.shape
        exam_marking.submit(mark, marker, _points(shape, per_point), now=EXAM_TIME)
        db.session.commit()
        db.session.refresh(mark)
        db.session.expunge(mark)
        return mark


def _final(app, attempt_id, position):
    with app.app_context():
        return db.session.get(Response, (attempt_id, position)).score_halves


@pytest.fixture
def paper(app, admin):
    _bank(app)
    return _sat_paper(app, admin)


def test_two_markers_who_agree_give_the_average(app, paper):
    session_id, attempt_id, _user_id = paper
    first, second = _markers(app, 2)
    mark = _mark_next(app, session_id, first, 5)  # 5 on each of 2 key points: 10
    assert (mark.round, mark.total_halves) == (1, 20)
    assert _final(app, attempt_id, mark.position) is None  # one mark is not enough
    again = _mark_next(app, session_id, first, 5)
    assert again.position != mark.position  # never the same answer twice
    seconded = _mark_next(app, session_id, second, 4.5)  # 9: within the threshold of 3
    assert (seconded.position, seconded.round) == (mark.position, 2)  # finish answers first
    assert _final(app, attempt_id, mark.position) == 19  # (10 + 9) / 2 = 9.5


def test_markers_far_apart_need_a_third_who_decides(app, paper):
    session_id, attempt_id, _user_id = paper
    first, second, third = _markers(app, 3)
    mark = _mark_next(app, session_id, first, 10)  # 20
    _mark_next(app, session_id, second, 2)  # 4: 16 apart
    assert _final(app, attempt_id, mark.position) is None
    # Neither of the two is offered the adjudication of their own answer.
    for marker in (first, second):
        offered = _mark_next(app, session_id, marker, 3)
        assert offered is None or offered.position != mark.position or offered.round != 3
    decided = _mark_next(app, session_id, third, 6)
    assert (decided.position, decided.round) == (mark.position, 3)
    assert _final(app, attempt_id, mark.position) == 24  # the adjudicator's 12


def test_a_fully_marked_paper_becomes_the_subject_score(app, paper):
    session_id, attempt_id, _user_id = paper
    first, second = _markers(app, 2)
    for _ in range(4):  # the four answered items; the blank one needs no marker
        _mark_next(app, session_id, first, 5)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(SubjectResult.id))) == 0
    for _ in range(4):
        _mark_next(app, session_id, second, 5)
    assert _mark_next(app, session_id, second, 5) is None  # nothing left
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        result = db.session.scalars(sa.select(SubjectResult)).one()
        assert attempt.score_halves == 4 * 20 and result.score_halves == 80
        assert (result.subject, result.attempt_id) == (Subject.PRAC_MID, attempt_id)


def test_markers_done_before_the_marking_run_leave_the_subject_score_to_it(app, admin):
    """Answers can be marked as soon as the paper is handed in; the paper's score waits
    until the marking run has marked the rest of it, which then completes it."""
    _bank(app)
    session_id, attempt_id, _user_id = _sat_paper(app, admin, marking_run=False)
    for marker in _markers(app, 2):
        for _ in range(4):
            _mark_next(app, session_id, marker, 5)
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).marked_at is None
        assert db.session.scalar(sa.select(sa.func.count(SubjectResult.id))) == 0
    assert "1 exam papers marked" in run_marking(app)
    with app.app_context():
        assert db.session.scalars(sa.select(SubjectResult.score_halves)).one() == 80


def test_a_paper_left_blank_is_scored_zero_without_marking(app, admin):
    _bank(app)
    _sat_paper(app, admin, answers=[""] * 5)
    with app.app_context():
        assert db.session.scalars(sa.select(SubjectResult.score_halves)).one() == 0


@pytest.mark.parametrize("per_point", ["10.5", "-1", "0.3"])
def test_marks_outside_the_rubric_are_refused_and_nothing_is_stored(app, paper, per_point):
    session_id, _attempt_id, _user_id = paper
    (marker,) = _markers(app, 1)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        user = db.session.get(User, marker)
        mark = exam_marking.next_mark(session, user, now=EXAM_TIME)
        shape = exam_marking.view(mark, user).rubric.shape
        with pytest.raises(ServiceError):
            exam_marking.submit(mark, user, _points(shape, per_point), now=EXAM_TIME)
        with pytest.raises(ServiceError):
            exam_marking.submit(mark, user, [[Decimal(1)]], now=EXAM_TIME)  # wrong shape
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(Mark.id)).where(
            Mark.submitted_at.is_not(None))) == 0


def test_the_marking_page_is_blind_and_only_for_its_marker(app, paper):
    session_id, _attempt_id, user_id = paper
    first, second = _markers(app, 2)
    with app.app_context():
        candidate = db.session.get(User, user_id)
        identity = [candidate.email, candidate.profile.real_name,
                    db.session.scalars(sa.select(Registration.admission_number)).one()]
        emails = [db.session.get(User, m).email for m in (first, second)]
    with freeze_time(EXAM_TIME):
        client = login(app, emails[0])
        claimed = client.post(f"/marking/sessions/{session_id}/next")
        url = claimed.headers["Location"]
        page = client.get(url).get_data(as_text=True)
        assert "案例一的作答" in page  # the first answer of the queue, with its rubric
        assert "SENTINEL-KEY-TEXT 要点" in page
        for secret in identity:
            assert secret not in page
        refused = client.post(url, data={"kp-0-0": "11", "kp-1-0": "2"},
                              follow_redirects=True)
        assert "不能超过该要点的分值" in refused.get_data(as_text=True)
        for not_a_number in ("NaN", "sNaN", "Infinity"):
            refused = client.post(url, data={"kp-0-0": not_a_number, "kp-1-0": "2"})
            assert refused.status_code == 200, not_a_number
        done = client.post(url, data={"kp-0-0": "8", "kp-1-0": "7.5", "then": "queue"},
                           follow_redirects=True)
        assert "评分已提交" in done.get_data(as_text=True)
        other = login(app, emails[1])
        assert other.get(url).status_code == 404
        assert other.post(url, data={"kp-0-0": "0", "kp-1-0": "0"}).status_code == 404
        assert login(app, identity[0]).get("/marking").status_code == 403
    with app.app_context():
        mark = db.session.scalars(sa.select(Mark).where(Mark.submitted_at.is_not(None))).one()
        assert mark.total_halves == 31
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "mark.submitted")) == 1


def test_a_marker_may_change_a_mark_until_the_answer_is_final(app, paper):
    session_id, attempt_id, _user_id = paper
    first, second = _markers(app, 2)
    mark = _mark_next(app, session_id, first, 5)
    with app.app_context():
        row, user = db.session.get(Mark, mark.id), db.session.get(User, first)
        exam_marking.submit(row, user, [[Decimal(4)], [Decimal(4)]], now=EXAM_TIME)
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "mark.changed")) == 1
    _mark_next(app, session_id, second, 4)
    assert _final(app, attempt_id, mark.position) == 16
    with app.app_context():
        row, user = db.session.get(Mark, mark.id), db.session.get(User, first)
        with pytest.raises(ServiceError, match="最终得分已经确定"):
            exam_marking.submit(row, user, [[Decimal(10)], [Decimal(10)]], now=EXAM_TIME)


def test_an_abandoned_claim_returns_to_the_queue_and_published_sessions_are_closed(
        app, paper):
    session_id, _attempt_id, _user_id = paper
    first, second = _markers(app, 2)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        taken = exam_marking.next_mark(session, db.session.get(User, first), now=EXAM_TIME)
        db.session.commit()
        taken = (taken.attempt_id, taken.position, taken.round)
        later = EXAM_TIME + timedelta(minutes=exam_marking.CLAIM_MINUTES + 1)
        again = exam_marking.next_mark(session, db.session.get(User, second), now=later)
        db.session.commit()
        assert (again.attempt_id, again.position, again.round) == taken
        session.results_published_at = session.exam_closes_at
        db.session.commit()
        with pytest.raises(ServiceError, match="成绩已发布"):
            exam_marking.next_mark(session, db.session.get(User, first), now=later)


def test_results_wait_for_every_answer_to_be_marked(app, paper, admin):
    session_id, _attempt_id, _user_id = paper
    (first,) = _markers(app, 1)
    _mark_next(app, session_id, first, 5)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        results.compute_results(session, now=session.exam_closes_at)
        with pytest.raises(ServiceError, match="没有评完"):
            results.publish(session, _actor(admin), now=session.exam_closes_at)


def test_answers_a_marker_has_marked_never_crowd_out_the_rest(app, paper, monkeypatch):
    session_id, _attempt_id, _user_id = paper
    monkeypatch.setattr(exam_marking, "_WINDOW", 1)  # as if 1,000 answers were waiting
    (first,) = _markers(app, 1)
    positions = [_mark_next(app, session_id, first, 5).position for _ in range(4)]
    assert sorted(positions) == [1, 2, 3, 4]


def test_a_sitting_cannot_be_reopened_after_publication_even_if_rejected(app, paper, admin):
    session_id, attempt_id, _user_id = paper
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        session.results_published_at = session.exam_closes_at
        registration = db.session.scalars(sa.select(Registration)).one()
        registration.status = sittings.RegistrationStatus.REJECTED
        db.session.commit()
        from exam_portal.services.exam_sessions import online_exams

        with pytest.raises(ServiceError, match="成绩已发布"):
            online_exams.reopen(db.session.get(Attempt, attempt_id), 10, "停电",
                                _actor(admin), now=session.exam_closes_at)


def test_a_claim_on_an_answer_settled_meanwhile_is_dropped(app, paper):
    session_id, attempt_id, _user_id = paper
    first, second, third = _markers(app, 3)
    mark = _mark_next(app, session_id, first, 10)  # 20
    _mark_next(app, session_id, second, 2)  # 4: needs a third marker
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        claim = exam_marking.next_mark(session, db.session.get(User, third), now=EXAM_TIME)
        assert (claim.position, claim.round) == (mark.position, 3)
        db.session.commit()
        # The first marker corrects theirs: the two now agree and the answer settles.
        exam_marking.submit(db.session.get(Mark, mark.id), db.session.get(User, first),
                            [[Decimal(2)], [Decimal(2)]], now=EXAM_TIME)
        db.session.commit()
        following = exam_marking.next_mark(session, db.session.get(User, third), now=EXAM_TIME)
        assert following is None or following.position != mark.position
    assert _final(app, attempt_id, mark.position) == 8


def test_submitting_a_claim_given_back_meanwhile_is_refused_with_a_reason(app, paper,
                                                                          database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite: a request's BEGIN IMMEDIATE keeps other writers out until it ends")
    session_id, _attempt_id, _user_id = paper
    (first,) = _markers(app, 1)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        marker = db.session.get(User, first)
        mark = exam_marking.next_mark(session, marker, now=EXAM_TIME)
        db.session.commit()
        shape = exam_marking.view(mark, marker).rubric.shape  # the marking page is open
        # Meanwhile another marker's request found the claim idle and gave it back.
        with db.engine.begin() as other:
            other.execute(sa.delete(Mark).where(Mark.id == mark.id))
        with pytest.raises(ServiceError, match="放回队列"):
            exam_marking.submit(mark, marker, _points(shape, 1), now=EXAM_TIME)
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(Mark.id))) == 0
