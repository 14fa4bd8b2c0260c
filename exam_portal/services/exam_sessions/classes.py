"""Classes (培训班) of training institutions: trainers open them, candidates join with
the class's code (or accept an invitation from an imported list) after seeing what the
class's trainers will see, and trainers set assignments that candidates start from
their task list. Only a trainer of the class's institution sees a class; a candidate
sees only the classes they are in.

What an enrolment shares with the class's trainers (the join page says so): practice
progress, mock paper results, the predicted pass probability and weak points, with the
candidate's name and e-mail to tell them apart; never the resident ID, the profile's
documents or other personal data.

Names other helpers rely on: `class_for_trainer`, `trainer_class_ids`,
`enrolled_candidate_ids`, `trainer_ids`, `class_of_attempt`, `ClassNotFound`.
"""

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePath

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from exam_portal.extensions import db
from exam_portal.models.accounts import CandidateProfile, Role, User
from exam_portal.models.attempts import Attempt, AttemptStatus
from exam_portal.models.classes import (
    AssignmentAttempt,
    ClassAssignment,
    ClassEnrolment,
    ClassInvitation,
    TrainingClass,
)
from exam_portal.models.forms import ExamForm, FormStatus
from exam_portal.models.institutions import Institution, InstitutionMember
from exam_portal.models.sittings import ExamSession
from exam_portal.models.types import dialect_insert
from exam_portal.services import ServiceError
from exam_portal.services.accounts.accounts import normalise_email
from exam_portal.services.delivery import attempts
from exam_portal.services.exam_sessions import class_notices, institutions, past_papers
from exam_portal.services.platform import audit, mail, notifications, syllabi
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank import assignments as rules
from question_bank import syllabus
from question_bank.assignments import AssignmentKind, AssignmentState, EnrolmentStatus
from question_bank.formats import csv_format, limits, xlsx_format
from question_bank.formats.limits import UnreadableFile
from question_bank.levels import Level
from question_bank.practice import Mode, set_size
from question_bank.subjects import Subject


class ClassNotFound(ServiceError):
    """No such class, assignment or enrolment for this user (views answer 404)."""


# Trainers: classes ---------------------------------------------------------------------

@dataclass(frozen=True)
class ClassFields:
    name: str
    level: Level
    exam_session_id: int | None
    starts_on: date
    ends_on: date


def _check_fields(fields: ClassFields) -> None:
    if fields.ends_on < fields.starts_on:
        raise ServiceError(gettext("结束日期不能早于开始日期。"))
    if fields.exam_session_id is not None:
        session = db.session.get(ExamSession, fields.exam_session_id)
        if session is None:
            raise ServiceError(gettext("没有这个考试批次。"))
        if fields.level.value not in (session.levels or []):
            raise ServiceError(gettext("这个考试批次不考所选级别。"))


def trainer_class_ids(user_id: int):
    """A subquery of the ids of every class the user may see as a trainer: the classes
    of their active institutions."""
    return (sa.select(TrainingClass.id)
            .join(InstitutionMember,
                  InstitutionMember.institution_id == TrainingClass.institution_id)
            .join(Institution, Institution.id == TrainingClass.institution_id)
            .where(InstitutionMember.user_id == user_id, Institution.is_active.is_(True)))


def trainer_classes(user: User):
    """A select of the user's classes (open ones first, newest first), to paginate."""
    return (sa.select(TrainingClass).where(TrainingClass.id.in_(trainer_class_ids(user.id)))
            .order_by(TrainingClass.closed_at.is_not(None), TrainingClass.id.desc()))


def class_for_trainer(user: User, class_id: int) -> TrainingClass:
    """The class if *user* is a trainer of its (active) institution; ClassNotFound
    otherwise, whatever the reason (views answer 404)."""
    if user.role is Role.TRAINER:
        found = db.session.scalar(sa.select(TrainingClass).where(
            TrainingClass.id == class_id, TrainingClass.id.in_(trainer_class_ids(user.id))))
        if found is not None:
            return found
    raise ClassNotFound(gettext("没有这个班级。"))


def trainer_ids(class_id: int) -> list[int]:
    """The trainers of the class's institution (every one of them runs its classes)."""
    return list(db.session.scalars(
        sa.select(InstitutionMember.user_id)
        .join(TrainingClass, TrainingClass.institution_id == InstitutionMember.institution_id)
        .where(TrainingClass.id == class_id).order_by(InstitutionMember.user_id)))


def open_class(institution_id: int, fields: ClassFields, actor: User, *,
               now: datetime) -> TrainingClass:
    if institutions.membership(actor.id, institution_id) is None:
        raise ClassNotFound(gettext("没有这个机构。"))
    _check_fields(fields)
    klass = TrainingClass(institution_id=institution_id, name=fields.name,
                          level=fields.level, exam_session_id=fields.exam_session_id,
                          starts_on=fields.starts_on, ends_on=fields.ends_on,
                          join_code=_unused_code(), created_by_id=actor.id, created_at=now)
    db.session.add(klass)
    db.session.flush()
    audit.record("classes.opened", target=klass, actor=actor, details={
        "institution": institution_id, "name": fields.name, "level": fields.level.value})
    return klass


