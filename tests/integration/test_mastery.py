"""Mastery of knowledge points through the portal: marked answers trace every node their
item is linked to, the map shows it in words, and the fit puts new parameters in use."""

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.bank import Item
from exam_portal.models.mastery import KnowledgeMastery, MasteryModel
from exam_portal.services.delivery import mastery as mastery_service
from question_bank import mastery
from question_bank.items import ItemType
from question_bank.subjects import Subject

from .practice_support import (
    candidate,
    choice_item,
    layout,
    open_attempt,
    publish,
    save,
    shown_keys,
    start,
    wrong_choice,
)

POINT = "COMP_JR.01.01.02"  # 2025 syllabus: 社会工作服务的特点, in chapter 01
T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def _bank(app, count=4):
    contents = [choice_item(Subject.COMP_JR, ItemType.SINGLE, POINT) for _ in range(count)]
    return publish(app, contents, "2025")


def _rows(app, user_id) -> dict[str, KnowledgeMastery]:
    with app.app_context():
        rows = db.session.scalars(sa.select(KnowledgeMastery).where(
            KnowledgeMastery.candidate_id == user_id)).all()
        for row in rows:
            db.session.expunge(row)
        return {row.code: row for row in rows}


def test_each_checked_answer_traces_the_knowledge_point_its_item_is_linked_to(one_leg, app):
    _bank(app)
    user_id, client = candidate(app)
    attempt_id = start(client, mode="CHAPTER", chapters=["COMP_JR.01"], count="10",
                       syllabus_version="2025")
    device = open_attempt(client, attempt_id)["device"]
    keys = shown_keys(app, attempt_id)
    pattern = [False, True, True, True]
    for seq, (position, right) in enumerate(zip(sorted(keys), pattern, strict=True), 1):
        save(client, attempt_id, position, device, seq,
             keys[position] if right else wrong_choice(keys[position]))
        client.post(f"/practice/attempts/{attempt_id}/responses/{position}/check")
    row = _rows(app, user_id)[POINT]
    assert (row.syllabus_version, row.subject, row.chapter_code) == \
        ("2025", Subject.COMP_JR, "COMP_JR.01")
    assert (row.answered, row.right) == (4, 3)
    expected = None
    for right in pattern:
        expected = mastery.update(expected, right, mastery.DEFAULT_MODEL.single)
    assert row.p_known == pytest.approx(expected)

    page = client.get("/practice/mastery?subject=COMP_JR&syllabus=2025")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "社会工作服务的特点" in text
    assert "正确率 75%（3/4）" in text and f"掌握度 {100 * expected:.0f}%" in text
    assert "未练习" in text and "练这一章" in text
    # Another candidate's map knows nothing of these answers.
    _, other = candidate(app, "other@example.com")
    assert "正确率 75%" not in other.get("/practice/mastery?subject=COMP_JR&syllabus=2025") \
        .get_data(as_text=True)


def test_a_mock_papers_answers_are_traced_when_it_is_handed_in_not_when_saved(one_leg, app):
    from .practice_support import objective_bank

    objective_bank(app, singles=70, multis=25, chapters=3)
    user_id, client = candidate(app)
    attempt_id = start(client, mode="MOCK")
    device = open_attempt(client, attempt_id)["device"]
    keys = shown_keys(app, attempt_id)
    for seq, position in enumerate((1, 2, 3), 1):
        save(client, attempt_id, position, device, seq, keys[position])
    assert _rows(app, user_id) == {}
    client.post(f"/practice/attempts/{attempt_id}/submit")
    rows = _rows(app, user_id)
    chapters = {item.chapter_code for item in layout(app, attempt_id)
                if item.position in (1, 2, 3)}
    assert set(rows) == chapters
    assert sum(row.answered for row in rows.values()) == 3
    assert all(row.right == row.answered for row in rows.values())


def test_the_fit_command_puts_parameters_fitted_on_the_answers_in_use(one_leg, app):
    _bank(app, count=8)
    for number in range(6):
        _user_id, client = candidate(app, f"fit{number}@example.com")
        attempt_id = start(client, mode="CHAPTER", chapters=["COMP_JR.01"], count="10",
                           syllabus_version="2025")
        device = open_attempt(client, attempt_id)["device"]
        keys = shown_keys(app, attempt_id)
        for seq, position in enumerate(sorted(keys), 1):
            right = (position + number) % 3 != 0
            save(client, attempt_id, position, device, seq,
                 keys[position] if right else wrong_choice(keys[position]))
        client.post(f"/practice/attempts/{attempt_id}/submit")
    result = app.test_cli_runner().invoke(args=["attempts", "fit-mastery"])
    assert result.exit_code == 0, result.output
    assert "6 answer sequences, 48 answers" in result.output
    assert "log loss" in result.output and "AUC" in result.output
    with app.app_context():
        stored = db.session.scalar(sa.select(MasteryModel))
        assert stored.sequences == 6 and set(stored.quality) == {"single", "multi"}
        assert mastery_service.current_model() == mastery.Model.from_dict(stored.parameters)
        assert mastery_service.current_model().single != mastery.DEFAULT_MODEL.single


@pytest.mark.db
def test_answers_to_one_knowledge_point_marked_at_once_are_all_counted(app):
    """Several devices of one candidate hand in answers linked to the same node at the
    same moment: the node's row is made once and counts every answer."""
    _bank(app, count=6)
    user_id, _client = candidate(app)
    with app.app_context():
        versions = db.session.scalars(sa.select(Item.published_version_id)
                                      .order_by(Item.id)).all()
    barrier, errors = threading.Barrier(len(versions)), []

    def mark(version_id, correct):
        # A POST, as a check or a hand-in is: on SQLite it takes the write lock first.
        with app.app_context(), app.test_request_context(method="POST"):
            try:
                barrier.wait(timeout=10)
                mastery_service.record(user_id, [mastery_service.Answer(
                    version_id, ItemType.SINGLE, Subject.COMP_JR, correct)], now=T0)
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 - the test reads it
                db.session.rollback()
                errors.append(error)

    threads = [threading.Thread(target=mark, args=(version_id, index % 2 == 0))
               for index, version_id in enumerate(versions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    row = _rows(app, user_id)[POINT]
    assert (row.answered, row.right) == (6, 3)
