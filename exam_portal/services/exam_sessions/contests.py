"""Mock contests (模考大赛): an administrator schedules one paper of a subject for a
window; candidates who start it in the window are ranked once every such paper has
ended, with their percentile overall and in their province and each item's national
correct rate. Candidates who start it after the window get the same report, not
ranked. The paper's keys are shown to nobody before the last paper in the window ends.
"""

import dataclasses
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import sqlalchemy as sa
from flask_babel import gettext

from exam_portal.extensions import db
from exam_portal.models.accounts import CandidateProfile, User
from exam_portal.models.attempts import Attempt, AttemptItem, AttemptStatus, EndedBy, Response
from exam_portal.models.contests import (
    Contest,
    ContestEntry,
    ContestItem,
    ContestItemRate,
    ContestStanding,
)
from exam_portal.models.forms import ExamForm, FormStatus
from exam_portal.models.types import dialect_insert
from exam_portal.services import ServiceError
from exam_portal.services.delivery import attempts, hand_in
from exam_portal.services.exam_sessions import forms
from exam_portal.services.platform import audit, bulk, jobs
from question_bank import contests as ranking
from question_bank import regions, specs
from question_bank.assembly import FormPosition
from question_bank.practice import Mode
from question_bank.subjects import Subject, SubjectKind

RANK_JOB = "contests.rank"
TITLE_LENGTH = 120


@dataclass(frozen=True)
class ContestFields:
    title: str
    subject: Subject
    source_form_id: int | None  # a released past paper; None: drawn by the mock spec
    opens_at: datetime
    closes_at: datetime


def _problem(fields: ContestFields, now: datetime) -> str | None:
    if not fields.title.strip():
        return gettext("请填写模考大赛的名称。")
    if len(fields.title.strip()) > TITLE_LENGTH:
        return gettext("名称最多 %(count)d 个字。", count=TITLE_LENGTH)
    if fields.subject.kind is not SubjectKind.OBJECTIVE:
        return gettext("模考大赛只用选择题科目：实务科目的主观题要人工阅卷，不能当场排名。")
    if fields.closes_at <= fields.opens_at:
        return gettext("结束时间必须晚于开始时间。")
    if fields.closes_at <= now:
        return gettext("结束时间已经过去。")
    return None


def _paper(fields: ContestFields, now: datetime) -> attempts.FormPaper:
    if fields.source_form_id is None:
        try:
            return attempts.draw_full_paper(fields.subject, now=now)
        except attempts.CannotStart as error:
            raise ServiceError(str(error)) from error
    form = db.session.get(ExamForm, fields.source_form_id)
    if form is None or form.released_at is None or form.status is not FormStatus.LOCKED \
            or form.subject is not fields.subject:
        # Only a released paper: a contest on an unreleased form would show the items
        # of an exam still to come.
        raise ServiceError(gettext("只能用这个科目已公开的历年真题作模考大赛的试卷。"))
    return forms.paper_of(form)


def schedule(fields: ContestFields, actor: User, *, now: datetime) -> Contest:
    """Schedule a contest: its paper is fixed now, the same for everyone."""
    problem = _problem(fields, now)
    if problem:
        raise ServiceError(problem)
    paper = _paper(fields, now)
    contest = Contest(
        title=fields.title.strip(), subject=fields.subject,
        source_form_id=fields.source_form_id, spec_variant=paper.spec_variant,
        minutes=specs.load(fields.subject, paper.spec_variant).minutes,
        opens_at=fields.opens_at, closes_at=fields.closes_at, created_by=actor.id,
        created_at=now)
    contest.items = [
        ContestItem(position=entry.position, section=entry.section, item_id=entry.item_id,
                    item_version_id=entry.version_id, item_type=entry.item_type,
                    chapter_code=entry.chapter, points_halves=entry.points_halves,
                    option_count=entry.option_count, fixed_order=entry.fixed_order)
        for entry in paper.items]
    db.session.add(contest)
    db.session.flush()
    audit.record("contest.scheduled", target=contest, actor=actor, details={
        "title": contest.title, "subject": contest.subject.value,
        "source_form_id": contest.source_form_id, "items": len(contest.items),
        "opens_at": contest.opens_at.isoformat(), "closes_at": contest.closes_at.isoformat()})
    return contest