def edit_class(klass: TrainingClass, fields: ClassFields, actor: User) -> None:
    _check_fields(fields)
    if fields.level is not klass.level and db.session.scalar(
            sa.select(ClassAssignment.id).where(ClassAssignment.class_id == klass.id)
            .limit(1)) is not None:
        raise ServiceError(gettext("已布置作业的班级不能改级别。"))
    klass.name, klass.level, klass.exam_session_id = \
        fields.name, fields.level, fields.exam_session_id
    klass.starts_on, klass.ends_on = fields.starts_on, fields.ends_on
    db.session.flush()
    audit.record("classes.edited", target=klass, actor=actor, details={"name": fields.name})


def close_class(klass: TrainingClass, actor: User, *, now: datetime) -> None:
    """Close a class: no one joins it and no assignment is set any more; it stays
    readable, and its candidates keep their work."""
    if klass.closed_at is not None:
        raise ServiceError(gettext("这个班级已经结课。"))
    klass.closed_at = now
    db.session.flush()
    audit.record("classes.closed", target=klass, actor=actor)


def _unused_code() -> str:
    while True:
        code = rules.new_code()
        if db.session.scalar(sa.select(TrainingClass.id)
                             .where(TrainingClass.join_code == code)) is None:
            return code


def new_join_code(klass: TrainingClass, actor: User) -> str:
    """Draw a new code: the old code and link stop working."""
    klass.join_code = _unused_code()
    db.session.flush()
    audit.record("classes.code_changed", target=klass, actor=actor)
    return klass.join_code


@dataclass(frozen=True)
class RosterEntry:
    candidate_id: int | None
    email: str
    name: str | None
    status: EnrolmentStatus
    since: datetime | None
    # A pending invitation by address: the trainer may withdraw it.
    invitation_id: int | None = None


def _pending(query):
    return query.where(ClassInvitation.accepted_at.is_(None),
                       ClassInvitation.declined_at.is_(None),
                       ClassInvitation.withdrawn_at.is_(None))


def _enrolment_count(klass: TrainingClass) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ClassEnrolment).where(
        ClassEnrolment.class_id == klass.id,
        ClassEnrolment.status != EnrolmentStatus.LEFT))


def roster_count(klass: TrainingClass) -> int:
    """How many entries the roster lists (enrolled candidates, then pending invitations),
    to paginate it: a class may hold hundreds."""
    return _enrolment_count(klass) + db.session.scalar(_pending(
        sa.select(sa.func.count()).select_from(ClassInvitation)
        .where(ClassInvitation.class_id == klass.id)))


def roster(klass: TrainingClass, *, include_left: bool = False, offset: int = 0,
           limit: int | None = None) -> list[RosterEntry]:
    """Who is in the class (enrolled, then invited), with their e-mail and, once they
    joined, the name of their profile: nothing else of the candidate's. An invitation
    shares nothing until it is accepted, so an invited candidate shows only the address
    the trainer typed."""
    statuses = list(EnrolmentStatus) if include_left else \
        [EnrolmentStatus.ENROLLED, EnrolmentStatus.INVITED]
    enrolments = _enrolment_count(klass)
    rows = db.session.execute(
        sa.select(ClassEnrolment, User.email, CandidateProfile.real_name)
        .join(User, User.id == ClassEnrolment.candidate_id)
        .outerjoin(CandidateProfile, CandidateProfile.user_id == User.id)
        .where(ClassEnrolment.class_id == klass.id, ClassEnrolment.status.in_(statuses))
        .order_by(ClassEnrolment.status, User.email, User.id)
        .offset(offset).limit(limit))
    entries = [RosterEntry(enrolment.candidate_id, email,
                           name if enrolment.status is EnrolmentStatus.ENROLLED else None,
                           enrolment.status, enrolment.consented_at or enrolment.invited_at)
               for enrolment, email, name in rows]
    # Then the pending invitations, exactly as the trainer's list gave them (address and
    # name), whether or not anyone has an account: one query on every page.
    skip = max(0, offset - enrolments)
    room = None if limit is None else max(0, limit - len(entries))
    invitations = db.session.scalars(_pending(
        sa.select(ClassInvitation).where(ClassInvitation.class_id == klass.id))
        .order_by(ClassInvitation.email, ClassInvitation.id).offset(skip).limit(room))
    return entries + [RosterEntry(None, invitation.email, invitation.name or None,
                                  EnrolmentStatus.INVITED, invitation.created_at,
                                  invitation.id) for invitation in invitations]


