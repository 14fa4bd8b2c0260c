"""Resident ID numbers: parsing, check character, derived data, masking."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from question_bank.errors import InvalidResidentId, QuestionBankError
from question_bank.levels import Gender
from question_bank.resident_id import (
    check_character,
    mask_resident_id,
    parse_resident_id,
)

ID_ENDING_IN_X = "11010519491231002X"  # the GB 11643-1999 example
CHARACTERS = "0123456789X"


def make_id(region: str = "440305", birth: str = "19900307", sequence: str = "123"):
    first17 = region + birth + sequence
    return first17 + check_character(first17)


def reason_for(text: str, **kwargs) -> str:
    with pytest.raises(InvalidResidentId) as caught:
        parse_resident_id(text, **kwargs)
    return caught.value.reason


def test_check_character_matches_the_standard_example():
    assert check_character(ID_ENDING_IN_X[:17]) == "X"
    assert check_character("44052419800101001") == "3"


def test_check_character_refuses_anything_but_17_ascii_digits():
    for bad in ("4405241980010100", "440524198001010012", "4405241980010100X"):
        with pytest.raises(ValueError):
            check_character(bad)


def test_id_ending_in_x_is_parsed_with_its_birth_date_gender_and_region():
    parsed = parse_resident_id(ID_ENDING_IN_X)
    assert parsed.number == ID_ENDING_IN_X
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.gender == Gender.FEMALE
    assert parsed.region_code == "110105"


def test_odd_sequence_digit_means_male_and_even_means_female():
    assert parse_resident_id(make_id(sequence="001")).gender == Gender.MALE
    assert parse_resident_id(make_id(sequence="128")).gender == Gender.FEMALE


def test_lower_case_x_is_accepted_and_stored_upper_case():
    assert parse_resident_id(ID_ENDING_IN_X.lower()).number == ID_ENDING_IN_X


def test_surrounding_whitespace_is_ignored():
    number = make_id()
    assert parse_resident_id(f"  {number}\n").number == number


def test_inner_whitespace_is_rejected():
    number = make_id()
    assert reason_for(number[:6] + " " + number[6:17]) == "characters"


@pytest.mark.parametrize("position", range(18))
def test_every_single_character_change_is_rejected(position):
    for sample in (ID_ENDING_IN_X, make_id()):
        for replacement in CHARACTERS:
            if replacement == sample[position]:
                continue
            mutated = sample[:position] + replacement + sample[position + 1 :]
            with pytest.raises(InvalidResidentId):
                parse_resident_id(mutated)


def test_x_is_allowed_only_as_the_check_character():
    number = make_id()
    assert reason_for("X" + number[1:]) == "characters"


def test_wrong_check_character_names_the_check_character():
    number = make_id()
    wrong = "0" if number[17] != "0" else "1"
    assert reason_for(number[:17] + wrong) == "check_character"


@pytest.mark.parametrize(
    "birth", ["19990230", "19991301", "19990001", "19990100", "19000229", "18991231"]
)
def test_impossible_or_too_early_birth_date_is_rejected(birth):
    assert reason_for(make_id(birth=birth)) == "birth_date"


@pytest.mark.parametrize(
    ("birth", "expected"),
    [("20000229", date(2000, 2, 29)), ("19000101", date(1900, 1, 1))],
)
def test_real_birth_dates_at_the_edges_are_accepted(birth, expected):
    assert parse_resident_id(make_id(birth=birth)).birth_date == expected


def test_birth_date_after_today_is_rejected_only_when_today_is_given():
    number = make_id(birth="20300101")
    assert reason_for(number, today=date(2029, 12, 31)) == "birth_date"
    assert parse_resident_id(number, today=date(2030, 1, 1)).birth_date == date(
        2030, 1, 1
    )
    assert parse_resident_id(number).birth_date == date(2030, 1, 1)


def test_fifteen_digit_first_generation_id_is_rejected():
    assert reason_for("110105491231002") == "length"


@pytest.mark.parametrize("text", ["", "1101051949123100", ID_ENDING_IN_X + "0"])
def test_wrong_length_is_rejected(text):
    assert reason_for(text) == "length"


def test_full_width_digits_are_rejected():
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in ID_ENDING_IN_X)  # "１１０…Ｘ"
    assert reason_for(full_width) == "characters"
    assert reason_for(full_width[:17] + "X") == "characters"


def test_other_unicode_digits_are_rejected():
    arabic_indic = "".join(chr(0x0660 + int(c)) for c in ID_ENDING_IN_X[:17])
    assert reason_for(arabic_indic + "X") == "characters"


def test_invalid_resident_id_is_a_question_bank_error():
    with pytest.raises(QuestionBankError):
        parse_resident_id("nonsense")


def test_mask_hides_birth_date_and_keeps_region_and_last_four():
    assert mask_resident_id(ID_ENDING_IN_X) == "110105********002X"


valid_ids = st.tuples(
    st.text("0123456789", min_size=6, max_size=6),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    st.integers(min_value=0, max_value=999),
)


@settings(deadline=None)
@given(valid_ids)
def test_any_valid_id_gives_back_its_birth_date_and_gender(parts):
    region, birth, sequence = parts
    number = make_id(region, f"{birth:%Y%m%d}", f"{sequence:03d}")
    parsed = parse_resident_id(number)
    assert parsed.number == number
    assert parsed.birth_date == birth
    assert parsed.gender == (Gender.MALE if sequence % 2 else Gender.FEMALE)
    assert parsed.region_code == region


@settings(deadline=None)
@given(valid_ids, st.integers(min_value=0, max_value=17), st.sampled_from(CHARACTERS))
def test_any_single_change_to_a_valid_id_is_rejected(parts, position, replacement):
    region, birth, sequence = parts
    number = make_id(region, f"{birth:%Y%m%d}", f"{sequence:03d}")
    if number[position] == replacement:
        replacement = CHARACTERS[(CHARACTERS.index(replacement) + 1) % 10]
    mutated = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(InvalidResidentId):
        parse_resident_id(mutated)
