"""Classical item analysis of a sat form: facility, discrimination, distractors,
reliability, the score distribution, and flags for the key review.

The portal hands over what it holds after a sitting, as numpy arrays: an (n candidates
× k items) integer matrix of half-points earned (blank = 0) and, for choice items, an
(n × k) uint8 matrix of the options chosen as a bitmask in the item's *stored* option
order (A=1, B=2, C=4, D=8, E=16; 0 = blank; a candidate's shuffled order is mapped back
before). Each column is reduced once to a table of counts by (total, item score,
options chosen) with `bincount`; every statistic is read off those small tables with
exact integer sums, so 200,000 × 100 takes a fraction of a second on top of the input.

The candidates who sat are a population, not a sample: variances and SDs divide by n.
No figure is NaN: where one is undefined (no candidates, no variance) it is None.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise

import numpy as np

from .items import CHOICE_POINTS, LETTERS, OPTION_COUNTS, ItemType

BIT = {letter: 1 << index for index, letter in enumerate(LETTERS)}
MASKS = 1 << len(LETTERS)  # 32 possible selections of five options
# Kelley's upper and lower groups: the 27 % of candidates with the highest and lowest totals.
UPPER_LOWER_SHARE = 0.27
QUINTILES = 5


def mask_of(letters: Iterable[str]) -> int:
    """The bitmask of option letters: "AC" → 1 + 4 = 5."""
    mask = 0
    for letter in letters:
        if letter not in BIT:
            raise ValueError(f"{letter!r} is not an option letter")
        mask |= BIT[letter]
    return mask


def letters_of(mask: int) -> str:
    """The option letters of a bitmask: 5 → "AC"."""
    return "".join(letter for letter, bit in BIT.items() if mask & bit)


@dataclass(frozen=True)
class FormItem:
    """One column of a form's matrices: its type and maximum in half-points; for a
    choice item also its key as a bitmask and its number of options."""

    item_type: ItemType
    max_halves: int
    key_mask: int = 0
    option_count: int = 0

    def __post_init__(self):
        if self.max_halves <= 0:
            raise ValueError("an item's maximum must be positive")
        if self.item_type.is_choice:
            if not 1 <= self.option_count <= len(LETTERS):
                raise ValueError(f"a choice item has 1 to {len(LETTERS)} options")
            if not 0 < self.key_mask < 1 << self.option_count:
                raise ValueError("the key must be among the item's options")
        elif self.key_mask or self.option_count:
            raise ValueError("a subjective item has no options and no key")

    @classmethod
    def choice(cls, item_type: ItemType, keys: Iterable[str]) -> "FormItem":
        """A choice item with its type's official points and option count."""
        return cls(item_type, int(CHOICE_POINTS[item_type] * 2), mask_of(keys),
                   OPTION_COUNTS[item_type])


@dataclass(frozen=True)
class Thresholds:
    """When an item or a distractor is flagged; the defaults are the usual rules of thumb."""

    min_facility: float = 0.20
    max_facility: float = 0.90
    min_discrimination: float = 0.10
    min_distractor_share: float = 0.05
    max_distractor_point_biserial: float = 0.0


DEFAULT_THRESHOLDS = Thresholds()


class FlagCode(StrEnum):
    """Why an item goes to the key review; the values are stable codes."""

    FACILITY_LOW = "FACILITY_LOW"  # value: facility < limit (too hard)
    FACILITY_HIGH = "FACILITY_HIGH"  # value: facility > limit (too easy)
    DISCRIMINATION_NEGATIVE = "DISCRIMINATION_NEGATIVE"  # value: corrected r < 0
    DISCRIMINATION_LOW = "DISCRIMINATION_LOW"  # value: 0 ≤ corrected r < limit
    DISCRIMINATION_UNDEFINED = "DISCRIMINATION_UNDEFINED"  # item or rest scores constant
    DISTRACTOR_RARE = "DISTRACTOR_RARE"  # value: share choosing it < limit
    DISTRACTOR_POSITIVE = "DISTRACTOR_POSITIVE"  # value: option–rest r > limit
    # value: the distractor's share in the upper group > limit, the least-chosen key's
    DISTRACTOR_PREFERRED_BY_TOP_GROUP = "DISTRACTOR_PREFERRED_BY_TOP_GROUP"