def enrolled_candidate_ids(class_id: int) -> list[int]:
    """The candidates who joined the class and share their progress with it."""
    return list(db.session.scalars(
        sa.select(ClassEnrolment.candidate_id)
        .where(ClassEnrolment.class_id == class_id,
               ClassEnrolment.status == EnrolmentStatus.ENROLLED)
        .order_by(ClassEnrolment.candidate_id)))


def class_of_attempt(attempt_id: int) -> TrainingClass | None:
    """The class an attempt was started for (through an assignment), if any."""
    return db.session.scalar(
        sa.select(TrainingClass)
        .join(ClassAssignment, ClassAssignment.class_id == TrainingClass.id)
        .join(AssignmentAttempt, AssignmentAttempt.assignment_id == ClassAssignment.id)
        .where(AssignmentAttempt.attempt_id == attempt_id))


# Trainers: importing a class list ------------------------------------------------------

IMPORT_LIMITS = limits.WEB


class RosterInvalid(ServiceError):
    """The list has problems: nothing was imported; `problems` says where."""

    def __init__(self, problems: list[rules.RosterProblem]):
        super().__init__(gettext("名单有错误，没有导入任何人。请改正后重新上传。"))
        self.problems = problems


def read_roster(filename: str, data: bytes) -> list[list[str]]:
    """The rows of an uploaded CSV or XLSX list (pure work: call it outside a write
    transaction, in extensions.no_write_lock())."""
    suffix = PurePath(filename or "").suffix.lower()
    try:
        if suffix == ".csv":
            return csv_format.read_rows(data, caps=IMPORT_LIMITS, gb18030=True)
        if suffix == ".xlsx":
            return xlsx_format.read_rows(data, caps=IMPORT_LIMITS)
    except UnreadableFile as error:
        raise ServiceError(gettext(error.message, **error.params)) from error
    raise ServiceError(gettext("只支持 %(formats)s 文件。", formats=".csv, .xlsx"))


def problem_text(problem: rules.RosterProblem) -> str:
    texts = {
        "empty": gettext("文件里没有名单。"),
        "too_many": gettext("一次最多导入 %(count)s 人。", count=problem.value),
        "header": gettext("第一行须是表头，并有“邮箱”列（可另有“姓名”列）。"),
        "email": gettext("邮箱“%(value)s”格式不对。", value=problem.value),
        "duplicate": gettext("邮箱“%(value)s”在名单里重复。", value=problem.value),
        "name": gettext("姓名太长。"),
    }
    text = texts[problem.code]
    return gettext("第 %(line)d 行：%(text)s", line=problem.line, text=text) \
        if problem.line else text


@dataclass
class ImportResult:
    """What the trainer is told: how many addresses the list held and were invited,
    nothing about which of them have an account (that would let a trainer probe anyone's
    address)."""
    addresses: int


INVITATION_MAIL = "classes.invitation"


def import_roster(klass: TrainingClass, rows: list[list[str]], actor: User, *,
                  now: datetime, locale: str = "zh_CN") -> ImportResult:
    """Invite every address of the list alike, all or none: a list with any problem
    raises RosterInvalid and changes nothing. Each valid address gets an invitation
    (address and name as the file gives them) whether or not an account exists, and no
    enrolment: a candidate whose address matches, now or after signing up, sees it on
    their classes page and accepts it (with consent) or declines it. An address invited
    before keeps its pending invitation; a declined or withdrawn one is invited again.
    Each newly pending invitation is mailed, through the outbox, the same text."""
    _refuse_if_closed(klass)
    found, problems = rules.check_roster(rows)
    if problems:
        raise RosterInvalid(problems)
    insert = dialect_insert(ClassInvitation, db.session.get_bind().dialect.name)
    for start in range(0, len(found), 500):
        batch = found[start:start + 500]
        values = [{"class_id": klass.id, "email": normalise_email(row.email),
                   "name": row.name, "invited_by_id": actor.id, "created_at": now}
                  for row in batch]
        emails = [value["email"] for value in values]
        already = set(db.session.scalars(_pending(sa.select(ClassInvitation.email).where(
            ClassInvitation.class_id == klass.id, ClassInvitation.email.in_(emails)))))
        db.session.execute(insert.values(values).on_conflict_do_nothing())
        for value in values:
            db.session.execute(
                sa.update(ClassInvitation)
                .where(ClassInvitation.class_id == klass.id,
                       ClassInvitation.email == value["email"],
                       ClassInvitation.accepted_at.is_(None),
                       sa.or_(ClassInvitation.declined_at.is_not(None),
                              ClassInvitation.withdrawn_at.is_not(None)))
                .values(name=value["name"], invited_by_id=actor.id, created_at=now,
                        declined_at=None, withdrawn_at=None)
                .execution_options(synchronize_session=False))
        fresh = [email for email in emails if email not in already]
        for invitation_id, email in db.session.execute(_pending(
                sa.select(ClassInvitation.id, ClassInvitation.email).where(
                    ClassInvitation.class_id == klass.id,
                    ClassInvitation.email.in_(fresh))).order_by(ClassInvitation.id)):
            mail.send_later(INVITATION_MAIL, email, {"invitation": invitation_id,
                                                     "locale": locale})
    db.session.flush()
    audit.record("classes.list_imported", target=klass, actor=actor, details={
        "addresses": len(found)})
    return ImportResult(addresses=len(found))


