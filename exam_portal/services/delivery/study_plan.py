"""The candidate's plan to the exam date (备考计划) and today's tasks (今日任务), worked
out afresh from where they stand each time it is shown."""

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.attempts import Attempt, AttemptItem
from exam_portal.models.mastery import StudyGoal
from exam_portal.models.types import dialect_insert
from exam_portal.services import ServiceError
from exam_portal.services.delivery import attempts, learning, mastery
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank import prediction, specs, study_plan, syllabus
from question_bank.mastery import Level
from question_bank.study_plan import ChapterNeed, Plan
from question_bank.subjects import Subject, SubjectKind

# How far ahead a candidate may plan (the exam is yearly).
MAX_DAYS_AHEAD = 2 * 366


class InvalidGoal(ServiceError):
    """An exam date that cannot be planned for."""


def stored_exam_day(candidate_id: int) -> date | None:
    goal = db.session.get(StudyGoal, candidate_id)
    return goal.exam_day if goal else None


def set_exam_day(candidate_id: int, day: date, *, now: datetime) -> None:
    today = now.astimezone(LOCAL_ZONE).date()
    if day <= today or (day - today).days > MAX_DAYS_AHEAD:
        raise InvalidGoal(gettext("考试日期应在今天之后的两年之内。"))
    # One statement: two tabs saving a first date at once must not collide on the key.
    insert = dialect_insert(StudyGoal.__table__, db.session.get_bind().dialect.name)
    db.session.execute(insert.values(candidate_id=candidate_id, exam_day=day, updated_at=now)
                       .on_conflict_do_update(index_elements=["candidate_id"],
                                              set_={"exam_day": day, "updated_at": now}))


def _seen_per_chapter(candidate_id: int) -> dict[str, int]:
    """Distinct items the candidate has drawn, per chapter code (codes name their
    subject)."""
    # Distinct pairs first, then a count per chapter: COUNT(DISTINCT …) makes
    # PostgreSQL sort every drawn item by its chapter's text, the dashboard's costliest step.
    drawn = (sa.select(AttemptItem.chapter_code, AttemptItem.item_id)
             .join(Attempt, Attempt.id == AttemptItem.attempt_id)
             .where(Attempt.candidate_id == candidate_id).distinct().subquery())
    return dict(db.session.execute(
        sa.select(drawn.c.chapter_code, sa.func.count()).group_by(drawn.c.chapter_code)).all())


def plans(candidate_id: int, version: str, exam_day: date, *, now: datetime,
          loads: dict | None = None) -> dict[Subject, Plan]:
    """A plan per objective subject the candidate practises against *version* (*loads*:
    learning.review_loads' answer, when the caller has it)."""
    today = now.astimezone(LOCAL_ZONE).date()
    tree = syllabus.load(version)
    result, seen = {}, None
    for subject, known in sorted(mastery.chapter_mastery(candidate_id, version).items()):
        if subject.kind is not SubjectKind.OBJECTIVE or subject not in tree.trees:
            continue
        codes = [chapter.code for chapter in tree.trees[subject].chapters]
        weights = prediction.chapter_weights(specs.load(subject), codes)
        sizes = attempts.chapter_sizes(subject, today, version)
        if seen is None:
            seen = _seen_per_chapter(candidate_id)
            if loads is None:
                loads = learning.review_loads(candidate_id, now=now)
        needs = [ChapterNeed(code, weights.get(code, 0.0),
                             Level.of(known.by_chapter[code])
                             if code in known.by_chapter else None,
                             seen.get(code, 0), sizes.get(code, 0))
                 for code in codes]
        forecast = [n for _day, n in loads.get(subject, [])]
        result[subject] = study_plan.make_plan(today, exam_day, needs, forecast)
    return result
