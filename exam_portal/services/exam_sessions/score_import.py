"""Paper sittings: import subject scores by admission number from CSV or XLSX. Every
row is checked against the session's registrations first; the import then writes all
rows or none, and importing the same file again changes nothing."""

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import PurePath

import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import CandidateProfile, User
from exam_portal.models.sittings import (
    ExamSession,
    Registration,
    RegistrationStatus,
    ResultSource,
    SessionMode,
    SubjectResult,
    VerificationMode,
)
from exam_portal.services import ServiceError
from exam_portal.services.exam_sessions import fees, scores, sittings
from exam_portal.services.platform import audit
from question_bank import pass_rules, score_sheet
from question_bank.formats import csv_format, xlsx_format
from question_bank.formats.limits import UnreadableFile
from question_bank.i18n import N_
from question_bank.items import Problem
from question_bank.subjects import Subject

READERS = {".csv": csv_format.read_rows, ".xlsx": xlsx_format.read_rows}
CHUNK = 5_000


class Action(enum.StrEnum):
    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass
class PlannedScore:
    row: score_sheet.ScoreRow
    action: Action
    problems: list[Problem] = field(default_factory=list)
    registration_id: int | None = None
    candidate_id: int | None = None
    result_id: int | None = None
    before: Decimal | None = None


@dataclass
class ScorePlan:
    rows: list[PlannedScore]

    def count(self, action: Action) -> int:
        return sum(1 for row in self.rows if row.action is action)

    @property
    def errors(self) -> list[PlannedScore]:
        return [row for row in self.rows if row.action is Action.ERROR]


def read_sheet(filename: str, data: bytes) -> list[score_sheet.ScoreRow]:
    """Read the score rows of a CSV or XLSX file, under the score sheet's caps.

    Pure work that may take seconds: call it inside extensions.no_write_lock()."""
    reader = READERS.get(PurePath(filename or "").suffix.lower())
    if reader is None:
        raise ServiceError(gettext("只支持 %(formats)s 文件。", formats="、".join(READERS)))
    try:
        return score_sheet.read_sheet(reader(data, caps=score_sheet.LIMITS))
    except UnreadableFile as error:
        raise ServiceError(gettext(error.message, **error.params)) from error


def _check_session(session: ExamSession, now: datetime) -> None:
    if session.mode is not SessionMode.PAPER:
        raise ServiceError(gettext("网上考试的成绩来自考生的作答，不能导入。"))
    if sittings.hold_results(session.id):
        raise ServiceError(gettext("成绩已发布，不能再修改。"))
    if now < session.exam_closes_at:
        raise ServiceError(gettext("考试结束后才能录入成绩。"))


def plan(session: ExamSession, sheet: list[score_sheet.ScoreRow], *,
         now: datetime) -> ScorePlan:
    """Decide, per row, whether it adds a score, changes one, changes nothing, or fails."""
    _check_session(session, now)
    numbers = sorted({row.admission_number for row in sheet if row.admission_number})
    registrations, stored = {}, {}
    for start in range(0, len(numbers), CHUNK):
        chunk = numbers[start:start + CHUNK]
        for number, *rest in db.session.execute(
                sa.select(Registration.admission_number, Registration.id,
                          Registration.candidate_id, Registration.level,
                          Registration.status, CandidateProfile.real_name)
                .join(User, User.id == Registration.candidate_id)
                .outerjoin(CandidateProfile, CandidateProfile.user_id == User.id)
                .where(Registration.session_id == session.id,
                       Registration.admission_number.in_(chunk))):
            registrations[number] = rest
        for registration_id, subject, result_id, halves in db.session.execute(
                sa.select(SubjectResult.registration_id, SubjectResult.subject,
                          SubjectResult.id, SubjectResult.score_halves)
                .join(Registration, Registration.id == SubjectResult.registration_id)
                .where(Registration.session_id == session.id,
                       Registration.admission_number.in_(chunk))):
            stored[(registration_id, subject)] = (result_id, Decimal(halves) / 2)
    verified_first = session.verification_mode is VerificationMode.BEFORE_EXAM
    paid = fees.paid_ids(session, [(found[0], found[2]) for found in registrations.values()])
    return ScorePlan([_plan_row(row, registrations, stored, verified_first, paid)
                      for row in sheet])


