"""Form assembly (组卷): build locked exam forms from an assembly plan as an integer programme.

An exam session's subject is sat on a form assembled ahead of time from the secure pool
to an assembly plan (组卷方案, the 双向细目表): how many items of each type from each
chapter, the points, a target range for the form's mean facility (the proportion of
candidates expected to answer an item correctly), optional counts per difficulty band,
enemy sets (items that give each other away: at most one of a set on a form) and the
items left out because recent sessions used them. Parallel forms are built together, any
two sharing at most `max_overlap` items.

The model, solved by HiGHS, for items i and forms f (points in half-points, exact):

    x[i,f] binary                                   item i is on form f
    Σ x[i,f] over a cell = the cell's count         every (type, chapter) cell
    Σ 2·points[i]·x[i,f] = 2·points                 per type and in total, when set
    lo·n ≤ Σ facility[i]·x[i,f] ≤ hi·n              the mean facility within [lo, hi]
    min ≤ Σ x[i,f] over a difficulty band ≤ max     every band of the plan
    Σ x[i,f] over an enemy set ≤ 1                  every enemy set
    y[i,f,g] ≥ x[i,f] + x[i,g] − 1, Σ y[i,f,g] ≤ max_overlap     every pair of forms

minimising each form's distance from the middle of [lo, hi] (split into d⁺ − d⁻) plus
small random weights on x drawn from the seed: they choose among equally centred forms,
so another seed gives another form and the same seed the same one (when the solve ends
within the time limit; a solve cut short by it keeps what it had found).

The model never holds the whole pool, so it stays small at 20,000 items and four forms:
each cell is cut to a random sample a few times what the forms need, stratified over
facility so it spans the cell's difficulties; only when that sample is infeasible does a
larger one, and finally the whole cell, take its place.

A plan that cannot be met fails with AssemblyInfeasible naming the constraint: cheap
checks of the pool first (a short cell, unreachable points or facility, ...), then, when
HiGHS proves the whole model infeasible, the smallest group of constraints whose
removal makes it feasible (the difficulty range, bands, enemies, overlap, points).
"""

import itertools
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import NoReturn

import highspy
import numpy as np

from .errors import QuestionBankError
from .items import CHOICE_POINTS, ItemType

# An author's rating (1 easiest … 5 hardest) read as a facility, for items without
# statistics: evenly spaced, the middle rating at the pass ratio 0.6. A rating is a
# guess, and reviewed items rarely sit outside [0.3, 0.9].
RATING_FACILITY = {1: 0.9, 2: 0.75, 3: 0.6, 4: 0.45, 5: 0.3}
SAMPLE_FACTORS = (3, 10, None)  # each cell: this many times what the forms need; None: all
SAMPLE_PADDING = 8  # small cells get this many spare items at least
MIP_REL_GAP = 0.02
_EDGE = 1e-6  # facility bounds are pulled in by this much, so HiGHS's tolerance stays inside

Cell = tuple[ItemType, str]


def facility_from_rating(rating: int) -> float:
    """The facility assumed for an item without statistics, from its author's 1–5 rating.

    The caller passes an item's observed proportion correct instead once it has one.
    """
    return RATING_FACILITY[rating]


class Constraint(StrEnum):
    CELL = "cell"  # a (type, chapter) cell of the plan
    POINTS = "points"
    FACILITY = "facility"  # the mean facility range
    BANDS = "bands"  # counts per difficulty band
    ENEMIES = "enemies"
    OVERLAP = "overlap"  # shared items between parallel forms
    COMBINED = "combined"  # only dropping several groups at once helps


# The groups the solver's diagnosis drops, in the order it tries them.
RELAXABLE = (Constraint.FACILITY, Constraint.BANDS, Constraint.ENEMIES, Constraint.OVERLAP,
             Constraint.POINTS)


@dataclass(frozen=True)
class PlanProblem:
    code: str
    params: dict = field(default_factory=dict)


class InvalidPlan(QuestionBankError):
    """The plan contradicts itself; `problems` lists every rule it breaks (code, params)."""

    def __init__(self, problems: Iterable[PlanProblem]):
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.code} {p.params}" for p in self.problems))


