"""Spaced review through the portal: wrong answers become FSRS cards, today's review
draws the due ones, every marked answer reviews them, the candidate may say how an
answer felt, and the wrong-answer book shows their last answer beside the key."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.attempts import Bookmark, ReviewCard, ReviewLog
from exam_portal.models.bank import Item
from exam_portal.services.delivery import learning
from question_bank import spaced_review
from question_bank.spaced_review import Rating, State
from question_bank.subjects import Subject

from .practice_support import (
    candidate,
    layout,
    login,
    objective_bank,
    open_attempt,
    save,
    shown_keys,
    start,
    wrong_choice,
)

# 10:00 in China: the day's review runs until 16:00 UTC.
T0 = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)


def _answer(client, app, mode, *, correct, count="10", check=True, **fields):
    """Start a practice set in *mode*, answer every item (right or wrong), check each
    answer (practice feedback), hand in; the items answered."""
    attempt_id = start(client, mode=mode, count=count, **fields)
    device = open_attempt(client, attempt_id)["device"]
    keys = shown_keys(app, attempt_id)
    for seq, (position, key) in enumerate(keys.items(), 1):
        save(client, attempt_id, position, device, seq, key if correct else wrong_choice(key))
        if check:
            client.post(f"/practice/attempts/{attempt_id}/responses/{position}/check")
    client.post(f"/practice/attempts/{attempt_id}/submit")
    return attempt_id, {item.item_id for item in layout(app, attempt_id)}


def _cards(app, user_id) -> dict[int, ReviewCard]:
    with app.app_context():
        cards = db.session.scalars(sa.select(ReviewCard).where(
            ReviewCard.candidate_id == user_id)).all()
        for card in cards:
            db.session.expunge(card)
        return {card.item_id: card for card in cards}


def test_wrong_answers_become_cards_that_todays_review_draws_and_reschedules(one_leg, app):
    objective_bank(app, singles=30, multis=0, chapters=1)
    with freeze_time(T0) as clock:
        user_id, client = candidate(app, "learner@example.com")
        _, wrong = _answer(client, app, "RANDOM", correct=False)
        cards = _cards(app, user_id)
        assert set(cards) == wrong
        assert all(card.in_book and card.times_wrong == 1 and card.reviews == 1
                   and card.state == State.Learning for card in cards.values())
        page = client.get("/practice/review").get_data(as_text=True)
        assert "今日复习 10 题" in page and page.count('class="card mb-2"') == 10
        assert "今日复习 10 题" in client.get("/practice/").get_data(as_text=True)

        # Two right answers in today's review take the cards through FSRS's learning
        # steps into review: due again in days, out of today's queue, still in the book.
        clock.move_to(T0 + timedelta(minutes=2))
        _, reviewed = _answer(client, app, "REVIEW", correct=True)
        assert reviewed == wrong
        clock.move_to(T0 + timedelta(minutes=15))
        _answer(client, app, "REVIEW", correct=True)
        cards = _cards(app, user_id)
        assert all(card.state == State.Review and card.reviews == 3 and card.in_book
                   and card.due >= T0 + timedelta(days=1) for card in cards.values())
        assert "今日复习 0 题" in client.get("/practice/review").get_data(as_text=True)
        refused = client.post("/practice/subjects/COMP_JR/start", data={"mode": "REVIEW"},
                              follow_redirects=True).get_data(as_text=True)
        assert "今天这个科目没有要复习的题目" in refused
        # The schedule is FSRS's for the same history.
        with app.app_context():
            history = db.session.execute(sa.select(ReviewLog.rating, ReviewLog.reviewed_at)
                                         .where(ReviewLog.item_id == min(wrong))).all()
            settings = learning.review_settings()
        expected = spaced_review.replay([(Rating(rating), at) for rating, at in history],
                                        settings)
        assert [Rating(r) for r, _ in history] == [Rating.Again, Rating.Good, Rating.Good]
        assert cards[min(wrong)].due == expected.due
        assert cards[min(wrong)].stability == pytest.approx(expected.stability)

    # Days later the cards fall due again: the dashboard says so.
    with freeze_time(cards[min(wrong)].due + timedelta(minutes=1)):
        until = learning.due_until(cards[min(wrong)].due)
        due = sum(1 for card in cards.values() if card.due < until)
        client = login(app, "learner@example.com")
        assert f"今日复习 {due} 题" in client.get("/practice/").get_data(as_text=True)


def test_a_mock_papers_wrong_answers_join_the_review_at_hand_in(one_leg, app):
    objective_bank(app, singles=70, multis=25, chapters=3)
    with freeze_time(T0):
        user_id, client = candidate(app)
        attempt_id = start(client, mode="MOCK")
        device = open_attempt(client, attempt_id)["device"]
        keys = shown_keys(app, attempt_id)
        save(client, attempt_id, 1, device, 1, wrong_choice(keys[1]))
        save(client, attempt_id, 2, device, 2, keys[2])
        client.post(f"/practice/attempts/{attempt_id}/submit")
    items = {item.position: item.item_id for item in layout(app, attempt_id)}
    cards = _cards(app, user_id)
    assert set(cards) == {items[1]}  # a right answer to a new item makes no card
    assert cards[items[1]].last_selected is not None
    # The result's 只看错题 leaves out only the right answer (blank ones count as wrong).
    with freeze_time(T0 + timedelta(minutes=5)):
        only_wrong = client.get(f"/practice/attempts/{attempt_id}/result?only=wrong") \
            .get_data(as_text=True)
    total = len(items)
    assert f"只看错题（{total - 1}）" in only_wrong
    assert only_wrong.count('class="card mb-3 review-item"') == total - 1


def test_the_candidate_says_a_right_answer_was_easy_or_hard_and_the_card_follows(one_leg, app):
    objective_bank(app, singles=12, multis=0, chapters=1)
    with freeze_time(T0) as clock:
        user_id, client = candidate(app, "learner@example.com")
        _answer(client, app, "RANDOM", correct=False)
        clock.move_to(T0 + timedelta(minutes=2))
        attempt_id = start(client, mode="REVIEW", count="10")
        device = open_attempt(client, attempt_id)["device"]
        keys = shown_keys(app, attempt_id)
        save(client, attempt_id, 1, device, 1, keys[1])
        feedback = client.post(f"/practice/attempts/{attempt_id}/responses/1/check").get_json()
        assert feedback["correct"] is True and feedback["review_rating"] == Rating.Good
        item_id = {i.position: i.item_id for i in layout(app, attempt_id)}[1]
        good = _cards(app, user_id)[item_id]

        easy = client.post(f"/practice/attempts/{attempt_id}/responses/1/recall",
                           json={"feeling": "easy"})
        assert easy.status_code == 200 and easy.get_json()["review_rating"] == Rating.Easy
        after_easy = _cards(app, user_id)[item_id]
        assert after_easy.due > good.due and after_easy.reviews == good.reviews
        hard = client.post(f"/practice/attempts/{attempt_id}/responses/1/recall",
                           json={"feeling": "hard"})
        assert hard.get_json()["review_rating"] == Rating.Hard
        assert _cards(app, user_id)[item_id].due < after_easy.due
        # The feeling survives a reload of the page (the answer card shows it).
        state = open_attempt(client, attempt_id)
        assert state["responses"]["1"]["feedback"]["review_rating"] == Rating.Hard
        device = state["device"]  # the reload took the attempt over

        # A wrong answer is a lapse whatever it felt like; nonsense is refused.
        assert save(client, attempt_id, 2, device, 2, wrong_choice(keys[2])).status_code == 200
        checked = client.post(f"/practice/attempts/{attempt_id}/responses/2/check")
        assert checked.get_json()["correct"] is False, checked.get_json()
        lapse = client.post(f"/practice/attempts/{attempt_id}/responses/2/recall",
                            json={"feeling": "easy"})
        assert lapse.status_code == 409 and "忘记" in lapse.get_json()["message"]
        for nonsense in ("bored", [], {"a": 1}, None):
            assert client.post(f"/practice/attempts/{attempt_id}/responses/1/recall",
                               json={"feeling": nonsense}).status_code == 400, nonsense
        assert client.post(f"/practice/attempts/{attempt_id}/responses/3/recall",
                           json={"feeling": "easy"}).status_code == 409

        # Another candidate cannot touch this attempt's reviews.
        _, other = candidate(app, "other@example.com")
        assert other.post(f"/practice/attempts/{attempt_id}/responses/1/recall",
                          json={"feeling": "easy"}).status_code == 404
        assert _cards(app, user_id)[item_id].due < after_easy.due


def test_only_the_latest_review_of_a_card_can_change_its_feeling(one_leg, app):
    objective_bank(app, singles=12, multis=0, chapters=1)
    with freeze_time(T0) as clock:
        user_id, client = candidate(app, "learner@example.com")
        _answer(client, app, "RANDOM", correct=False, count="10")
        clock.move_to(T0 + timedelta(minutes=2))
        first, _ = _answer(client, app, "REVIEW", correct=True)
        clock.move_to(T0 + timedelta(minutes=15))
        _answer(client, app, "REVIEW", correct=True)
        stale = client.post(f"/practice/attempts/{first}/responses/1/recall",
                            json={"feeling": "easy"})
        assert stale.status_code == 409 and "之后又复习过" in stale.get_json()["message"]


def test_the_book_shows_the_last_answer_beside_the_key_or_hides_the_key_to_answer_first(
        one_leg, app):
    objective_bank(app, singles=12, multis=0, chapters=1)
    user_id, client = candidate(app)
    _answer(client, app, "RANDOM", correct=False, count="10")
    cards = _cards(app, user_id)
    recite = client.get("/practice/wrong-answers?subject=COMP_JR").get_data(as_text=True)
    assert recite.count("你上次选的") >= 10 and recite.count("✓ 正确答案") == 10
    answer_first = client.get("/practice/wrong-answers?subject=COMP_JR&view=answer")
    text = answer_first.get_data(as_text=True)
    assert "✓ 正确答案" not in text and text.count("想好了，看答案") == 10
    assert all(card.last_selected for card in cards.values())

    # Taking a card out of review empties it from the book; someone else cannot.
    item_id = min(cards)
    _, other = candidate(app, "other@example.com")
    assert other.post(f"/practice/review/cards/{item_id}/delete").status_code == 404
    removed = client.post(f"/practice/review/cards/{item_id}/delete",
                          data={"next": "book"}, follow_redirects=True)
    assert "已移出错题本" in removed.get_data(as_text=True)
    assert set(_cards(app, user_id)) == set(cards) - {item_id}


def test_bookmarked_items_join_the_review_when_the_candidate_asks(one_leg, app):
    objective_bank(app, singles=12, multis=0, chapters=1)
    user_id, client = candidate(app)
    attempt_id = start(client, mode="RANDOM", count="10")
    for position in (1, 2):
        client.post(f"/practice/attempts/{attempt_id}/responses/{position}/bookmark",
                    json={"bookmarked": True})
    added = client.post("/practice/bookmarks/review?subject=COMP_JR", follow_redirects=True)
    assert "已把 2 道收藏的题加入复习" in added.get_data(as_text=True)
    again = client.post("/practice/bookmarks/review?subject=COMP_JR", follow_redirects=True)
    assert "都已在复习中" in again.get_data(as_text=True)
    cards = _cards(app, user_id)
    with app.app_context():
        marked = set(db.session.scalars(sa.select(Bookmark.item_id)))
    assert set(cards) == marked and not any(card.in_book for card in cards.values())
    assert "错题本是空的" in client.get("/practice/wrong-answers").get_data(as_text=True)
    assert "今日复习 2 题" in client.get("/practice/review").get_data(as_text=True)
    assert client.post("/practice/bookmarks/review?subject=NOPE").status_code == 404


@pytest.mark.db
def test_answers_to_one_item_marked_at_once_review_its_card_once_each(app):
    """Two devices of one candidate mark answers to the same new item at the same
    moment (a practice check and a mock hand-in): one card, both reviews counted."""
    objective_bank(app, singles=12, multis=0, chapters=1)
    user_id, _client = candidate(app)
    with app.app_context():
        item_id = db.session.scalar(sa.select(Item.id).order_by(Item.id).limit(1))
    workers, barrier, errors = 6, threading.Barrier(6), []

    def mark(correct):
        # A POST, as a check or a hand-in is: on SQLite it takes the write lock first.
        with app.app_context(), app.test_request_context(method="POST"):
            try:
                barrier.wait(timeout=10)
                learning.record_answers(user_id, [learning.MarkedAnswer(
                    item_id, Subject.COMP_JR, correct, "A")], now=T0)
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 - the test reads it
                db.session.rollback()
                errors.append(error)

    threads = [threading.Thread(target=mark, args=(index % 2 == 1,))
               for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    card = _cards(app, user_id)[item_id]
    with app.app_context():
        logs = db.session.scalar(sa.select(sa.func.count()).select_from(ReviewLog))
    # Right answers that came before any wrong one found no card: each wrong one
    # reviewed it, and so did every right one after the first wrong.
    assert card.times_wrong == 3 and card.reviews == logs and 3 <= logs <= workers


def test_a_retired_items_card_neither_blocks_nor_counts_in_todays_review(one_leg, app):
    objective_bank(app, singles=12, multis=0, chapters=1)
    with freeze_time(T0) as clock:
        user_id, client = candidate(app)
        _, wrong = _answer(client, app, "RANDOM", correct=False)
        retired = min(wrong)
        with app.app_context():
            db.session.execute(sa.update(Item).where(Item.id == retired)
                               .values(published_version_id=None))
            db.session.commit()
        assert "今日复习 9 题" in client.get("/practice/review").get_data(as_text=True)
        clock.move_to(T0 + timedelta(minutes=2))
        _, reviewed = _answer(client, app, "REVIEW", correct=True, count="10")
        assert reviewed == wrong - {retired}


def test_cards_of_repealed_law_do_not_hold_todays_law_review_up(app):
    """A law item whose rule was repealed before the law cutoff is never drawn: its
    card, however long due, must not take a place in the day's review set."""
    from datetime import date

    from exam_portal.models.bank import ItemVersion
    from exam_portal.services.item_bank import pools

    from .practice_support import LAW

    objective_bank(app, Subject.LAW_MID, singles=24, multis=0, chapters=1, law=LAW)
    with freeze_time(T0) as clock:
        user_id, client = candidate(app)
        _, wrong = _answer(client, app, "RANDOM", correct=False, count="20",
                           subject=Subject.LAW_MID)
        repealed = sorted(wrong)[:10]  # the first ten of the queue (due alike, by item id)
        with app.app_context():
            db.session.execute(
                sa.update(ItemVersion)
                .where(ItemVersion.id.in_(sa.select(Item.published_version_id)
                                          .where(Item.id.in_(repealed))))
                .values(law_valid_to=date(2020, 6, 30)))
            pools.bank_changed(Subject.LAW_MID, repealed)
            db.session.commit()
        clock.move_to(T0 + timedelta(minutes=2))
        _, reviewed = _answer(client, app, "REVIEW", correct=True, count="10",
                              subject=Subject.LAW_MID)
    assert reviewed == wrong - set(repealed)


