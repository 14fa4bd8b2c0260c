"""Training programmes: a candidate completes one by passing a number of mock papers
per subject, each at or above a minimum score; this module says whether they have and,
if not, what is still missing.

Only objective subjects can be required: a mock paper of subjective items is not marked
(the candidate's own marks never count), so it has no score to compare.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .errors import QuestionBankError
from .levels import Level
from .subjects import Subject, SubjectKind

MAX_PAPERS = 50


class InvalidProgramme(QuestionBankError):
    """A programme's requirements cannot be met or make no sense; the message says why
    (`problem`: "empty", "subject", "level", "duplicate", "papers", "min_percent")."""

    def __init__(self, problem: str, subject: Subject | None = None):
        super().__init__(f"{problem}: {subject.value if subject else '-'}")
        self.problem = problem
        self.subject = subject


@dataclass(frozen=True)
class Requirement:
    """Pass *papers* mock papers of *subject*, each with at least *min_percent* % of
    its full marks."""

    subject: Subject
    papers: int
    min_percent: int


@dataclass(frozen=True)
class MockScore:
    """One handed-in, marked mock paper. Points in half-points, exact."""

    subject: Subject
    score_halves: int
    full_halves: int
    submitted_at: datetime

    def reaches(self, min_percent: int) -> bool:
        # score / full >= min_percent / 100, in integers: 59.5 of 100 is not 60 %.
        return self.full_halves > 0 and self.score_halves * 100 >= min_percent * self.full_halves


@dataclass(frozen=True)
class SubjectProgress:
    requirement: Requirement
    passed: int  # papers at or above the minimum score (may exceed the requirement)
    met_at: datetime | None  # when the last paper needed was handed in

    @property
    def is_met(self) -> bool:
        return self.passed >= self.requirement.papers

    @property
    def shortfall(self) -> int:
        return max(0, self.requirement.papers - self.passed)


@dataclass(frozen=True)
class Progress:
    subjects: tuple[SubjectProgress, ...]

    @property
    def is_complete(self) -> bool:
        return bool(self.subjects) and all(s.is_met for s in self.subjects)

    @property
    def completed_at(self) -> datetime | None:
        """When the programme was completed: the moment its last requirement was met."""
        return max(s.met_at for s in self.subjects) if self.is_complete else None

    @property
    def shortfall(self) -> dict[Subject, int]:
        return {s.requirement.subject: s.shortfall for s in self.subjects if not s.is_met}


def check_requirements(requirements: Iterable[Requirement], level: Level | None = None
                       ) -> tuple[Requirement, ...]:
    """Return the requirements if a candidate can meet them (and, for a programme of a
    *level*, if they are all that level's subjects); raise InvalidProgramme."""
    requirements = tuple(requirements)
    if not requirements:
        raise InvalidProgramme("empty")
    seen: set[Subject] = set()
    for requirement in requirements:
        if requirement.subject.kind is not SubjectKind.OBJECTIVE:
            raise InvalidProgramme("subject", requirement.subject)
        if level is not None and requirement.subject.level is not level:
            # The certificate prints the level: it must be the level of the papers.
            raise InvalidProgramme("level", requirement.subject)
        if requirement.subject in seen:
            raise InvalidProgramme("duplicate", requirement.subject)
        if not 1 <= requirement.papers <= MAX_PAPERS:
            raise InvalidProgramme("papers", requirement.subject)
        if not 0 <= requirement.min_percent <= 100:
            raise InvalidProgramme("min_percent", requirement.subject)
        seen.add(requirement.subject)
    return requirements


def progress(requirements: Iterable[Requirement], scores: Iterable[MockScore]) -> Progress:
    """How far a candidate's marked mock papers go towards a programme."""
    requirements = check_requirements(requirements)
    by_subject: dict[Subject, list[MockScore]] = {}
    for score in scores:
        by_subject.setdefault(score.subject, []).append(score)
    result = []
    for requirement in requirements:
        times = sorted(score.submitted_at for score in by_subject.get(requirement.subject, ())
                       if score.reaches(requirement.min_percent))
        met_at = times[requirement.papers - 1] if len(times) >= requirement.papers else None
        result.append(SubjectProgress(requirement, len(times), met_at))
    return Progress(tuple(result))
