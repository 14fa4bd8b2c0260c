"""Scoring by the official rules, exhaustively for every 5-option MULTI key set."""

from decimal import Decimal
from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from question_bank import specs
from question_bank.items import ItemType
from question_bank.scoring import score_choice, score_paper
from question_bank.subjects import Subject

LETTERS = "ABCDE"
SELECTIONS = [frozenset(c) for n in range(1, 6) for c in combinations(LETTERS, n)]
KEY_SETS = [frozenset(c) for n in (2, 3, 4) for c in combinations(LETTERS, n)]


def _expected(keys, selected):
    if selected - keys:
        return Decimal(0)
    if selected == keys:
        return Decimal(2)
    return Decimal("0.5") * len(selected)


def test_there_are_31_non_empty_selections():
    assert len(SELECTIONS) == 31 and len(KEY_SETS) == 10 + 10 + 5


@pytest.mark.parametrize("keys", KEY_SETS, ids=lambda k: "".join(sorted(k)))
def test_multi_every_selection_for_every_key_set(keys):
    for selected in SELECTIONS:
        assert score_choice(ItemType.MULTI, keys, selected, Decimal(2)) == _expected(keys, selected)


def test_multi_examples_from_the_rule():
    keys = {"A", "B", "C"}
    assert score_choice(ItemType.MULTI, keys, {"A", "B", "C"}, Decimal(2)) == 2
    assert score_choice(ItemType.MULTI, keys, {"A", "B"}, Decimal(2)) == Decimal("1.0")
    assert score_choice(ItemType.MULTI, keys, {"A"}, Decimal(2)) == Decimal("0.5")
    assert score_choice(ItemType.MULTI, keys, {"A", "D"}, Decimal(2)) == 0
    assert score_choice(ItemType.MULTI, keys, set(), Decimal(2)) == 0


@pytest.mark.parametrize("selected, expected", [({"B"}, 1), ({"A"}, 0), ({"A", "B"}, 0),
                                                (set(), 0)])
def test_single(selected, expected):
    assert score_choice(ItemType.SINGLE, {"B"}, selected, Decimal(1)) == expected


@given(keys=st.sets(st.sampled_from(LETTERS), min_size=2, max_size=4),
       selected=st.sets(st.sampled_from(LETTERS)))
def test_multi_is_never_negative_nor_above_the_points(keys, selected):
    score = score_choice(ItemType.MULTI, keys, selected, Decimal(2))
    assert Decimal(0) <= score <= Decimal(2)
    assert (score * 2) == (score * 2).to_integral_value()


@pytest.mark.parametrize("subject", [s for s in Subject if s.kind.value == "OBJECTIVE"])
def test_objective_specs_are_60_single_and_20_multi_for_100_marks(subject):
    spec = specs.load(subject)
    assert [(s.item_type, s.count, s.points) for s in spec.sections] == [
        (ItemType.SINGLE, 60, 1), (ItemType.MULTI, 20, 2)]
    assert spec.full_marks == 100 and spec.pass_mark == 60 and spec.minutes == 120


def test_subjective_specs_add_up_to_100():
    assert specs.load(Subject.PRAC_MID).full_marks == 100
    assert specs.load(Subject.PRAC_MID).minutes == 150
    for variant in specs.variants(Subject.PRAC_SR):
        assert specs.load(Subject.PRAC_SR, variant).full_marks == 100
    assert set(specs.variants(Subject.PRAC_SR)) == {"3+1", "4+2"}


def test_paper_score_and_pass():
    spec = specs.load(Subject.COMP_JR)
    result = score_paper(spec, {"single": [Decimal(1)] * 45, "multi": [Decimal("0.5")] * 30})
    assert result.total == 60 and result.passed
    assert [s.score for s in result.sections] == [45, 15]
    assert not score_paper(spec, {"single": [Decimal(1)] * 59}).passed
