"""Item analysis against figures worked out by hand on a 10-candidate form."""

import dataclasses
import math

import numpy as np
import pytest

from question_bank.item_analysis import FormItem, Thresholds, analyse, letters_of, mask_of
from question_bank.items import ItemType

A, B, C, D, E = 1, 2, 4, 8, 16
ITEMS = [FormItem.choice(ItemType.SINGLE, "A"), FormItem.choice(ItemType.SINGLE, "B"),
         FormItem.choice(ItemType.MULTI, "AC"), FormItem.choice(ItemType.SINGLE, "D"),
         FormItem(ItemType.CASE_ANALYSIS, 10)]
# Half-points; SINGLE max 2, MULTI max 4 (A+C: 4, A or C alone: 1, a wrong option: 0),
# the case item max 10. T = total, ranks by T from the lowest (0) to the highest (9).
#
#  cand  I0 key A   I1 key B   I2 key AC   I3 key D   I4    T   rank
#  c0    A   2      C   0      AC  4       D   2      8    16   9
#  c1    A   2      C   0      AC  4       B   0      9    15   7–8 (tied with c3)
#  c2    A   2      C   0      A   1       D   2      7    12   6
#  c3    A   2      B   2      AC  4       D   2      5    15   7–8
#  c4    -   0      B   2      C   1       D   2      6    11   5
#  c5    A   2      A   0      ACD 0       B   0      6     8   4
#  c6    C   0      B   2      A   1       C   0      4     7   2–3 (tied with c7)
#  c7    B   0      B   2      BE  0       D   2      3     7   2–3
#  c8    B   0      B   2      -   0       C   0      2     4   1
#  c9    D   0      D   0      B   0       C   0      1     1   0
CHOICES = np.array([[A, C, A | C, D, 0], [A, C, A | C, B, 0], [A, C, A, D, 0],
                    [A, B, A | C, D, 0], [0, B, C, D, 0], [A, A, A | C | D, B, 0],
                    [C, B, A, C, 0], [B, B, B | E, D, 0], [B, B, 0, C, 0],
                    [D, D, B, C, 0]], dtype=np.uint8)
SCORES = np.array([[2, 0, 4, 2, 8], [2, 0, 4, 0, 9], [2, 0, 1, 2, 7], [2, 2, 4, 2, 5],
                   [0, 2, 1, 2, 6], [2, 0, 0, 0, 6], [0, 2, 1, 0, 4], [0, 2, 0, 2, 3],
                   [0, 2, 0, 0, 2], [0, 0, 0, 0, 1]], dtype=np.int16)
# The 27 % groups: g = ⌊0.27·10 + ½⌋ = 3 places. Upper: ranks 7–9 = c1, c3, c0. Lower:
# ranks 0–2 = c9, c8 and rank 2, which c6 and c7 share (tied at 7): ½ a place each.
# Quintiles: ranks [0,2) c9 c8 · [2,4) c6 c7 · [4,6) c5 c4 · [6,8) c2 and ½ c1, ½ c3
# (the tied block of ranks 7–8 straddles 8) · [8,10) ½ c1, ½ c3, c0.


@pytest.fixture(scope="module")
def analysis():
    return analyse(SCORES, ITEMS, CHOICES, pass_line_halves=12)


def test_letters_and_masks_follow_the_stored_option_order():
    assert mask_of("AC") == 5 and letters_of(A | C | D) == "ACD" and mask_of("") == 0


def test_facility_is_the_mean_share_of_the_maximum(analysis):
    # I0: 5 × 2 / (10 × 2); I2: (4+4+1+4+1+1) / (10 × 4) = 15/40; I4: 51 / 100.
    assert [item.facility for item in analysis.items] == pytest.approx(
        [0.5, 0.5, 15 / 40, 0.5, 51 / 100])


