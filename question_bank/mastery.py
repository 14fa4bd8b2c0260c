"""Mastery of knowledge points (考点掌握度) by Bayesian knowledge tracing.

Each candidate × knowledge point holds the probability that the candidate knows the
point. A marked answer to an item linked to it updates that probability: Bayes' rule
with the chance of a slip (knowing it, answering wrong) and of a guess (not knowing
it, answering right), then the chance of learning it from the practice itself.
Guessing a multiple-choice item (2–5 keys out of 5 options) is far less likely than a
single-choice one (1 of 4), so each item type has its own parameters.

The parameters are data: `fit` estimates them from the portal's own answers by
maximum likelihood (a coarse grid, then a finer one around the best point, in
numpy), and reports how well the fitted model predicts answers of candidates it
never saw, beside a baseline that knows only the overall rate of right answers.
"""

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .items import ItemType

# Probabilities stay inside (0, 1): a certainty could never be revised.
_LOW, _HIGH = 0.001, 0.999


@dataclass(frozen=True)
class Parameters:
    """Knowledge tracing for one item type."""

    p_init: float  # knows the point before the first answer
    p_learn: float  # learns it from one answer (with its feedback)
    p_slip: float  # knows it, answers wrong
    p_guess: float  # does not know it, answers right

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not 0 < value < 1:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")
        if self.p_slip + self.p_guess >= 1:
            # Beyond this a right answer would be evidence of not knowing.
            raise ValueError("p_slip + p_guess must be below 1")


@dataclass(frozen=True)
class Model:
    single: Parameters
    multi: Parameters

    def for_type(self, item_type: ItemType) -> Parameters:
        return self.multi if item_type is ItemType.MULTI else self.single

    def to_dict(self) -> dict:
        return {"single": asdict(self.single), "multi": asdict(self.multi)}

    @classmethod
    def from_dict(cls, data: dict) -> "Model":
        return cls(Parameters(**data["single"]), Parameters(**data["multi"]))


# Until a fit from the portal's own answers exists: guessing one of four options,
# and the much smaller chance of hitting a multiple choice's exact set of keys.
DEFAULT_MODEL = Model(
    single=Parameters(p_init=0.3, p_learn=0.08, p_slip=0.1, p_guess=0.25),
    multi=Parameters(p_init=0.3, p_learn=0.08, p_slip=0.15, p_guess=0.08),
)


def p_correct(p_known: float, params: Parameters) -> float:
    """The chance of a right answer from a candidate who knows the point with *p_known*."""
    return p_known * (1 - params.p_slip) + (1 - p_known) * params.p_guess


def update(p_known: float | None, correct: bool, params: Parameters) -> float:
    """The probability the candidate knows the point after one more marked answer
    (None: the point's first answer, from the prior)."""
    p = params.p_init if p_known is None else p_known
    if correct:
        seen = p * (1 - params.p_slip)
        posterior = seen / (seen + (1 - p) * params.p_guess)
    else:
        seen = p * params.p_slip
        posterior = seen / (seen + (1 - p) * (1 - params.p_guess))
    after = posterior + (1 - posterior) * params.p_learn
    return min(_HIGH, max(_LOW, after))


class Level:
    """How a mastery probability is shown: in words as well as colour."""

    WEAK, LEARNING, MASTERED = "weak", "learning", "mastered"

    @staticmethod
    def of(p_known: float) -> str:
        if p_known >= 0.8:
            return Level.MASTERED
        return Level.LEARNING if p_known >= 0.5 else Level.WEAK


# Fitting --------------------------------------------------------------------------

@dataclass(frozen=True)
class Quality:
    """How well a model predicts answers it was not fitted on."""

    answers: int
    log_loss: float
    brier: float
    auc: float
    baseline_log_loss: float  # predicting the training answers' overall rate for all
    baseline_brier: float


@dataclass(frozen=True)
class Fit:
    model: Model
    quality: dict[str, Quality]  # per item type ("single", "multi") on held-out answers
    sequences: int
    answers: int


# One answer sequence: a candidate's right (1) or wrong (0) answers to one knowledge
# point's items of one type, in the order they were marked.
AnswerSequence = Sequence[int]


def _padded(sequences: list[AnswerSequence]) -> tuple[np.ndarray, np.ndarray]:
    longest = max(len(s) for s in sequences)
    answers = np.zeros((len(sequences), longest))
    mask = np.zeros((len(sequences), longest), dtype=bool)
    for row, sequence in enumerate(sequences):
        answers[row, :len(sequence)] = sequence
        mask[row, :len(sequence)] = True
    return answers, mask


