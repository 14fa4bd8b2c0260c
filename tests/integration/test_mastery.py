"""Mastery of knowledge points through the portal: marked answers trace every node their
item is linked to, the map shows it in words, and the fit puts new parameters in use."""

import dataclasses
import re
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
from question_bank.practice import Mode
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


def test_the_dashboard_predicts_a_score_only_with_enough_answers_across_the_syllabus(
        one_leg, app):
    from .practice_support import objective_bank

    objective_bank(app, singles=80, multis=20, chapters=12, syllabus_version="2025")
    _user_id, client = candidate(app)

    def practise(count):
        attempt_id = start(client, mode="RANDOM", count=count, syllabus_version="2025")
        device = open_attempt(client, attempt_id)["device"]
        keys = shown_keys(app, attempt_id)
        for seq, position in enumerate(sorted(keys), 1):
            save(client, attempt_id, position, device, seq,
                 keys[position] if position % 4 else wrong_choice(keys[position]))
        client.post(f"/practice/attempts/{attempt_id}/submit")

    practise("10")
    page = client.get("/practice/?syllabus=2025").get_data(as_text=True)
    assert "预测分数" in page and "至少答 60 道本科目的选择题" in page and "通过概率" in page
    practise("50")
    practise("50")
    page = client.get("/practice/?syllabus=2025").get_data(as_text=True)
    assert "至少答 60 道" not in page and "尚未用模拟考试的实际结果校准" in page
    assert re.search(r"约 \d+ 分（\d+–\d+）", page) and re.search(r"<td>\d+%</td>", page)


def _history(candidate_id, right_share, rng, mock_passed):
    """70 practice answers over eight chapters, then one handed-in mock paper."""
    chapters = [f"COMP_JR.{n:02d}" for n in range(1, 9)]
    answers = [mastery_service._Marked(
        candidate_id, candidate_id * 10, Mode.CHAPTER, Subject.COMP_JR, None, "2025",
        chapters[n % 8], chapters[n % 8], ItemType.SINGLE, rng.random() < right_share)
        for n in range(70)]
    answers.append(mastery_service._Marked(
        candidate_id, candidate_id * 10 + 1, Mode.MOCK, Subject.COMP_JR, mock_passed, "2025",
        chapters[0], chapters[0], ItemType.SINGLE, True))
    return answers


def test_a_prediction_is_replayed_before_each_mock_paper_from_the_answers_before_it():
    import random

    rng = random.Random(1)
    answers = _history(1, 0.9, rng, True)
    predicted, passed = mastery_service.mock_outcomes(answers, mastery.DEFAULT_MODEL)
    assert passed == [True] and predicted[0] > 0.5
    # A mock paper with too few answers before it gives no pair.
    assert mastery_service.mock_outcomes(answers[60:], mastery.DEFAULT_MODEL) == ([], [])


def test_fit_mastery_calibrates_pass_probabilities_against_mock_results(
        one_leg, app, monkeypatch):
    import random

    rng = random.Random(2)
    answers = []
    for candidate_id in range(1, 61):
        share = rng.uniform(0.3, 0.95)
        answers += _history(candidate_id, share, rng, rng.random() < share - 0.2)
    monkeypatch.setattr(mastery_service, "_marked_answers", lambda: answers)
    result = app.test_cli_runner().invoke(args=["attempts", "fit-mastery"])
    assert result.exit_code == 0, result.output
    assert "calibrated on 60 mock papers" in result.output
    with app.app_context():
        scaling, mocks = mastery_service.current_scaling()
    assert mocks == 60 and (scaling.a, scaling.b) != (1.0, 0.0)
    # A candidate's pass probability is the calibrated one from now on.
    user_id, client = candidate(app)
    with app.app_context():
        for n in range(1, 9):
            db.session.add(KnowledgeMastery(
                candidate_id=user_id, syllabus_version="2025", code=f"COMP_JR.{n:02d}",
                subject=Subject.COMP_JR, chapter_code=f"COMP_JR.{n:02d}", p_known=0.6,
                answered=10, right=7, answer_share=10, right_share=7, updated_at=T0))
        db.session.commit()
        shown = mastery_service.predictions(user_id, "2025")[Subject.COMP_JR]
        by_chapter = {f"COMP_JR.{n:02d}": 0.6 for n in range(1, 9)}
        raw = mastery_service._predict(Subject.COMP_JR, "2025", by_chapter, 80,
                                       mastery_service.current_model())
    assert shown.pass_probability == pytest.approx(scaling.apply(raw.pass_probability),
                                                   abs=1e-3)
    assert "已按 60 份模拟考试的实际结果校准" in client.get("/practice/?syllabus=2025") \
        .get_data(as_text=True)


SECOND_POINT = "COMP_JR.02.01.01"  # a knowledge point of chapter 02


