"""The wrong-answer book: in on a wrong answer, out after a run of right ones."""

from hypothesis import given
from hypothesis import strategies as st

from question_bank.learning import BookEntry, after_answer


def test_a_wrong_answer_puts_an_item_in_the_book():
    assert after_answer(None, correct=False) == BookEntry(in_book=True, streak=0, times_wrong=1)


def test_a_right_answer_to_an_item_never_wrong_changes_nothing():
    assert after_answer(None, correct=True) is None


def test_two_right_answers_in_a_row_take_it_out_and_a_wrong_one_restarts_the_run():
    entry = after_answer(None, correct=False)
    entry = after_answer(entry, correct=True)
    assert entry.in_book and entry.streak == 1
    entry = after_answer(entry, correct=False)
    assert entry.in_book and entry.streak == 0 and entry.times_wrong == 2
    entry = after_answer(entry, correct=True)
    entry = after_answer(entry, correct=True)
    assert not entry.in_book and entry.times_wrong == 2


def test_the_run_length_is_configurable():
    entry = after_answer(None, correct=False)
    for _ in range(2):
        entry = after_answer(entry, correct=True, streak_to_leave=3)
    assert entry.in_book
    assert not after_answer(entry, correct=True, streak_to_leave=3).in_book


@given(st.lists(st.booleans(), max_size=30), st.integers(1, 5))
def test_an_item_is_in_the_book_exactly_when_the_last_wrong_answer_has_too_short_a_run(
        answers, streak):
    entry = None
    for correct in answers:
        entry = after_answer(entry, correct=correct, streak_to_leave=streak)
    if False not in answers:
        assert entry is None
        return
    run = len(answers) - 1 - max(i for i, a in enumerate(answers) if not a)
    # Once out, the item stays out until the next wrong answer.
    assert entry.in_book == (run < streak)
    assert entry.times_wrong == answers.count(False)
