"""Trainers mark the case analyses and plan designs written for their class's
assignments; the candidate reads the marks and feedback in the paper's review.

An answer waits in the class's queue once its paper is handed in, for as long as its
writer is enrolled (an enrolment that ended shares nothing more). A trainer of the
class marks it with the exam's rubric tools (question_bank.marking: points per key
point in 0.5 steps, capped per sub-question) and writes a comment per key point
(question_bank.class_report.feedback). Single marking: the unique key on (attempt,
position) lets one mark in when two trainers submit at once, and the other is told;
the trainer who marked may correct their mark (a conditional UPDATE on the marker).
Practice papers keep no score for subjective answers, so a mark changes no score:
it sits beside the candidate's own self-score.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from exam_portal.extensions import db
from exam_portal.models.accounts import CandidateProfile, User
from exam_portal.models.attempts import Attempt, AttemptItem, AttemptStatus, Response
from exam_portal.models.bank import Item
from exam_portal.models.class_marking import PracticeMark
from exam_portal.models.classes import (
    AssignmentAttempt,
    ClassAssignment,
    TrainingClass,
)
from exam_portal.services import ServiceError
from exam_portal.services.delivery import paper_cache
from exam_portal.services.exam_sessions import classes
from exam_portal.services.platform import audit, notifications
from question_bank import class_report, marking
from question_bank.i18n import N_
from question_bank.items import ItemType

MARKED = "practice_marked"
QUEUE_ROWS = 50
_SUBJECTIVE = [item_type for item_type in ItemType if not item_type.is_choice]

_INVALID = {
    "shape": N_("评分与答题要点不对应，请刷新后重试。"),
    "number": N_("每个要点的得分应为数字。"),
    "range": N_("要点得分不能为负，也不能超过该要点的分值。"),
    "step": N_("得分以 0.5 分为单位。"),
    "feedback": N_("每条评语不能超过 %(n)d 个字。"),
}


@notifications.kind(MARKED, label=_l("培训师批改了我的主观题作答"))
def _practice_marked(params: dict) -> notifications.Notice:
    return notifications.Notice(
        title=gettext("作业已批改：%(title)s", title=params["title"]),
        body=gettext("“%(class_name)s”的培训师批改了你在作业“%(title)s”中的第 %(n)d 题，"
                     "得分 %(points)s / %(full)s。评语见试卷解析。",
                     class_name=params["class_name"], title=params["title"],
                     n=params["position"], points=params["points"], full=params["full"]),
        link=("candidate.result", {"attempt_id": params["attempt_id"]}))


# The queue ---------------------------------------------------------------------------

def _answers(class_id: int, members: list[int]):
    """The class's *members'* non-blank subjective answers in handed-in assignment
    papers, with the item, the writer and the assignment."""
    return (sa.select(Response.attempt_id, Response.position, AttemptItem.item_id,
                      Item.item_type, Attempt.candidate_id, Attempt.submitted_at,
                      ClassAssignment.id.label("assignment_id"), ClassAssignment.title)
            .join(AttemptItem, sa.and_(AttemptItem.attempt_id == Response.attempt_id,
                                       AttemptItem.position == Response.position))
            .join(Item, Item.id == AttemptItem.item_id)
            .join(Attempt, Attempt.id == Response.attempt_id)
            .join(AssignmentAttempt, AssignmentAttempt.attempt_id == Attempt.id)
            .join(ClassAssignment, ClassAssignment.id == AssignmentAttempt.assignment_id)
            .where(ClassAssignment.class_id == class_id,
                   AssignmentAttempt.candidate_id.in_(members),
                   Attempt.status == AttemptStatus.SUBMITTED,
                   Item.item_type.in_(_SUBJECTIVE), Response.text.is_not(None),
                   Response.text != ""))


def _unmarked():
    return ~sa.exists().where(PracticeMark.attempt_id == Response.attempt_id,
                              PracticeMark.position == Response.position)


@dataclass(frozen=True)
class Waiting:
    attempt_id: int
    position: int
    item_type: ItemType
    assignment_title: str
    submitted_at: datetime
    email: str
    name: str | None


def waiting(class_id: int, limit: int = QUEUE_ROWS) -> tuple[int, list[Waiting]]:
    """How many of the class's answers wait for a mark, and the oldest *limit* of them."""
    members = classes.enrolled_candidate_ids(class_id)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(
        _answers(class_id, members).where(_unmarked()).subquery()))
    answers = _answers(class_id, members).where(_unmarked()).subquery()
    rows = db.session.execute(
        sa.select(answers, User.email, CandidateProfile.real_name)
        .join(User, User.id == answers.c.candidate_id)
        .outerjoin(CandidateProfile, CandidateProfile.user_id == User.id)
        .order_by(answers.c.submitted_at, answers.c.attempt_id, answers.c.position)
        .limit(limit)).all()
    return count, [Waiting(row.attempt_id, row.position, row.item_type, row.title,
                           row.submitted_at, row.email, row.real_name) for row in rows]