@mail.composer(INVITATION_MAIL)
def _compose_invitation(email: str, params: dict) -> mail.Draft | None:
    """The same text for every address (an account or not): where to see and answer
    the invitation. Nothing once it is no longer pending or the class is closed."""
    invitation = db.session.get(ClassInvitation, params.get("invitation"))
    if invitation is None or not invitation.is_pending or invitation.email != email:
        return None
    klass = invitation.training_class
    if klass.closed_at is not None or not klass.institution.is_active:
        return None
    return mail.Draft(
        gettext("邀请你加入班级“%(name)s”", name=klass.name),
        gettext("你好：\n“%(institution)s”的培训师邀请你加入班级“%(name)s”。\n"
                "请用本邮箱登录社会工作者考试门户（还没有账号可以用本邮箱注册），在“我的班级”"
                "里查看邀请：确认之前，培训师看不到你的任何学习数据；也可以拒绝。\n%(link)s\n"
                "如果你不认识这个机构，请忽略本邮件。",
                institution=klass.institution.name, name=klass.name,
                link=mail.public_url("classes.my_classes")))


def withdraw_invitation(klass: TrainingClass, invitation_id: int, actor: User, *,
                        now: datetime) -> None:
    """Withdraw a pending invitation of the class (a conditional update: an acceptance
    at the same moment wins or loses whole, never both)."""
    done = db.session.execute(_pending(
        sa.update(ClassInvitation).where(ClassInvitation.id == invitation_id,
                                         ClassInvitation.class_id == klass.id))
        .values(withdrawn_at=now).execution_options(synchronize_session=False)).rowcount
    if not done:
        if db.session.scalar(sa.select(ClassInvitation.id).where(
                ClassInvitation.id == invitation_id,
                ClassInvitation.class_id == klass.id)) is None:
            raise ClassNotFound(gettext("没有这份邀请。"))
        raise ServiceError(gettext("这份邀请已被接受、拒绝或撤回。"))
    audit.record("classes.invitation_withdrawn", target=klass, actor=actor,
                 details={"invitation": invitation_id})


def _refuse_if_closed(klass: TrainingClass) -> None:
    if klass.closed_at is not None:
        raise ServiceError(gettext("这个班级已经结课。"))


# Candidates: joining and leaving -------------------------------------------------------

def class_by_code(code: str) -> TrainingClass | None:
    """The open class of an active institution with this code, or None."""
    normalised = rules.normalise_code(code)
    if len(normalised) != rules.CODE_LENGTH:
        return None
    return db.session.scalar(
        sa.select(TrainingClass).join(Institution)
        .where(TrainingClass.join_code == normalised, TrainingClass.closed_at.is_(None),
               Institution.is_active.is_(True)))


def enrolment_of(candidate_id: int, class_id: int) -> ClassEnrolment | None:
    return db.session.get(ClassEnrolment, (class_id, candidate_id))