def test_discrimination_is_the_item_rest_correlation(analysis):
    # I0: X = 2 2 2 2 0 2 0 0 0 0 (ΣX 10, mean 1, Σ(X−1)² = 10); R = T − X =
    #   14 13 10 13 11 6 7 7 4 1 (ΣR 86, ΣR² 906, Σ(R−8.6)² = 906 − 10·8.6² = 166.4);
    #   Σ(X−1)(R−8.6) = ΣXR − 10·1·8.6 = 2·(14+13+10+13+6) − 86 = 26.
    # I1: X = 0 0 0 2 2 0 2 2 2 0; R = 16 15 12 13 9 8 5 5 2 1 (ΣR² 994, Σ(R−8.6)² 254.4);
    #   ΣXR − 86 = 2·(13+9+5+5+2) − 86 = −18.
    item0, item1 = analysis.items[:2]
    assert item0.discrimination == pytest.approx(26 / math.sqrt(10 * 166.4))  # 0.637
    assert item1.discrimination == pytest.approx(-18 / math.sqrt(10 * 254.4))  # −0.357
    assert "DISCRIMINATION_NEGATIVE" in item1.flag_codes
    assert "DISCRIMINATION_NEGATIVE" not in item0.flag_codes


def test_upper_lower_index_shares_a_tied_boundary_place(analysis):
    # I1 upper: c1 0, c3 1, c0 0 → 1/3; lower: c9 0, c8 1, ½·c6 1 + ½·c7 1 → 2/3.
    # I3 upper: c1 0, c3 1, c0 1 → 2/3; lower: c9 0, c8 0, ½·c6 0 + ½·c7 1 → 1/6.
    item0, item1, _, item3, _ = analysis.items
    assert (item1.upper_facility, item1.lower_facility) == pytest.approx((1 / 3, 2 / 3))
    assert item1.upper_lower == pytest.approx(-1 / 3)
    assert item3.upper_lower == pytest.approx(2 / 3 - 1 / 6)
    assert item0.upper_lower == pytest.approx(1.0)


def test_option_shares_overall_and_by_quintile(analysis):
    key = analysis.items[1].options[1]  # I1's key B
    assert key.letter == "B" and key.is_key and key.chosen == pytest.approx(0.5)
    # [0,2): c9 D, c8 B → ½ · [2,4): c6 B, c7 B → 1 · [4,6): c5 A, c4 B → ½ ·
    # [6,8): c2 C, ½·c1 C, ½·c3 B → ¼ · [8,10): ½·c1 C, ½·c3 B, c0 C → ¼.
    assert key.chosen_by_quintile == pytest.approx((0.5, 1.0, 0.5, 0.25, 0.25))
    multi = analysis.items[2]
    assert [option.chosen for option in multi.options] == pytest.approx(
        [0.6, 0.2, 0.5, 0.1, 0.1])  # a MULTI item's shares add up to more than 1
    assert analysis.items[0].blank == pytest.approx(0.1) and analysis.items[4].options == ()


def test_top_group_choosing_a_distractor_over_the_key_is_flagged(analysis):
    # I1 upper group: C by c0 and c1 (2/3), the key B by c3 only (1/3).
    # C's option–rest r: chosen by c0 c1 c2, rests 16 15 12 (Σ 43):
    #   Σ(I−0.3)(R−8.6) = 43 − 3·8.6 = 17.2; Σ(I−0.3)² = 3 − 10·0.09 = 2.1; Σ(R−8.6)² = 254.4.
    item1 = analysis.items[1]
    flags = {(flag.code, flag.option): flag for flag in item1.flags}
    preferred = flags["DISTRACTOR_PREFERRED_BY_TOP_GROUP", "C"]
    assert (preferred.value, preferred.limit) == pytest.approx((2 / 3, 1 / 3))
    assert flags["DISTRACTOR_POSITIVE", "C"].value == pytest.approx(17.2 / math.sqrt(2.1 * 254.4))
    assert len(flags) == 3  # with the negative discrimination