@dataclass(frozen=True)
class Flag:
    code: FlagCode
    value: float | None = None
    limit: float | None = None
    option: str | None = None  # the distractor's letter, for distractor flags


@dataclass(frozen=True)
class OptionStats:
    """One option of a choice item, with I = 1 when a candidate chose it, else 0.

    chosen = mean(I) over all candidates, blanks included (a MULTI item's shares add up
    to more than 1); chosen_by_quintile, chosen_upper, chosen_lower: the same within the
    total-score groups of `analyse`; point_biserial = r(I, R), Pearson's r between the
    indicator and the rest score R = total − this item's score.
    """

    letter: str
    is_key: bool
    chosen: float
    chosen_by_quintile: tuple[float, ...] | None  # lowest fifth of totals first
    chosen_upper: float | None
    chosen_lower: float | None
    point_biserial: float | None


@dataclass(frozen=True)
class ItemStats:
    """One item, with X its score, T the total and R = T − X the rest score.

    facility = mean(X) / max. discrimination = r(X, R), the corrected item–total
    correlation (Pearson). upper_lower = upper_facility − lower_facility, the mean of
    X / max in the upper and in the lower 27 % by total (groups: `analyse`).
    """

    index: int
    item_type: ItemType
    facility: float | None
    discrimination: float | None
    upper_lower: float | None
    upper_facility: float | None
    lower_facility: float | None
    blank: float | None  # share choosing nothing (choice items with choices given)
    options: tuple[OptionStats, ...]
    flags: tuple[Flag, ...]

    @property
    def flag_codes(self) -> tuple[str, ...]:
        return tuple(flag.code.value for flag in self.flags)


