"""Ranks and percentiles of a mock contest, ties included."""

import random

from hypothesis import given
from hypothesis import strategies as st

from question_bank.contests import Standing, standings, standings_by_group


def test_equal_scores_share_a_rank_and_the_next_score_counts_everyone_above():
    ranked = standings([80, 100, 90, 90, 60])
    assert [s.rank for s in ranked] == [4, 1, 2, 2, 5]
    assert [s.below for s in ranked] == [1, 4, 2, 2, 0]
    assert ranked[1].percentile == 80.0  # beat four of five
    assert ranked[2].percentile == ranked[3].percentile == 40.0
    assert ranked[4].percentile == 0.0


def test_a_contest_where_everyone_scored_the_same_ranks_all_first_beating_nobody():
    assert standings([70, 70, 70]) == [Standing(1, 0, 3)] * 3
    assert standings([55]) == [Standing(1, 0, 1)]
    assert standings([]) == []


def test_standings_within_groups_rank_each_province_on_its_own():
    scores = [90, 80, 80, 70, 95]
    groups = ["110000", "440000", "110000", "440000", None]
    ranked = standings_by_group(scores, groups)
    assert ranked[4] is None
    assert [(s.rank, s.below, s.sitters) for s in ranked[:4]] == \
        [(1, 1, 2), (1, 1, 2), (2, 0, 2), (2, 0, 2)]


@given(st.lists(st.integers(min_value=0, max_value=20), max_size=60))
def test_a_rank_is_one_plus_the_sitters_above_and_below_counts_those_beneath(scores):
    for score, standing in zip(scores, standings(scores), strict=True):
        assert standing.rank == 1 + sum(other > score for other in scores)
        assert standing.below == sum(other < score for other in scores)
        assert standing.sitters == len(scores)


def test_ranking_does_not_depend_on_the_order_sitters_come_in():
    rng = random.Random(3)
    scores = [rng.randrange(0, 241) for _ in range(500)]
    ranked = dict(zip(range(500), standings(scores), strict=True))
    order = list(range(500))
    rng.shuffle(order)
    again = standings([scores[i] for i in order])
    assert all(again[k] == ranked[i] for k, i in enumerate(order))
