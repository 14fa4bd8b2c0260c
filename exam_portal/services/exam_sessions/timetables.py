"""A session's timetable: when each subject is sat. An administrator sets it per subject;
until then a subject sits at the national timetable's time (question_bank.timetable,
the sitting's first day being the day the exam window opens) when that falls inside the
session's exam window, and otherwise within the window itself (an online session open
for days has no time of day)."""

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.seating import SubjectTime
from exam_portal.models.sittings import ExamSession
from exam_portal.services import ServiceError
from exam_portal.services.platform import audit, labels
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank import timetable
from question_bank.pass_rules import subjects_of
from question_bank.subjects import Subject


@dataclass(frozen=True)
class SubjectTimes:
    subject: Subject
    starts_at: datetime
    ends_at: datetime
    source: str  # "set" (by an administrator), "national" or "window"

    @property
    def has_time_of_day(self) -> bool:
        return self.source != "window"


def session_subjects(session: ExamSession) -> list[Subject]:
    """The subjects of the session's levels, each once, in the levels' order."""
    found = []
    for level in session.level_set:
        found += [subject for subject in subjects_of(level) if subject not in found]
    return found


def national(session: ExamSession, subject: Subject) -> tuple[datetime, datetime] | None:
    """The subject's national time in this session (UTC), or None when it falls outside
    the session's exam window."""
    first_day = session.exam_opens_at.astimezone(LOCAL_ZONE).date()
    starts, ends = (moment.replace(tzinfo=LOCAL_ZONE).astimezone(UTC)
                    for moment in timetable.national_times(subject, first_day))
    if starts < session.exam_opens_at or ends > session.exam_closes_at:
        return None
    return starts, ends


def timetable_of(session: ExamSession) -> dict[Subject, SubjectTimes]:
    """Each subject of the session with its times and where they come from."""
    stored = {row.subject: row for row in db.session.scalars(
        sa.select(SubjectTime).where(SubjectTime.session_id == session.id))}
    found = {}
    for subject in session_subjects(session):
        if subject in stored:
            row = stored[subject]
            found[subject] = SubjectTimes(subject, row.starts_at, row.ends_at, "set")
        elif (times := national(session, subject)) is not None:
            found[subject] = SubjectTimes(subject, *times, "national")
        else:
            found[subject] = SubjectTimes(subject, session.exam_opens_at,
                                          session.exam_closes_at, "window")
    return found


def set_timetable(session: ExamSession, times: dict[Subject, tuple[datetime, datetime]],
                  actor: User) -> None:
    """Set every subject's start and end (audited with the times before and after)."""
    subjects = session_subjects(session)
    if set(times) != set(subjects):
        raise ServiceError(gettext("请为每个科目填写开始和结束时间。"))
    for subject, (starts, ends) in times.items():
        name = labels.SUBJECTS[subject]
        if starts >= ends:
            raise ServiceError(gettext("%(subject)s：结束时间应晚于开始时间。", subject=name))
        if starts < session.exam_opens_at or ends > session.exam_closes_at:
            raise ServiceError(gettext("%(subject)s：时间应在本批次的考试时间之内。",
                                       subject=name))
    for level in session.level_set:
        clash = timetable.overlapping({subject: times[subject]
                                       for subject in subjects_of(level)})
        if clash:
            raise ServiceError(gettext(
                "%(first)s 和 %(second)s 属于同一级别，考试时间不能重叠。",
                first=labels.SUBJECTS[clash[0]], second=labels.SUBJECTS[clash[1]]))
    before = {subject.value: [entry.starts_at.isoformat(), entry.ends_at.isoformat(),
                              entry.source]
              for subject, entry in timetable_of(session).items()}
    stored = {row.subject: row for row in db.session.scalars(
        sa.select(SubjectTime).where(SubjectTime.session_id == session.id))}
    for subject, (starts, ends) in times.items():
        row = stored.get(subject) or SubjectTime(session_id=session.id, subject=subject)
        row.starts_at, row.ends_at = starts, ends
        db.session.add(row)
    db.session.flush()
    audit.record("session.timetable_set", target=session, actor=actor, details={
        "before": before,
        "after": {subject.value: [starts.isoformat(), ends.isoformat()]
                  for subject, (starts, ends) in times.items()}})
