"""Key review: rescore a sat form after the panel's decisions on disputed keys.

After a sitting, item statistics (`item_analysis`) send suspect items to a panel, which
keeps a key, re-keys the item, accepts an additional key, or voids the item. `rescore`
applies those decisions to the whole cohort at once from the stored option bitmasks:
each decided item gets a 32-entry table (half-points for every possible selection,
filled in by `scoring.score_choice`, the official rule itself) and its column is one
lookup in it, so a key change on 200,000 candidates costs milliseconds and can never
score differently from the scoring at submission.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

import numpy as np

from .errors import QuestionBankError
from .item_analysis import FormItem, letters_of, mask_of
from .items import KEY_COUNTS, LETTERS
from .scoring import score_choice


class DecisionKind(StrEnum):
    KEEP = "KEEP"
    REKEY = "REKEY"  # the key is replaced by `keys`
    ADD_KEY = "ADD_KEY"  # `keys` is accepted too: a response scores its best over the keys
    VOID = "VOID"  # the item no longer counts as set: see VoidPolicy


class VoidPolicy(StrEnum):
    CREDIT_ALL = "CREDIT_ALL"  # every candidate gets the item's full points, blanks too
    DROP = "DROP"  # the item leaves the paper; totals are prorated to the full marks


class InvalidKeyDecision(QuestionBankError):
    """A key decision that cannot apply to its item: `item` (column), `reason`."""

    def __init__(self, item: int, reason: str):
        super().__init__(f"item {item}: {reason}")
        self.item = item
        self.reason = reason


@dataclass(frozen=True)
class KeyDecision:
    item: int  # the column in the form's matrices
    kind: DecisionKind
    keys: frozenset[str] = frozenset()
    policy: VoidPolicy | None = None

    @classmethod
    def keep(cls, item: int) -> "KeyDecision":
        return cls(item, DecisionKind.KEEP)

    @classmethod
    def rekey(cls, item: int, keys: Iterable[str]) -> "KeyDecision":
        return cls(item, DecisionKind.REKEY, frozenset(keys))

    @classmethod
    def add_key(cls, item: int, keys: Iterable[str]) -> "KeyDecision":
        return cls(item, DecisionKind.ADD_KEY, frozenset(keys))

    @classmethod
    def void(cls, item: int, policy: VoidPolicy) -> "KeyDecision":
        return cls(item, DecisionKind.VOID, policy=policy)


@dataclass(frozen=True)
class RescoreSummary:
    changed: int  # candidates whose total changed
    crossed_up: int  # below the pass line before, at or above it now
    crossed_down: int
    pass_line_halves: int
    full_halves: int


@dataclass(frozen=True, eq=False)
class Rescored:
    """New item scores (a dropped item's column is 0) and totals, both in half-points."""

    scores: np.ndarray
    totals: np.ndarray
    old_totals: np.ndarray
    dropped: tuple[int, ...]
    summary: RescoreSummary

    @property
    def changed_candidates(self) -> np.ndarray:
        """Row indexes of the candidates whose total changed."""
        return np.flatnonzero(self.totals != self.old_totals)


def score_table(item: FormItem, accepted: Iterable[int]) -> np.ndarray:
    """Half-points for each selection bitmask of a choice *item* (the index), by the
    official rule; with several accepted key masks, the best of them."""
    points = Decimal(item.max_halves) / 2
    accepted = [letters_of(mask) for mask in accepted]
    return np.array([max(int(score_choice(item.item_type, keys, letters_of(mask), points) * 2)
                         for keys in accepted)
                     for mask in range(1 << item.option_count)], dtype=np.int64)


def rescore(scores, choices, items: Sequence[FormItem], decisions: Iterable[KeyDecision], *,
            pass_line_halves: int) -> Rescored:
    """Apply the key review's *decisions* to every candidate.

    Items without a decision (or KEEP) keep their scores, subjective items included.
    REKEY and ADD_KEY rescore the item from *choices* (uint8 bitmasks, A=1 … E=16, as
    `item_analysis`); a REKEY may come with ADD_KEYs for the same item. VOID with
    CREDIT_ALL gives everyone the item's maximum. VOID with DROP takes the item off the
    paper; so that pass lines keep their meaning, each total is prorated to the
    original full marks F: R · F / (F − D), R the total without the dropped items, D
    their maxima, rounded to the nearest half point with exact halves (quarter points)
    rounded up: ⌊(2·R·F + (F − D)) / (2·(F − D))⌋ in half-points, exact integers.
    A candidate passes with total ≥ *pass_line_halves*, before and after.

    :raises InvalidKeyDecision: a decision that does not fit its item.
    """
    scores = np.asarray(scores)
    if scores.ndim != 2 or not np.issubdtype(scores.dtype, np.integer):
        raise ValueError("scores must be a 2-D integer array of half-points")
    if scores.shape[1] != len(items):
        raise ValueError(f"{scores.shape[1]} score columns for {len(items)} items")
    plans = _plans(items, decisions)
    full = sum(item.max_halves for item in items)
    dropped = tuple(sorted(index for index, plan in plans.items() if plan == VoidPolicy.DROP))
    dropped_halves = sum(items[index].max_halves for index in dropped)
    if dropped and dropped_halves >= full:
        raise InvalidKeyDecision(dropped[0], "dropping every item leaves no paper")
    top = max(item.max_halves for item in items) if items else 0
    new_scores = scores.astype(np.result_type(scores.dtype, np.min_scalar_type(top)), copy=True)
    old_totals = scores.sum(axis=1, dtype=np.int64)
    totals = old_totals.copy()
    for index, plan in plans.items():
        item = items[index]
        if plan == VoidPolicy.DROP:
            column = 0
        elif plan == VoidPolicy.CREDIT_ALL:
            column = item.max_halves
        else:
            column = score_table(item, plan)[_choices_column(choices, scores.shape, item, index)]
        totals -= scores[:, index]
        new_scores[:, index] = column
        totals += new_scores[:, index]
    if dropped:
        remaining = full - dropped_halves
        totals = (2 * totals * full + remaining) // (2 * remaining)
    before, after = old_totals >= pass_line_halves, totals >= pass_line_halves
    summary = RescoreSummary(int(np.count_nonzero(totals != old_totals)),
                             int(np.count_nonzero(after & ~before)),
                             int(np.count_nonzero(before & ~after)), pass_line_halves, full)
    return Rescored(new_scores, totals, old_totals, dropped, summary)


def _plans(items: Sequence[FormItem], decisions: Iterable[KeyDecision]) -> dict:
    """Item → what to do: a list of accepted key masks, or a VoidPolicy."""
    by_item: dict[int, list[KeyDecision]] = {}
    for decision in decisions:
        if not 0 <= decision.item < len(items):
            raise InvalidKeyDecision(decision.item, "no such item on the form")
        by_item.setdefault(decision.item, []).append(decision)
    plans = {}
    for index, group in by_item.items():
        item, kinds = items[index], [decision.kind for decision in group]
        alone = {DecisionKind.KEEP, DecisionKind.VOID} & set(kinds)
        if (alone and len(group) > 1) or kinds.count(DecisionKind.REKEY) > 1:
            raise InvalidKeyDecision(index, "conflicting decisions")
        for decision in group:
            _check(item, decision)
        if kinds == [DecisionKind.KEEP]:
            continue
        if kinds == [DecisionKind.VOID]:
            plans[index] = group[0].policy
            continue
        rekeyed = [mask_of(d.keys) for d in group if d.kind is DecisionKind.REKEY]
        added = [mask_of(d.keys) for d in group if d.kind is DecisionKind.ADD_KEY]
        plans[index] = (rekeyed or [item.key_mask]) + added
    return plans


def _check(item: FormItem, decision: KeyDecision) -> None:
    index, kind = decision.item, decision.kind
    if (kind is DecisionKind.VOID) != (decision.policy is not None):
        raise InvalidKeyDecision(index, "a void, and only a void, needs a policy")
    if kind not in (DecisionKind.REKEY, DecisionKind.ADD_KEY):
        if decision.keys:
            raise InvalidKeyDecision(index, f"{kind} takes no keys")
        return
    if not item.item_type.is_choice:
        raise InvalidKeyDecision(index, "a subjective item has no key to change")
    if not decision.keys <= set(LETTERS[:item.option_count]):
        raise InvalidKeyDecision(index, "a key outside the item's options")
    low, high = KEY_COUNTS[item.item_type]
    if not low <= len(decision.keys) <= high:
        raise InvalidKeyDecision(index, f"{item.item_type} takes {low} to {high} keys")


def _choices_column(choices, shape, item: FormItem, index: int) -> np.ndarray:
    if choices is None:
        raise ValueError("re-keying needs the options chosen")
    choices = np.asarray(choices)
    if choices.dtype != np.uint8 or choices.shape != shape:
        raise ValueError("choices must be a uint8 array shaped like the scores")
    column = choices[:, index]
    if (column >> item.option_count).any():
        raise ValueError(f"item {index}: an option beyond the item's options was chosen")
    return column
