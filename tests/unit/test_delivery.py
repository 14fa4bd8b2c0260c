"""What reaches the candidate's browser, and shown letters ↔ the item's own letters."""

import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from question_bank import delivery
from question_bank.items import ItemType

from .bank_samples import CASE, ESSAY, MULTI, SINGLE


def _texts(view) -> str:
    return repr(view)


@pytest.mark.parametrize("content", [SINGLE, MULTI, CASE, ESSAY], ids=lambda c: c.item_type.value)
def test_the_candidate_view_holds_no_key_no_explanation_and_no_key_point(content):
    order = tuple(range(len(content.options)))
    view = delivery.candidate_view(content, order, position=3, section="s", points=Decimal(2))
    text = _texts(view)
    assert content.explanation not in text
    assert "keys" not in view and "key_points" not in text
    for sub in content.sub_questions:
        assert all(kp.text not in text for kp in sub.key_points)
    for kp in content.key_points:
        assert kp.text not in text


def test_options_are_shown_in_the_drawn_order_and_relabelled():
    view = delivery.candidate_view(MULTI, (4, 2, 0, 1, 3), position=1, section="multi",
                                   points=Decimal(2))
    assert [o["letter"] for o in view["options"]] == list("ABCDE")
    assert [o["text"] for o in view["options"]] == [MULTI.options[i] for i in (4, 2, 0, 1, 3)]


@given(st.permutations(range(5)), st.sets(st.sampled_from("ABCDE")))
def test_shown_and_stored_letters_convert_both_ways(order, shown):
    order = tuple(order)
    stored = delivery.shown_to_stored(ItemType.MULTI, order, sorted(shown))
    assert stored == "".join(sorted(stored))
    assert delivery.stored_to_shown(stored, order) == sorted(shown)


def test_the_key_is_given_in_shown_letters():
    order = (3, 0, 1, 2)  # stored D is shown first
    assert delivery.feedback_view(SINGLE, order)["keys"] == ["B"]  # SINGLE's key is A
    assert delivery.shown_to_stored(ItemType.SINGLE, order, ["B"]) == "A"


@pytest.mark.parametrize("item_type, count, shown", [
    (ItemType.SINGLE, 4, ["E"]),
    (ItemType.SINGLE, 4, ["A", "B"]),
    (ItemType.MULTI, 5, ["A", "A"]),
    (ItemType.MULTI, 5, ["F"]),
    (ItemType.MULTI, 5, ["a"]),
    (ItemType.MULTI, 5, [1]),
])
def test_impossible_selections_are_refused(item_type, count, shown):
    with pytest.raises(delivery.InvalidSelection):
        delivery.shown_to_stored(item_type, tuple(range(count)), shown)


def test_an_empty_selection_clears_the_answer():
    assert delivery.shown_to_stored(ItemType.MULTI, tuple(range(5)), []) == ""


def test_option_orders_are_stored_compactly():
    for order in itertools.permutations(range(5)):
        assert delivery.decode_order(delivery.encode_order(order)) == order