def _practise_linked_twice(app, client, pattern):
    """A practice set of items each linked to a point of chapter 01 and one of
    chapter 02, checked one by one: right where *pattern* says."""
    contents = [choice_item(Subject.COMP_JR, ItemType.SINGLE, POINT) for _ in pattern]
    contents = [dataclasses.replace(content, syllabus=(POINT, SECOND_POINT))
                for content in contents]
    publish(app, contents, "2025")
    attempt_id = start(client, mode="CHAPTER", chapters=["COMP_JR.01"], count="10",
                       syllabus_version="2025")
    device = open_attempt(client, attempt_id)["device"]
    keys = shown_keys(app, attempt_id)
    for seq, (position, right) in enumerate(zip(sorted(keys), pattern, strict=True), 1):
        save(client, attempt_id, position, device, seq,
             keys[position] if right else wrong_choice(keys[position]))
        client.post(f"/practice/attempts/{attempt_id}/responses/{position}/check")
    return attempt_id


def test_an_answer_linked_to_several_points_counts_once_in_chapters_and_subjects(
        one_leg, app):
    from exam_portal.services.delivery import learning

    user_id, client = candidate(app)
    _practise_linked_twice(app, client, [True, True, False, True])
    rows = _rows(app, user_id)
    # Each point still counts every answer to it...
    assert {code: (row.answered, row.right) for code, row in rows.items()} == \
        {POINT: (4, 3), SECOND_POINT: (4, 3)}
    with app.app_context():
        # ...but the subject has four answers, not eight, and each chapter half of them.
        assert mastery_service.chapter_mastery(user_id, "2025")[Subject.COMP_JR].answered == 4
        accuracy = {row.chapter: row for row in learning.chapter_accuracy(user_id, "2025")}
    assert {chapter: (row.right, row.answered) for chapter, row in accuracy.items()} == \
        {"COMP_JR.01": (1.5, 2.0), "COMP_JR.02": (1.5, 2.0)}
    assert accuracy["COMP_JR.01"].percent == pytest.approx(75)


def test_replaying_a_candidates_answers_gives_the_mastery_their_marking_traced(
        one_leg, app):
    user_id, client = candidate(app)
    _practise_linked_twice(app, client, [False, True, True, False, True])
    traced = _rows(app, user_id)
    with app.app_context():
        assert mastery_service.replay(user_id, now=T0) == 5
        db.session.commit()
    replayed = _rows(app, user_id)
    assert set(replayed) == set(traced) == {POINT, SECOND_POINT}
    for code, row in traced.items():
        again = replayed[code]
        assert (again.answered, again.right, again.subject, again.chapter_code) == \
            (row.answered, row.right, row.subject, row.chapter_code)
        assert (again.p_known, again.answer_share, again.right_share) == \
            pytest.approx((row.p_known, row.answer_share, row.right_share))
    # Knowledge traced before mastery was recorded (rows gone) comes back from the
    # answers, and after a fit the rows follow the parameters in use.
    with app.app_context():
        db.session.execute(sa.delete(KnowledgeMastery))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["attempts", "replay-mastery"])
    assert result.exit_code == 0, result.output
    assert "replayed 1 candidates, 5 answers" in result.output
    assert _rows(app, user_id)[POINT].p_known == pytest.approx(traced[POINT].p_known)


@pytest.mark.db
def test_answers_marked_while_a_replay_runs_are_not_lost(app):
    """Replays recompute a candidate's rows from their answers while the candidate's
    answers are being checked: every checked answer counts, once, and the rows end as a
    replay of every answer gives them."""
    from exam_portal.models.attempts import Attempt
    from exam_portal.services.delivery import responses

    user_id, client = candidate(app)
    _practise_linked_twice(app, client, [True, False, True])
    _bank(app, count=6)
    attempt_id = start(client, mode="CHAPTER", chapters=["COMP_JR.01"], count="10",
                       syllabus_version="2025")
    device = open_attempt(client, attempt_id)["device"]
    keys = shown_keys(app, attempt_id)
    for seq, position in enumerate(sorted(keys), 1):
        save(client, attempt_id, position, device, seq, keys[position])
    barrier, errors = threading.Barrier(len(keys) + 2), []

    def run(work):
        with app.app_context(), app.test_request_context(method="POST"):
            try:
                barrier.wait(timeout=10)
                work()
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 - the test reads it
                db.session.rollback()
                errors.append(error)

    def check(position):
        return lambda: responses.check_response(db.session.get(Attempt, attempt_id),
                                                position, now=T0)

    works = [check(position) for position in sorted(keys)]
    works += [lambda: mastery_service.replay(user_id, now=T0)] * 2
    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    raced = _rows(app, user_id)
    assert raced[POINT].answered == 3 + len(keys)
    with app.app_context():
        mastery_service.replay(user_id, now=T0)
        db.session.commit()
    for code, row in _rows(app, user_id).items():
        assert (raced[code].answered, raced[code].right) == (row.answered, row.right)
        assert raced[code].p_known == pytest.approx(row.p_known)
