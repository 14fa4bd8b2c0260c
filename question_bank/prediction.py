"""An honest prediction of a candidate's exam score (预测分数) from their mastery.

Each item of the exam spec is drawn from a chapter (by the spec's chapter weights,
else equally), and the candidate answers it right with the knowledge-tracing chance
for their mastery of that chapter. The score is then a sum of independent weighted
Bernoulli answers: its exact distribution gives the expected score, a range (the 10th
to 90th percentile) and the probability of reaching the pass line. A multiple-choice
answer scores full points or nothing here (the exam's half-points for an incomplete
answer are left out), so the prediction errs low.

With too little to go on, it says so instead of guessing: fewer than MIN_ANSWERS
marked answers in the subject, or mastery known for less than MIN_COVERAGE of the
exam's weight.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from .i18n import N_
from .mastery import Model, p_correct
from .specs import ExamSpec

MIN_ANSWERS = 60
MIN_COVERAGE = 0.5


@dataclass(frozen=True)
class Prediction:
    full: float
    pass_line: float
    answered: int
    coverage: float  # share of the exam's weight whose chapters have traced mastery
    expected: float | None = None
    low: float | None = None  # 10th percentile
    high: float | None = None  # 90th percentile
    pass_probability: float | None = None
    not_enough: str | None = None  # a msgid saying why there is no prediction

    @property
    def enough(self) -> bool:
        return self.not_enough is None


def chapter_weights(spec: ExamSpec, chapters: Sequence[str]) -> dict[str, float]:
    """Each chapter's share of the exam's items: the spec's weights, else equal."""
    given = {code: weight for code, weight in spec.chapter_weights
             if code in chapters and weight > 0}
    weights = given or dict.fromkeys(chapters, 1.0)
    total = sum(weights.values())
    return {code: weight / total for code, weight in weights.items()}


def score_distribution(sections: Sequence[tuple[int, int, float]]) -> np.ndarray:
    """P(total = k half-points) for sections of (items, half-points each, P(right))."""
    dist = np.array([1.0])
    for count, halves, p in sections:
        k = np.arange(count + 1)
        # Binomial(count, p) by repeated convolution keeps it exact and dependency-free.
        binomial = np.array([1.0])
        for _ in range(count):
            binomial = np.convolve(binomial, [1 - p, p])
        spread = np.zeros(count * halves + 1)
        spread[k * halves] = binomial
        dist = np.convolve(dist, spread)
    return dist


def predict(spec: ExamSpec, chapters: Sequence[str], mastery_by_chapter: Mapping[str, float],
            answered: int, model: Model) -> Prediction:
    """The candidate's predicted score on an exam of *spec* over *chapters*, from their
    mastery per chapter (chapters missing are not traced yet) and how many marked
    answers in the subject it rests on."""
    weights = chapter_weights(spec, chapters)
    full = float(sum(section.points * section.count for section in spec.sections))
    pass_line = float(Decimal(str(full)) * spec.pass_ratio)
    coverage = sum(weight for code, weight in weights.items() if code in mastery_by_chapter)
    base = Prediction(full, pass_line, answered, round(coverage, 3))
    if answered < MIN_ANSWERS:
        return _without(base, N_("答题还太少：至少答 %(n)d 道本科目的选择题后才能预测。"))
    if coverage < MIN_COVERAGE:
        return _without(base, N_("练习覆盖的章节还不够：覆盖考试一半以上的内容后才能预测。"))
    traced = [mastery_by_chapter[code] for code in weights if code in mastery_by_chapter]
    # Chapters not practised yet count at the candidate's mean mastery elsewhere.
    fallback = sum(traced) / len(traced)
    sections = []
    for section in spec.sections:
        params = model.for_type(section.item_type)
        p = sum(weight * p_correct(mastery_by_chapter.get(code, fallback), params)
                for code, weight in weights.items())
        sections.append((section.count, int(section.points * 2), p))
    dist = score_distribution(sections)
    halves = np.arange(len(dist))
    cumulative = np.cumsum(dist)
    pass_halves = int(np.ceil(pass_line * 2 - 1e-9))
    return Prediction(
        full, pass_line, answered, round(coverage, 3),
        expected=round(float((halves * dist).sum()) / 2, 1),
        low=float(np.searchsorted(cumulative, 0.1)) / 2,
        high=float(np.searchsorted(cumulative, 0.9)) / 2,
        pass_probability=round(float(dist[pass_halves:].sum()), 3))


def _without(base: Prediction, reason: str) -> Prediction:
    return Prediction(base.full, base.pass_line, base.answered, base.coverage,
                      not_enough=reason)


# Checking calibration ---------------------------------------------------------------

@dataclass(frozen=True)
class Calibration:
    brier: float
    baseline_brier: float  # predicting the overall pass rate for everyone
    # Per tenth of predicted probability: from, to, mean predicted, observed rate, count.
    bins: tuple[tuple[float, float, float, float, int], ...]


def calibration(predicted: Sequence[float], passed: Sequence[bool],
                bins: int = 10) -> Calibration:
    """Brier score and a reliability table: predicted probabilities against how often
    the candidates predicted at each level passed."""
    p = np.asarray(predicted, dtype=float)
    y = np.asarray(passed, dtype=float)
    rate = float(y.mean())
    table = []
    edges = np.linspace(0, 1, bins + 1)
    for index in range(bins):
        low, high = edges[index], edges[index + 1]
        inside = (p >= low) & ((p < high) if index < bins - 1 else (p <= high))
        if inside.any():
            table.append((round(float(low), 2), round(float(high), 2),
                          round(float(p[inside].mean()), 3), round(float(y[inside].mean()), 3),
                          int(inside.sum())))
    return Calibration(round(float(np.mean((p - y) ** 2)), 4),
                       round(float(np.mean((rate - y) ** 2)), 4), tuple(table))


# Calibrating against outcomes --------------------------------------------------------

@dataclass(frozen=True)
class Scaling:
    """Platt scaling: calibrated = sigmoid(a · logit(p) + b), fitted to outcomes."""

    a: float = 1.0
    b: float = 0.0

    def apply(self, p: float) -> float:
        return float(_sigmoid(self.a * _logit(np.asarray(p, dtype=float)) + self.b))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def _sigmoid(t):
    # tanh form: no overflow for large |t|.
    return 0.5 * (1 + np.tanh(0.5 * t))


def fit_scaling(predicted: Sequence[float], passed: Sequence[bool]) -> Scaling:
    """The logistic map from raw predictions to outcomes (Newton's method on the
    log-likelihood, lightly regularised towards no change)."""
    x = _logit(np.asarray(predicted, dtype=float))
    y = np.asarray(passed, dtype=float)
    a, b = 1.0, 0.0
    for _ in range(50):
        z = _sigmoid(a * x + b)
        gradient = np.array([((z - y) * x).sum() + (a - 1), (z - y).sum() + b])
        w = z * (1 - z)
        hessian = np.array([[(w * x * x).sum() + 1, (w * x).sum()],
                            [(w * x).sum(), w.sum() + 1]])
        step = np.linalg.solve(hessian, gradient)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-8:
            break
    return Scaling(round(float(a), 4), round(float(b), 4))
