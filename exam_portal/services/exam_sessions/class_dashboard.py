"""The class dashboard (班级看板): what a class's trainers see of its enrolled candidates.

Only what an enrolment shares (classes' module docstring): each candidate's name and
e-mail, their assignments, mock paper results, predicted pass probability and mastery
of knowledge points; candidates invited or gone share nothing. The page answers for a
class of any size in a fixed number of queries: every figure is read for all members
at once (grouped, or ranked with a window function) and split up in Python, so a class
of 200 costs what a class of 2 does (tests/integration/test_class_dashboard.py counts
them). The rules (bands, trend, weak points) are question_bank.class_report's.
"""

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO

import sqlalchemy as sa
from openpyxl import Workbook

from exam_portal.extensions import db
from exam_portal.models.accounts import CandidateProfile, User
from exam_portal.models.attempts import Attempt, AttemptStatus
from exam_portal.models.classes import (
    AssignmentAttempt,
    ClassAssignment,
    ClassEnrolment,
    TrainingClass,
)
from exam_portal.models.mastery import KnowledgeMastery
from exam_portal.models.sittings import ExamSession
from exam_portal.services.delivery import mastery, open_statistics
from exam_portal.services.exam_sessions import classes
from exam_portal.services.platform import syllabi
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank import class_report, pass_rules, prediction, specs, syllabus
from question_bank.assignments import EnrolmentStatus
from question_bank.formats.csv_format import protect
from question_bank.item_analysis import ItemStats
from question_bank.practice import Mode
from question_bank.subjects import Subject, SubjectKind

TREND_PAPERS = 10  # the latest mock papers a candidate's trend shows
WEAK_POINTS = 20
ITEM_ROWS = 30  # the class's item statistics on the page (the export has them all)


@dataclass(frozen=True)
class AssignmentRow:
    assignment: ClassAssignment
    enrolled: int
    done: int
    in_progress: int
    overdue: int
    scored: tuple[float, ...]  # the percentages of the handed-in, scored papers

    @property
    def completion(self) -> float:
        return class_report.completion(self.enrolled, self.done)

    @property
    def mean_percent(self) -> float | None:
        return round(sum(self.scored) / len(self.scored), 1) if self.scored else None


@dataclass(frozen=True)
class TrendPoint:
    day: date
    percent: float


@dataclass(frozen=True)
class MemberRow:
    candidate_id: int
    email: str
    name: str | None
    done: int  # assignments handed in
    trend: tuple[TrendPoint, ...]  # oldest first
    predictions: dict  # Subject -> prediction.Prediction

    @property
    def direction(self) -> str | None:
        return class_report.direction([p.percent for p in self.trend])

    @property
    def latest(self) -> float | None:
        return self.trend[-1].percent if self.trend else None


@dataclass(frozen=True)
class WeakPoint:
    point: class_report.ClassPoint
    subject: Subject | None
    title: str


@dataclass(frozen=True)
class ItemRow:
    item_id: int
    version_id: int
    stem: str
    answered: int
    stats: ItemStats


@dataclass(frozen=True)
class Dashboard:
    klass: TrainingClass
    version: str
    subjects: tuple[Subject, ...]  # the objective subjects of the class's level
    assignments: list[AssignmentRow]
    members: list[MemberRow]
    chosen: AssignmentRow | None  # the assignment the distribution shows
    distribution: tuple[class_report.Band, ...]
    weak: list[WeakPoint]
    items: list[ItemRow]


def syllabus_version(klass: TrainingClass) -> str:
    """The syllabus of the exam the class prepares for, else the one in force."""
    if klass.exam_session_id is not None:
        version = db.session.scalar(sa.select(ExamSession.syllabus_version).where(
            ExamSession.id == klass.exam_session_id))
        if version in syllabus.VERSIONS:
            return version
    return syllabi.in_force()


