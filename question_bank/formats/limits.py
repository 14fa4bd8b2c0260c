"""File-level outcomes shared by every format: a whole-file refusal, and size limits."""

from ..errors import QuestionBankError

# A generous ceiling against decompression bombs: 100,000 rich items stay far below it.
MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024


class UnreadableFile(QuestionBankError):
    """The file as a whole cannot be read; `message` is a translatable text."""

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params

