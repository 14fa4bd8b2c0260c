"""Form assembly: every constraint of the plan holds, seeds, parallel forms, and failures
that name the constraint."""

import dataclasses
import random
from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from question_bank import specs
from question_bank.form_assembly import (
    RATING_FACILITY,
    AssemblyInfeasible,
    AssemblyPlan,
    BankItem,
    Constraint,
    DifficultyBand,
    InvalidPlan,
    facility_from_rating,
    plan_for_spec,
    plan_problems,
    solve,
)
from question_bank.items import ItemType
from question_bank.subjects import Subject

S, M = ItemType.SINGLE, ItemType.MULTI


def _pool(singles=20, multis=10, chapters=("C1", "C2", "C3"), seed=0):
    rng = random.Random(seed)
    items = []
    for chapter in chapters:
        for item_type, count in ((S, singles), (M, multis)):
            for _ in range(count):
                items.append(BankItem(len(items) + 1, item_type, chapter,
                                      round(rng.uniform(0.3, 0.9), 3)))
    return items


CELLS = {(S, "C1"): 4, (S, "C2"): 3, (S, "C3"): 3, (M, "C1"): 1, (M, "C2"): 2, (M, "C3"): 2}
PLAN = AssemblyPlan(CELLS, type_counts={S: 10, M: 5}, type_points={S: Decimal(10), M: Decimal(10)},
                    total_points=Decimal(20), facility_range=(0.55, 0.65), time_limit=10)


def _violations(plan, items, forms):
    """Every constraint of *plan* the *forms* break, checked from scratch."""
    by_id = {item.item_id: item for item in items}
    problems = []
    for form in forms:
        chosen = [by_id[i] for i in form.item_ids]
        if len(set(form.item_ids)) != len(chosen):
            problems.append("repeat")
        cells = Counter((item.item_type, item.chapter) for item in chosen)
        if +cells != +Counter(plan.cells):
            problems.append("cells")
        for item_type, points in plan.type_points.items():
            if sum(i.points for i in chosen if i.item_type == item_type) != points:
                problems.append("type points")
        if plan.total_points is not None and sum(i.points for i in chosen) != plan.total_points:
            problems.append("points")
        mean = sum(i.facility for i in chosen) / len(chosen)
        low, high = plan.facility_range
        if not low - 1e-9 <= mean <= high + 1e-9 or abs(mean - form.mean_facility) > 1e-9:
            problems.append("facility")
        for band in plan.bands:
            inside = sum(band.holds(i.facility) for i in chosen)
            if inside < band.min_items or (band.max_items is not None
                                           and inside > band.max_items):
                problems.append("band")
        groups = Counter(g for i in chosen for g in i.enemy_groups)
        if any(n > 1 for n in groups.values()):
            problems.append("enemy groups")
        if any(len(members & set(form.item_ids)) > 1 for members in plan.enemy_sets):
            problems.append("enemy sets")
        if set(form.item_ids) & plan.excluded:
            problems.append("excluded")
        rank = {t: n for n, t in enumerate(plan.type_order)}
        keys = [(rank[i.item_type], i.chapter, i.item_id) for i in chosen]
        if keys != sorted(keys):
            problems.append("order")
    if plan.max_overlap is not None:
        for a in range(len(forms)):
            for b in range(a + 1, len(forms)):
                if len(set(forms[a].item_ids) & set(forms[b].item_ids)) > plan.max_overlap:
                    problems.append("overlap")
    return problems


def test_a_form_fills_every_cell_exactly_with_its_points_and_mean_facility():
    items = _pool()
    (form,) = solve(PLAN, items, seed=1)
    assert _violations(PLAN, items, [form]) == []
    assert len(form.item_ids) == 15
    assert form.points == Decimal(20)
    assert 0.55 <= form.mean_facility <= 0.65


def test_items_come_in_section_order_by_type_then_chapter():
    items = _pool()
    by_id = {item.item_id: item for item in items}
    (form,) = solve(PLAN, items, seed=2)
    shown = [(by_id[i].item_type, by_id[i].chapter) for i in form.item_ids]
    assert shown == [(S, "C1")] * 4 + [(S, "C2")] * 3 + [(S, "C3")] * 3 + [
        (M, "C1")] + [(M, "C2")] * 2 + [(M, "C3")] * 2