def test_rare_and_positively_correlated_distractors_are_flagged(analysis):
    # I3: nobody chose A (0 < 5 %). B was chosen by c1 and c5, rests 15 and 8; I3's rests
    # 14 15 10 13 9 8 7 5 4 1 (ΣR² 926, Σ(R−8.6)² 186.4); Σ(I−0.2)(R−8.6) = 23 − 2·8.6 = 5.8,
    # Σ(I−0.2)² = 2 − 10·0.04 = 1.6.
    item3 = analysis.items[3]
    assert item3.flag_codes == ("DISTRACTOR_RARE", "DISTRACTOR_POSITIVE")
    rare, positive = item3.flags
    assert (rare.option, rare.value, rare.limit) == ("A", 0.0, 0.05)
    assert positive.option == "B"
    assert positive.value == pytest.approx(5.8 / math.sqrt(1.6 * 186.4))  # 0.336
    assert item3.options[0].point_biserial is None  # never chosen: no variance
    assert analysis.items[0].flags == () and analysis.items[2].flags == ()


def test_thresholds_are_configurable(analysis):
    strict = analyse(SCORES, ITEMS, CHOICES,
                     thresholds=Thresholds(min_discrimination=0.7, max_facility=0.45))
    assert strict.items[0].flag_codes == ("FACILITY_HIGH", "DISCRIMINATION_LOW")
    assert strict.items[4].flag_codes == ("FACILITY_HIGH", "DISCRIMINATION_LOW")


def test_form_mean_sd_alpha_sem_and_pass_rate(analysis):
    # ΣT = 96, ΣT² = 1150 (half-points): mean 9.6, population variance 115 − 9.6² = 22.84.
    # Item variances: I0, I1, I3: 1 each; I2: 51/10 − 1.5² = 2.85; I4: 321/10 − 5.1² = 6.09
    # → Σ 11.94. α = 5/4 · (1 − 11.94 / 22.84).
    form = analysis.form
    sd = math.sqrt(22.84) / 2
    alpha = 5 / 4 * (1 - 11.94 / 22.84)
    assert (form.n, form.full_halves, form.mean_points) == (10, 20, pytest.approx(4.8))
    assert (form.sd_points, form.alpha) == pytest.approx((sd, 0.596541), rel=1e-6)
    assert form.alpha == pytest.approx(alpha) and form.kr20 is None  # I2, I4 are not 0/max
    assert form.sem_points == pytest.approx(sd * math.sqrt(1 - alpha))  # 1.518
    assert form.pass_rate == pytest.approx(0.4)  # 16, 15, 15, 12 ≥ 12


def test_kr20_is_given_for_dichotomous_items_only():
    # I0 and I3 in items right: 2 1 2 2 1 1 0 1 0 0 → mean 1, variance 16/10 − 1 = 0.6;
    # p = ½ for both: Σpq = 0.5. KR-20 = 2/1 · (1 − 0.5/0.6) = 1/3; SEM = √0.6 · √(2/3).
    form = analyse(SCORES[:, [0, 3]], [ITEMS[0], ITEMS[3]]).form
    assert form.kr20 == pytest.approx(1 / 3) and form.alpha == pytest.approx(1 / 3)
    assert form.sem_points == pytest.approx(math.sqrt(0.4))


def test_score_distribution_bins(analysis):
    # Totals 1 4 7 7 8 11 12 15 15 16; default: one bin a point, [p, p + 1).
    assert analysis.form.distribution.counts == (1, 0, 1, 2, 1, 1, 1, 2, 1, 0, 0)
    # Given edges: [0, 12) and [12, 16], the last bin closed as numpy.histogram.
    given = analyse(SCORES, ITEMS, bin_edges_halves=[0, 12, 16]).form.distribution
    assert given.edges_halves == (0, 12, 16) and given.counts == (6, 4)


def test_row_order_does_not_change_any_figure(analysis):
    order = np.random.default_rng(0).permutation(10)
    assert analyse(SCORES[order], ITEMS, CHOICES[order], pass_line_halves=12) == analysis


