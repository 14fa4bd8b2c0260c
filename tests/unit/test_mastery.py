"""Knowledge tracing: the update on hand-computed cases, and a fit that finds the
parameters answers were simulated from."""

import random

import pytest

from question_bank import mastery
from question_bank.items import ItemType
from question_bank.mastery import Level, Parameters

SINGLE = Parameters(p_init=0.3, p_learn=0.08, p_slip=0.1, p_guess=0.25)


def test_a_right_answer_raises_mastery_by_bayes_rule_then_learning():
    # P(known | right) = 0.3·0.9 / (0.3·0.9 + 0.7·0.25) = 0.27 / 0.445
    posterior = 0.27 / 0.445
    assert mastery.update(None, True, SINGLE) == pytest.approx(
        posterior + (1 - posterior) * 0.08)
    assert mastery.update(None, True, SINGLE) == pytest.approx(0.6382022, abs=1e-7)


def test_a_wrong_answer_lowers_it():
    # P(known | wrong) = 0.3·0.1 / (0.3·0.1 + 0.7·0.75) = 0.03 / 0.555
    posterior = 0.03 / 0.555
    assert mastery.update(0.3, False, SINGLE) == pytest.approx(
        posterior + (1 - posterior) * 0.08)
    assert mastery.update(0.3, False, SINGLE) == pytest.approx(0.1297297, abs=1e-7)


def test_a_lucky_guess_on_a_multiple_choice_item_says_more_than_on_a_single_choice_one():
    model = mastery.DEFAULT_MODEL
    single = mastery.update(0.3, True, model.for_type(ItemType.SINGLE))
    multi = mastery.update(0.3, True, model.for_type(ItemType.MULTI))
    assert multi > single


def test_mastery_never_reaches_certainty():
    p = None
    for _ in range(200):
        p = mastery.update(p, True, SINGLE)
    assert p == 0.999
    for _ in range(200):
        p = mastery.update(p, False, SINGLE)
    assert 0.001 <= p < 0.1  # learning from feedback keeps it off the floor


def test_the_chance_of_a_right_answer_mixes_slips_and_guesses():
    assert mastery.p_correct(1.0, SINGLE) == pytest.approx(0.9)
    assert mastery.p_correct(0.0, SINGLE) == pytest.approx(0.25)
    assert mastery.p_correct(0.5, SINGLE) == pytest.approx(0.575)


def test_parameters_that_make_no_sense_are_refused():
    with pytest.raises(ValueError, match="p_learn"):
        Parameters(0.3, 0.0, 0.1, 0.2)
    with pytest.raises(ValueError, match="below 1"):
        Parameters(0.3, 0.1, 0.5, 0.6)


def test_levels_are_named_not_only_coloured():
    assert [Level.of(p) for p in (0.2, 0.5, 0.79, 0.8)] == [
        "weak", "learning", "learning", "mastered"]


def test_a_model_round_trips_through_its_stored_form():
    model = mastery.DEFAULT_MODEL
    assert mastery.Model.from_dict(model.to_dict()) == model


def _simulate(params: Parameters, candidates: int, length: int, seed: int):
    rng = random.Random(seed)
    tagged = []
    for candidate in range(candidates):
        for _point in range(3):
            knows = rng.random() < params.p_init
            answers = []
            for _ in range(length):
                right = rng.random() < (1 - params.p_slip if knows else params.p_guess)
                answers.append(int(right))
                knows = knows or rng.random() < params.p_learn
            tagged.append((candidate, answers))
    return tagged


def test_the_fit_finds_the_parameters_answers_were_simulated_from():
    truth = Parameters(p_init=0.4, p_learn=0.15, p_slip=0.08, p_guess=0.2)
    result = mastery.fit({"single": _simulate(truth, 600, 12, seed=3)})
    found = result.model.single
    assert found.p_init == pytest.approx(truth.p_init, abs=0.1)
    assert found.p_learn == pytest.approx(truth.p_learn, abs=0.06)
    assert found.p_slip == pytest.approx(truth.p_slip, abs=0.05)
    assert found.p_guess == pytest.approx(truth.p_guess, abs=0.06)
    held_out = result.quality["single"]
    assert held_out.answers > 0
    assert held_out.log_loss < held_out.baseline_log_loss
    assert held_out.brier < held_out.baseline_brier and held_out.auc > 0.7
    # With no multiple-choice answers the defaults stand.
    assert result.model.multi == mastery.DEFAULT_MODEL.multi


def test_auc_counts_ties_as_half():
    import numpy as np

    assert mastery._auc(np.array([0.2, 0.8]), np.array([0, 1])) == 1.0
    assert mastery._auc(np.array([0.5, 0.5]), np.array([0, 1])) == 0.5
    assert mastery._auc(np.array([0.9, 0.1]), np.array([0, 1])) == 0.0
