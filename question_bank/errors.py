"""Errors raised by the question_bank domain."""


class QuestionBankError(Exception):
    """Base class for every domain error."""


class InvalidResidentId(QuestionBankError):
    """A resident ID number failed validation; `reason` names the failed check.

    One of "length", "characters", "birth_date", "check_character".
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class QuotaNotMet(QuestionBankError):
    """The bank cannot fill a section of a paper: `section`, `needed`, `available`."""

    def __init__(self, section: str, needed: int, available: int):
        super().__init__(f"section {section}: needs {needed} items, the bank has {available}")
        self.section = section
        self.needed = needed
        self.available = available