def _members(class_id: int) -> list[tuple[int, str, str | None]]:
    return list(db.session.execute(
        sa.select(ClassEnrolment.candidate_id, User.email, CandidateProfile.real_name)
        .join(User, User.id == ClassEnrolment.candidate_id)
        .outerjoin(CandidateProfile, CandidateProfile.user_id == User.id)
        .where(ClassEnrolment.class_id == class_id,
               ClassEnrolment.status == EnrolmentStatus.ENROLLED)
        .order_by(User.email)).all())


def class_attempt_ids(class_id: int, members: list[int]):
    """A select of the ids of the papers the class's *members* started from its
    assignments."""
    return (sa.select(AssignmentAttempt.attempt_id)
            .join(ClassAssignment, ClassAssignment.id == AssignmentAttempt.assignment_id)
            .where(ClassAssignment.class_id == class_id,
                   AssignmentAttempt.candidate_id.in_(members)))


def _assignment_rows(class_id: int, members: list[int], now: datetime
                     ) -> list[AssignmentRow]:
    """The class's assignments in force (a withdrawn one is no one's task, so never
    overdue: the dashboard leaves it out), each with its members' progress (counted by
    `classes.completions`, as the class page counts it) and scores."""
    assignments = classes.class_assignments(class_id, include_withdrawn=False)
    counted = classes.completions(class_id, assignments, now=now)
    papers = defaultdict(list)
    for assignment_id, score, full in db.session.execute(
            sa.select(AssignmentAttempt.assignment_id, Attempt.score_halves,
                      Attempt.full_halves)
            .join(Attempt, Attempt.id == AssignmentAttempt.attempt_id)
            .join(ClassAssignment, ClassAssignment.id == AssignmentAttempt.assignment_id)
            .where(ClassAssignment.class_id == class_id,
                   ClassAssignment.withdrawn_at.is_(None),
                   Attempt.submitted_at.is_not(None),
                   AssignmentAttempt.candidate_id.in_(members))):
        if score is not None and full:
            papers[assignment_id].append(round(100 * score / full, 1))
    rows = []
    for assignment in assignments:
        count = counted[assignment.id]
        rows.append(AssignmentRow(assignment, count.enrolled, count.done, count.in_progress,
                                  count.overdue, tuple(papers[assignment.id])))
    return rows


def _trends(members: list[int], subjects) -> dict[int, list[TrendPoint]]:
    """Each member's latest TREND_PAPERS scored mock papers of the class's subjects."""
    ranked = (sa.select(Attempt.candidate_id, Attempt.submitted_at, Attempt.score_halves,
                        Attempt.full_halves,
                        sa.func.row_number().over(
                            partition_by=Attempt.candidate_id,
                            order_by=(Attempt.submitted_at.desc(), Attempt.id.desc()))
                        .label("nth"))
              .where(Attempt.candidate_id.in_(members),
                     Attempt.mode == Mode.MOCK, Attempt.status == AttemptStatus.SUBMITTED,
                     Attempt.subject.in_(list(subjects)), Attempt.score_halves.is_not(None),
                     Attempt.full_halves > 0)
              .subquery())
    trends = defaultdict(list)
    for candidate_id, at, score, full in db.session.execute(
            sa.select(ranked.c.candidate_id, ranked.c.submitted_at, ranked.c.score_halves,
                      ranked.c.full_halves)
            .where(ranked.c.nth <= TREND_PAPERS)
            .order_by(ranked.c.candidate_id, ranked.c.submitted_at)):
        trends[candidate_id].append(TrendPoint(at.astimezone(LOCAL_ZONE).date(),
                                               round(100 * score / full, 1)))
    return trends