def cancel(contest: Contest, actor: User, *, now: datetime) -> None:
    """Call off a contest nobody has started yet."""
    if contest.cancelled_at is not None:
        raise ServiceError(gettext("这场模考大赛已经取消。"))
    if entry_count(contest) or now >= contest.opens_at:
        raise ServiceError(gettext("模考大赛已经开始，不能取消。"))
    contest.cancelled_at = now
    db.session.flush()
    audit.record("contest.cancelled", target=contest, actor=actor,
                 details={"title": contest.title})


def entry_count(contest: Contest) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ContestEntry)
                             .where(ContestEntry.contest_id == contest.id))


@dataclass(frozen=True)
class Counts:
    entries: int
    late: int
    handed_in: int


def counts(contest: Contest) -> Counts:
    late = sa.func.sum(sa.case((ContestEntry.late, 1), else_=0))
    handed = sa.func.sum(sa.case((ContestEntry.score_halves.is_not(None), 1), else_=0))
    entries, late_count, handed_in = db.session.execute(
        sa.select(sa.func.count(), late, handed).where(
            ContestEntry.contest_id == contest.id)).one()
    return Counts(entries, int(late_count or 0), int(handed_in or 0))


def listing():
    """Every contest, the latest window first (administrators)."""
    return sa.select(Contest).order_by(Contest.opens_at.desc(), Contest.id.desc())


def for_candidates(now: datetime) -> tuple[list[Contest], list[Contest]]:
    """Contests open or to come, soonest first, and the last twenty that closed."""
    live = db.session.scalars(
        sa.select(Contest).where(Contest.cancelled_at.is_(None), Contest.closes_at > now)
        .order_by(Contest.opens_at, Contest.id)).all()
    closed = db.session.scalars(
        sa.select(Contest).where(Contest.cancelled_at.is_(None), Contest.closes_at <= now)
        .order_by(Contest.closes_at.desc(), Contest.id.desc()).limit(20)).all()
    return list(live), list(closed)


def entries_of(candidate_id: int, contest_ids) -> dict[int, ContestEntry]:
    return {entry.contest_id: entry for entry in db.session.scalars(
        sa.select(ContestEntry).where(ContestEntry.candidate_id == candidate_id,
                                      ContestEntry.contest_id.in_(list(contest_ids))))}


def _province(candidate_id: int) -> str | None:
    region = db.session.scalar(sa.select(CandidateProfile.region)
                               .where(CandidateProfile.user_id == candidate_id))
    return regions.province_of(region) if region else None


def start(contest: Contest, candidate: User, *, now: datetime) -> Attempt:
    """The candidate's paper of the contest: started now (late after the window, and
    then never ranked), or the one they started before."""
    if contest.cancelled_at is not None:
        raise ServiceError(gettext("这场模考大赛已经取消。"))
    if now < contest.opens_at:
        raise ServiceError(gettext("模考大赛还没有开始。"))
    entry = db.session.get(ContestEntry, (contest.id, candidate.id))
    if entry is not None:
        return db.session.get(Attempt, entry.attempt_id)
    paper = attempts.FormPaper(None, contest.spec_variant, tuple(
        FormPosition(item.section, item.position, item.item_version_id, item.item_id,
                     item.item_type, item.chapter_code, item.points_halves,
                     item.option_count, item.fixed_order)
        for item in contest.items))
    try:
        attempt = attempts.start_contest_paper(candidate.id, contest.subject, now=now,
                                               form=paper)
    except attempts.CannotStart as error:
        raise ServiceError(str(error)) from error
    # Two starts at once share the paper that won (its open-mock index); the entry is
    # made once, whichever of them writes it.
    insert = dialect_insert(ContestEntry.__table__, db.session.get_bind().dialect.name)
    db.session.execute(insert.on_conflict_do_nothing(), [{
        "contest_id": contest.id, "candidate_id": candidate.id, "attempt_id": attempt.id,
        "province": _province(candidate.id), "late": now >= contest.closes_at,
        "started_at": now}])
    entry = db.session.get(ContestEntry, (contest.id, candidate.id), populate_existing=True)
    return db.session.get(Attempt, entry.attempt_id)


def contest_of(attempt: Attempt) -> Contest | None:
    if attempt.mode is not Mode.MOCK or attempt.form_id is not None:
        return None
    return db.session.scalar(sa.select(Contest).join(
        ContestEntry, ContestEntry.contest_id == Contest.id)
        .where(ContestEntry.attempt_id == attempt.id))