@dataclass(frozen=True)
class Marked:
    mark: PracticeMark
    email: str
    name: str | None
    marker_email: str


def recent_marks(class_id: int, limit: int = QUEUE_ROWS) -> list[Marked]:
    """The class's latest marks on the answers of its current members (an enrolment
    that ended shares nothing more, its marks included)."""
    marker = aliased(User)
    rows = db.session.execute(
        sa.select(PracticeMark, User.email, CandidateProfile.real_name, marker.email)
        .join(User, User.id == PracticeMark.candidate_id)
        .outerjoin(CandidateProfile, CandidateProfile.user_id == User.id)
        .join(marker, marker.id == PracticeMark.marker_id)
        .where(PracticeMark.class_id == class_id,
               PracticeMark.candidate_id.in_(classes.enrolled_candidate_ids(class_id)))
        .order_by(PracticeMark.marked_at.desc(), PracticeMark.id.desc()).limit(limit))
    return [Marked(*row) for row in rows]


# One answer --------------------------------------------------------------------------

@dataclass(frozen=True)
class AnswerView:
    """What the trainer sees: the question, its rubric, the answer, who wrote it, and
    the mark so far (None before one)."""

    klass: TrainingClass
    attempt_id: int
    position: int
    assignment_id: int
    assignment_title: str
    candidate_id: int
    email: str
    name: str | None
    item_id: int
    content: object
    rubric: marking.Rubric
    answer: str
    points_halves: int
    mark: PracticeMark | None


def answer_for_trainer(trainer: User, class_id: int, attempt_id: int,
                       position: int) -> AnswerView:
    """An answer of the class waiting for (or holding) a mark; ClassNotFound for
    anything a trainer of the class may not mark (views answer 404)."""
    klass = classes.class_for_trainer(trainer, class_id)
    members = classes.enrolled_candidate_ids(klass.id)
    row = db.session.execute(
        _answers(klass.id, members).add_columns(User.email, CandidateProfile.real_name,
                                                Response.text)
        .join(User, User.id == Attempt.candidate_id)
        .outerjoin(CandidateProfile, CandidateProfile.user_id == User.id)
        .where(Response.attempt_id == attempt_id, Response.position == position)).first()
    if row is None:
        raise classes.ClassNotFound(gettext("没有这份作答。"))
    item = paper_cache.attempt_item(attempt_id, position)
    content = paper_cache.content(item.item_version_id)
    mark = db.session.scalar(sa.select(PracticeMark).where(
        PracticeMark.attempt_id == attempt_id, PracticeMark.position == position))
    return AnswerView(klass, attempt_id, position, row.assignment_id, row.title,
                      row.candidate_id, row.email, row.real_name, row.item_id, content,
                      marking.rubric_of(content), row.text, item.points_halves, mark)


def next_waiting(class_id: int) -> tuple[int, int] | None:
    """The oldest answer of the class still waiting, as (attempt id, position)."""
    row = db.session.execute(_answers(class_id, classes.enrolled_candidate_ids(class_id))
                             .where(_unmarked())
                             .order_by(Attempt.submitted_at, Response.attempt_id,
                                       Response.position).limit(1)).first()
    return (row.attempt_id, row.position) if row else None


def _checked(shown: AnswerView, awarded, feedback) -> tuple[Decimal, list[list[str]]]:
    try:
        total = marking.total(shown.rubric, awarded)
        comments = class_report.feedback(shown.rubric, feedback)
    except marking.InvalidMarks as error:
        raise ServiceError(gettext(_INVALID[error.reason], n=class_report.FEEDBACK_MAX_CHARS)
                           ) from error
    return total, comments