def test_the_same_seed_gives_the_same_form_whatever_the_items_order_and_seeds_differ():
    items = _pool()
    first = solve(PLAN, items, seed=7)
    assert solve(PLAN, list(reversed(items)), seed=7) == first
    others = {solve(PLAN, items, seed=seed)[0].item_ids for seed in range(8, 12)}
    assert len(others | {first[0].item_ids}) >= 4


def test_enemies_never_share_a_form():
    items = _pool(singles=6, multis=4)
    # The plan's sets and the items' own groups both count.
    sets = tuple(frozenset({n, n + 1}) for n in range(1, 60, 3))
    items = [dataclasses.replace(item, enemy_groups=frozenset({f"g{item.item_id % 5}"}))
             if item.item_id % 2 == 0 else item for item in items]
    plan = dataclasses.replace(PLAN, enemy_sets=sets, facility_range=(0.0, 1.0))
    for seed in range(5):
        forms = solve(plan, items, seed)
        assert _violations(plan, items, forms) == []


def test_excluded_items_are_never_chosen():
    items = _pool(singles=8, multis=4)
    excluded = frozenset(range(1, 200, 2))
    plan = dataclasses.replace(PLAN, excluded=excluded, facility_range=(0.0, 1.0))
    for seed in range(5):
        (form,) = solve(plan, items, seed)
        assert not set(form.item_ids) & excluded


def test_a_narrow_range_at_the_pools_edge_is_met_by_growing_the_sample():
    # A sample of one item per decile cannot reach 0.985; the whole cell can.
    items = [BankItem(n, S, "C1", n / 100) for n in range(1, 101)]
    plan = AssemblyPlan({(S, "C1"): 2}, facility_range=(0.985, 1.0))
    (form,) = solve(plan, items, seed=0)
    assert form.item_ids == (99, 100)


def test_difficulty_bands_hold():
    items = _pool()
    bands = (DifficultyBand(0.0, 0.45, min_items=4), DifficultyBand(0.75, 1.0, max_items=1))
    plan = dataclasses.replace(PLAN, bands=bands, facility_range=(0.5, 0.6))
    forms = solve(plan, items, seed=3)
    assert _violations(plan, items, forms) == []


def test_two_parallel_forms_share_at_most_the_bound():
    items = _pool()
    plan = dataclasses.replace(PLAN, forms=2, max_overlap=2)
    forms = solve(plan, items, seed=4)
    assert len(forms) == 2
    assert _violations(plan, items, forms) == []
    assert len(set(forms[0].item_ids) & set(forms[1].item_ids)) <= 2


def test_four_disjoint_forms():
    items = _pool()
    plan = dataclasses.replace(PLAN, forms=4, max_overlap=0)
    forms = solve(plan, items, seed=5)
    assert _violations(plan, items, forms) == []
    assert len({i for form in forms for i in form.item_ids}) == 60


def test_subjective_items_of_mixed_points_meet_the_section_points():
    spec = specs.load(Subject.PRAC_SR, "4+2")  # 4 case × 15 + 2 essays × 20
    items = [BankItem(n, ItemType.CASE_ANALYSIS, f"C{n % 3}", 0.5 + n % 7 / 20,
                      Decimal(15 if n % 2 else 20)) for n in range(30)]
    items += [BankItem(100 + n, ItemType.ESSAY, "C0", 0.5, Decimal(20 + 10 * (n % 2)))
              for n in range(6)]
    cells = {(ItemType.CASE_ANALYSIS, "C0"): 2, (ItemType.CASE_ANALYSIS, "C1"): 1,
             (ItemType.CASE_ANALYSIS, "C2"): 1, (ItemType.ESSAY, "C0"): 2}
    plan = plan_for_spec(spec, cells, time_limit=10)
    forms = solve(plan, items, seed=1)
    assert forms[0].points == Decimal(100)
    assert _violations(plan, items, forms) == []


# Failures name the constraint.


def test_a_short_cell_is_named_with_its_figures():
    items = _pool(multis=3)
    plan = dataclasses.replace(PLAN, cells={**CELLS, (M, "C2"): 4},
                               type_counts={S: 10, M: 7}, type_points={S: Decimal(10),
                                                                       M: Decimal(14)},
                               total_points=Decimal(24), excluded=frozenset({45}))
    with pytest.raises(AssemblyInfeasible) as caught:
        solve(plan, items, seed=0)
    assert caught.value.constraint is Constraint.CELL
    assert caught.value.reason == "pool"
    assert caught.value.params == {"item_type": "MULTI", "chapter": "C2", "needed": 4,
                                   "available": 2}


