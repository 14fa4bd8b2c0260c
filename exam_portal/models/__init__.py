"""Database models; importing this package registers every table."""

from exam_portal.models.accounts import (  # noqa: F401
    CandidateProfile,
    EmploymentPeriod,
    HeldCertificate,
    LoginThrottle,
    PasswordResetToken,
    Role,
    SignUpRequest,
    User,
)
from exam_portal.models.attempts import (  # noqa: F401
    Attempt,
    AttemptItem,
    BankChange,
    BankRevision,
    Bookmark,
    Response,
    ReviewCard,
    ReviewLog,
)
from exam_portal.models.audit import AuditEvent  # noqa: F401
from exam_portal.models.bank import (  # noqa: F401
    Item,
    ItemExposure,
    ItemLink,
    ItemReview,
    ItemVersion,
)
from exam_portal.models.certificates import Certificate  # noqa: F401
from exam_portal.models.class_marking import PracticeMark  # noqa: F401
from exam_portal.models.classes import (  # noqa: F401
    AssignmentAttempt,
    ClassAssignment,
    ClassEnrolment,
    ClassInvitation,
    TrainingClass,
)
from exam_portal.models.contests import (  # noqa: F401
    Contest,
    ContestEntry,
    ContestItem,
    ContestItemRate,
    ContestStanding,
)
from exam_portal.models.continuing_education import (  # noqa: F401
    CeCompletion,
    CeCourse,
    CePeriod,
    CeRegistration,
    CeRenewal,
    CeTranscript,
)
from exam_portal.models.evidence import EvidenceDocument  # noqa: F401
from exam_portal.models.forms import AssemblyPlan, ExamForm, ExamFormItem  # noqa: F401
from exam_portal.models.institutions import Institution, InstitutionMember  # noqa: F401
from exam_portal.models.jobs import Job  # noqa: F401
from exam_portal.models.mail import OutboxMail  # noqa: F401
from exam_portal.models.marking import Mark  # noqa: F401
from exam_portal.models.mastery import KnowledgeMastery, MasteryModel, StudyGoal  # noqa: F401
from exam_portal.models.notes import ErrorReport, ItemNote  # noqa: F401
from exam_portal.models.notifications import (  # noqa: F401
    Notification,
    NotificationPreference,
)
from exam_portal.models.payments import Payment  # noqa: F401
from exam_portal.models.seating import SeatAssignment, SubjectTime  # noqa: F401
from exam_portal.models.sittings import (  # noqa: F401
    ExamSession,
    PassLine,
    Qualification,
    Registration,
    SubjectResult,
)
from exam_portal.models.statistics import (  # noqa: F401
    FormStatistics,
    ItemStatistics,
    KeyDecision,
)
from exam_portal.models.trainer_invitations import TrainerInvitation  # noqa: F401
from exam_portal.models.training import TrainingProgramme, TrainingRequirement  # noqa: F401