class AssemblyInfeasible(QuestionBankError):
    """No form meets the plan with these items.

    `constraint` names the one that cannot be met; `reason` is "pool" when the pool
    alone rules it out (a cheap check, `params` give the figures) or "conflict" when it
    cannot be met together with the others (the solver, `params` say what was tried).
    """

    def __init__(self, constraint: Constraint, reason: str, **params):
        super().__init__(f"{constraint.value} ({reason}): {params}")
        self.constraint = constraint
        self.reason = reason
        self.params = params


class AssemblyTimedOut(QuestionBankError):
    """The solver found no form, and proved none exists, within `seconds`."""

    def __init__(self, seconds: float):
        super().__init__(f"no form within {seconds} s")
        self.seconds = seconds


@dataclass(frozen=True)
class BankItem:
    """What form assembly needs to know about one item of the secure pool.

    *facility* is the proportion correct in [0, 1]: observed where the item has
    statistics, else facility_from_rating(). Choice items default to their spec points.
    """

    item_id: int
    item_type: ItemType
    chapter: str
    facility: float
    points: Decimal | None = None
    enemy_groups: frozenset[str] = frozenset()

    def __post_init__(self):
        if self.points is None:
            object.__setattr__(self, "points", CHOICE_POINTS.get(self.item_type))
        if self.points is None or self.points < 0 or (self.points * 2) % 1:
            raise ValueError(f"item {self.item_id}: points must be a multiple of 0.5")
        if not 0 <= self.facility <= 1:
            raise ValueError(f"item {self.item_id}: facility must lie in [0, 1]")

    @property
    def halves(self) -> int:
        return int(self.points * 2)


@dataclass(frozen=True)
class DifficultyBand:
    """Between *min_items* and *max_items* items of facility in [low, high) on a form
    (a band ending at 1 includes 1)."""

    low: float
    high: float
    min_items: int = 0
    max_items: int | None = None

    def holds(self, facility: float) -> bool:
        return self.low <= facility < self.high or (self.high >= 1 and facility == 1)


@dataclass(frozen=True)
class AssemblyPlan:
    """An assembly plan (组卷方案): the cells of the 双向细目表 and the form's constraints.

    *type_counts* and *type_points* are the sections' item counts and full marks per
    type (plan_for_spec() takes them from the exam spec); *excluded* are the items used
    in the last sessions; *time_limit* is in seconds for the whole solve.
    """

    cells: Mapping[Cell, int]
    type_counts: Mapping[ItemType, int] = field(default_factory=dict)
    type_points: Mapping[ItemType, Decimal] = field(default_factory=dict)
    total_points: Decimal | None = None
    facility_range: tuple[float, float] = (0.0, 1.0)
    bands: tuple[DifficultyBand, ...] = ()
    enemy_sets: tuple[frozenset[int], ...] = ()
    excluded: frozenset[int] = frozenset()
    forms: int = 1
    max_overlap: int | None = None
    type_order: tuple[ItemType, ...] = tuple(ItemType)
    time_limit: float = 30.0

    @property
    def size(self) -> int:
        return sum(self.cells.values())

    def ordered_cells(self) -> list[Cell]:
        """The cells with items, in section order: by type as the spec orders them, then
        chapter."""
        rank = {item_type: n for n, item_type in enumerate(self.type_order)}
        used = [cell for cell, count in self.cells.items() if count > 0]
        return sorted(used, key=lambda cell: (rank.get(cell[0], len(rank)), cell[1]))


@dataclass(frozen=True)
class Form:
    item_ids: tuple[int, ...]  # in section order: by type, then chapter, then item id
    points: Decimal
    mean_facility: float


def plan_for_spec(spec, cells: Mapping[Cell, int], **options) -> AssemblyPlan:
    """A plan for *spec*'s paper: its sections fix the counts, points and order per type."""
    counts: dict[ItemType, int] = defaultdict(int)
    points: dict[ItemType, Decimal] = defaultdict(Decimal)
    for section in spec.sections:
        counts[section.item_type] += section.count
        points[section.item_type] += section.full_marks
    order = tuple(dict.fromkeys(section.item_type for section in spec.sections))
    return AssemblyPlan(dict(cells), dict(counts), dict(points), spec.full_marks,
                        type_order=order, **options)