def test_a_difficulty_range_the_pool_cannot_reach_is_named():
    with pytest.raises(AssemblyInfeasible) as caught:
        solve(dataclasses.replace(PLAN, facility_range=(0.92, 1.0)), _pool(), seed=0)
    assert caught.value.constraint is Constraint.FACILITY
    assert caught.value.params["low"] == 0.92
    assert caught.value.params["highest"] < 0.92


def test_a_difficulty_range_no_combination_hits_is_found_by_the_solver():
    items = [BankItem(1, S, "C1", 0.2), BankItem(2, S, "C1", 0.8), BankItem(3, S, "C2", 0.5)]
    plan = AssemblyPlan({(S, "C1"): 1, (S, "C2"): 1}, facility_range=(0.4, 0.6))
    with pytest.raises(AssemblyInfeasible) as caught:
        solve(plan, items, seed=0)
    assert (caught.value.constraint, caught.value.reason) == (Constraint.FACILITY, "conflict")
    assert caught.value.params["nearest"] in (0.35, 0.65)


def test_enemies_in_one_cell_that_leave_too_few_items_are_named():
    items = [BankItem(n, S, "C1", 0.6) for n in range(1, 6)]
    plan = AssemblyPlan({(S, "C1"): 3}, enemy_sets=(frozenset({1, 2, 3}), frozenset({4, 5})))
    with pytest.raises(AssemblyInfeasible) as caught:
        solve(plan, items, seed=0)
    assert caught.value.constraint is Constraint.ENEMIES
    assert caught.value.params == {"item_type": "SINGLE", "chapter": "C1", "needed": 3,
                                   "usable": 2}


def test_enemies_across_cells_that_force_infeasibility_are_found_by_the_solver():
    items = [BankItem(1, S, "C1", 0.6), BankItem(2, S, "C2", 0.6, enemy_groups=frozenset("a")),
             BankItem(3, S, "C2", 0.6, enemy_groups=frozenset("b")),
             BankItem(4, S, "C3", 0.6, enemy_groups=frozenset("ab"))]
    plan = AssemblyPlan({(S, "C1"): 1, (S, "C2"): 1, (S, "C3"): 1},
                        enemy_sets=(frozenset({1, 4}),))
    with pytest.raises(AssemblyInfeasible) as caught:
        solve(plan, items, seed=0)
    assert (caught.value.constraint, caught.value.reason) == (Constraint.ENEMIES, "conflict")


def test_an_overlap_too_tight_for_the_pool_is_named():
    items = _pool(singles=5, multis=3)
    plan = dataclasses.replace(PLAN, forms=2, max_overlap=3, facility_range=(0.0, 1.0))
    with pytest.raises(AssemblyInfeasible) as caught:
        solve(plan, items, seed=0)
    assert caught.value.constraint is Constraint.OVERLAP
    # Two forms share 3 of C1's 5 singles, 1 of C2's and C3's singles and multis each.
    assert caught.value.params["shared_needed"] == 7
    assert caught.value.params["shared_allowed"] == 3


def test_an_overlap_the_enemies_make_too_tight_is_found_by_the_solver():
    items = [BankItem(n, S, "C1", 0.6) for n in range(1, 5)]
    plan = AssemblyPlan({(S, "C1"): 2}, forms=2, max_overlap=0,
                        enemy_sets=(frozenset({1, 2, 3}),))
    with pytest.raises(AssemblyInfeasible) as caught:
        solve(plan, items, seed=0)
    # Dropping the enemies or the overlap helps; the enemies are tried first.
    assert (caught.value.constraint, caught.value.reason) == (Constraint.ENEMIES, "conflict")
    relaxed = dataclasses.replace(plan, enemy_sets=(frozenset({1, 2}),))
    assert len(solve(relaxed, items, seed=0)) == 2


def test_only_dropping_two_groups_together_is_reported_as_combined():
    items = [BankItem(1, S, "C1", 0.2), BankItem(2, S, "C1", 0.8), BankItem(3, S, "C2", 0.5),
             BankItem(4, S, "C3", 0.5)]
    plan = AssemblyPlan({(S, "C1"): 1, (S, "C2"): 1, (S, "C3"): 1},
                        facility_range=(0.45, 0.55), enemy_sets=(frozenset({3, 4}),))
    with pytest.raises(AssemblyInfeasible) as caught:
        solve(plan, items, seed=0)
    assert caught.value.constraint is Constraint.COMBINED
    assert caught.value.params == {"constraints": ("facility", "enemies")}