def record_contest_score(attempt: Attempt, now: datetime) -> None:
    """Keep a contest paper's score and right answers on its entry when it is marked
    (delivery calls this through its after-marking hook)."""
    if attempt.mode is not Mode.MOCK or attempt.form_id is not None:
        return
    entry = db.session.scalar(sa.select(ContestEntry)
                              .where(ContestEntry.attempt_id == attempt.id))
    if entry is None:
        return
    right = dict(db.session.execute(
        sa.select(AttemptItem.item_id,
                  sa.func.coalesce(Response.score_halves, -1) == AttemptItem.points_halves)
        .outerjoin(Response, sa.and_(Response.attempt_id == AttemptItem.attempt_id,
                                     Response.position == AttemptItem.position))
        .where(AttemptItem.attempt_id == attempt.id)).all())
    positions = db.session.scalars(
        sa.select(ContestItem.item_id).where(ContestItem.contest_id == entry.contest_id)
        .order_by(ContestItem.position)).all()
    entry.score_halves = attempt.score_halves or 0
    entry.right_mask = "".join("1" if right.get(item_id) else "0" for item_id in positions)
    db.session.flush()


# Ranking -------------------------------------------------------------------------------

def start_ranking(contest: Contest, actor: User, *, now: datetime):
    """Rank the contest as a background job (again after late hand-ins changes
    nothing: only papers started in the window are ranked)."""
    if contest.cancelled_at is not None:
        raise ServiceError(gettext("这场模考大赛已经取消。"))
    if now < contest.ends_at + attempts.grace():
        raise ServiceError(gettext("窗口内开考的试卷全部结束后才能排名（%(at)s 之后）。",
                                   at=contest.ends_at.isoformat(timespec="minutes")))
    return jobs.submit(RANK_JOB, target_id=contest.id, actor=actor,
                       params={"contest_id": contest.id, "actor_id": actor.id})


@dataclass(frozen=True)
class RankSummary:
    sitters: int
    provinces: int
    items: int


def rank(contest: Contest, *, now: datetime,
         progress: jobs.Progress = jobs.no_progress) -> RankSummary:
    """Rank every paper started in the window (handing in those whose time ran out),
    and count each item's national correct rate among them."""
    progress("hand-in", 0, None)
    overdue = db.session.scalars(
        sa.select(Attempt.id).join(ContestEntry, ContestEntry.attempt_id == Attempt.id)
        .where(ContestEntry.contest_id == contest.id,
               Attempt.status == AttemptStatus.IN_PROGRESS,
               Attempt.deadline_at < now - attempts.grace())).all()
    for attempt_id in overdue:
        hand_in.finalise(attempt_id, now=now, ended_by=EndedBy.DEADLINE)
    progress("rank", 0, None)
    rows = db.session.execute(
        sa.select(ContestEntry.candidate_id, ContestEntry.score_halves,
                  ContestEntry.province, ContestEntry.right_mask)
        .where(ContestEntry.contest_id == contest.id, ContestEntry.late.is_(False),
               ContestEntry.score_halves.is_not(None))
        .order_by(ContestEntry.candidate_id)).all()
    scores = [row.score_halves for row in rows]
    provinces = [row.province for row in rows]
    overall = ranking.standings(scores)
    local = ranking.standings_by_group(scores, provinces)
    db.session.execute(sa.delete(ContestStanding).where(ContestStanding.contest_id == contest.id))
    db.session.execute(sa.delete(ContestItemRate).where(ContestItemRate.contest_id == contest.id))
    # COPY on PostgreSQL: a national contest writes a row per sitter.
    bulk.insert_rows(ContestStanding.__table__, [
        {"contest_id": contest.id, "candidate_id": row.candidate_id,
         "score_halves": row.score_halves, "rank": standing.rank, "below": standing.below,
         "province_rank": here.rank if here else None,
         "province_below": here.below if here else None,
         "province_sitters": here.sitters if here else None}
        for row, standing, here in zip(rows, overall, local, strict=True)])
    progress("items", len(rows), len(rows))
    item_ids = db.session.scalars(sa.select(ContestItem.item_id)
                                  .where(ContestItem.contest_id == contest.id)
                                  .order_by(ContestItem.position)).all()
    masks = [row.right_mask for row in rows if row.right_mask
             and len(row.right_mask) == len(item_ids)]
    right = np.zeros(len(item_ids), dtype=np.int64)
    if masks:
        matrix = np.frombuffer("".join(masks).encode("ascii"), dtype=np.uint8)
        right = (matrix.reshape(len(masks), len(item_ids)) == ord("1")).sum(axis=0)
    bulk.insert_rows(ContestItemRate.__table__, [
        {"contest_id": contest.id, "item_id": item_id, "right": int(count),
         "answered": len(rows)}
        for item_id, count in zip(item_ids, right, strict=True)])
    contest.ranked_at, contest.ranked_sitters = now, len(rows)
    db.session.flush()
    return RankSummary(len(rows), len({p for p in provinces if p}), len(item_ids))


