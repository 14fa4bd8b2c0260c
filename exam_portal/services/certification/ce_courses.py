"""Continuing-education courses and their completions, as a provider records them.

What it promises:
- a course is created by a trainer of its provider institution or by an administrator,
  and only they see and change it (anyone else is told it does not exist);
- a completion is recorded once per person and course: a unique constraint decides,
  also for two recordings at the same moment, and a repeat is refused with a message;
- an attendance sheet (CSV or XLSX: e-mail and completion date) is read with no
  transaction open, every row is checked first, and then all rows are recorded or none;
- hours are credited by the completion's date (ce_registrations works out the period).
"""

import dataclasses
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import PurePath

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from exam_portal.extensions import db
from exam_portal.models.accounts import Role, User
from exam_portal.models.continuing_education import CeCompletion, CeCourse, CompletionSource
from exam_portal.models.institutions import Institution, InstitutionMember
from exam_portal.services import ServiceError
from exam_portal.services.platform import audit
from question_bank import continuing_education as rules
from question_bank.formats import csv_format, limits, xlsx_format
from question_bank.formats.limits import UnreadableFile

LIMITS = dataclasses.replace(limits.WEB, sheet_cells=(rules.MAX_SHEET_ROWS + 1) * 4)


@dataclass(frozen=True)
class CourseFields:
    institution_id: int | None
    title: str
    hours: Decimal | None
    category: rules.CourseCategory
    delivery: rules.Delivery
    starts_on: date
    ends_on: date


# Who may manage which institution's courses --------------------------------------------

def institutions_for(user: User) -> list[Institution]:
    """The active institutions whose courses *user* may create: all of them for an
    administrator, their own for a trainer."""
    query = sa.select(Institution).where(Institution.is_active).order_by(Institution.name)
    if user.role is not Role.ADMIN:
        query = query.join(InstitutionMember).where(InstitutionMember.user_id == user.id)
    return list(db.session.scalars(query))


def may_manage(user: User, institution_id: int) -> bool:
    if user.role is Role.ADMIN:
        return True
    return user.role is Role.TRAINER and db.session.get(
        InstitutionMember, (institution_id, user.id)) is not None


def course_for(course_id: int, user: User) -> CeCourse | None:
    """The course if *user* may manage it, else None (the view answers 404)."""
    course = db.session.get(CeCourse, course_id)
    return course if course is not None and may_manage(user, course.institution_id) else None


def courses_query(user: User):
    """The courses *user* manages, newest first."""
    query = sa.select(CeCourse).order_by(CeCourse.starts_on.desc(), CeCourse.id.desc())
    if user.role is not Role.ADMIN:
        query = query.join(InstitutionMember, InstitutionMember.institution_id
                           == CeCourse.institution_id).where(InstitutionMember.user_id == user.id)
    return query


# Courses -------------------------------------------------------------------------------

def create_course(fields: CourseFields, actor: User) -> CeCourse:
    """Create a course of an institution the actor manages (audited)."""
    if fields.institution_id is None or not may_manage(actor, fields.institution_id):
        raise ServiceError(gettext("请选择您所在的机构。"))
    institution = db.session.get(Institution, fields.institution_id)
    if institution is None or not institution.is_active:
        raise ServiceError(gettext("请选择您所在的机构。"))
    title = (fields.title or "").strip()
    if not title or len(title) > rules.TITLE_MAX_CHARS:
        raise ServiceError(gettext("请填写课程名称（最多 %(n)d 个字符）。",
                                   n=rules.TITLE_MAX_CHARS))
    if fields.hours is None or rules.hours_problem(fields.hours):
        raise ServiceError(gettext("学时须为大于 0 的整数或半小时（如 3 或 3.5），最多 %(n)s。",
                                   n=rules.MAX_COURSE_HOURS))
    if fields.ends_on < fields.starts_on:
        raise ServiceError(gettext("结束日期不能早于开始日期。"))
    course = CeCourse(institution_id=institution.id, title=title,
                      half_hours=int(fields.hours * 2), category=fields.category,
                      delivery=fields.delivery, starts_on=fields.starts_on,
                      ends_on=fields.ends_on, created_by_id=actor.id)
    db.session.add(course)
    db.session.flush()
    audit.record("ce.course_created", target=course, actor=actor, details={
        "institution": institution.id, "title": title, "hours": str(fields.hours)})
    return course


