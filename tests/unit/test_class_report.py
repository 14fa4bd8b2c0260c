"""A class's figures and a trainer's feedback: completion, score bands, trend, weak
knowledge points, feedback per key point."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from question_bank import class_report
from question_bank.class_report import MemberMastery
from question_bank.marking import InvalidMarks, rubric_of

from .bank_samples import CASE


def test_completion_is_the_share_of_the_enrolled_who_handed_in():
    assert class_report.completion(0, 0) == 0.0
    assert class_report.completion(4, 1) == 0.25
    assert class_report.completion(2, 3) == 1.0  # someone who left after handing in


def test_scores_fall_in_bands_of_ten_with_full_marks_in_the_top_band():
    bands = class_report.score_distribution([0, 9.99, 10, 59.5, 60, 100, 100, 120, -3])
    assert [(b.low, b.high) for b in bands][:2] == [(0, 10), (10, 20)]
    assert [b.count for b in bands] == [3, 1, 0, 0, 0, 1, 1, 0, 0, 3]


@given(st.lists(st.floats(min_value=0, max_value=100)))
def test_every_score_is_counted_once(percents):
    assert sum(b.count for b in class_report.score_distribution(percents)) == len(percents)


@pytest.mark.parametrize(("percents", "expected"), [
    ([], None), ([50], None), ([40, 50, 60], "up"), ([60, 50, 40], "down"),
    ([50, 51, 50, 50.5], "steady"),
])
def test_the_trend_reads_the_least_squares_slope(percents, expected):
    assert class_report.direction(percents) == expected


def test_slope_is_points_per_paper():
    assert class_report.slope([40, 50, 60]) == pytest.approx(10)


def _rows(code, *probabilities):
    return [MemberMastery(code, p, 10, round(10 * p)) for p in probabilities]


def test_a_point_counts_once_enough_members_traced_it_and_the_weakest_come_first():
    rows = (_rows("A", 0.2, 0.3, 0.4) + _rows("B", 0.1, 0.1) + _rows("C", 0.9, 0.85, 0.95)
            + _rows("D", 0.45, 0.3, 0.35, 0.2))
    points = class_report.class_points(class_report.aggregate(rows), enrolled=30)
    assert [p.code for p in points] == ["A", "D", "C"]  # B: two members only
    assert points[0].members == 3 and points[0].p_known == pytest.approx(0.3)
    assert points[0].answered == 30 and points[0].accuracy == pytest.approx(30)
    totals = class_report.aggregate(rows)
    assert [p.code for p in class_report.weak_points(totals, enrolled=30)] == ["A", "D"]
    assert [p.code for p in class_report.weak_points(totals, enrolled=30, limit=1)] == ["A"]


def test_a_class_smaller_than_the_minimum_needs_every_member():
    totals = class_report.aggregate(_rows("B", 0.1, 0.1))
    assert [p.code for p in class_report.weak_points(totals, enrolled=2)] == ["B"]
    assert class_report.weak_points(totals, enrolled=3) == []


def test_feedback_follows_the_rubric_trimmed_and_bounded():
    rubric = rubric_of(CASE)  # shape (2, 1)
    assert class_report.feedback(rubric, [[" 好 ", None], [""]]) == [["好", ""], [""]]
    with pytest.raises(InvalidMarks) as shape:
        class_report.feedback(rubric, [["a"], ["b"]])
    assert shape.value.reason == "shape"
    too_long = "长" * (class_report.FEEDBACK_MAX_CHARS + 1)
    with pytest.raises(InvalidMarks) as length:
        class_report.feedback(rubric, [[too_long, ""], [""]])
    assert length.value.reason == "feedback"