def plan_problems(plan: AssemblyPlan) -> list[PlanProblem]:
    """Every rule *plan* breaks; an empty list when it can be solved at all."""
    problems = []
    for (item_type, chapter), count in plan.cells.items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            problems.append(PlanProblem("cell_count", {"item_type": item_type.value,
                                                       "chapter": chapter, "count": count}))
    if problems:
        return problems
    if plan.size == 0:
        problems.append(PlanProblem("empty"))
    by_type: dict[ItemType, int] = defaultdict(int)
    for (item_type, _), count in plan.cells.items():
        by_type[item_type] += count
    for item_type, expected in plan.type_counts.items():
        if by_type.get(item_type, 0) != expected:
            problems.append(PlanProblem("type_count", {
                "item_type": item_type.value, "expected": expected,
                "cells": by_type.get(item_type, 0)}))
    for item_type, points in plan.type_points.items():
        if points < 0 or (points > 0) != (by_type.get(item_type, 0) > 0):
            problems.append(PlanProblem("type_points", {
                "item_type": item_type.value, "points": points,
                "items": by_type.get(item_type, 0)}))
    typed = [t for t, count in by_type.items() if count > 0]
    if plan.total_points is not None:
        if plan.total_points <= 0:
            problems.append(PlanProblem("total_points", {"points": plan.total_points}))
        elif all(t in plan.type_points for t in typed):
            summed = sum((plan.type_points[t] for t in typed), Decimal(0))
            if summed != plan.total_points:
                problems.append(PlanProblem("points_mismatch", {
                    "total_points": plan.total_points, "type_points": summed}))
    missing = [t for t in typed if t not in plan.type_order]
    problems += [PlanProblem("type_order", {"item_type": t.value}) for t in missing]
    low, high = plan.facility_range
    if not 0 <= low <= high <= 1:
        problems.append(PlanProblem("facility_range", {"low": low, "high": high}))
    for band in plan.bands:
        top = plan.size if band.max_items is None else band.max_items
        if not (0 <= band.low < band.high <= 1 and 0 <= band.min_items <= top <= plan.size):
            problems.append(PlanProblem("band", {"low": band.low, "high": band.high,
                                                 "min": band.min_items, "max": band.max_items}))
    if sum(band.min_items for band in plan.bands) > plan.size:
        problems.append(PlanProblem("bands_total", {"size": plan.size}))
    if plan.forms < 1:
        problems.append(PlanProblem("forms", {"forms": plan.forms}))
    if plan.max_overlap is not None and plan.max_overlap < 0:
        problems.append(PlanProblem("max_overlap", {"max_overlap": plan.max_overlap}))
    if not plan.time_limit > 0:
        problems.append(PlanProblem("time_limit", {"seconds": plan.time_limit}))
    return problems


def solve(plan: AssemblyPlan, items: Iterable[BankItem], seed: int) -> tuple[Form, ...]:
    """Assemble `plan.forms` forms from *items* that meet every constraint of *plan*.

    *seed* chooses among the forms that meet the plan equally well: the same plan, items
    and seed give the same forms, in whatever order the items come.

    :raises InvalidPlan: the plan contradicts itself.
    :raises AssemblyInfeasible: no form exists; says which constraint cannot be met.
    :raises AssemblyTimedOut: the time limit passed before a form or a proof of none.
    """
    problems = plan_problems(plan)
    if problems:
        raise InvalidPlan(problems)
    deadline = time.monotonic() + plan.time_limit
    pool = _eligible(plan, items)
    enemies = _enemy_sets(plan, pool)
    _check_pool(plan, pool, enemies)
    rng = np.random.default_rng(seed)
    for factor in SAMPLE_FACTORS:
        sample = {cell: _sample(pool[cell], _sample_size(plan, cell, factor), rng)
                  for cell in plan.ordered_cells()}
        model = _Model(plan, sample, enemies)
        found = model.run(model.groups, deadline, seed, rng.random(model.x_count))
        if found is not None:
            return model.forms(found)
        if all(len(sample[cell]) == len(pool[cell]) for cell in sample):
            break  # the whole pool is infeasible (the last factor always takes it all)
    _diagnose(model, deadline, seed)


