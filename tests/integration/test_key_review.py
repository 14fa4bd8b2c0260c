"""After the sitting: the item analysis of a locked form flags a miskeyed item, a
re-key rescores exactly the papers it affects (audited, with its effect), and the
results wait until every flagged item has a decision."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.attempts import Attempt, AttemptItem, EndedBy, Response
from exam_portal.models.audit import AuditEvent
from exam_portal.models.bank import Item, ItemPool
from exam_portal.models.forms import ExamForm
from exam_portal.models.sittings import ExamSession, Registration, SubjectResult
from exam_portal.models.statistics import FormStatistics, ItemStatistics
from exam_portal.services import ServiceError
from exam_portal.services.delivery import hand_in
from exam_portal.services.exam_sessions import form_analysis, online_exams, past_papers, results
from question_bank.key_review import DecisionKind
from question_bank.levels import Level
from question_bank.subjects import Subject

from .form_support import lock_forms, settle_key_review
from .practice_support import objective_bank
from .test_online_exams import EXAM_OPENS, admin, verified_registration  # noqa: F401
from .test_sittings import _session
from .test_sittings_pages import _admin_client

pytestmark = pytest.mark.db
SAT = EXAM_OPENS + timedelta(hours=1)


def _sit(app, registration_id, answer) -> int:
    """Sit COMP_JR: *answer(item_id, keys)* gives the letters chosen (None: blank)."""
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        attempt = online_exams.start(registration, Subject.COMP_JR, registration.candidate,
                                     now=SAT)
        for entry in attempt.items:
            content = entry.version.to_domain()
            letters = answer(entry.item_id, "".join(content.keys))
            if letters is not None:
                db.session.add(Response(attempt_id=attempt.id, position=entry.position,
                                        selected=letters, seq=1, saved_at=SAT))
        db.session.flush()
        hand_in.finalise(attempt.id, now=SAT, ended_by=EndedBy.CANDIDATE)
        db.session.commit()
        return attempt.id


@pytest.fixture
def sat_form(app, admin):  # noqa: F811
    """A COMP_JR form sat by seven candidates. Item X (the form's first) is miskeyed:
    the four strongest chose another option on it, two weak ones the key, one left it
    blank."""
    objective_bank(app, Subject.COMP_JR, pool=ItemPool.SECURE)
    session_id = _session(app, admin, levels=(Level.ASSISTANT,))
    [form_id] = lock_forms(app, session_id, admin, [Subject.COMP_JR])[Subject.COMP_JR]
    with app.app_context():
        form = db.session.get(ExamForm, form_id)
        x = form.items[0].item_id
        key = "".join(form.items[0].version.to_domain().keys)
    other = next(letter for letter in "ABCD" if letter != key)
    wrong = {"A": "B", "B": "A", "C": "D", "D": "C"}

    def strong(item_id, keys):
        return other if item_id == x else keys

    def weak(item_id, keys):
        return key if item_id == x else (wrong[keys] if len(keys) == 1 else "BD")

    def middling(item_id, keys):
        return None if item_id == x else (keys if item_id % 2 else "B" if len(keys) == 1
                                          else "BD")

    attempts = {}
    for name, answer in (("s1", strong), ("s2", strong), ("s3", strong), ("s4", strong),
                         ("w1", weak), ("w2", weak), ("m", middling)):
        registration_id, _user, _email = verified_registration(app, admin, session_id)
        attempts[name] = _sit(app, registration_id, answer)
    return session_id, form_id, x, other, attempts


def _totals(app, attempts) -> dict:
    with app.app_context():
        return {name: db.session.get(Attempt, attempt_id).score_halves
                for name, attempt_id in attempts.items()}


def test_a_miskeyed_item_is_flagged_rekeyed_and_only_its_papers_change(app, admin,  # noqa: F811
                                                                        sat_form):
    session_id, form_id, x, other, attempts = sat_form
    later = EXAM_OPENS + timedelta(days=2)
    with app.app_context():
        form = db.session.get(ExamForm, form_id)
        actor = db.session.get(User, admin)
        form_analysis.analyse(form, actor, now=later)
        db.session.commit()
        statistics = db.session.get(FormStatistics, form_id)
        flagged = db.session.scalar(sa.select(ItemStatistics).where(
            ItemStatistics.form_id == form_id, ItemStatistics.item_id == x))
        assert statistics.candidates == 7
        assert flagged.discrimination < 0
        codes = {flag["code"] for flag in flagged.flags}
        assert {"DISCRIMINATION_NEGATIVE", "DISTRACTOR_PREFERRED_BY_TOP_GROUP"} <= codes
        session = db.session.get(ExamSession, session_id)
        results.compute_results(session, now=later)
        db.session.commit()
        with pytest.raises(ServiceError, match="没有答案审查结论"):
            results.publish(session, actor, now=later)
        db.session.rollback()
    before = _totals(app, attempts)
    with app.app_context():
        form = db.session.get(ExamForm, form_id)
        decision = form_analysis.decide(form, x, DecisionKind.REKEY, keys=other,
                                        reason="命题组复核：原答案有误", actor=db.session.get(
                                            User, admin), now=later)
        db.session.commit()
        assert (decision.changed, decision.crossed_up, decision.crossed_down) == (6, 0, 0)
    after = _totals(app, attempts)
    assert {name: after[name] - before[name] for name in attempts} == {
        "s1": 2, "s2": 2, "s3": 2, "s4": 2, "w1": -2, "w2": -2, "m": 0}
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "key.decided"))
        details = json.loads(event.details)
        assert (details["item"], details["decision"]["kind"], details["changed"]) == (
            x, "REKEY", 6)
        # The item score of the re-keyed item changed with the totals.
        stored = db.session.scalar(sa.select(Response.score_halves).join(
            Attempt, Attempt.id == Response.attempt_id).where(
            Attempt.id == attempts["s1"], Response.selected == other))
        assert stored == 2


def test_results_wait_for_a_decision_on_every_flagged_item(one_leg, app, admin, sat_form):  # noqa: F811
    session_id, form_id, x, _other, _attempts = sat_form
    later = EXAM_OPENS + timedelta(days=2)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        actor = db.session.get(User, admin)
        assert "试题分析" in form_analysis.publication_problem(session)
        form_analysis.analyse(db.session.get(ExamForm, form_id), actor, now=later)
        waiting = form_analysis.undecided(session)
        assert (form_id, x) in waiting
        form = db.session.get(ExamForm, form_id)
        for _form_id, item_id in waiting:
            form_analysis.decide(form, item_id, DecisionKind.KEEP, reason="复核后维持",
                                 actor=actor, now=later)
        assert form_analysis.publication_problem(session) is None
        results.compute_results(session, now=later)
        results.publish(session, actor, now=later)
        db.session.commit()
        with pytest.raises(ServiceError, match="成绩已发布"):
            form_analysis.decide(form, x, DecisionKind.VOID, reason="太晚", actor=actor,
                                 now=later)


def test_the_analysis_pages_show_the_figures_and_take_decisions(one_leg, app, admin, sat_form):  # noqa: F811

    session_id, form_id, x, other, _attempts = sat_form
    with freeze_time(EXAM_OPENS + timedelta(days=2)):
        client = _admin_client(app)
        response = client.post(f"/admin/sessions/{session_id}/forms/analyse")
        assert response.status_code == 302 and "/admin/jobs/" in response.headers["Location"]
        page = client.get(f"/admin/forms/{form_id}/analysis?item={x}").get_data(as_text=True)
        assert "信度 Cronbach α" in page and "<svg" in page and "区分度为负" in page
        workbook = client.get(f"/admin/forms/{form_id}/analysis.xlsx")
        assert workbook.status_code == 200 and workbook.data[:2] == b"PK"
        client.post(f"/admin/forms/{form_id}/items/{x}/decision",
                    data={"kind": "ADD_KEY", "keys": other, "reason": "两个答案均可接受"})
        page = client.get(f"/admin/forms/{form_id}/analysis?item={x}").get_data(as_text=True)
        assert "已有结论" in page and "增加可接受的答案" in page


def test_released_past_papers_are_sat_and_practised_with_national_rates(one_leg, app, admin,  # noqa: F811
                                                                         sat_form):
    from .practice_support import candidate, start

    session_id, form_id, _x, _other, _attempts = sat_form
    later = EXAM_OPENS + timedelta(days=2)
    with app.app_context():
        session = db.session.get(ExamSession, session_id)
        actor = db.session.get(User, admin)
        with pytest.raises(ServiceError, match="成绩发布后"):
            past_papers.release(session, actor, now=later)
        settle_key_review(session, actor, later)
        results.compute_results(session, now=later)
        results.publish(session, actor, now=later)
        past_papers.release(session, actor, now=later)
        db.session.commit()
        form = db.session.get(ExamForm, form_id)
        form_items = {entry.item_id for entry in form.items}
        assert {item.pool for item in db.session.scalars(
            sa.select(Item).where(Item.id.in_(form_items)))} == {ItemPool.OPEN}
        with pytest.raises(ServiceError, match="没有可以公开"):
            past_papers.release(session, actor, now=later)
        db.session.rollback()
        with pytest.raises(sa.exc.DatabaseError, match="exam form is locked"):
            db.session.execute(sa.update(ExamForm).where(ExamForm.id == form_id)
                               .values(released_at=None))
        db.session.rollback()
        event = db.session.scalar(sa.select(AuditEvent).where(
            AuditEvent.action == "forms.released"))
        assert json.loads(event.details)["forms"] == [form_id]
    _user_id, client = candidate(app)
    page = client.get("/practice/subjects/COMP_JR").get_data(as_text=True)
    assert "社会工作综合能力（初级）真题" in page and "历年真题" in page
    response = client.post(f"/practice/past-papers/{form_id}/start")
    attempt_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.form_id == form_id and attempt.mode.value == "MOCK"
        assert {item.item_id for item in attempt.items} == form_items
        assert attempt.deadline_at - attempt.started_at == timedelta(minutes=120)
    client.post(f"/practice/attempts/{attempt_id}/submit")
    review = client.get(f"/practice/attempts/{attempt_id}/result").get_data(as_text=True)
    assert review.count("全国正确率") == len(form_items)
    practice_id = start(client, Subject.COMP_JR, mode="RANDOM")
    with app.app_context():
        drawn = set(db.session.scalars(sa.select(AttemptItem.item_id).where(
            AttemptItem.attempt_id == practice_id)))
    assert drawn and drawn <= form_items  # the released items are the open pool here


def test_a_paper_marked_after_a_rekey_is_scored_under_it(app, admin, sat_form):  # noqa: F811
    """A sitting handed in after the key review decided (an extended one) is marked
    later; its score is the re-keyed one, as the papers rescored by the decision."""
    session_id, form_id, x, other, attempts = sat_form
    later = EXAM_OPENS + timedelta(days=2)
    with app.app_context():
        form = db.session.get(ExamForm, form_id)
        form_analysis.analyse(form, db.session.get(User, admin), now=later)
        form_analysis.decide(form, x, DecisionKind.REKEY, keys=other,
                             reason="命题组复核：原答案有误",
                             actor=db.session.get(User, admin), now=later)
        db.session.commit()
        key = "".join(form.items[0].version.to_domain().keys)
    registration_id, _user, _email = verified_registration(app, admin, session_id)
    late = _sit(app, registration_id, lambda item_id, keys: other if item_id == x else keys)
    with app.app_context():
        assert db.session.get(Attempt, late).marked_at is None
        assert hand_in.mark_handed_in(late, now=later)
        db.session.commit()
        paper = db.session.get(Attempt, late)
        assert paper.score_halves == db.session.get(Attempt, attempts["s1"]).score_halves
        assert db.session.scalar(sa.select(Response.score_halves).where(
            Response.attempt_id == late, Response.selected == other)) > 0
        result = db.session.scalar(sa.select(SubjectResult).where(
            SubjectResult.attempt_id == late))
        assert result.score_halves == paper.score_halves
    assert key != other