def test_points_the_pool_cannot_make_are_named():
    items = [BankItem(n, ItemType.CASE_ANALYSIS, "C1", 0.5, Decimal(20)) for n in range(5)]
    items.append(BankItem(9, ItemType.CASE_ANALYSIS, "C1", 0.5, Decimal(15)))
    plan = AssemblyPlan({(ItemType.CASE_ANALYSIS, "C1"): 4},
                        type_points={ItemType.CASE_ANALYSIS: Decimal(60)})
    with pytest.raises(AssemblyInfeasible) as caught:
        solve(plan, items, seed=0)
    assert caught.value.constraint is Constraint.POINTS
    assert caught.value.params["lowest"] == Decimal(75)


# Plans and facilities.


def test_a_plan_that_contradicts_itself_lists_every_problem():
    plan = AssemblyPlan({(S, "C1"): 5, (M, "C1"): -1}, facility_range=(0.7, 0.6))
    assert [p.code for p in plan_problems(plan)] == ["cell_count"]
    plan = AssemblyPlan({(S, "C1"): 5, (M, "C1"): 2}, type_counts={S: 6},
                        type_points={S: Decimal(5), M: Decimal(4)}, total_points=Decimal(10),
                        facility_range=(0.7, 0.6), forms=0, max_overlap=-1)
    codes = [p.code for p in plan_problems(plan)]
    assert codes == ["type_count", "points_mismatch", "facility_range", "forms", "max_overlap"]
    with pytest.raises(InvalidPlan) as caught:
        solve(plan, _pool(), seed=0)
    assert caught.value.problems[0].params == {"item_type": "SINGLE", "expected": 6, "cells": 5}


def test_a_plan_for_the_junior_paper_takes_the_spec_counts_and_points():
    spec = specs.load(Subject.COMP_JR)
    cells = {(S, "C1"): 30, (S, "C2"): 30, (M, "C1"): 10, (M, "C2"): 10}
    plan = plan_for_spec(spec, cells)
    assert plan_problems(plan) == []
    assert (plan.type_counts, plan.total_points) == ({S: 60, M: 20}, Decimal(100))
    short = plan_for_spec(spec, {**cells, (M, "C2"): 9})
    assert [p.code for p in plan_problems(short)] == ["type_count"]


def test_ratings_map_to_facilities_from_easy_to_hard():
    assert [facility_from_rating(r) for r in range(1, 6)] == sorted(
        RATING_FACILITY.values(), reverse=True)
    assert facility_from_rating(3) == 0.6
    with pytest.raises(ValueError, match="facility"):
        BankItem(1, S, "C1", 1.2)
    with pytest.raises(ValueError, match="points"):
        BankItem(1, ItemType.ESSAY, "C1", 0.5, Decimal("0.3"))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), pool_seed=st.integers(0, 1000),
       counts=st.lists(st.integers(0, 4), min_size=4, max_size=4),
       low=st.floats(0.4, 0.65), width=st.floats(0.02, 0.3), forms=st.integers(1, 3),
       overlap=st.integers(0, 6), enemies=st.integers(0, 8))
def test_any_form_returned_meets_every_constraint(seed, pool_seed, counts, low, width, forms,
                                                  overlap, enemies):
    items = _pool(singles=8, multis=5, chapters=("C1", "C2"), seed=pool_seed)
    rng = random.Random(pool_seed)
    cells = dict(zip([(S, "C1"), (S, "C2"), (M, "C1"), (M, "C2")], counts, strict=True))
    if not sum(counts):
        cells[(S, "C1")] = 1
    plan = AssemblyPlan(cells, facility_range=(low, min(1.0, low + width)), forms=forms,
                        max_overlap=overlap,
                        enemy_sets=tuple(frozenset(rng.sample(range(1, 27), 3))
                                         for _ in range(enemies)),
                        excluded=frozenset(rng.sample(range(1, 27), 3)), time_limit=10)
    try:
        result = solve(plan, items, seed)
    except AssemblyInfeasible:
        return
    assert len(result) == forms
    assert _violations(plan, items, result) == []
