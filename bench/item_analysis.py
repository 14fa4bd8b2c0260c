"""Benchmark item analysis and key-review rescoring on a synthetic sitting.

    .venv/bin/python bench/item_analysis.py [--candidates 200000] [--single 60] [--multi 20]
                                            [--repeat 5] [--seed 0]

Builds a seeded sitting in memory (no database) with a simple logistic model: each
candidate has an ability θ ~ N(0, 1); each item a difficulty b ~ N(−0.5, 1) and a
slope a ~ U(0.3, 1.5). A SINGLE item (4 options, 1 key) is answered right with
P = σ(a·(θ − b)); otherwise 1 % leave it blank and the rest pick a distractor with
weights 5 : 3 : 2. On a MULTI item (5 options, 2–4 keys) each key is chosen with
P = σ(a·(θ − b) + 1) and each other option with P = 1 − σ(a·(θ − b) + 1.5). Scores are
the official rule (`key_review.score_table`). Two SINGLE items are miskeyed (the stored
key is a distractor) so that the flags have something to find. The defaults are the
COMP_JR exam spec (question_bank/data/exam_specs.json: 60 SINGLE × 1 + 20 MULTI × 2 =
100 points); `--single 80` gives 100 items and 120 points.

Times `item_analysis.analyse` (every statistic and flag, at the spec's 60 % line), then
`key_review.rescore` after one re-key (the first miskeyed item gets its true key) and
after one dropped item: medians of --repeat runs. Also the extra memory `analyse`
allocates at its peak (tracemalloc, a separate run) and the process's peak RSS.
"""

import argparse
import collections
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from question_bank import specs  # noqa: E402
from question_bank.item_analysis import FormItem, analyse, letters_of  # noqa: E402
from question_bank.items import ItemType  # noqa: E402
from question_bank.key_review import KeyDecision, VoidPolicy, rescore, score_table  # noqa: E402
from question_bank.subjects import Subject  # noqa: E402

MISKEYED = 2


def sitting(candidates: int, single: int, multi: int, seed: int):
    """Scores (int16 halves), choices (uint8 masks), the items as stored, the true keys."""
    rng = np.random.default_rng(seed)
    ability = rng.standard_normal(candidates)
    k = single + multi
    scores = np.empty((candidates, k), dtype=np.int16)
    choices = np.empty((candidates, k), dtype=np.uint8)
    items, true_keys = [], []
    for index in range(k):
        difficulty, slope = rng.normal(-0.5, 1), rng.uniform(0.3, 1.5)
        logit = slope * (ability - difficulty)
        if index < single:
            key = int(rng.integers(4))
            distractors = [option for option in range(4) if option != key]
            wrong = rng.choice(3, size=candidates, p=[0.5, 0.3, 0.2])
            chosen = np.where(rng.random(candidates) < 1 / (1 + np.exp(-logit)), key,
                              np.array(distractors)[wrong])
            mask = (1 << chosen).astype(np.uint8)
            mask[rng.random(candidates) < 0.01] = 0
            true_mask = 1 << key
            stored = 1 << distractors[0] if index < MISKEYED else true_mask
            item = FormItem.choice(ItemType.SINGLE, letters_of(stored))
        else:
            keys = rng.choice(5, size=int(rng.integers(2, 5)), replace=False)
            true_mask = int(sum(1 << int(option) for option in keys))
            mask = np.zeros(candidates, dtype=np.uint8)
            for option in range(5):
                if true_mask >> option & 1:
                    p = 1 / (1 + np.exp(-(logit + 1)))
                else:
                    p = 1 - 1 / (1 + np.exp(-(logit + 1.5)))
                mask |= np.where(rng.random(candidates) < p, 1 << option, 0).astype(np.uint8)
            item = FormItem.choice(ItemType.MULTI, letters_of(true_mask))
        choices[:, index] = mask
        scores[:, index] = score_table(item, [item.key_mask])[mask]
        items.append(item)
        true_keys.append(true_mask)
    return scores, choices, items, true_keys


def timed(function, repeat: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), min(samples), result


def main() -> None:
    spec = specs.load(Subject.COMP_JR)
    counts = {section.item_type: section.count for section in spec.sections}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=200_000)
    parser.add_argument("--single", type=int, default=counts[ItemType.SINGLE])
    parser.add_argument("--multi", type=int, default=counts[ItemType.MULTI])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    started = time.perf_counter()
    scores, choices, items, true_keys = sitting(args.candidates, args.single, args.multi,
                                                args.seed)
    full = sum(item.max_halves for item in items)
    line = full * 6 // 10  # the spec's pass ratio, 60 %
    print(f"generated {args.candidates:,} candidates × {len(items)} items "
          f"({args.single} SINGLE + {args.multi} MULTI, {full / 2:g} points) in "
          f"{time.perf_counter() - started:.1f} s; scores {scores.nbytes / 1e6:.0f} MB int16, "
          f"choices {choices.nbytes / 1e6:.0f} MB uint8", flush=True)

    def run_analysis():
        return analyse(scores, items, choices, pass_line_halves=line)

    median, fastest, analysis = timed(run_analysis, args.repeat)
    form = analysis.form
    print(f"analyse: median {median:.3f} s (min {fastest:.3f}, {args.repeat} runs)", flush=True)
    print(f"  mean {form.mean_points:.1f} / {full / 2:g}, SD {form.sd_points:.2f}, "
          f"alpha {form.alpha:.3f}, SEM {form.sem_points:.2f}, pass rate at "
          f"{line / 2:g}: {form.pass_rate:.1%}")
    facilities = [item.facility for item in analysis.items]
    discriminations = [item.discrimination for item in analysis.items]
    print(f"  facility {min(facilities):.2f}–{max(facilities):.2f}, corrected r "
          f"{min(discriminations):.2f}–{max(discriminations):.2f}")
    flags = collections.Counter(code for item in analysis.items for code in item.flag_codes)
    print("  flags: " + ", ".join(f"{code} {count}" for code, count in sorted(flags.items())))
    print(f"  miskeyed items 0–{MISKEYED - 1}: "
          + "; ".join(f"r {analysis.items[i].discrimination:.2f} {analysis.items[i].flag_codes}"
                      for i in range(MISKEYED)))
    tracemalloc.start()
    run_analysis()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"  extra memory at analyse's peak: {peak / 1e6:.0f} MB", flush=True)

    rekey = [KeyDecision.rekey(0, letters_of(true_keys[0]))]
    median, fastest, result = timed(
        lambda: rescore(scores, choices, items, rekey, pass_line_halves=line), args.repeat)
    summary = result.summary
    print(f"rescore, one re-key: median {median:.3f} s (min {fastest:.3f}); "
          f"{summary.changed:,} totals changed, {summary.crossed_up:,} crossed the line "
          f"upward, {summary.crossed_down:,} downward", flush=True)
    drop = [KeyDecision.void(1, VoidPolicy.DROP)]
    median, fastest, result = timed(
        lambda: rescore(scores, choices, items, drop, pass_line_halves=line), args.repeat)
    summary = result.summary
    print(f"rescore, one item dropped: median {median:.3f} s (min {fastest:.3f}); "
          f"{summary.changed:,} totals changed, {summary.crossed_up:,} up, "
          f"{summary.crossed_down:,} down", flush=True)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, nproc "
          f"{os.cpu_count()}, Python {platform.python_version()}, numpy {np.__version__}, "
          f"peak RSS {peak_rss:.0f} MB")


if __name__ == "__main__":
    main()
