"""Database models; importing this package registers every table."""

from .accounts import (  # noqa: F401
    CandidateProfile,
    EmploymentPeriod,
    HeldCertificate,
    LoginThrottle,
    PasswordResetToken,
    Role,
    SignUpRequest,
    User,
)
from .attempts import (  # noqa: F401
    Attempt,
    AttemptItem,
    BankRevision,
    Bookmark,
    Response,
    WrongAnswer,
)
from .audit import AuditEvent  # noqa: F401
from .bank import Item, ItemLink, ItemReview, ItemVersion  # noqa: F401
from .certificates import Certificate  # noqa: F401
from .jobs import Job  # noqa: F401
from .mail import OutboxMail  # noqa: F401
from .marking import Mark  # noqa: F401
from .sittings import (  # noqa: F401
    ExamSession,
    PassLine,
    Qualification,
    Registration,
    SubjectResult,
)
from .training import TrainingProgramme, TrainingRequirement  # noqa: F401