def _predictions(grid: np.ndarray, answers: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """P(right) before each answer for every parameter row of *grid* (columns init,
    learn, slip, guess): shape (len(grid), sequences, length)."""
    init, learn, slip, guess = (grid[:, column, None] for column in range(4))
    known = np.broadcast_to(init, (len(grid), answers.shape[0])).copy()
    out = np.empty((len(grid), *answers.shape))
    for step in range(answers.shape[1]):
        right = answers[None, :, step]
        p_right = known * (1 - slip) + (1 - known) * guess
        out[:, :, step] = p_right
        posterior = np.where(right == 1, known * (1 - slip) / p_right,
                             known * slip / (1 - p_right))
        updated = np.clip(posterior + (1 - posterior) * learn, _LOW, _HIGH)
        known = np.where(mask[None, :, step], updated, known)
    return out


def _log_likelihood(grid, answers, mask) -> np.ndarray:
    p = np.clip(_predictions(grid, answers, mask), 1e-6, 1 - 1e-6)
    terms = np.where(answers[None] == 1, np.log(p), np.log(1 - p))
    return (terms * mask[None]).sum(axis=(1, 2))


def _grid(centre: np.ndarray | None, steps: int) -> np.ndarray:
    if centre is None:
        axes = [np.linspace(0.05, 0.9, steps), np.linspace(0.01, 0.4, steps),
                np.linspace(0.02, 0.4, steps), np.linspace(0.02, 0.45, steps)]
    else:
        spans = (0.12, 0.05, 0.05, 0.05)
        axes = [np.clip(np.linspace(value - span, value + span, steps), 0.005, 0.95)
                for value, span in zip(centre, spans, strict=True)]
    grid = np.array(list(itertools.product(*axes)))
    return grid[grid[:, 2] + grid[:, 3] < 0.95]


def fit_parameters(sequences: list[AnswerSequence], fallback: Parameters) -> Parameters:
    """Maximum-likelihood parameters for *sequences* (the fallback when there are none)."""
    sequences = [s for s in sequences if len(s)]
    if not sequences:
        return fallback
    answers, mask = _padded(sequences)
    best = None
    for steps in (6, 5):
        grid = _grid(best, steps)
        # A block of the grid at a time: (block × sequences × length) floats stay near
        # 20 million, whatever the number of answers.
        block = max(1, int(2e7 // answers.size))
        scores = np.concatenate([_log_likelihood(grid[start:start + block], answers, mask)
                                 for start in range(0, len(grid), block)])
        best = grid[int(np.argmax(scores))]
    init, learn, slip, guess = (round(float(v), 4) for v in best)
    return Parameters(init, learn, slip, guess)


def _auc(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Area under the ROC curve (the chance a right answer was predicted more likely than
    a wrong one; ties count half); 0.5 when only one outcome occurs."""
    positives, negatives = actual == 1, actual == 0
    if not positives.any() or not negatives.any():
        return 0.5
    order = np.argsort(predicted, kind="mergesort")
    ranks = np.empty(len(predicted))
    sorted_values = predicted[order]
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_values, return_index=True, return_counts=True)
    tie_ranks = first + (counts + 1) / 2
    ranks[order] = np.repeat(tie_ranks, counts)
    n_pos, n_neg = positives.sum(), negatives.sum()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def quality(params: Parameters, sequences: list[AnswerSequence], base_rate: float) -> Quality:
    """How *params* predict *sequences* (each answer from the ones before it)."""
    sequences = [s for s in sequences if len(s)]
    if not sequences:
        return Quality(0, 0.0, 0.0, 0.5, 0.0, 0.0)
    answers, mask = _padded(sequences)
    grid = np.array([[params.p_init, params.p_learn, params.p_slip, params.p_guess]])
    predicted = np.clip(_predictions(grid, answers, mask)[0][mask], 1e-6, 1 - 1e-6)
    actual = answers[mask]
    base = min(max(base_rate, 1e-6), 1 - 1e-6)

    def log_loss(p):
        return float(-np.mean(actual * np.log(p) + (1 - actual) * np.log(1 - p)))

    return Quality(
        answers=int(mask.sum()), log_loss=round(log_loss(predicted), 4),
        brier=round(float(np.mean((predicted - actual) ** 2)), 4),
        auc=round(_auc(predicted, actual), 4),
        baseline_log_loss=round(log_loss(np.full(actual.shape, base)), 4),
        baseline_brier=round(float(np.mean((base - actual) ** 2)), 4))


def fit(sequences_by_type: dict[str, list[tuple[int, AnswerSequence]]],
        *, held_out_share: float = 0.2, fallback: Model = DEFAULT_MODEL) -> Fit:
    """Fit a model from answer sequences keyed by item type ("single", "multi"), each
    sequence tagged with its candidate: a share of the candidates is held out, and the
    model fitted on the others is scored on theirs."""
    fitted, report, count, total = {}, {}, 0, 0
    for kind in ("single", "multi"):
        tagged = sequences_by_type.get(kind, [])
        held = {candidate for candidate, _ in tagged
                if (candidate * 2654435761) % 1000 < held_out_share * 1000}
        train = [s for candidate, s in tagged if candidate not in held]
        test = [s for candidate, s in tagged if candidate in held]
        params = fit_parameters(train, getattr(fallback, kind))
        answered = sum(len(s) for s in train)
        rate = sum(sum(s) for s in train) / answered if answered else 0.5
        fitted[kind] = params
        report[kind] = quality(params, test, rate)
        count += len(tagged)
        total += sum(len(s) for _, s in tagged)
    return Fit(Model(fitted["single"], fitted["multi"]), report, count, total)
