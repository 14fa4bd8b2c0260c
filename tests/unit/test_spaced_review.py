"""Spaced review: the portal's answers as FSRS ratings, and the schedule FSRS gives them."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from fsrs import Card, Scheduler
from hypothesis import given, settings
from hypothesis import strategies as st

from question_bank import spaced_review
from question_bank.spaced_review import Feeling, Rating, State

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
HISTORY = [
    (Rating.Again, T0),                                     # answered wrong: a new card
    (Rating.Good, T0 + timedelta(minutes=5)),                # learning step 1
    (Rating.Good, T0 + timedelta(minutes=30)),               # graduates to review
    (Rating.Good, T0 + timedelta(days=3)),
    (Rating.Again, T0 + timedelta(days=12)),                 # a lapse: relearning
    (Rating.Good, T0 + timedelta(days=12, minutes=20)),
    (Rating.Easy, T0 + timedelta(days=20)),                  # "秒答"
]


def _package_schedule(history):
    """The same history through the fsrs package's own scheduler, unfuzzed."""
    scheduler = Scheduler(enable_fuzzing=False)
    card = Card(card_id=7, due=history[0][1])
    cards = []
    for rating, at in history:
        card, _log = scheduler.review_card(card, rating, at)
        cards.append(card)
    return cards


def test_the_schedule_of_a_fixed_history_is_the_fsrs_packages_own():
    card = spaced_review.new_card(T0)
    for (rating, at), expected in zip(HISTORY, _package_schedule(HISTORY), strict=True):
        card = spaced_review.review(card, rating, at)
        assert card.state == expected.state and card.step == expected.step
        assert card.stability == pytest.approx(expected.stability, rel=1e-12)
        assert card.difficulty == pytest.approx(expected.difficulty, rel=1e-12)
        assert card.due == expected.due and card.last_review == expected.last_review


def test_the_fixed_history_gives_the_due_dates_pinned_here():
    """Pinned figures (fsrs 6.3, default weights, 90 % retention): a new release of the
    package that schedules differently fails here before candidates see it."""
    dues = []
    card = spaced_review.new_card(T0)
    for rating, at in HISTORY:
        card = spaced_review.review(card, rating, at)
        dues.append((card.state, card.due - at))
    assert dues == [
        (State.Learning, timedelta(minutes=1)),
        (State.Learning, timedelta(minutes=10)),
        (State.Review, timedelta(days=1)),
        (State.Review, timedelta(days=3)),
        (State.Relearning, timedelta(minutes=10)),
        (State.Review, timedelta(days=1)),
        (State.Review, timedelta(days=7)),
    ]
    assert round(card.stability, 4) == 6.8406 and round(card.difficulty, 4) == 8.3599


def test_replaying_a_history_gives_the_card_its_reviews_gave():
    card = spaced_review.new_card(T0)
    for rating, at in HISTORY:
        card = spaced_review.review(card, rating, at)
    assert spaced_review.replay(reversed(HISTORY)) == card


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(Rating)), st.integers(1, 60 * 24 * 40)),
                min_size=1, max_size=12))
def test_any_history_is_scheduled_into_the_future_and_replays_to_the_same_card(steps):
    at, card, history = T0, spaced_review.new_card(T0), []
    for rating, minutes in steps:
        at += timedelta(minutes=minutes)
        card = spaced_review.review(card, rating, at)
        history.append((rating, at))
        assert card.due > at and card.last_review == at
        assert 1 <= card.difficulty <= 10 and card.stability > 0
    assert spaced_review.replay(history) == card


def test_a_wrong_answer_is_a_lapse_whatever_it_felt_like():
    assert spaced_review.rating_for(False) is Rating.Again
    assert spaced_review.rating_for(False, Feeling.EASY) is Rating.Again
    assert spaced_review.rating_for(True) is Rating.Good
    assert spaced_review.rating_for(True, Feeling.EASY) is Rating.Easy
    assert spaced_review.rating_for(True, Feeling.HARD) is Rating.Hard


def test_an_easy_answer_waits_longer_than_a_hard_one():
    card = spaced_review.review(spaced_review.new_card(T0), Rating.Again, T0)
    later = T0 + timedelta(days=2)
    easy = spaced_review.review(card, Rating.Easy, later)
    hard = spaced_review.review(card, Rating.Hard, later)
    assert easy.due > hard.due


def test_recall_fades_after_the_last_review():
    card = spaced_review.replay(HISTORY)
    soon = spaced_review.retrievability(card, card.last_review + timedelta(days=1))
    late = spaced_review.retrievability(card, card.last_review + timedelta(days=60))
    assert 1 > soon > late > 0
    assert spaced_review.retrievability(spaced_review.new_card(T0), T0) == 0


def test_the_end_of_a_day_in_china_is_sixteen_hundred_utc():
    china = timezone(timedelta(hours=8))
    assert spaced_review.end_of_day(date(2026, 3, 2), china) == \
        datetime(2026, 3, 2, 16, 0, tzinfo=UTC)


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        spaced_review.new_card(datetime(2026, 3, 2))