def _predictions(members: list[int], version: str, subjects) -> dict[int, dict]:
    """Each member's prediction per objective subject of the class (as on their own
    dashboard), from one grouped read of everyone's mastery."""
    chapters: dict[tuple[int, Subject], dict[str, float]] = defaultdict(dict)
    answered: dict[tuple[int, Subject], float] = defaultdict(float)
    for candidate_id, subject, chapter, p_known, count in db.session.execute(
            sa.select(KnowledgeMastery.candidate_id, KnowledgeMastery.subject,
                      KnowledgeMastery.chapter_code, sa.func.avg(KnowledgeMastery.p_known),
                      sa.func.sum(KnowledgeMastery.answer_share))
            .where(KnowledgeMastery.candidate_id.in_(members),
                   KnowledgeMastery.syllabus_version == version,
                   KnowledgeMastery.subject.in_(list(subjects)),
                   KnowledgeMastery.answered > 0)
            .group_by(KnowledgeMastery.candidate_id, KnowledgeMastery.subject,
                      KnowledgeMastery.chapter_code)):
        chapters[(candidate_id, subject)][chapter] = float(p_known)
        answered[(candidate_id, subject)] += float(count)
    if not chapters:
        return {}
    model, scaling = mastery.current_model(), mastery.current_scaling()
    trees = syllabus.load(version).trees
    chapter_codes = {subject: [c.code for c in trees[subject].chapters]
                     for subject in subjects if subject in trees}
    result: dict[int, dict] = defaultdict(dict)
    for (candidate_id, subject), by_chapter in chapters.items():
        if subject not in chapter_codes:
            continue
        raw = prediction.predict(specs.load(subject), chapter_codes[subject], by_chapter,
                                 round(answered[(candidate_id, subject)]), model)
        if raw.enough and scaling is not None:
            raw = dataclasses.replace(raw, pass_probability=round(
                scaling[0].apply(raw.pass_probability), 3))
        result[candidate_id][subject] = raw
    return result


def _weak_points(members: list[int], version: str, subjects) -> list[WeakPoint]:
    tree = syllabus.load(version)
    points = [class_report.ClassPoint(code, members, int(answered or 0), int(right or 0),
                                      float(p_sum) / members)
              for code, members, answered, right, p_sum in db.session.execute(
                  sa.select(KnowledgeMastery.code, sa.func.count(),
                            sa.func.sum(KnowledgeMastery.answered),
                            sa.func.sum(KnowledgeMastery.right),
                            sa.func.sum(KnowledgeMastery.p_known))
                  .where(KnowledgeMastery.candidate_id.in_(members),
                         KnowledgeMastery.syllabus_version == version,
                         KnowledgeMastery.subject.in_(list(subjects)),
                         KnowledgeMastery.answered > 0)
                  .group_by(KnowledgeMastery.code))]
    weak = []
    for point in class_report.weak_points(points, len(members), WEAK_POINTS):
        node = tree.node(point.code)
        weak.append(WeakPoint(point, node.subject if node else None,
                              node.title if node else point.code))
    return weak


def _items(class_id: int, members: list[int]) -> list[ItemRow]:
    """Every item version the class answered, the hardest for the class first (then the
    most answered)."""
    figures = open_statistics.among(class_attempt_ids(class_id, members))
    rows = [ItemRow(version.item_id, version.id, version.content.get("stem", ""), count, stats)
            for version, count, stats in figures]
    rows.sort(key=lambda row: (row.stats.facility if row.stats.facility is not None else 1,
                               -row.answered, row.item_id))
    return rows