@jobs.job_kind(RANK_JOB)
def _rank_job(params: dict, progress: jobs.Progress) -> dict:
    from exam_portal.models.types import utcnow

    contest = db.session.get(Contest, params["contest_id"])
    if contest is None:
        raise ServiceError(gettext("没有这场模考大赛。"))
    summary = rank(contest, now=utcnow(), progress=progress)
    audit.record("contest.ranked", target=contest,
                 actor=db.session.get(User, params["actor_id"]),
                 details=dataclasses.asdict(summary))
    db.session.commit()
    return dataclasses.asdict(summary)


def standings_page(contest: Contest):
    """The ranked sitters, best first, for administrators."""
    return (sa.select(ContestStanding).where(ContestStanding.contest_id == contest.id)
            .order_by(ContestStanding.rank, ContestStanding.candidate_id))


def emails(user_ids) -> dict[int, str]:
    return dict(db.session.execute(sa.select(User.id, User.email)
                                   .where(User.id.in_(list(user_ids)))).all())


# The candidate's report ----------------------------------------------------------------

@dataclass(frozen=True)
class Report:
    contest: Contest
    entry: ContestEntry
    attempt: Attempt
    standing: ContestStanding | None  # None: late, not handed in, or not ranked yet
    rates: dict[int, float]  # item id → national correct rate (once ranked)

    @property
    def overall(self) -> ranking.Standing | None:
        if self.standing is None:
            return None
        return ranking.Standing(self.standing.rank, self.standing.below,
                                self.contest.ranked_sitters)

    @property
    def in_province(self) -> ranking.Standing | None:
        if self.standing is None or self.standing.province_rank is None:
            return None
        return ranking.Standing(self.standing.province_rank, self.standing.province_below,
                                self.standing.province_sitters)


def report(contest: Contest, candidate_id: int) -> Report | None:
    """The candidate's report of a contest they sat (None: they did not)."""
    entry = db.session.get(ContestEntry, (contest.id, candidate_id))
    if entry is None:
        return None
    standing = db.session.get(ContestStanding, (contest.id, candidate_id)) \
        if contest.ranked_at is not None and not entry.late else None
    return Report(contest, entry, db.session.get(Attempt, entry.attempt_id), standing,
                  national_rates(contest))


@dataclass(frozen=True)
class ItemRow:
    position: int  # on the candidate's paper
    right: bool
    rate: float | None  # the national correct rate (None before the ranking)


def item_rows(report: Report) -> list[ItemRow]:
    """Each item of the candidate's paper in their order: whether they had it right,
    and how many of the ranked sitters did."""
    if report.entry.right_mask is None:
        return []
    contest_order = db.session.scalars(
        sa.select(ContestItem.item_id).where(ContestItem.contest_id == report.contest.id)
        .order_by(ContestItem.position)).all()
    right = {item_id: flag == "1"
             for item_id, flag in zip(contest_order, report.entry.right_mask, strict=False)}
    return [ItemRow(position, right.get(item_id, False), report.rates.get(item_id))
            for position, item_id in db.session.execute(
                sa.select(AttemptItem.position, AttemptItem.item_id)
                .where(AttemptItem.attempt_id == report.attempt.id)
                .order_by(AttemptItem.position))]


def national_rates(contest: Contest) -> dict[int, float]:
    return {item_id: right / answered for item_id, right, answered in db.session.execute(
        sa.select(ContestItemRate.item_id, ContestItemRate.right, ContestItemRate.answered)
        .where(ContestItemRate.contest_id == contest.id, ContestItemRate.answered > 0))}
