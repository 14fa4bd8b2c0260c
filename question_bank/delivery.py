"""What a candidate's browser receives: items without keys, and answers in shown letters.

Options are shown in a per-candidate order; the candidate picks shown letters, and
responses are stored with the item's own letters so scoring never depends on the
order.
"""

from collections.abc import Iterable
from decimal import Decimal

from .items import LETTERS, ItemContent, ItemType, show_points


class InvalidSelection(ValueError):
    """A selection that is not a possible answer to the item (unknown or repeated
    letters, several letters for a single-choice item)."""


def candidate_view(content: ItemContent, option_order: tuple[int, ...], *,
                   position: int, section: str, points: Decimal) -> dict:
    """The item as the candidate sees it during an attempt: no keys, no explanation,
    no key points. Everything here may safely reach the browser."""
    view = {
        "position": position,
        "section": section,
        "type": content.item_type.value,
        "stem": content.stem,
        "points": show_points(points),
    }
    if content.item_type.is_choice:
        view["options"] = [{"letter": LETTERS[shown], "text": content.options[stored]}
                           for shown, stored in enumerate(option_order)]
    elif content.sub_questions:
        view["sub_questions"] = [{"prompt": sub.prompt, "points": show_points(sub.points)}
                                 for sub in content.sub_questions]
    return view


def feedback_view(content: ItemContent, option_order: tuple[int, ...]) -> dict:
    """What is revealed once the review policy allows it: keys in shown letters,
    the explanation and the key points."""
    view = {"explanation": content.explanation}
    if content.item_type.is_choice:
        view["keys"] = stored_to_shown(content.keys, option_order)
    elif content.sub_questions:
        view["sub_questions"] = [
            {"prompt": sub.prompt, "points": show_points(sub.points),
             "key_points": [{"text": kp.text, "points": show_points(kp.points)}
                            for kp in sub.key_points]}
            for sub in content.sub_questions]
    else:
        view["key_points"] = [{"text": kp.text, "points": show_points(kp.points)}
                              for kp in content.key_points]
    return view


def shown_to_stored(item_type: ItemType, option_order: tuple[int, ...],
                    shown: Iterable[str]) -> str:
    """Turn the shown letters a candidate picked into the item's own letters, sorted.

    Raises InvalidSelection for letters the item does not show, repeats, or more than
    one letter on a single-choice item. An empty selection clears the answer.
    """
    shown = list(shown)
    letters = LETTERS[:len(option_order)]
    if any(not isinstance(letter, str) or letter not in letters for letter in shown):
        raise InvalidSelection("unknown option")
    if len(set(shown)) != len(shown):
        raise InvalidSelection("repeated option")
    if item_type is ItemType.SINGLE and len(shown) > 1:
        raise InvalidSelection("single choice takes one option")
    return "".join(sorted(LETTERS[option_order[letters.index(letter)]] for letter in shown))


def stored_to_shown(stored: Iterable[str], option_order: tuple[int, ...]) -> list[str]:
    """The shown letters of the item's own letters *stored*, in shown order."""
    indexes = {LETTERS.index(letter) for letter in stored}
    return [LETTERS[shown] for shown, index in enumerate(option_order) if index in indexes]


def encode_order(option_order: tuple[int, ...]) -> str:
    """Store an option order compactly: (2, 0, 3, 1) → "2031"."""
    return "".join(str(index) for index in option_order)


def decode_order(text: str) -> tuple[int, ...]:
    return tuple(int(character) for character in text)