# Completions ---------------------------------------------------------------------------

def completions_query(course: CeCourse):
    return (sa.select(CeCompletion, User.email).join(User, User.id == CeCompletion.user_id)
            .where(CeCompletion.course_id == course.id)
            .order_by(CeCompletion.completed_on.desc(), CeCompletion.id.desc()))


def _repeat() -> str:
    return gettext("这位学员已经记录过这门课程的完成情况（每人每门课程只记录一次）。")


def _person(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(
        sa.func.lower(User.email) == (email or "").strip().casefold(),
        User.role == Role.CANDIDATE))


def record_completion(course: CeCourse, email: str, completed_on: date | None,
                      actor: User) -> CeCompletion:
    """Record one person's completion by hand (audited); ServiceError for an unknown
    e-mail, a date outside the course, or a repeat."""
    person = _person(email)
    if person is None:
        raise ServiceError(gettext("没有使用这个邮箱的考生账户。"))
    day = completed_on or course.ends_on
    problem = rules.completion_date_problem(day, course.starts_on, course.ends_on)
    if problem:
        raise ServiceError(gettext(problem))
    completion = CeCompletion(course_id=course.id, user_id=person.id, completed_on=day,
                              source=CompletionSource.MANUAL, recorded_by_id=actor.id)
    try:
        with db.session.begin_nested():
            db.session.add(completion)
    except IntegrityError as error:
        raise ServiceError(_repeat()) from error
    audit.record("ce.completion_recorded", target=completion, actor=actor, details={
        "course": course.id, "user": person.id, "completed_on": day.isoformat()})
    return completion


def read_attendance(filename: str, data: bytes) -> list[rules.AttendanceRow]:
    """Read an attendance sheet (CSV or XLSX) under the caps. Pure work: call it with
    no transaction open."""
    suffix = PurePath(filename or "").suffix.lower()
    try:
        if suffix == ".csv":
            rows = csv_format.read_rows(data, caps=LIMITS, gb18030=True)
        elif suffix == ".xlsx":
            rows = xlsx_format.read_rows(data, caps=LIMITS)
        else:
            raise ServiceError(gettext("只支持 %(formats)s 文件。", formats=".csv、.xlsx"))
        return rules.read_attendance(rows)
    except UnreadableFile as error:
        raise ServiceError(gettext(error.message, **error.params)) from error


@dataclass
class ImportResult:
    recorded: int
    errors: list[tuple[int, str]]  # (row number, message)


def import_attendance(course: CeCourse, sheet: list[rules.AttendanceRow],
                      actor: User) -> ImportResult:
    """Record every row of the sheet, or none when any row fails (the errors say which
    and why); audited once."""
    emails = sorted({row.email for row in sheet if row.email})
    people = {email.casefold(): user_id for user_id, email in db.session.execute(
        sa.select(User.id, User.email).where(sa.func.lower(User.email).in_(emails),
                                             User.role == Role.CANDIDATE))}
    done = set(db.session.scalars(sa.select(CeCompletion.user_id).where(
        CeCompletion.course_id == course.id)))
    errors, planned = [], []
    for row in sheet:
        problems = [problem.render(gettext) for problem in row.problems]
        user_id = people.get(row.email)
        if not row.problems and user_id is None:
            problems.append(gettext("没有使用这个邮箱的考生账户：%(email)s。", email=row.email))
        elif user_id in done:
            problems.append(_repeat())
        day = row.completed_on or course.ends_on
        problem = rules.completion_date_problem(day, course.starts_on, course.ends_on)
        if problem and not row.problems:
            problems.append(gettext(problem))
        errors.extend((row.number, text) for text in problems)
        if not problems:
            planned.append(CeCompletion(course_id=course.id, user_id=user_id, completed_on=day,
                                        source=CompletionSource.IMPORT,
                                        recorded_by_id=actor.id))
    if errors:
        return ImportResult(0, errors)
    try:
        with db.session.begin_nested():
            db.session.add_all(planned)
    except IntegrityError as error:  # recorded by hand meanwhile
        raise ServiceError(gettext("导入期间有学员的完成情况被另行记录，请重新导入。")) from error
    audit.record("ce.attendance_imported", target=course, actor=actor,
                 details={"course": course.id, "rows": len(planned)})
    return ImportResult(len(planned), [])
