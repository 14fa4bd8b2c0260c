"""Are the predicted pass probabilities calibrated? Simulated candidates of known ability.

    .venv/bin/python bench/prediction_calibration.py [--candidates 4000] [--seed 7]

Each simulated candidate has an ability; each chapter of 社会工作综合能力（初级） a
difficulty; from the two, the share of the chapter's content the candidate knows.
They practise a number of choice items (60 to 600, chapters at random), answering
right with that share's chance less slips plus guesses, and learning a little from
each answer. Half the candidates are used to fit the knowledge-tracing parameters
(`question_bank.mastery.fit`, as `flask attempts fit-mastery` does); for the other
half, the fitted model traces their mastery per chapter from their answers alone and
`question_bank.prediction.predict` gives a pass probability for the subject's exam
spec (60 single, 20 multiple choice, pass at 60 %). The fitting half also sits a mock
paper each, and the raw predictions are scaled against those results
(`prediction.fit_scaling`, as `fit-mastery` does with the portal's mock papers). Then
the other half sits a simulated exam from what they really know. Prints, raw and
scaled, the Brier score beside a baseline that predicts the overall pass rate for
everyone, and a reliability table (predicted against observed pass rate per tenth).
"""

import argparse
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from question_bank import mastery, prediction, specs, syllabus  # noqa: E402
from question_bank.items import ItemType  # noqa: E402
from question_bank.subjects import Subject  # noqa: E402

# The world the candidates live in (not known to the model, which fits its own).
SLIP = {"single": 0.08, "multi": 0.12}
GUESS = {"single": 0.25, "multi": 0.06}
LEARN = 0.02
MULTI_SHARE = 0.25


def _answer(rng, known: float, kind: str) -> int:
    chance = known * (1 - SLIP[kind]) + (1 - known) * GUESS[kind]
    return int(rng.random() < chance)


def simulate(rng, count: int, chapters: list[str], difficulty: np.ndarray):
    """Practice answers and final knowledge of *count* candidates."""
    people = []
    for _ in range(count):
        ability = rng.normal()
        known = 1 / (1 + np.exp(-(1.4 * ability - difficulty + rng.normal(0, 0.6,
                                                                           len(chapters)))))
        answers = []  # (chapter index, kind, right)
        for _ in range(int(rng.integers(60, 601))):
            chapter = int(rng.integers(len(chapters)))
            kind = "multi" if rng.random() < MULTI_SHARE else "single"
            answers.append((chapter, kind, _answer(rng, known[chapter], kind)))
            known[chapter] += (1 - known[chapter]) * LEARN
        people.append((answers, known))
    return people


def sequences(people) -> dict[str, list[tuple[int, list[int]]]]:
    by_type: dict[str, list] = {"single": [], "multi": []}
    for number, (answers, _known) in enumerate(people):
        runs: dict[tuple, list[int]] = {}
        for chapter, kind, right in answers:
            runs.setdefault((chapter, kind), []).append(right)
        for (_chapter, kind), run in runs.items():
            by_type[kind].append((number, run))
    return by_type


def traced(model: mastery.Model, answers, chapters: list[str]) -> dict[str, float]:
    p: dict[str, float | None] = {}
    for chapter, kind, right in answers:
        item_type = ItemType.MULTI if kind == "multi" else ItemType.SINGLE
        code = chapters[chapter]
        p[code] = mastery.update(p.get(code), bool(right), model.for_type(item_type))
    return p


def sit_exam(rng, spec, known: np.ndarray, weights: np.ndarray) -> bool:
    halves = 0
    for section in spec.sections:
        kind = "multi" if section.item_type is ItemType.MULTI else "single"
        for _ in range(section.count):
            chapter = int(rng.choice(len(known), p=weights))
            halves += _answer(rng, known[chapter], kind) * int(section.points * 2)
    full = sum(int(section.points * 2) * section.count for section in spec.sections)
    return halves >= float(spec.pass_ratio) * full


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    spec = specs.load(Subject.COMP_JR)
    chapters = [c.code for c in syllabus.load("2025").trees[Subject.COMP_JR].chapters]
    # Chapters harder than the candidates' median: a mixed population around the line.
    difficulty = rng.normal(0.9, 0.8, len(chapters))
    weights = prediction.chapter_weights(spec, chapters)
    share = np.array([weights[code] for code in chapters])

    # The fitting half: knowledge tracing is fitted on their practice answers, and the
    # scaling on how their raw predictions fared in a mock paper each.
    training = simulate(rng, args.candidates // 2, chapters, difficulty)
    model = mastery.fit(sequences(training)).model
    raw, mocks = _predict(rng, spec, chapters, share, model, training)
    scaling = prediction.fit_scaling(raw, mocks)
    # The other half: predicted from their practice alone, then the exam.
    raw, passed = _predict(rng, spec, chapters, share, model,
                           simulate(rng, args.candidates - args.candidates // 2, chapters,
                                    difficulty))
    print(f"fitted: single {model.single}, multi {model.multi}; scaling {scaling}")
    print(f"{len(raw)} candidates predicted, pass rate {np.mean(passed):.3f}")
    for title, predicted in (("raw", raw), ("scaled", [scaling.apply(p) for p in raw])):
        result = prediction.calibration(predicted, passed)
        print(f"{title}: Brier score {result.brier} (baseline {result.baseline_brier})")
        print("predicted | mean predicted | observed pass rate | candidates")
        for low, high, mean_p, observed, n in result.bins:
            print(f"{low:.1f}–{high:.1f} | {mean_p:.3f} | {observed:.3f} | {n}")
    print(f"({platform.node()}, seed {args.seed}, {args.candidates} candidates)")


def _predict(rng, spec, chapters, share, model, people):
    """Raw pass probabilities from practice, and whether each then passed an exam."""
    predicted, passed = [], []
    for answers, known in people:
        guess = prediction.predict(spec, chapters, traced(model, answers, chapters),
                                   len(answers), model)
        if guess.enough:
            predicted.append(guess.pass_probability)
            passed.append(sit_exam(rng, spec, known, share))
    return predicted, passed


if __name__ == "__main__":
    main()