def test_a_card_made_again_after_removal_replays_only_its_own_reviews(one_leg, app):
    objective_bank(app, singles=12, multis=0, chapters=1)
    with freeze_time(T0) as clock:
        user_id, client = candidate(app, "learner@example.com")
        _, wrong = _answer(client, app, "RANDOM", correct=False)
        for item_id in wrong:
            client.post(f"/practice/review/cards/{item_id}/delete")
        assert _cards(app, user_id) == {}
        clock.move_to(T0 + timedelta(days=3))
        client = login(app, "learner@example.com")
        _answer(client, app, "RANDOM", correct=False)
        clock.move_to(T0 + timedelta(days=3, minutes=2))
        attempt_id = start(client, mode="REVIEW", count="10")
        device = open_attempt(client, attempt_id)["device"]
        keys = shown_keys(app, attempt_id)
        # An item that was a card before, with a day-0 review in its history.
        position, item_id = next((i.position, i.item_id) for i in layout(app, attempt_id)
                                 if i.item_id in wrong)
        save(client, attempt_id, position, device, 1, keys[position])
        client.post(f"/practice/attempts/{attempt_id}/responses/{position}/check")
        easy = client.post(f"/practice/attempts/{attempt_id}/responses/{position}/recall",
                           json={"feeling": "easy"})
        assert easy.status_code == 200
        card = _cards(app, user_id)[item_id]
        # Again at day 3, Easy two minutes later: the old day-0 lapse plays no part.
        expected = spaced_review.replay(
            [(Rating.Again, card.created_at), (Rating.Easy, card.last_review)],
            spaced_review.Settings(maximum_interval_days=365))
        assert card.due == expected.due and card.reviews == 2