def join(klass: TrainingClass, candidate: User, *, now: datetime) -> ClassEnrolment:
    """The candidate confirms they join *klass* and share what the join page listed
    (with the code, or accepting an invitation). Joining again changes nothing."""
    _refuse_if_closed(klass)
    enrolment = db.session.get(ClassEnrolment, (klass.id, candidate.id), with_for_update=True)
    if enrolment is not None and enrolment.status is EnrolmentStatus.ENROLLED:
        return enrolment
    if enrolment is None:
        enrolment = ClassEnrolment(class_id=klass.id, candidate_id=candidate.id,
                                   status=EnrolmentStatus.ENROLLED, consented_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(enrolment)
        except IntegrityError:
            # A parallel join got there first: the same enrolment.
            enrolment = db.session.get(ClassEnrolment, (klass.id, candidate.id),
                                       populate_existing=True)
            if enrolment is None:
                raise
            enrolment.status, enrolment.consented_at = EnrolmentStatus.ENROLLED, now
    else:
        enrolment.status, enrolment.consented_at, enrolment.left_at = \
            EnrolmentStatus.ENROLLED, now, None
    db.session.flush()
    audit.record("classes.joined", target=klass, actor=candidate)
    return enrolment


def leave(klass_id: int, candidate: User, *, now: datetime) -> None:
    """Leave a class (or decline its invitation): its trainers see nothing more of the
    candidate; the candidate's own attempts stay theirs."""
    enrolment = db.session.get(ClassEnrolment, (klass_id, candidate.id), with_for_update=True)
    if enrolment is None or enrolment.status is EnrolmentStatus.LEFT:
        raise ClassNotFound(gettext("你不在这个班级。"))
    enrolment.status, enrolment.left_at = EnrolmentStatus.LEFT, now
    db.session.flush()
    audit.record("classes.left", target=enrolment.training_class, actor=candidate)


@dataclass(frozen=True)
class MyClass:
    klass: TrainingClass
    institution: Institution
    enrolment: ClassEnrolment


def candidate_classes(candidate_id: int, *, include_inactive: bool = False
                      ) -> list[MyClass]:
    """The classes the candidate is in or invited to, of active institutions (and, with
    *include_inactive*, of deactivated ones too: the candidate can always leave)."""
    query = (sa.select(TrainingClass, Institution, ClassEnrolment)
             .join(Institution, Institution.id == TrainingClass.institution_id)
             .join(ClassEnrolment, ClassEnrolment.class_id == TrainingClass.id)
             .where(ClassEnrolment.candidate_id == candidate_id,
                    ClassEnrolment.status != EnrolmentStatus.LEFT)
             .order_by(ClassEnrolment.status.desc(), TrainingClass.id.desc()))
    if not include_inactive:
        query = query.where(Institution.is_active.is_(True))
    return [MyClass(klass, institution, enrolment)
            for klass, institution, enrolment in db.session.execute(query)]


def candidate_class(candidate_id: int, class_id: int, *,
                    include_inactive: bool = False) -> MyClass:
    for mine in candidate_classes(candidate_id, include_inactive=include_inactive):
        if mine.klass.id == class_id:
            return mine
    raise ClassNotFound(gettext("你不在这个班级。"))


# Candidates: invitations by address ----------------------------------------------------

@dataclass(frozen=True)
class MyInvitation:
    invitation: ClassInvitation
    klass: TrainingClass
    institution: Institution


def _invitations_of(candidate: User):
    """Pending invitations to the candidate's address (matched when read: an address
    invited before its account existed finds them too), of open classes of active
    institutions."""
    return _pending(
        sa.select(ClassInvitation, TrainingClass, Institution)
        .join(TrainingClass, TrainingClass.id == ClassInvitation.class_id)
        .join(Institution, Institution.id == TrainingClass.institution_id)
        .where(ClassInvitation.email == normalise_email(candidate.email),
               TrainingClass.closed_at.is_(None), Institution.is_active.is_(True)))


def candidate_invitations(candidate: User) -> list[MyInvitation]:
    if candidate.role is not Role.CANDIDATE:
        return []
    return [MyInvitation(*row) for row in db.session.execute(
        _invitations_of(candidate).order_by(ClassInvitation.id.desc()))]


def invitation_for_candidate(candidate: User, invitation_id: int) -> MyInvitation:
    """The pending invitation if it is to the candidate's address; ClassNotFound
    otherwise (views answer 404)."""
    if candidate.role is Role.CANDIDATE:
        row = db.session.execute(_invitations_of(candidate).where(
            ClassInvitation.id == invitation_id)).first()
        if row is not None:
            return MyInvitation(*row)
    raise ClassNotFound(gettext("没有这份邀请。"))


def _settle(candidate: User, invitation_id: int, **values) -> None:
    done = db.session.execute(_pending(
        sa.update(ClassInvitation).where(
            ClassInvitation.id == invitation_id,
            ClassInvitation.email == normalise_email(candidate.email)))
        .values(**values).execution_options(synchronize_session=False)).rowcount
    if not done:
        raise ServiceError(gettext("这份邀请已被撤回或已处理，请刷新页面。"))


def accept_invitation(candidate: User, invitation_id: int, *, now: datetime
                      ) -> ClassEnrolment:
    """Accept an invitation after the consent step: the candidate joins the class as
    with its code. Accepting twice, or while the trainer withdraws it, makes one
    enrolment at most and a clear message for the other."""
    mine = invitation_for_candidate(candidate, invitation_id)
    _refuse_if_closed(mine.klass)
    _settle(candidate, invitation_id, accepted_at=now)
    return join(mine.klass, candidate, now=now)


def decline_invitation(candidate: User, invitation_id: int, *, now: datetime) -> None:
    mine = invitation_for_candidate(candidate, invitation_id)
    _settle(candidate, invitation_id, declined_at=now)
    audit.record("classes.invitation_declined", target=mine.klass, actor=candidate,
                 details={"invitation": invitation_id})


# Trainers: assignments -----------------------------------------------------------------

@dataclass(frozen=True)
class AssignmentFields:
    kind: AssignmentKind
    title: str
    subject: Subject
    due_at: datetime
    chapters: tuple[str, ...] = ()
    item_count: int | None = None
    form_id: int | None = None


def practice_counts(subject: Subject) -> tuple[int, ...]:
    size = set_size(subject, Mode.CHAPTER)
    return size.choices if size else ()


def chapter_choices(subject: Subject) -> list[tuple[str, str]]:
    """(code, title) of the chapters of the syllabus in force for *subject*."""
    version = syllabi.in_force()
    if not syllabus.is_loaded(version):
        return []
    return [(chapter.code, chapter.title)
            for chapter in syllabus.load(version).trees[subject].chapters]


def assignable_papers(level: Level) -> list[tuple[ExamForm, ExamSession]]:
    """Released past papers (locked forms released to the open pool) of *level*, each
    with its exam session. A locked form that is not released stays secret: it is never
    assignable."""
    subjects = [subject for subject in Subject if subject.level is level]
    return list(db.session.execute(
        sa.select(ExamForm, ExamSession).join(ExamSession, ExamSession.id == ExamForm.session_id)
        .where(ExamForm.subject.in_(subjects), ExamForm.status == FormStatus.LOCKED,
               ExamForm.released_at.is_not(None))
        .order_by(ExamForm.id.desc())))


def _check_assignment(klass: TrainingClass, fields: AssignmentFields, now: datetime) -> dict:
    if fields.subject.level is not klass.level:
        raise ServiceError(gettext("科目须是班级级别的科目。"))
    if fields.due_at <= now:
        raise ServiceError(gettext("截止时间须晚于现在。"))
    values = {"chapters": [], "item_count": None, "form_id": None}
    if fields.kind is AssignmentKind.PRACTICE:
        known = {code for code, _title in chapter_choices(fields.subject)}
        chosen = sorted(set(fields.chapters))
        if not chosen:
            raise ServiceError(gettext("请至少选择一章。"))
        if not set(chosen) <= known:
            raise ServiceError(gettext("所选章节不在现行考试大纲中。"))
        if fields.item_count not in practice_counts(fields.subject):
            raise ServiceError(gettext("题量不在可选范围内。"))
        values.update(chapters=chosen, item_count=fields.item_count)
    elif fields.kind is AssignmentKind.PAST_PAPER:
        form = db.session.get(ExamForm, fields.form_id) if fields.form_id else None
        if form is None or form.released_at is None or form.status is not FormStatus.LOCKED \
                or form.subject is not fields.subject:
            raise ServiceError(gettext("请选择这个科目已公开的历年真题。"))
        values.update(form_id=form.id)
    return values


def set_assignment(klass: TrainingClass, fields: AssignmentFields, actor: User, *,
                   now: datetime) -> ClassAssignment:
    """Set an assignment; the class's enrolled candidates are told (assignment_set)."""
    _refuse_if_closed(klass)
    values = _check_assignment(klass, fields, now)
    assignment = ClassAssignment(class_id=klass.id, kind=fields.kind, title=fields.title,
                                 subject=fields.subject, due_at=fields.due_at,
                                 created_by_id=actor.id, created_at=now, **values)
    db.session.add(assignment)
    db.session.flush()
    audit.record("classes.assignment_set", target=assignment, actor=actor, details={
        "class": klass.id, "kind": fields.kind.value, "subject": fields.subject.value,
        "due_at": fields.due_at.isoformat()})
    _notify_set(assignment, klass)
    return assignment


def _notify_set(assignment: ClassAssignment, klass: TrainingClass) -> None:
    class_notices.assignment_set(assignment, klass, enrolled_candidate_ids(klass.id))


def withdraw_assignment(assignment: ClassAssignment, actor: User, *, now: datetime) -> None:
    if assignment.withdrawn_at is not None:
        raise ServiceError(gettext("这项作业已撤回。"))
    assignment.withdrawn_at = now
    db.session.flush()
    audit.record("classes.assignment_withdrawn", target=assignment, actor=actor)


def assignment_for_trainer(user: User, assignment_id: int) -> ClassAssignment:
    assignment = db.session.get(ClassAssignment, assignment_id)
    if assignment is None:
        raise ClassNotFound(gettext("没有这项作业。"))
    class_for_trainer(user, assignment.class_id)
    return assignment


def class_assignments(class_id: int, *, include_withdrawn: bool = True
                      ) -> list[ClassAssignment]:
    query = sa.select(ClassAssignment).where(ClassAssignment.class_id == class_id)
    if not include_withdrawn:
        query = query.where(ClassAssignment.withdrawn_at.is_(None))
    return list(db.session.scalars(query.order_by(ClassAssignment.due_at.desc(),
                                                  ClassAssignment.id.desc())))


@dataclass(frozen=True)
class Completion:
    enrolled: int
    done: int
    in_progress: int
    overdue: int


def completions(class_id: int, assignments: list[ClassAssignment], *,
                now: datetime) -> dict[int, Completion]:
    """For each of the class's *assignments*, how many of its enrolled candidates
    finished, are at it, or are late, in two queries however many assignments. A
    withdrawn assignment is no one's task: never overdue."""
    enrolled = enrolled_candidate_ids(class_id)
    started: dict[int, dict[int, datetime | None]] = {a.id: {} for a in assignments}
    if assignments and enrolled:
        for assignment_id, candidate_id, submitted_at in db.session.execute(
                sa.select(AssignmentAttempt.assignment_id, AssignmentAttempt.candidate_id,
                          Attempt.submitted_at)
                .join(Attempt, Attempt.id == AssignmentAttempt.attempt_id)
                .join(ClassEnrolment, sa.and_(
                    ClassEnrolment.class_id == class_id,
                    ClassEnrolment.candidate_id == AssignmentAttempt.candidate_id))
                .where(AssignmentAttempt.assignment_id.in_(list(started)),
                       ClassEnrolment.status == EnrolmentStatus.ENROLLED)):
            started[assignment_id][candidate_id] = submitted_at
    found = {}
    for assignment in assignments:
        mine = started[assignment.id]
        counts = dict.fromkeys(AssignmentState, 0)
        for candidate_id in enrolled:
            counts[rules.state(assignment.due_at, now, started=candidate_id in mine,
                               submitted_at=mine.get(candidate_id))] += 1
        overdue = 0 if assignment.withdrawn_at is not None \
            else counts[AssignmentState.OVERDUE]
        found[assignment.id] = Completion(len(enrolled), counts[AssignmentState.DONE],
                                          counts[AssignmentState.IN_PROGRESS], overdue)
    return found


def completion(assignment: ClassAssignment, *, now: datetime) -> Completion:
    """How many of the class's enrolled candidates finished, are at it, or are late."""
    return completions(assignment.class_id, [assignment], now=now)[assignment.id]


# Candidates: assignments ---------------------------------------------------------------

@dataclass(frozen=True)
class MyAssignment:
    assignment: ClassAssignment
    klass: TrainingClass
    attempt: Attempt | None
    state: AssignmentState

    @property
    def late(self) -> bool:
        return rules.handed_in_late(self.assignment.due_at,
                                    self.attempt.submitted_at if self.attempt else None)


def _enrolled_assignments(candidate_id: int):
    return (sa.select(ClassAssignment, TrainingClass)
            .join(TrainingClass, TrainingClass.id == ClassAssignment.class_id)
            .join(Institution, Institution.id == TrainingClass.institution_id)
            .join(ClassEnrolment, sa.and_(ClassEnrolment.class_id == TrainingClass.id,
                                          ClassEnrolment.candidate_id == candidate_id))
            .where(ClassEnrolment.status == EnrolmentStatus.ENROLLED,
                   ClassAssignment.withdrawn_at.is_(None), Institution.is_active.is_(True)))


def candidate_assignments(candidate_id: int, *, now: datetime,
                          class_id: int | None = None) -> list[MyAssignment]:
    """The assignments of the candidate's classes, with their state: open ones first
    (soonest due first), then done ones."""
    query = _enrolled_assignments(candidate_id)
    if class_id is not None:
        query = query.where(TrainingClass.id == class_id)
    rows = list(db.session.execute(query))
    linked = dict(db.session.execute(
        sa.select(AssignmentAttempt.assignment_id, Attempt)
        .join(Attempt, Attempt.id == AssignmentAttempt.attempt_id)
        .where(AssignmentAttempt.candidate_id == candidate_id,
               AssignmentAttempt.assignment_id.in_([a.id for a, _k in rows]))).all()) \
        if rows else {}
    mine = []
    for assignment, klass in rows:
        attempt = linked.get(assignment.id)
        mine.append(MyAssignment(assignment, klass, attempt, rules.state(
            assignment.due_at, now, started=attempt is not None,
            submitted_at=attempt.submitted_at if attempt else None)))
    mine.sort(key=lambda m: (m.state is AssignmentState.DONE, m.assignment.due_at,
                             m.assignment.id))
    return mine


def open_tasks(candidate_id: int, *, now: datetime) -> list[MyAssignment]:
    """The assignments still to do (not started, in progress, overdue): the dashboard's."""
    return [m for m in candidate_assignments(candidate_id, now=now)
            if m.state is not AssignmentState.DONE]


def assignment_for_candidate(candidate_id: int, assignment_id: int) -> ClassAssignment:
    found = db.session.scalar(_enrolled_assignments(candidate_id)
                              .where(ClassAssignment.id == assignment_id))
    if found is None:
        raise ClassNotFound(gettext("没有这项作业。"))
    return found


def start(candidate: User, assignment_id: int, *, now: datetime) -> Attempt:
    """Start the candidate's attempt at an assignment, or go on with the one started
    before: one attempt per candidate and assignment, however many clicks."""
    assignment = assignment_for_candidate(candidate.id, assignment_id)
    # Parallel starts of one candidate in one class queue here until the first commits,
    # then find its link (on SQLite a POST's transaction holds the write lock already).
    db.session.execute(sa.select(ClassEnrolment.class_id).where(
        ClassEnrolment.class_id == assignment.class_id,
        ClassEnrolment.candidate_id == candidate.id).with_for_update())
    link = db.session.get(AssignmentAttempt, (assignment.id, candidate.id),
                          populate_existing=True)
    if link is not None:
        return db.session.get(Attempt, link.attempt_id)
    if rules.is_past_due(assignment.due_at, now):
        raise ServiceError(gettext("这项作业已过截止时间，不能再开始。"))
    attempt = _start_attempt(candidate, assignment, now)
    if attempt.started_at != now:
        # Delivery handed back a mock paper the candidate had open (started elsewhere at
        # this moment): it is not this assignment's.
        raise ServiceError(gettext(
            "你有一份这个科目的模拟考试还没交卷：请先交卷，再开始这项作业。"))
    db.session.add(AssignmentAttempt(assignment_id=assignment.id, candidate_id=candidate.id,
                                     attempt_id=attempt.id, started_at=now))
    db.session.flush()
    return attempt


def _start_attempt(candidate: User, assignment: ClassAssignment, now: datetime) -> Attempt:
    if assignment.kind is not AssignmentKind.PRACTICE:
        open_mock = attempts.open_mock(candidate.id, assignment.subject)
        if open_mock is not None:
            raise ServiceError(gettext(
                "你有一份这个科目的模拟考试还没交卷：请先交卷，再开始这项作业。"))
    try:
        if assignment.kind is AssignmentKind.PRACTICE:
            return attempts.start_attempt(
                candidate.id, assignment.subject, Mode.CHAPTER, now=now,
                chapters=tuple(assignment.chapters), count=assignment.item_count)
        if assignment.kind is AssignmentKind.MOCK:
            return attempts.start_attempt(candidate.id, assignment.subject, Mode.MOCK,
                                          now=now)
        return past_papers.start(candidate, assignment.form_id, now=now)
    except attempts.CannotStart as error:
        raise ServiceError(str(error)) from error


def assignment_of_attempt(attempt_id: int) -> ClassAssignment | None:
    return db.session.scalar(
        sa.select(ClassAssignment).join(AssignmentAttempt)
        .where(AssignmentAttempt.attempt_id == attempt_id))


def due_soon(now: datetime) -> list[tuple[ClassAssignment, list[int]]]:
    """Assignments due from *now* to the end of tomorrow, Beijing time, each with the
    enrolled candidates who have not handed it in: the "due tomorrow" notice's
    recipients (three queries in all)."""
    assignments = list(db.session.scalars(
        sa.select(ClassAssignment)
        .join(TrainingClass, TrainingClass.id == ClassAssignment.class_id)
        .join(Institution, Institution.id == TrainingClass.institution_id)
        .where(ClassAssignment.withdrawn_at.is_(None),
               ClassAssignment.due_at > now,
               ClassAssignment.due_at < rules.end_of_tomorrow(now, LOCAL_ZONE),
               Institution.is_active.is_(True))
        .order_by(ClassAssignment.id)))
    if not assignments:
        return []
    members: dict[int, list[int]] = {}
    for class_id, candidate_id in db.session.execute(
            sa.select(ClassEnrolment.class_id, ClassEnrolment.candidate_id)
            .where(ClassEnrolment.class_id.in_({a.class_id for a in assignments}),
                   ClassEnrolment.status == EnrolmentStatus.ENROLLED)
            .order_by(ClassEnrolment.candidate_id)):
        members.setdefault(class_id, []).append(candidate_id)
    done = {(assignment_id, candidate_id) for assignment_id, candidate_id in db.session.execute(
        sa.select(AssignmentAttempt.assignment_id, AssignmentAttempt.candidate_id)
        .join(Attempt, Attempt.id == AssignmentAttempt.attempt_id)
        .where(AssignmentAttempt.assignment_id.in_([a.id for a in assignments]),
               Attempt.status == AttemptStatus.SUBMITTED))}
    found = []
    for assignment in assignments:
        waiting = [cid for cid in members.get(assignment.class_id, [])
                   if (assignment.id, cid) not in done]
        if waiting:
            found.append((assignment, waiting))
    return found


@notifications.sweep_source(class_notices.DUE_TOMORROW)
def _due_tomorrow(now: datetime) -> None:
    """The daily sweep: tell each candidate of an assignment due by the end of tomorrow
    (Beijing time) that they have not handed in (once per assignment: the event key)."""
    for assignment, candidate_ids in due_soon(now):
        class_notices.due_tomorrow(assignment, candidate_ids)
