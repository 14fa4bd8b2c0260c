"""Resident identity card numbers (居民身份证号码), GB 11643-1999."""

from dataclasses import dataclass
from datetime import date

from .errors import InvalidResidentId
from .levels import Gender

# ISO 7064 MOD 11-2: weight 2**(17 - i) mod 11 for position i (0-based), and the
# check character indexed by the weighted sum mod 11.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"
# str.isdigit() also accepts full-width and other Unicode digits: compare to ASCII.
_DIGITS = frozenset("0123456789")
_EARLIEST_BIRTH = date(1900, 1, 1)


@dataclass(frozen=True)
class ResidentId:
    number: str  # 18 characters, the check character upper-case
    birth_date: date
    gender: Gender
    region_code: str  # the six-digit GB/T 2260 code of the issuing county


def check_character(first17: str) -> str:
    """Return the check character for the first 17 digits of an ID number."""
    if len(first17) != 17 or not set(first17) <= _DIGITS:
        raise ValueError("expected 17 ASCII digits")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[total % 11]


def parse_resident_id(text: str, *, today: date | None = None) -> ResidentId:
    """Validate an 18-character ID number and derive birth date and gender.

    :param today: when given, a birth date after it is rejected.
    :raises InvalidResidentId: with reason "length", "characters", "birth_date"
        or "check_character".
    """
    number = text.strip()
    if len(number) != 18:
        raise InvalidResidentId("length")
    if number[17] == "x":
        number = number[:17] + "X"
    if not set(number[:17]) <= _DIGITS or number[17] not in _DIGITS | {"X"}:
        raise InvalidResidentId("characters")
    try:
        birth_date = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as error:
        raise InvalidResidentId("birth_date") from error
    if birth_date < _EARLIEST_BIRTH or (today is not None and birth_date > today):
        raise InvalidResidentId("birth_date")
    if check_character(number[:17]) != number[17]:
        raise InvalidResidentId("check_character")
    # GB 11643: the sequence code's last digit is odd for men, even for women.
    gender = Gender.MALE if int(number[16]) % 2 else Gender.FEMALE
    return ResidentId(number, birth_date, gender, number[:6])


def mask_resident_id(number: str) -> str:
    """Hide the birth date and the start of the sequence: 110105********002X."""
    return number[:6] + "*" * 8 + number[14:]
