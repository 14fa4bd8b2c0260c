"""Score prediction: the exact score distribution, the refusal to guess on too little, and
calibration against outcomes."""

import random
from decimal import Decimal

import pytest

from question_bank import mastery, prediction, specs
from question_bank.items import ItemType
from question_bank.specs import ExamSpec, Section
from question_bank.subjects import Subject

SPEC = specs.load(Subject.COMP_JR)  # 60 single × 1 point, 20 multiple × 2, pass at 60 %
CHAPTERS = [f"COMP_JR.{n:02d}" for n in range(1, 13)]


def test_the_score_distribution_of_two_items_is_worked_out_by_hand():
    # One 1-point item right with 0.5, one 2-point item right with 0.25 (half-points).
    dist = prediction.score_distribution([(1, 2, 0.5), (1, 4, 0.25)])
    assert list(dist) == pytest.approx([0.375, 0, 0.375, 0, 0.125, 0, 0.125])


def test_a_spec_of_one_section_is_a_binomial():
    tiny = ExamSpec(Subject.COMP_JR, "t", 10, Decimal("0.5"),
                    (Section("single", "单选", ItemType.SINGLE, 4, Decimal(1)),))
    model = mastery.Model(mastery.Parameters(0.3, 0.1, 0.1, 0.2),
                          mastery.DEFAULT_MODEL.multi)
    result = prediction.predict(tiny, ["A"], {"A": 1.0}, 100, model)
    # P(right) = 0.9 per item; pass at 2 of 4: 1 − P(0) − P(1).
    assert result.expected == pytest.approx(3.6)
    assert result.pass_probability == pytest.approx(1 - 0.1 ** 4 - 4 * 0.9 * 0.1 ** 3, abs=1e-3)
    assert (result.full, result.pass_line) == (4.0, 2.0)


def test_too_few_answers_or_too_little_of_the_exam_gives_no_prediction():
    model = mastery.DEFAULT_MODEL
    few = prediction.predict(SPEC, CHAPTERS, dict.fromkeys(CHAPTERS, 0.9), 10, model)
    assert not few.enough and "至少答" in few.not_enough and few.pass_probability is None
    narrow = prediction.predict(SPEC, CHAPTERS, {code: 0.9 for code in CHAPTERS[:5]}, 500,
                                model)
    assert not narrow.enough and narrow.coverage == pytest.approx(5 / 12, abs=1e-3)


def test_more_mastery_predicts_more_and_a_range_around_it():
    model = mastery.DEFAULT_MODEL
    weak = prediction.predict(SPEC, CHAPTERS, dict.fromkeys(CHAPTERS, 0.3), 500, model)
    strong = prediction.predict(SPEC, CHAPTERS, dict.fromkeys(CHAPTERS, 0.9), 500, model)
    assert weak.pass_line == 60.0 and weak.full == 100.0
    assert weak.low <= weak.expected <= weak.high
    assert strong.expected > weak.expected and strong.pass_probability > weak.pass_probability
    assert strong.pass_probability > 0.9 > 0.1 > weak.pass_probability


def test_scaling_learns_that_raw_predictions_are_too_sure():
    rng = random.Random(4)
    raw, passed = [], []
    for _ in range(4000):
        p = rng.random()
        truth = 0.5 + (p - 0.5) * 0.5  # the real chance is half as far from even
        raw.append(p)
        passed.append(rng.random() < truth)
    scaling = prediction.fit_scaling(raw, passed)
    before = prediction.calibration(raw, passed)
    after = prediction.calibration([scaling.apply(p) for p in raw], passed)
    assert after.brier < before.brier
    assert 0 < scaling.a < 1
    for _low, _high, mean_p, observed, count in after.bins:
        if count > 200:
            assert mean_p == pytest.approx(observed, abs=0.08)


def test_the_reliability_table_bins_by_predicted_probability():
    result = prediction.calibration([0.05, 0.15, 0.95, 1.0], [False, True, True, True])
    assert [(low, n) for low, _high, _mean, _obs, n in result.bins] == [
        (0.0, 1), (0.1, 1), (0.9, 2)]
    assert result.brier == pytest.approx((0.05 ** 2 + 0.85 ** 2 + 0.05 ** 2) / 4, abs=1e-4)