def _plan_row(row: score_sheet.ScoreRow, registrations: dict, stored: dict,
              verified_first: bool, paid: set[int]) -> PlannedScore:
    problems = list(row.problems)
    found = registrations.get(row.admission_number)
    if found is None and row.admission_number:
        problems.append(Problem(score_sheet.ADMISSION_NUMBER, _unknown_number(
            row.admission_number)))
    if found is None or problems:
        return PlannedScore(row, Action.ERROR, problems)
    registration_id, candidate_id, level, status, real_name = found
    if status is RegistrationStatus.REJECTED:
        problems.append(Problem(score_sheet.ADMISSION_NUMBER, N_("这条报名已被退回。")))
    elif verified_first and status is not RegistrationStatus.VERIFIED:
        problems.append(Problem(score_sheet.ADMISSION_NUMBER,
                                N_("这条报名还没有审核通过（本批次考前审核）。")))
    elif registration_id not in paid:
        problems.append(Problem(score_sheet.ADMISSION_NUMBER,
                                N_("这条报名未按期缴清考试费，不能参加考试。")))
    if row.name and row.name != (real_name or ""):
        problems.append(Problem(score_sheet.NAME, N_("姓名与报名信息不符。")))
    if row.subject not in pass_rules.subjects_of(level):
        problems.append(Problem(score_sheet.SUBJECT, N_("这个科目不属于所报考的级别。")))
    else:
        problem = scores.score_problem(level, row.subject, row.score)
        if problem:
            problems.append(Problem(score_sheet.SCORE, N_("%(score)s：%(problem)s"),
                                    {"score": f"{row.score:g}", "problem": problem}))
    if problems:
        return PlannedScore(row, Action.ERROR, problems)
    result_id, before = stored.get((registration_id, row.subject), (None, None))
    action = (Action.NEW if result_id is None
              else Action.UNCHANGED if before == row.score else Action.CHANGED)
    return PlannedScore(row, action, [], registration_id, candidate_id, result_id, before)


def _unknown_number(number: str) -> str:
    if "E+" in number.upper() or "." in number:
        # Excel shows a long number in scientific notation and saves it so.
        return N_("准考证号被表格软件改成了数字（如 2.026E+15）：请把该列设为文本后重填。")
    return N_("本考试批次没有这个准考证号。")


def apply(session: ExamSession, score_plan: ScorePlan, actor: User, *, filename: str,
          now: datetime, reason: str = "") -> dict[str, int]:
    """Write every new and changed score, or nothing when any row fails. Changing a
    score already recorded needs a reason; the audit row lists each change (EX-14)."""
    _check_session(session, now)
    if not score_plan.count(Action.NEW) and not score_plan.count(Action.CHANGED):
        raise ServiceError(gettext("文件中的成绩都已录入，没有需要导入的变化。"))
    if score_plan.errors:
        raise ServiceError(gettext("文件中有 %(n)d 行错误，未导入任何成绩。",
                                   n=len(score_plan.errors)))
    reason = reason.strip()
    if score_plan.count(Action.CHANGED) and not reason:
        raise ServiceError(gettext("文件会修改已有的成绩，请填写修改原因。"))
    new = [_values(row, session, now) | {
        "registration_id": row.registration_id, "candidate_id": row.candidate_id,
        "year": session.year, "subject": row.row.subject}
        for row in score_plan.rows if row.action is Action.NEW]
    changed = [_values(row, session, now) | {"id": row.result_id}
               for row in score_plan.rows if row.action is Action.CHANGED]
    for start in range(0, len(new), CHUNK):
        db.session.execute(sa.insert(SubjectResult), new[start:start + CHUNK])
    for start in range(0, len(changed), CHUNK):
        db.session.execute(sa.update(SubjectResult), changed[start:start + CHUNK])
    summary = {action.value: score_plan.count(action) for action in Action
               if action is not Action.ERROR}
    audit.record("session.scores_imported", target=session, actor=actor, details={
        "file": filename[:200], **summary, "reason": reason[:500] or None,
        "changes": [[row.row.admission_number, row.row.subject.value,
                     int(row.before * 2), int(row.row.score * 2)]
                    for row in score_plan.rows if row.action is Action.CHANGED]})
    return summary


def _values(row: PlannedScore, session: ExamSession, now: datetime) -> dict:
    subject: Subject = row.row.subject
    # A new or changed score waits to be marked, like one recorded singly.
    return {"score_halves": int(row.row.score * 2),
            "full_halves": int(scores.full_marks(subject) * 2),
            "source": ResultSource.PAPER, "attempt_id": None, "updated_at": now,
            "line_halves": None, "passed": None, "passed_region": None}


def template() -> bytes:
    """An empty score sheet (CSV with a BOM, so Excel opens it as UTF-8)."""
    return ("\ufeff" + ",".join(score_sheet.HEADERS) + "\r\n").encode()
