"""Rescoring after the key review, on the 10-candidate form of test_item_analysis."""

import numpy as np
import pytest

from question_bank.item_analysis import FormItem
from question_bank.items import ItemType
from question_bank.key_review import (
    DecisionKind,
    InvalidKeyDecision,
    KeyDecision,
    VoidPolicy,
    rescore,
    score_table,
)

from .test_item_analysis import CHOICES, ITEMS, SCORES, A, B, C, D

TOTALS = [16, 15, 12, 15, 11, 8, 7, 7, 4, 1]


def test_the_score_table_is_the_official_rule_in_half_points():
    multi = score_table(FormItem.choice(ItemType.MULTI, "AC"), [A | C])
    # A+C: 2 points; A or C alone: 0.5; any wrong option: 0; blank: 0.
    assert [multi[m] for m in (A | C, A, C, A | C | D, B, 0)] == [4, 1, 1, 0, 0, 0]
    single = score_table(FormItem.choice(ItemType.SINGLE, "B"), [B, C])
    assert [single[m] for m in (B, C, A, B | C, 0)] == [2, 2, 0, 0, 0]


def test_a_rekey_changes_exactly_the_candidates_who_chose_the_old_or_new_key():
    # I1 B → C: c3 c4 c6 c7 c8 chose B (−2), c0 c1 c2 chose C (+2); c5 (A), c9 (D) keep.
    result = rescore(SCORES, CHOICES, ITEMS, [KeyDecision.rekey(1, "C")], pass_line_halves=14)
    assert set(result.changed_candidates) == {0, 1, 2, 3, 4, 6, 7, 8}
    assert result.totals.tolist() == [18, 17, 14, 13, 9, 8, 5, 5, 2, 1]
    assert result.scores[:, 1].tolist() == [2, 2, 2, 0, 0, 0, 0, 0, 0, 0]
    assert (result.scores[:, [0, 2, 3, 4]] == SCORES[:, [0, 2, 3, 4]]).all()
    # Line 7 points: c2 12 → 14 passes now, c3 15 → 13 no longer does.
    summary = result.summary
    assert (summary.changed, summary.crossed_up, summary.crossed_down) == (8, 1, 1)
    assert result.old_totals.tolist() == TOTALS
    assert SCORES[:, 1].tolist() == [0, 0, 0, 2, 2, 0, 2, 2, 2, 0]  # the input is untouched


def test_an_added_key_scores_the_best_of_the_accepted_keys():
    single = rescore(SCORES, CHOICES, ITEMS, [KeyDecision.add_key(1, "C")],
                     pass_line_halves=14)
    assert set(single.changed_candidates) == {0, 1, 2}
    assert single.totals.tolist() == [18, 17, 14, 15, 11, 8, 7, 7, 4, 1]
    # A MULTI item accepting ACD as well as AC: c5 (ACD) 0 → 4; c2 (A) and c6 (A) keep
    # 0.5 point, which both key sets give them.
    multi = rescore(SCORES, CHOICES, ITEMS, [KeyDecision.add_key(2, "ACD")],
                    pass_line_halves=12)
    assert set(multi.changed_candidates) == {5} and multi.scores[5, 2] == 4
    assert (multi.summary.crossed_up, multi.summary.crossed_down) == (1, 0)  # 8 → 12
    # A re-key with an added key: B is replaced by C, and B accepted again.
    both = rescore(SCORES, CHOICES, ITEMS, [KeyDecision.rekey(1, "C"),
                                             KeyDecision.add_key(1, "B")], pass_line_halves=14)
    assert both.totals.tolist() == single.totals.tolist()


def test_a_void_with_credit_gives_everyone_the_full_points():
    result = rescore(SCORES, CHOICES, ITEMS, [KeyDecision.void(3, VoidPolicy.CREDIT_ALL)],
                     pass_line_halves=12)
    assert set(result.changed_candidates) == {1, 5, 6, 8, 9}  # the ones without D
    assert (result.scores[:, 3] == 2).all() and result.dropped == ()


def test_a_dropped_item_leaves_the_paper_and_totals_are_prorated_rounding_ties_up():
    # Drop I2 (max 4 of 20 half-points): total = rest · 20/16 = rest · 5/4, to the nearest
    # half point, exact halves of a half point (quarter points) up:
    # c0 12 → 15 · c1 11 → 13.75 → 14 · c2 11 → 14 · c3 11 → 14 · c4 10 → 12.5 → 13 ·
    # c5 8 → 10 · c6 6 → 7.5 → 8 · c7 7 → 8.75 → 9 · c8 4 → 5 · c9 1 → 1.25 → 1.
    result = rescore(SCORES, CHOICES, ITEMS, [KeyDecision.void(2, VoidPolicy.DROP)],
                     pass_line_halves=12)
    assert result.totals.tolist() == [15, 14, 14, 14, 13, 10, 8, 9, 5, 1]
    assert result.dropped == (2,) and not result.scores[:, 2].any()
    assert set(result.changed_candidates) == set(range(9))  # c9 stays at 1
    summary = result.summary
    assert (summary.changed, summary.crossed_up, summary.crossed_down) == (9, 1, 0)  # c4
    assert summary.full_halves == 20


def test_keep_changes_nothing():
    result = rescore(SCORES, CHOICES, ITEMS, [KeyDecision.keep(0)], pass_line_halves=12)
    assert result.totals.tolist() == TOTALS and result.summary.changed == 0


@pytest.mark.parametrize("decisions, reason", [
    ([KeyDecision.rekey(4, "A")], "subjective"),
    ([KeyDecision.rekey(0, "AB")], "1 to 1 keys"),
    ([KeyDecision.add_key(2, "D")], "2 to 4 keys"),
    ([KeyDecision.rekey(0, "E")], "outside the item's options"),
    ([KeyDecision(3, DecisionKind.VOID)], "needs a policy"),
    ([KeyDecision.keep(1), KeyDecision.rekey(1, "C")], "conflicting"),
    ([KeyDecision.rekey(9, "A")], "no such item"),
    ([KeyDecision.void(i, VoidPolicy.DROP) for i in range(5)], "no paper"),
])
def test_a_decision_that_does_not_fit_its_item_is_refused(decisions, reason):
    with pytest.raises(InvalidKeyDecision, match=reason):
        rescore(SCORES, CHOICES, ITEMS, decisions, pass_line_halves=12)


def test_no_candidates():
    empty = np.zeros((0, 5), np.int16)
    result = rescore(empty, empty.astype(np.uint8), ITEMS, [KeyDecision.rekey(1, "C")],
                     pass_line_halves=12)
    assert result.totals.shape == (0,) and result.summary.changed == 0