def _eligible(plan: AssemblyPlan, items: Iterable[BankItem]) -> dict[Cell, list[BankItem]]:
    pool: dict[Cell, list[BankItem]] = {cell: [] for cell in plan.ordered_cells()}
    seen = set()
    for item in items:
        if item.item_id in seen:
            raise ValueError(f"item {item.item_id} is given twice")
        seen.add(item.item_id)
        cell = (item.item_type, item.chapter)
        if cell in pool and item.item_id not in plan.excluded:
            pool[cell].append(item)
    for entries in pool.values():  # the order given must not change the form
        entries.sort(key=lambda item: item.item_id)
    return pool


def _enemy_sets(plan: AssemblyPlan, pool) -> list[frozenset[int]]:
    """The enemy sets that bind: the plan's and the items' groups, among eligible items."""
    ids = {item.item_id for entries in pool.values() for item in entries}
    groups: dict[str, set[int]] = defaultdict(set)
    for entries in pool.values():
        for item in entries:
            for group in item.enemy_groups:
                groups[group].add(item.item_id)
    sets = {frozenset(members) for members in groups.values()}
    sets |= {frozenset(members & ids) for members in plan.enemy_sets}
    return sorted((members for members in sets if len(members) > 1), key=sorted)


def _check_pool(plan: AssemblyPlan, pool, enemies) -> None:
    """Refuse at once what the pool alone rules out, with the figures."""
    for cell in plan.ordered_cells():
        needed, available = plan.cells[cell], len(pool[cell])
        if available < needed:
            raise AssemblyInfeasible(Constraint.CELL, "pool", item_type=cell[0].value,
                                     chapter=cell[1], needed=needed, available=available)
    targets = [(t, points) for t, points in plan.type_points.items() if points > 0]
    if plan.total_points is not None:
        targets.append((None, plan.total_points))
    for item_type, points in targets:
        cells = [c for c in plan.ordered_cells() if item_type in (None, c[0])]
        low, high = _extremes(plan, pool, cells, lambda item: item.halves)
        if not low <= points * 2 <= high:
            raise AssemblyInfeasible(Constraint.POINTS, "pool", item_type=item_type and
                                     item_type.value, points=points, lowest=Decimal(low) / 2,
                                     highest=Decimal(high) / 2)
    low, high = _extremes(plan, pool, plan.ordered_cells(), lambda item: item.facility)
    wanted_low, wanted_high = plan.facility_range
    if low > wanted_high * plan.size + _EDGE or high < wanted_low * plan.size - _EDGE:
        raise AssemblyInfeasible(Constraint.FACILITY, "pool", low=wanted_low, high=wanted_high,
                                 lowest=round(low / plan.size, 3),
                                 highest=round(high / plan.size, 3))
    everything = [item for entries in pool.values() for item in entries]
    for band in plan.bands:
        inside = sum(band.holds(item.facility) for item in everything)
        if inside < band.min_items:
            raise AssemblyInfeasible(Constraint.BANDS, "pool", low=band.low, high=band.high,
                                     needed=band.min_items, available=inside)
    grouped = {member for members in enemies for member in members}
    for cell in plan.ordered_cells():
        ids = {item.item_id for item in pool[cell]}
        # At most one item per enemy set: each grouped item on the form takes a set.
        touching = sum(1 for members in enemies if members & ids)
        usable = len(ids - grouped) + min(len(ids & grouped), touching)
        if usable < plan.cells[cell]:
            raise AssemblyInfeasible(Constraint.ENEMIES, "pool", item_type=cell[0].value,
                                     chapter=cell[1], needed=plan.cells[cell], usable=usable)
    if plan.forms > 1 and plan.max_overlap is not None:
        # Each cell's items beyond what it holds must be shared by some pair of forms.
        shared = sum(max(0, plan.forms * plan.cells[cell] - len(pool[cell]))
                     for cell in plan.ordered_cells())
        allowed = plan.forms * (plan.forms - 1) // 2 * plan.max_overlap
        if shared > allowed:
            raise AssemblyInfeasible(Constraint.OVERLAP, "pool", forms=plan.forms,
                                     max_overlap=plan.max_overlap, shared_needed=shared,
                                     shared_allowed=allowed)


