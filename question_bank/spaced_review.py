"""Spaced review (间隔复习) of the items a candidate got wrong, scheduled by FSRS.

Every choice item a candidate answers wrong becomes a card (so can a bookmarked item,
when the candidate asks). Each later marked answer to it is a review: a wrong answer
rates it Again, a right one Good, or Easy / Hard when the candidate says how it felt.
The `fsrs` package computes the next due date from the card's memory state
(stability, difficulty); this module turns the portal's answers into its ratings and
keeps the state as plain values the database can hold.

The schedule is not fuzzed: a card's state is then a function of its rated history,
so changing a rating ("that was easy") replays the history and gives the same card
a fresh review would have.
"""

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from fsrs import Card, Rating, Scheduler, State
from fsrs.scheduler import DEFAULT_PARAMETERS

__all__ = ["CardState", "Feeling", "Rating", "Settings", "State", "new_card", "rating_for",
           "replay", "retrievability", "review", "end_of_day"]


class Feeling(StrEnum):
    """How a right answer felt, when the candidate says so."""

    EASY = "easy"  # 秒答：remembered at once
    HARD = "hard"  # 想了很久：right, but with effort


def rating_for(correct: bool, feeling: Feeling | None = None) -> Rating:
    """The FSRS rating of a marked answer: a wrong (or partly right) answer is a lapse
    whatever the candidate felt; a right one is Good unless they said otherwise."""
    if not correct:
        return Rating.Again
    if feeling is Feeling.EASY:
        return Rating.Easy
    if feeling is Feeling.HARD:
        return Rating.Hard
    return Rating.Good


@dataclass(frozen=True)
class Settings:
    """The scheduler's parameters, as data (an operator may fit their own weights)."""

    desired_retention: float = 0.9
    parameters: tuple[float, ...] = tuple(DEFAULT_PARAMETERS)
    learning_steps_minutes: tuple[int, ...] = (1, 10)
    relearning_steps_minutes: tuple[int, ...] = (10,)
    maximum_interval_days: int = 36500


@dataclass(frozen=True)
class CardState:
    """A card's memory state and schedule; stability and difficulty are None before its
    first review."""

    state: State
    step: int | None
    stability: float | None
    difficulty: float | None
    due: datetime
    last_review: datetime | None


@functools.lru_cache(maxsize=8)
def _scheduler(settings: Settings) -> Scheduler:
    return Scheduler(
        parameters=settings.parameters,
        desired_retention=settings.desired_retention,
        learning_steps=tuple(timedelta(minutes=m) for m in settings.learning_steps_minutes),
        relearning_steps=tuple(timedelta(minutes=m)
                               for m in settings.relearning_steps_minutes),
        maximum_interval=settings.maximum_interval_days,
        enable_fuzzing=False)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("review times must be timezone-aware")
    return moment.astimezone(UTC)


def new_card(now: datetime) -> CardState:
    """A card never reviewed, due at once."""
    return CardState(State.Learning, 0, None, None, _utc(now), None)


def _to_fsrs(card: CardState) -> Card:
    # A card id is required: without one fsrs sleeps a millisecond to make one up.
    return Card(card_id=1, state=card.state, step=card.step, stability=card.stability,
                difficulty=card.difficulty, due=_utc(card.due),
                last_review=_utc(card.last_review) if card.last_review else None)


def _from_fsrs(card: Card) -> CardState:
    return CardState(State(card.state), card.step, card.stability, card.difficulty,
                     card.due, card.last_review)


def review(card: CardState, rating: Rating, at: datetime,
           settings: Settings = Settings()) -> CardState:
    """The card after one review rated *rating* at *at*."""
    reviewed, _log = _scheduler(settings).review_card(_to_fsrs(card), rating, _utc(at))
    return _from_fsrs(reviewed)


def replay(history: Iterable[tuple[Rating, datetime]],
           settings: Settings = Settings()) -> CardState:
    """The card a rated history leaves, from a new card at its first review."""
    ordered = sorted(history, key=lambda entry: entry[1])
    if not ordered:
        raise ValueError("a card's history has at least one review")
    card = new_card(ordered[0][1])
    for rating, at in ordered:
        card = review(card, rating, at, settings)
    return card


def retrievability(card: CardState, at: datetime, settings: Settings = Settings()) -> float:
    """The probability the candidate still recalls the card's item at *at* (0 before its
    first review)."""
    return _scheduler(settings).get_card_retrievability(_to_fsrs(card), _utc(at))


def end_of_day(day: date, zone: tzinfo) -> datetime:
    """The first moment after *day* in *zone*, in UTC: a card due before it is due today."""
    return datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