def submit(shown: AnswerView, trainer: User, awarded: list[list[Decimal]],
           feedback: list[list[str]], *, now: datetime) -> PracticeMark:
    """Record the trainer's mark and comments on the answer (or correct their own);
    the first mark notifies the candidate. Audited."""
    total, comments = _checked(shown, awarded, feedback)
    halves = [[int(points * 2) for points in part] for part in awarded]
    if shown.mark is not None:
        return _revise(shown, trainer, halves, comments, int(total * 2), now)
    mark = PracticeMark(attempt_id=shown.attempt_id, position=shown.position,
                        assignment_id=shown.assignment_id, class_id=shown.klass.id,
                        candidate_id=shown.candidate_id, item_id=shown.item_id,
                        marker_id=trainer.id, awarded=halves, feedback=comments,
                        total_halves=int(total * 2), marked_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(mark)
    except IntegrityError as error:
        # Another trainer's mark went in first (they submitted at the same moment).
        raise ServiceError(gettext("这份作答刚刚已由其他培训师批改。")) from error
    audit.record("practice_mark.submitted", target=mark, actor=trainer, details={
        "class": shown.klass.id, "attempt": shown.attempt_id, "position": shown.position,
        "total": mark.total_halves, "awarded": halves})
    notifications.notify(shown.candidate_id, MARKED, {
        "attempt_id": shown.attempt_id, "position": shown.position,
        "title": shown.assignment_title, "class_name": shown.klass.name,
        "points": f"{total:g}", "full": f"{Decimal(shown.points_halves) / 2:g}"},
        event=f"practice_mark:{shown.attempt_id}:{shown.position}", now=now)
    return mark


def _revise(shown: AnswerView, trainer: User, halves, comments, total_halves: int,
            now: datetime) -> PracticeMark:
    mark = shown.mark
    before = mark.total_halves
    changed = db.session.execute(
        sa.update(PracticeMark)
        .where(PracticeMark.id == mark.id, PracticeMark.marker_id == trainer.id)
        .values(awarded=halves, feedback=comments, total_halves=total_halves,
                revised_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise ServiceError(gettext("这份作答已由其他培训师批改，只有批改人可以修改。"))
    db.session.refresh(mark)
    audit.record("practice_mark.changed", target=mark, actor=trainer, details={
        "class": shown.klass.id, "attempt": shown.attempt_id, "position": shown.position,
        "before": before, "total": total_halves, "awarded": halves})
    return mark


# What the candidate sees -------------------------------------------------------------

@dataclass(frozen=True)
class CandidateMark:
    """A mark as its candidate reads it in the review: per sub-question, per key point,
    the key point, its points, the points given and the comment."""

    total_halves: int
    marked_at: datetime
    revised_at: datetime | None
    class_name: str
    parts: tuple[tuple[tuple[str, Decimal, Decimal, str], ...], ...]
    prompts: tuple[str, ...]  # the sub-questions' (the stem for an item without them)


def marks_of_attempt(attempt: Attempt) -> dict[int, CandidateMark]:
    """The trainers' marks on a handed-in paper, by position: for its own candidate's
    review only (the caller has checked the attempt is theirs)."""
    rows = db.session.execute(
        sa.select(PracticeMark, TrainingClass.name)
        .join(TrainingClass, TrainingClass.id == PracticeMark.class_id)
        .where(PracticeMark.attempt_id == attempt.id,
               PracticeMark.candidate_id == attempt.candidate_id)).all()
    if not rows:
        return {}
    found = {}
    for mark, class_name in rows:
        item = paper_cache.attempt_item(attempt.id, mark.position)
        rubric = marking.rubric_of(paper_cache.content(item.item_version_id))
        parts = tuple(
            tuple((text, available, Decimal(given) / 2, comment)
                  for (text, available), given, comment in zip(
                      part.key_points, awarded, comments, strict=True))
            for part, awarded, comments in zip(rubric.parts, mark.awarded, mark.feedback,
                                               strict=True))
        found[mark.position] = CandidateMark(mark.total_halves, mark.marked_at,
                                             mark.revised_at, class_name, parts,
                                             tuple(part.prompt for part in rubric.parts))
    return found