def _no_nan(value):
    if dataclasses.is_dataclass(value):
        return all(_no_nan(getattr(value, field.name)) for field in dataclasses.fields(value))
    if isinstance(value, tuple):
        return all(_no_nan(part) for part in value)
    return not (isinstance(value, float) and math.isnan(value))


def test_one_candidate_has_no_discrimination_groups_or_alpha():
    result = analyse(SCORES[:1], ITEMS, CHOICES[:1], pass_line_halves=12)
    assert _no_nan(result)
    item = result.items[0]
    assert (item.facility, item.discrimination, item.upper_lower) == (1.0, None, None)
    assert item.options[0].chosen_by_quintile is None
    assert "DISCRIMINATION_UNDEFINED" in item.flag_codes
    form = result.form
    assert (form.sd_points, form.alpha, form.sem_points, form.pass_rate) == (0.0, None, None, 1)


def test_an_item_everyone_answers_right_has_no_discrimination():
    scores = SCORES.copy()
    scores[:, 0] = 2
    item = analyse(scores, ITEMS).items[0]
    assert item.facility == 1.0 and item.discrimination is None
    assert item.flag_codes == ("FACILITY_HIGH", "DISCRIMINATION_UNDEFINED")


def test_all_blank_papers_and_no_candidates_leave_no_nan():
    blank = analyse(np.zeros((4, 5), np.int16), ITEMS, np.zeros((4, 5), np.uint8),
                    pass_line_halves=12)
    assert _no_nan(blank)
    item = blank.items[0]
    assert (item.facility, item.blank, item.upper_lower) == (0.0, 1.0, None)
    assert item.flag_codes == ("FACILITY_LOW", "DISCRIMINATION_UNDEFINED",
                               "DISTRACTOR_RARE", "DISTRACTOR_RARE", "DISTRACTOR_RARE")
    assert (blank.form.alpha, blank.form.pass_rate) == (None, 0.0)
    empty = analyse(np.zeros((0, 5), np.int16), ITEMS, np.zeros((0, 5), np.uint8))
    assert _no_nan(empty) and empty.form.mean_points is None
    assert empty.items[0].facility is None and empty.items[0].flags == ()


def test_an_option_the_item_does_not_have_is_refused():
    choices = CHOICES.copy()
    choices[0, 0] = E  # a SINGLE item has four options
    with pytest.raises(ValueError, match="item 0"):
        analyse(SCORES, ITEMS, choices)


def test_an_item_across_papers_is_read_against_the_rest_of_each_paper():
    """Six answers to one single-choice item (key B) in mock papers of different
    lengths: the rest of each paper as a share, scaled to 200 steps."""
    from question_bank.item_analysis import REST_SCALE, analyse_across_papers

    item = FormItem.choice(ItemType.SINGLE, "B")
    scores = [2, 2, 2, 0, 0, 0]  # half-points: 1 point for the key
    choices = [mask_of("B"), mask_of("B"), mask_of("B"), mask_of("A"), mask_of("C"), 0]
    shares = [0.9, 0.75, 0.5, 0.6, 0.25, 0.1]
    stats = analyse_across_papers(item, scores, choices, shares)
    assert stats.facility == pytest.approx(0.5)
    rest = [round(share * REST_SCALE) for share in shares]
    assert stats.discrimination == pytest.approx(float(np.corrcoef(scores, rest)[0, 1]))
    assert stats.blank == pytest.approx(1 / 6)
    shares_by_letter = {option.letter: option.chosen for option in stats.options}
    assert shares_by_letter == pytest.approx({"A": 1 / 6, "B": 0.5, "C": 1 / 6, "D": 0})
    assert any(flag.code == "DISTRACTOR_RARE" and flag.option == "D"  # nobody chose D
               for flag in stats.flags)


def test_rest_shares_outside_zero_to_one_are_refused():
    from question_bank.item_analysis import analyse_across_papers

    with pytest.raises(ValueError):
        analyse_across_papers(FormItem.choice(ItemType.SINGLE, "A"), [2], [1], [1.5])