def _extremes(plan, pool, cells, value) -> tuple:
    """The lowest and highest sum of *value* a form can have over *cells*."""
    low = high = 0
    for cell in cells:
        values = sorted(value(item) for item in pool[cell])
        count = plan.cells[cell]
        low += sum(values[:count])
        high += sum(values[len(values) - count:])
    return low, high


def _sample_size(plan: AssemblyPlan, cell: Cell, factor: int | None) -> int | None:
    if factor is None:
        return None
    needed = plan.cells[cell] * plan.forms
    return max(factor * needed, plan.cells[cell] + SAMPLE_PADDING)


def _sample(entries: list[BankItem], size: int | None, rng) -> list[BankItem]:
    """A random sample of *size* entries, one from each of *size* facility strata."""
    if size is None or size >= len(entries):
        return entries
    ordered = sorted(entries, key=lambda item: (item.facility, item.item_id))
    edges = np.linspace(0, len(ordered), size + 1).astype(int)
    picks = rng.integers(edges[:-1], edges[1:])
    return sorted((ordered[n] for n in picks), key=lambda item: item.item_id)


def _diagnose(model: "_Model", deadline: float, seed: int) -> NoReturn:
    """Raise AssemblyInfeasible for the smallest group of constraints whose removal makes
    *model* (the whole pool's, proven infeasible) feasible: the first single group in
    RELAXABLE's order, else the first pair, and so on."""
    for size in range(1, len(model.groups) + 1):
        for dropped in itertools.combinations(model.groups, size):
            kept = [group for group in model.groups if group not in dropped]
            found = model.run(kept, deadline, seed)
            if found is None:
                continue
            if size > 1:
                raise AssemblyInfeasible(Constraint.COMBINED, "conflict",
                                         constraints=tuple(g.value for g in dropped))
            raise AssemblyInfeasible(dropped[0], "conflict", **model.details(dropped[0], found))
    # Not reached: with every group dropped the cells alone are met (the checks saw to it).
    raise AssemblyInfeasible(Constraint.CELL, "conflict")