@dataclass(frozen=True)
class ScoreDistribution:
    """Candidates per bin of totals; bins are [edge, next edge) in half-points, the last
    one closed, as numpy.histogram. Totals outside the edges are not counted."""

    edges_halves: tuple[int, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class FormStats:
    """The whole form; scores in points, lines and bins in half-points.

    mean = ΣT / n; sd = √(Σ(T − mean)² / n), the population SD; Cronbach's
    α = k/(k−1) · (1 − Σ var(X_j) / var(T)), variances alike; kr20 = the same formula,
    given only when every item scores 0 or its maximum and all maxima are equal (so
    var(X_j) is p·q up to scale), else None; sem = sd · √(1 − α); pass_rate = the share
    of totals ≥ the pass line, as `PaperScore.passed`.
    """

    n: int
    full_halves: int
    mean_points: float | None
    sd_points: float | None  # population SD (divides by n)
    alpha: float | None
    kr20: float | None
    sem_points: float | None
    distribution: ScoreDistribution
    pass_line_halves: int | None
    pass_rate: float | None


@dataclass(frozen=True)
class FormAnalysis:
    form: FormStats
    items: tuple[ItemStats, ...]


@dataclass(frozen=True)
class _Totals:
    """The totals' sums; each total's weight in the lower and upper 27 % and the
    quintiles (rows), or None when the totals do not vary."""

    n: int
    values: np.ndarray
    sum_t: int
    s_tt: int
    weights: np.ndarray | None
    sizes: np.ndarray | None


def analyse(scores, items: Sequence[FormItem], choices=None, *,
            thresholds: Thresholds = DEFAULT_THRESHOLDS, pass_line_halves: int | None = None,
            bin_edges_halves: Sequence[int] | None = None) -> FormAnalysis:
    """Analyse every item of a sat form, and the form as a whole.

    Groups by total: rank candidates by total, lowest first; the candidates sharing a
    total fill ranks [start, start + count) together. The lower 27 % are ranks [0, g),
    the upper [n − g, n), with g = max(1, ⌊0.27·n + ½⌋); quintile q = 0…4 is
    [q·n/5, (q+1)·n/5). A candidate belongs to a group by the share of its tied block
    the group covers: tied candidates count alike (fractionally at a boundary), a group
    holds exactly its size, and row order never matters. When all totals are equal
    (one candidate, say) groups mean nothing and their figures are None.

    :param scores: (n × k) integers, half-points earned on each item.
    :param items: the k columns' metadata.
    :param choices: (n × k) uint8 option bitmasks, or None to skip distractor analysis
        (it is skipped for subjective items anyway).
    :param bin_edges_halves: the score distribution's bin edges; default one bin per
        whole point, [p, p + 1).
    """
    scores, choices = _checked(scores, items, choices)
    n, k = scores.shape
    full = sum(item.max_halves for item in items)
    totals = scores.sum(axis=1, dtype=np.int64)
    counts = np.bincount(totals, minlength=full + 1)
    values = np.arange(full + 1, dtype=np.int64)
    sum_t = int(values @ counts)
    s_tt = n * int((values * values) @ counts) - sum_t * sum_t
    weights, sizes = _group_weights(counts, n) if s_tt > 0 else (None, None)
    context = _Totals(n, values, sum_t, s_tt, weights, sizes)
    results, s_xx_sum, dichotomous = [], 0, True
    for index, item in enumerate(items):
        column_choices = (choices[:, index]
                          if choices is not None and item.item_type.is_choice else None)
        table = _count_table(totals, scores[:, index], column_choices, item.max_halves, full)
        stats, s_xx, is_dichotomous = _item_stats(index, item, table, context, thresholds)
        results.append(stats)
        s_xx_sum += s_xx
        dichotomous = dichotomous and is_dichotomous
    same_max = len({item.max_halves for item in items}) == 1
    form = _form_stats(counts, context, k, s_xx_sum, dichotomous and same_max,
                       pass_line_halves, bin_edges_halves)
    return FormAnalysis(form, tuple(results))


def _checked(scores, items, choices):
    scores = np.asarray(scores)
    if scores.ndim != 2 or not np.issubdtype(scores.dtype, np.integer):
        raise ValueError("scores must be a 2-D integer array of half-points")
    if scores.shape[1] != len(items):
        raise ValueError(f"{scores.shape[1]} score columns for {len(items)} items")
    if scores.shape[0]:
        maxima = np.array([item.max_halves for item in items])
        bad = np.flatnonzero((scores.min(axis=0) < 0) | (scores.max(axis=0) > maxima))
        if bad.size:
            raise ValueError(f"item {bad[0]}: a score outside 0 to its maximum")
    if choices is None:
        return scores, None
    choices = np.asarray(choices)
    if choices.dtype != np.uint8 or choices.shape != scores.shape:
        raise ValueError("choices must be a uint8 array shaped like the scores")
    allowed = np.array([(1 << item.option_count) - 1 if item.item_type.is_choice else 0xFF
                        for item in items], dtype=np.uint8)
    bad = np.flatnonzero((choices & ~allowed).any(axis=0)) if choices.size else ()
    if len(bad):
        raise ValueError(f"item {bad[0]}: an option beyond the item's options was chosen")
    return scores, choices


def _group_weights(counts: np.ndarray, n: int):
    """Each total's weight in the lower and upper 27 % and the quintiles (`analyse`)."""
    g = max(1, math.floor(UPPER_LOWER_SHARE * n + 0.5))
    bounds = [(0, g), (n - g, n)] + [(q * n / QUINTILES, (q + 1) * n / QUINTILES)
                                     for q in range(QUINTILES)]
    low = np.array([bound[0] for bound in bounds], dtype=float)[:, None]
    high = np.array([bound[1] for bound in bounds], dtype=float)[:, None]
    start = (np.cumsum(counts) - counts)[None, :]
    overlap = np.clip(np.minimum(start + counts, high) - np.maximum(start, low), 0, None)
    weights = np.divide(overlap, counts, out=np.zeros_like(overlap), where=counts > 0)
    return weights, (high - low)[:, 0]


def _count_table(totals, column, column_choices, max_halves: int, full: int) -> np.ndarray:
    """Candidates by (total, item score, options chosen): shape (full+1, max+1, 32 or 1)."""
    width = MASKS if column_choices is not None else 1
    code = totals * ((max_halves + 1) * width) + column.astype(np.int64) * width
    if column_choices is not None:
        code += column_choices
    table = np.bincount(code, minlength=(full + 1) * (max_halves + 1) * width)
    return table.reshape(full + 1, max_halves + 1, width)


def _correlation(s_xy: int, s_xx: int, s_yy: int) -> float | None:
    """Pearson's r from n-scaled sums (n·Σxy − Σx·Σy, …); None when either is constant."""
    if s_xx <= 0 or s_yy <= 0:
        return None
    return max(-1.0, min(1.0, s_xy / math.sqrt(s_xx * s_yy)))


# Option letter → the selections (of 32) containing it.
_OPTION_BITS = np.array([[(mask >> bit) & 1 for bit in range(len(LETTERS))]
                         for mask in range(MASKS)], dtype=np.int64)


def _item_stats(index: int, item: FormItem, table: np.ndarray, totals: _Totals,
                thresholds: Thresholds):
    """An item's `ItemStats`, its n-scaled variance, and whether it is dichotomous."""
    n, values = totals.n, totals.values
    by_total_score = table.sum(axis=2)
    points = np.arange(item.max_halves + 1, dtype=np.int64)
    x_by_total = by_total_score @ points
    score_counts = by_total_score.sum(axis=0)
    sum_x = int(x_by_total.sum())
    s_xx = n * int(score_counts @ (points * points)) - sum_x * sum_x
    s_xt = n * int(values @ x_by_total) - sum_x * totals.sum_t
    s_rr = totals.s_tt - 2 * s_xt + s_xx
    facility = sum_x / (n * item.max_halves) if n else None
    discrimination = _correlation(s_xt - s_xx, s_xx, s_rr)
    upper = lower = upper_lower = None
    if totals.weights is not None:
        lower, upper = (totals.weights[:2] @ x_by_total) / totals.sizes[:2] / item.max_halves
        upper_lower = float(upper - lower)
        lower, upper = float(lower), float(upper)
    options, blank = (), None
    if table.shape[2] == MASKS and n:
        blank = int(table[:, :, 0].sum()) / n
        options = _option_stats(item, table, totals, sum_x, s_rr)
    stats = ItemStats(index, item.item_type, facility, discrimination, upper_lower, upper,
                      lower, blank, options, ())
    flags = _flags(stats, thresholds)
    dichotomous = not score_counts[1:-1].any()
    return replace(stats, flags=flags), s_xx, dichotomous


def _option_stats(item, table, totals: _Totals, sum_x: int, s_rr: int):
    n, count = totals.n, item.option_count
    bits = _OPTION_BITS[:, :count]
    chosen_by_total = table.sum(axis=1) @ bits  # (totals, options)
    chosen = chosen_by_total.sum(axis=0)
    points = np.arange(item.max_halves + 1, dtype=np.int64)
    sum_ix = points @ table.sum(axis=0) @ bits
    sum_ir = totals.values @ chosen_by_total - sum_ix
    sum_r = totals.sum_t - sum_x
    shares = None
    if totals.weights is not None:
        shares = (totals.weights @ chosen_by_total) / totals.sizes[:, None]
    result = []
    for option in range(count):
        c = int(chosen[option])
        r = _correlation(n * int(sum_ir[option]) - c * sum_r, n * c - c * c, s_rr)
        group = shares[:, option].tolist() if shares is not None else None
        result.append(OptionStats(
            LETTERS[option], bool(item.key_mask >> option & 1), c / n,
            tuple(group[2:]) if group else None, group[1] if group else None,
            group[0] if group else None, r))
    return tuple(result)


def _flags(stats: ItemStats, thresholds: Thresholds) -> tuple[Flag, ...]:
    flags = []
    if stats.facility is not None:
        if stats.facility < thresholds.min_facility:
            flags.append(Flag(FlagCode.FACILITY_LOW, stats.facility, thresholds.min_facility))
        elif stats.facility > thresholds.max_facility:
            flags.append(Flag(FlagCode.FACILITY_HIGH, stats.facility, thresholds.max_facility))
        r = stats.discrimination
        if r is None:
            flags.append(Flag(FlagCode.DISCRIMINATION_UNDEFINED))
        elif r < 0:
            flags.append(Flag(FlagCode.DISCRIMINATION_NEGATIVE, r, 0.0))
        elif r < thresholds.min_discrimination:
            flags.append(Flag(FlagCode.DISCRIMINATION_LOW, r, thresholds.min_discrimination))
    keys = [option for option in stats.options if option.is_key]
    key_upper = (min(option.chosen_upper for option in keys)
                 if keys and keys[0].chosen_upper is not None else None)
    for option in stats.options:
        if option.is_key:
            continue
        if option.chosen < thresholds.min_distractor_share:
            flags.append(Flag(FlagCode.DISTRACTOR_RARE, option.chosen,
                              thresholds.min_distractor_share, option.letter))
        limit = thresholds.max_distractor_point_biserial
        if option.point_biserial is not None and option.point_biserial > limit:
            flags.append(Flag(FlagCode.DISTRACTOR_POSITIVE, option.point_biserial, limit,
                              option.letter))
        if key_upper is not None and option.chosen_upper > key_upper:
            flags.append(Flag(FlagCode.DISTRACTOR_PREFERRED_BY_TOP_GROUP, option.chosen_upper,
                              key_upper, option.letter))
    return tuple(flags)


def _form_stats(counts, totals: _Totals, k: int, s_xx_sum: int, dichotomous: bool,
                pass_line_halves, bin_edges_halves) -> FormStats:
    n, full = totals.n, len(counts) - 1
    mean = sd = alpha = sem = pass_rate = None
    if n:
        mean = totals.sum_t / n / 2
        sd = math.sqrt(totals.s_tt) / n / 2
    if k >= 2 and totals.s_tt > 0:
        alpha = float(Fraction(k, k - 1) * (1 - Fraction(s_xx_sum, totals.s_tt)))
        sem = sd * math.sqrt(1 - alpha)
    below = np.concatenate(([0], np.cumsum(counts)))  # below[v]: candidates with T < v
    if bin_edges_halves is None:
        bin_edges_halves = range(0, full + 3, 2)
    edges = tuple(int(edge) for edge in bin_edges_halves)
    if len(edges) < 2 or any(a >= b for a, b in pairwise(edges)):
        raise ValueError("bin edges must be at least two increasing integers")

    def under(value: int) -> int:
        return int(below[min(max(value, 0), full + 1)])

    bins = tuple(under(b + (i == len(edges) - 2)) - under(a)
                 for i, (a, b) in enumerate(pairwise(edges)))
    if pass_line_halves is not None and n:
        pass_rate = (n - under(pass_line_halves)) / n
    return FormStats(n, full, mean, sd, alpha, alpha if dichotomous else None, sem,
                     ScoreDistribution(edges, bins), pass_line_halves, pass_rate)


# The rest of a paper, as a share of what it could earn, on one scale for every paper.
REST_SCALE = 200


def analyse_across_papers(item: FormItem, scores, choices, rest_shares, *,
                          thresholds: Thresholds = DEFAULT_THRESHOLDS) -> ItemStats:
    """One item as answered in papers that differ (mock papers, drawn per candidate).

    Each answer's rest score R is what the rest of its paper earned as a share of what
    the rest could earn (0…1), put on one scale (REST_SCALE steps) so papers of any
    length compare; the item is then read as the first column of a two-column form
    beside R, with every figure as `analyse` defines it: discrimination = r(X, R),
    groups and quintiles by X + R.

    :param scores: (n,) half-points earned on the item.
    :param choices: (n,) uint8 option bitmasks (choice items), or None.
    :param rest_shares: (n,) floats in [0, 1].
    """
    shares = np.asarray(rest_shares, dtype=float)
    if shares.ndim != 1 or ((shares < 0) | (shares > 1)).any():
        raise ValueError("rest shares must be a 1-D array of values from 0 to 1")
    rest = np.rint(shares * REST_SCALE).astype(np.int64)
    matrix = np.column_stack([np.asarray(scores, dtype=np.int64), rest])
    if choices is not None:
        choices = np.column_stack([np.asarray(choices, dtype=np.uint8),
                                   np.zeros(len(rest), dtype=np.uint8)])
    rest_column = FormItem(ItemType.ESSAY, REST_SCALE)
    return analyse(matrix, [item, rest_column], choices, thresholds=thresholds).items[0]
