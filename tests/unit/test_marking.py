"""Marking against key points: 0.5 steps, caps per sub-question, double marking."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from question_bank.marking import InvalidMarks, final_mark, needs_adjudication, rubric_of, total

from .bank_samples import CASE, ESSAY, SINGLE

D = Decimal


def test_the_rubric_follows_the_sub_questions_and_their_key_points():
    rubric = rubric_of(CASE)
    assert rubric.shape == (2, 1) and rubric.full_marks == 20
    assert rubric_of(ESSAY).shape == (3,)
    with pytest.raises(ValueError):
        rubric_of(SINGLE)


def test_points_add_up_per_key_point_and_a_sub_question_is_capped():
    rubric = rubric_of(CASE)  # sub 1: 2.5 + 7.5 (cap 10); sub 2: 10 (cap 10)
    assert total(rubric, [[D("2.5"), D("7.5")], [D(4)]]) == D(14)
    assert total(rubric, [[D(0), D(0)], [D(0)]]) == 0


def test_essay_key_points_above_the_cap_give_markers_alternatives():
    rubric = rubric_of(ESSAY)  # 6 + 7 + 7 = 20, cap 20
    assert total(rubric, [[D(6), D(7), D(7)]]) == 20


@pytest.mark.parametrize("awarded, reason", [
    ([[D("1.3"), D(0)], [D(0)]], "step"),
    ([[D(3), D(0)], [D(0)]], "range"),
    ([[D(-1), D(0)], [D(0)]], "range"),
    ([[D(0)], [D(0)]], "shape"),
    ([[D("NaN"), D(0)], [D(0)]], "number"),
])
def test_marks_that_do_not_fit_the_rubric_are_refused(awarded, reason):
    with pytest.raises(InvalidMarks) as raised:
        total(rubric_of(CASE), awarded)
    assert raised.value.reason == reason


def test_a_third_marker_is_needed_only_beyond_the_threshold():
    assert not needs_adjudication(D(12), D(15), D(3))
    assert needs_adjudication(D(12), D("15.5"), D(3))


def test_the_final_mark_is_the_average_in_half_steps_or_the_adjudicators():
    assert final_mark(D(12), D(13)) == D("12.5")
    assert final_mark(D(12), D("12.5")) == D("12.5")  # 12.25 rounds half up to 12.5
    assert final_mark(D(12), D("13.5")) == D(13)  # 12.75 → 13
    assert final_mark(D(4), D(16), D(9)) == D(9)


@given(st.integers(0, 40), st.integers(0, 40))
def test_the_average_lies_between_the_two_marks_in_half_steps(a, b):
    first, second = D(a) / 2, D(b) / 2
    mark = final_mark(first, second)
    assert min(first, second) <= mark <= max(first, second)
    assert mark * 2 == int(mark * 2)