class _Model:
    """The integer programme over given items per cell, with each constraint group's
    rows kept apart so the diagnosis can leave groups out."""

    def __init__(self, plan: AssemblyPlan, cells: Mapping[Cell, list[BankItem]], enemies):
        self.plan = plan
        self.items = [item for cell in plan.ordered_cells() for item in cells[cell]]
        self.k = plan.forms
        count = len(self.items)
        self.x_count = self.k * count
        self.pairs = list(itertools.combinations(range(self.k), 2))
        self.facility = np.array([item.facility for item in self.items])
        self.halves = np.array([item.halves for item in self.items], dtype=float)
        self.rows: dict[Constraint | None, list] = defaultdict(list)
        index = {item.item_id: j for j, item in enumerate(self.items)}
        cell_of = {cell: n for n, cell in enumerate(plan.ordered_cells())}
        member = np.array([cell_of[(item.item_type, item.chapter)] for item in self.items])
        self.dev = self.x_count  # d+ and d- of form f: columns dev + 2f, dev + 2f + 1
        self.y = self.dev + 2 * self.k
        bound_overlap = (self.k > 1 and plan.max_overlap is not None
                         and plan.max_overlap < plan.size)
        self.col_count = self.y + (len(self.pairs) * count if bound_overlap else 0)
        everyone = np.arange(count)
        counts = [plan.cells[cell] for cell in plan.ordered_cells()]
        low, high = plan.facility_range
        n = plan.size
        edge = min(_EDGE, (high - low) * n / 2)
        # The centre is a soft target: a form anywhere in the middle half of the range
        # costs nothing (hitting the exact middle is a subset-sum the solver would chase).
        mid, slack = (low + high) / 2 * n, (high - low) / 4 * n
        bands = [np.array([j for j, item in enumerate(self.items) if band.holds(item.facility)],
                          dtype=int) for band in plan.bands]
        sets = [np.array([index[i] for i in members if i in index]) for members in enemies]
        sets = [members for members in sets if len(members) > 1]
        self.enemy_count = len(sets)
        for f in range(self.k):
            self._add(None, [(member == c).nonzero()[0] for c in range(len(counts))], f,
                      None, counts, counts)
            if low > 0 or high < 1:
                self._add(Constraint.FACILITY, [everyone], f, self.facility,
                          [low * n + edge], [high * n - edge])
            self._add(None, [everyone], f, self.facility, [mid - slack], [mid + slack],
                      extra=[(self.dev + 2 * f, -1.0), (self.dev + 2 * f + 1, 1.0)])
            for band, inside in zip(plan.bands, bands, strict=True):
                top = n if band.max_items is None else band.max_items
                self._add(Constraint.BANDS, [inside], f, None, [band.min_items], [top])
            self._add(Constraint.ENEMIES, sets, f, None, [-np.inf] * len(sets), [1] * len(sets))
            for item_type, target in self._points_targets():
                chosen = everyone if item_type is None else np.array(
                    [j for j, item in enumerate(self.items) if item.item_type == item_type])
                self._add(Constraint.POINTS, [chosen], f, self.halves, [target * 2],
                          [target * 2])
        if bound_overlap:
            for p, (f, g) in enumerate(self.pairs):
                y = self.y + p * count + everyone
                rows = np.repeat(everyone, 3)
                cols = np.stack([f * count + everyone, g * count + everyone, y], 1).ravel()
                vals = np.tile([1.0, 1.0, -1.0], count)
                self.rows[Constraint.OVERLAP].append(
                    (rows, cols, vals, np.full(count, -np.inf), np.ones(count)))
                self.rows[Constraint.OVERLAP].append(
                    (np.zeros(count, dtype=int), y, np.ones(count), [-np.inf],
                     [plan.max_overlap]))
        self.groups = [group for group in RELAXABLE if self.rows.get(group)]

    def _points_targets(self):
        """The points rows the cell counts do not already imply: a type whose items all
        have the same points has its points fixed by its count."""
        implied: dict[ItemType, Decimal | None] = {}
        for item_type in {item.item_type for item in self.items}:
            points = {item.points for item in self.items if item.item_type == item_type}
            count = sum(c for (t, _), c in self.plan.cells.items() if t == item_type)
            implied[item_type] = points.pop() * count if len(points) == 1 else None
        targets = [(t, points) for t, points in self.plan.type_points.items()
                   if points > 0 and implied.get(t) != points]
        total = self.plan.total_points
        if total is not None and (None in implied.values() or sum(implied.values()) != total):
            targets.append((None, total))
        return targets

    def _add(self, group, members, form, values, lower, upper, extra=()):
        """Rows over form *form*'s x of each index array in *members*."""
        if not members:
            return
        count = len(self.items)
        rows = np.concatenate([np.full(len(m), r, dtype=int) for r, m in enumerate(members)])
        picked = np.concatenate(members).astype(int)
        cols = form * count + picked
        vals = np.ones(len(picked)) if values is None else values[picked]
        if extra:
            rows = np.concatenate([rows, np.zeros(len(extra), dtype=int)])
            cols = np.concatenate([cols, [col for col, _ in extra]])
            vals = np.concatenate([vals, [val for _, val in extra]])
        self.rows[group].append((rows, cols, vals, np.asarray(lower, dtype=float),
                                 np.asarray(upper, dtype=float)))

    def run(self, groups, deadline: float, seed: int, weights=None) -> np.ndarray | None:
        """Solve with the rows of *groups* (and the fixed ones); x on each form, or None
        when infeasible. *weights* in [0, 1) on x pick among equally centred forms."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssemblyTimedOut(self.plan.time_limit)
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("time_limit", remaining)
        highs.setOptionValue("mip_rel_gap", MIP_REL_GAP)
        highs.setOptionValue("random_seed", seed % 2_147_483_647)
        if highs.passModel(self._lp([None, *groups], weights)) != highspy.HighsStatus.kOk:
            raise RuntimeError("HiGHS refused the model")
        highs.run()
        status = highs.getModelStatus()
        if status in (highspy.HighsModelStatus.kInfeasible,
                      highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return None
        if highs.getInfo().primal_solution_status != 2:  # no feasible point
            if status == highspy.HighsModelStatus.kTimeLimit:
                raise AssemblyTimedOut(self.plan.time_limit)
            raise RuntimeError(f"HiGHS: {highs.modelStatusToString(status)}")
        values = np.asarray(highs.getSolution().col_value[:self.x_count])
        return values.reshape(self.k, len(self.items)) > 0.5

    def _lp(self, groups, weights) -> "highspy.HighsLp":
        lp = highspy.HighsLp()
        lp.num_col_ = self.col_count
        n = self.plan.size
        low, high = self.plan.facility_range
        cost = np.zeros(self.col_count)
        cost[self.dev:self.y] = 1.0 / n
        if weights is not None:  # worth at most a quarter of the range's width on the mean
            cost[:self.x_count] = weights * max(high - low, 1e-3) / 4 / n
        lp.col_cost_ = cost
        lp.col_lower_ = np.zeros(self.col_count)
        upper = np.ones(self.col_count)
        upper[self.dev:self.y] = np.inf
        lp.col_upper_ = upper
        integer = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
        lp.integrality_ = [integer[0]] * self.x_count + [integer[1]] * (
            self.col_count - self.x_count)
        blocks = [block for group in groups for block in self.rows.get(group, [])]
        offsets = np.cumsum([0] + [len(block[3]) for block in blocks])
        rows = np.concatenate([b[0] + o for b, o in zip(blocks, offsets, strict=False)])
        order = np.argsort(rows, kind="stable")
        lp.num_row_ = int(offsets[-1])
        lp.row_lower_ = np.concatenate([b[3] for b in blocks])
        lp.row_upper_ = np.concatenate([b[4] for b in blocks])
        matrix = lp.a_matrix_
        matrix.format_ = highspy.MatrixFormat.kRowwise
        matrix.num_col_, matrix.num_row_ = lp.num_col_, lp.num_row_
        matrix.start_ = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=lp.num_row_))])
        matrix.index_ = np.concatenate([b[1] for b in blocks])[order]
        matrix.value_ = np.concatenate([b[2] for b in blocks])[order]
        return lp

    def forms(self, chosen: np.ndarray) -> tuple[Form, ...]:
        """The forms of a solution, items in section order (the model holds them so)."""
        forms = []
        rank = {cell: n for n, cell in enumerate(self.plan.ordered_cells())}
        for row in chosen:
            picked = [self.items[j] for j in row.nonzero()[0]]
            picked.sort(key=lambda item: (rank[(item.item_type, item.chapter)], item.item_id))
            forms.append(Form(tuple(item.item_id for item in picked),
                              sum((item.points for item in picked), Decimal(0)),
                              sum(item.facility for item in picked) / len(picked)))
        return tuple(forms)

    def details(self, group: Constraint, chosen: np.ndarray) -> dict:
        """What the diagnosis can say of *group*, from a solution found without it."""
        plan = self.plan
        if group is Constraint.FACILITY:
            low, high = plan.facility_range
            means = [float(self.facility[row].sum()) / plan.size for row in chosen]
            nearest = min(means, key=lambda mean: max(low - mean, mean - high))
            return {"low": low, "high": high, "nearest": round(nearest, 3)}
        if group is Constraint.BANDS:
            return {"bands": len(plan.bands)}
        if group is Constraint.ENEMIES:
            return {"enemy_sets": self.enemy_count}
        if group is Constraint.OVERLAP:
            return {"forms": plan.forms, "max_overlap": plan.max_overlap}
        return {"total_points": plan.total_points,
                "type_points": {t.value: points for t, points in plan.type_points.items()}}