def dashboard(klass: TrainingClass, *, now: datetime,
              assignment_id: int | None = None) -> Dashboard:
    """Everything the class dashboard shows; the score distribution of *assignment_id*
    (else of the latest assignment with scored papers)."""
    version = syllabus_version(klass)
    subjects = tuple(subject for subject in pass_rules.subjects_of(klass.level))
    objective = tuple(s for s in subjects if s.kind is SubjectKind.OBJECTIVE)
    people = _members(klass.id)
    enrolled = classes.enrolled_candidate_ids(klass.id)
    assignments = _assignment_rows(klass.id, enrolled, now)
    done = defaultdict(int)
    for (candidate_id,) in db.session.execute(
            sa.select(AssignmentAttempt.candidate_id)
            .join(Attempt, Attempt.id == AssignmentAttempt.attempt_id)
            .join(ClassAssignment, ClassAssignment.id == AssignmentAttempt.assignment_id)
            .where(ClassAssignment.class_id == klass.id,
                   Attempt.status == AttemptStatus.SUBMITTED)):
        done[candidate_id] += 1
    trends = _trends(enrolled, subjects)
    predicted = _predictions(enrolled, version, objective) if objective else {}
    members = [MemberRow(candidate_id, email, name, done[candidate_id],
                         tuple(trends.get(candidate_id, ())), predicted.get(candidate_id, {}))
               for candidate_id, email, name in people]
    chosen = next((row for row in assignments if row.assignment.id == assignment_id), None) \
        or next((row for row in assignments if row.scored), None)
    return Dashboard(
        klass, version, objective, assignments, members, chosen,
        class_report.score_distribution(chosen.scored if chosen else ()),
        _weak_points(enrolled, version, subjects), _items(klass.id, enrolled))


# Export ------------------------------------------------------------------------------

def workbook(board: Dashboard, labels: dict[str, str]) -> bytes:
    """The dashboard as an XLSX workbook: a sheet per table. *labels* gives the sheet
    titles and column headings in the reader's language. Text people wrote (titles,
    names, e-mails) gets the CSV guard (question_bank.formats.csv_format.protect), so a
    spreadsheet never runs it as a formula."""
    book = Workbook()
    sheet = book.active
    sheet.title = labels["assignments"][:31]
    sheet.append([labels[key] for key in ("title", "kind", "subject", "due", "enrolled",
                                           "done", "in_progress", "overdue", "completion",
                                           "mean")])
    for row in board.assignments:
        a = row.assignment
        sheet.append([protect(a.title), a.kind.value, a.subject.value,
                      a.due_at.astimezone(LOCAL_ZONE).replace(tzinfo=None), row.enrolled,
                      row.done, row.in_progress, row.overdue, round(row.completion, 3),
                      row.mean_percent])
    sheet = book.create_sheet(labels["members"][:31])
    sheet.append([labels["name"], labels["email"], labels["done"], labels["latest"],
                  labels["trend"], labels["papers"],
                  *(f"{labels['pass_probability']} {s.value}" for s in board.subjects)])
    for member in board.members:
        sheet.append([protect(member.name or ""), protect(member.email), member.done, member.latest,
                      member.direction or "",
                      " ".join(f"{p.percent:g}" for p in member.trend),
                      *(_probability(member.predictions.get(s)) for s in board.subjects)])
    sheet = book.create_sheet(labels["distribution"][:31])
    sheet.append([labels["band"], labels["count"]])
    for band in board.distribution:
        sheet.append([f"{band.low}-{band.high}%", band.count])
    sheet = book.create_sheet(labels["weak"][:31])
    sheet.append([labels["code"], labels["point"], labels["traced"], labels["answered"],
                  labels["accuracy"], labels["mastery"]])
    for weak in board.weak:
        sheet.append([protect(weak.point.code), protect(weak.title), weak.point.members,
                      weak.point.answered, round(weak.point.accuracy, 1),
                      round(weak.point.p_known, 3)])
    sheet = book.create_sheet(labels["items"][:31])
    sheet.append([labels["item"], labels["version"], labels["answered"], labels["facility"],
                  labels["discrimination"], labels["blank"]])
    for item in board.items:
        sheet.append([item.item_id, item.version_id, item.answered, item.stats.facility,
                      item.stats.discrimination, item.stats.blank])
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _probability(predicted: prediction.Prediction | None) -> float | None:
    if predicted is None or not predicted.enough:
        return None
    return predicted.pass_probability
