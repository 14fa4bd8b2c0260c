"""Benchmark form assembly: build 100-item exam forms from a 20,000-item secure pool.

Usage:
  .venv/bin/python bench/form_assembly.py [--items 20000] [--seeds 7] [--overlap 10]

No database: the pool is synthetic and built in memory. 20,000 items over the 15
chapters of 社会工作实务(中级) (2018 syllabus) × SINGLE and MULTI (three singles to one
multi), chapters of uneven size; facilities drawn from Beta distributions (singles mean
≈ 0.65, multis ≈ 0.5, the harder type), three decimals as item statistics give them, and
one item in four without statistics, read from its author's 1–5 rating by
facility_from_rating(). 400 enemy sets of 2–4 items of one chapter, 2,000 items excluded
(used in recent sessions).

The plan: 80 SINGLE × 1 point + 20 MULTI × 2 points = 120 points, split over the
chapters in proportion to their size (the 双向细目表), mean facility in [0.60, 0.66], at
least 10 hard items (facility < 0.45) and at most 15 easy ones (≥ 0.85). It times
`form_assembly.solve` (checks, sampling, the HiGHS model, every retry) for --seeds seeds,
one form each, then two parallel forms sharing at most --overlap items, then four. Each
run is a fresh call; the first includes loading HiGHS. Target: median ≤ 5 s for one form.
"""

import argparse
import dataclasses
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import highspy  # noqa: E402

from question_bank import form_assembly, syllabus  # noqa: E402
from question_bank.allocation import allocate  # noqa: E402
from question_bank.form_assembly import AssemblyPlan, BankItem, DifficultyBand  # noqa: E402
from question_bank.items import ItemType  # noqa: E402
from question_bank.subjects import Subject  # noqa: E402

CHAPTERS = [chapter.code for chapter in syllabus.load("2018").trees[Subject.PRAC_MID].chapters]
FORM = {ItemType.SINGLE: 80, ItemType.MULTI: 20}
POINTS = {ItemType.SINGLE: Decimal(1), ItemType.MULTI: Decimal(2)}


def make_pool(count: int, rng: random.Random) -> list[BankItem]:
    sizes = [rng.uniform(0.5, 1.5) for _ in CHAPTERS]
    items = []
    for number in range(count):
        item_type = ItemType.MULTI if number % 4 == 0 else ItemType.SINGLE
        chapter = rng.choices(CHAPTERS, weights=sizes)[0]
        if rng.random() < 0.25:  # no statistics yet: the author's rating stands in
            facility = form_assembly.facility_from_rating(rng.choice([1, 2, 2, 3, 3, 3, 4, 4, 5]))
        elif item_type is ItemType.SINGLE:
            facility = round(min(0.98, max(0.05, rng.betavariate(5.5, 3))), 3)
        else:
            facility = round(min(0.98, max(0.05, rng.betavariate(4, 4))), 3)
        items.append(BankItem(100_000 + number, item_type, chapter, facility))
    return items


def enemy_sets(items: list[BankItem], count: int, rng: random.Random) -> tuple:
    by_chapter: dict[str, list[int]] = {}
    for item in items:
        by_chapter.setdefault(item.chapter, []).append(item.item_id)
    sets = []
    for _ in range(count):
        members = by_chapter[rng.choice(CHAPTERS)]
        sets.append(frozenset(rng.sample(members, rng.randint(2, 4))))
    return tuple(sets)


def make_plan(items: list[BankItem], rng: random.Random, **options) -> AssemblyPlan:
    cells = {}
    for item_type, count in FORM.items():
        sizes = {chapter: sum(1 for i in items if i.item_type is item_type
                              and i.chapter == chapter) for chapter in CHAPTERS}
        quotas = allocate(count, sizes, sizes)
        cells |= {(item_type, chapter): quota for chapter, quota in quotas.items()}
    return AssemblyPlan(
        cells, type_counts=FORM,
        type_points={t: POINTS[t] * count for t, count in FORM.items()},
        total_points=sum((POINTS[t] * count for t, count in FORM.items()), Decimal(0)),
        facility_range=(0.60, 0.66),
        bands=(DifficultyBand(0.0, 0.45, min_items=10), DifficultyBand(0.85, 1.0, max_items=15)),
        enemy_sets=enemy_sets(items, 400, rng),
        excluded=frozenset(item.item_id for item in rng.sample(items, 2_000)),
        time_limit=60, **options)


def timed(plan: AssemblyPlan, items: list[BankItem], seeds: range) -> list[float]:
    seconds = []
    for seed in seeds:
        started = time.perf_counter()
        forms = form_assembly.solve(plan, items, seed)
        seconds.append(time.perf_counter() - started)
        shared = [len(set(a.item_ids) & set(b.item_ids))
                  for n, a in enumerate(forms) for b in forms[n + 1:]]
        print(f"  seed {seed}: {seconds[-1]:.2f} s, mean facility "
              f"{', '.join(f'{form.mean_facility:.3f}' for form in forms)}, points "
              f"{forms[0].points}" + (f", shared items max {max(shared)}" if shared else ""),
              flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, default=7)
    parser.add_argument("--overlap", type=int, default=10)
    args = parser.parse_args()
    rng = random.Random(2026)
    items = make_pool(args.items, rng)
    plan = make_plan(items, rng)
    print(f"pool {len(items)} items, {len(plan.enemy_sets)} enemy sets, "
          f"{len(plan.excluded)} excluded; form {plan.size} items, {plan.total_points} points, "
          f"{sum(1 for count in plan.cells.values() if count)} cells", flush=True)
    runs = [("one form", plan, args.seeds),
            (f"2 parallel forms, ≤ {args.overlap} shared",
             dataclasses.replace(plan, forms=2, max_overlap=args.overlap),
             max(3, args.seeds // 2)),
            (f"4 parallel forms, ≤ {args.overlap} shared",
             dataclasses.replace(plan, forms=4, max_overlap=args.overlap), 3)]
    for label, run_plan, seeds in runs:
        print(f"{label}:", flush=True)
        seconds = timed(run_plan, items, range(1, seeds + 1))
        print(f"{label}: median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s "
              f"over {seeds} seeds" + (" (target: median ≤ 5 s)" if run_plan is plan else ""),
              flush=True)
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, nproc "
          f"{os.cpu_count()}, Python {platform.python_version()}, HiGHS "
          f"{highspy.Highs().version()}, root {ROOT}")


if __name__ == "__main__":
    main()
