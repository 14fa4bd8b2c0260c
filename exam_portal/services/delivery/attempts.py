"""Attempts: start one (practice, mock paper, sitting), find and own it, its clock.

The refusals every part of delivery raises are here too, so a view maps each to one
answer whichever step raised it."""


import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.attempts import (
    Attempt,
    AttemptItem,
    AttemptStatus,
)
from exam_portal.services import ServiceError
from exam_portal.services.delivery import learning
from exam_portal.services.item_bank import pools
from exam_portal.services.platform import syllabi
from exam_portal.services.platform.clock import LOCAL_ZONE
from question_bank import delivery, specs, syllabus
from question_bank.assembly import FormPosition, Pool, assemble, seat_form
from question_bank.errors import QuotaNotMet
from question_bank.practice import Mode, daily_seed, default_law_cutoff, set_size
from question_bank.subjects import Subject


class AttemptNotFound(ServiceError):
    """No such attempt, or not the candidate's own (both answer 404)."""


class Refused(ServiceError):
    """A save or submit that cannot be taken; `code` tells the browser which case."""

    code = "refused"


class AttemptClosed(Refused):
    code = "closed"


class DeviceSuperseded(Refused):
    code = "superseded"


class StaleSave(Refused):
    code = "stale"

    def __init__(self, message: str, stored_seq: int):
        super().__init__(message)
        self.stored_seq = stored_seq


class ResponseLocked(Refused):
    code = "locked"


class InvalidResponse(ServiceError):
    """A payload that is not an answer to this paper (400): nothing is stored."""


class CannotStart(ServiceError):
    """The set cannot be drawn (no items, bank too small, mode not for this subject)."""


def grace() -> timedelta:
    return timedelta(seconds=current_app.config["ATTEMPT_GRACE_SECONDS"])


def law_cutoff(today: date) -> date:
    configured = current_app.config.get("LAW_CUTOFF")
    if configured:
        return date.fromisoformat(str(configured))
    return default_law_cutoff(today, current_app.config["EXAM_MONTH"])


def remaining_seconds(attempt: Attempt, now: datetime) -> int | None:
    if attempt.deadline_at is None:
        return None
    return max(0, int((attempt.deadline_at - now).total_seconds()))


def is_overdue(attempt: Attempt, now: datetime) -> bool:
    """Past the deadline and its grace: no save or submit is taken any more."""
    return attempt.deadline_at is not None and now > attempt.deadline_at + grace()


@dataclass(frozen=True)
class Sitting:
    """What an exam sitting (Mode.EXAM) takes from its registration and session."""

    registration_id: int
    law_cutoff: date
    closes_at: datetime  # the exam window's end: no deadline runs past it


@dataclass(frozen=True)
class FormPaper:
    """A locked exam form, as a sitting takes it."""

    form_id: int | None  # None: a contest paper, no exam form of its own
    spec_variant: str | None
    items: tuple[FormPosition, ...]


def start_attempt(candidate_id: int, subject: Subject, mode: Mode, *, now: datetime,
                  chapters: tuple[str, ...] = (), count: int | None = None,
                  variant: str | None = None,
                  syllabus_version: str | None = None) -> Attempt:
    """Draw a paper or practice set for the candidate and store it.

    It draws from the open-pool items written against one syllabus version, with
    chapters and chapter quotas from that version's tree: *syllabus_version* (default:
    the version in force). The wrong-answer book and bookmarks are the candidate's own
    items, whatever version they are filed under. An exam sitting is not drawn: it
    takes its session's locked form (start_sitting).
    """
    if mode is Mode.EXAM:
        raise CannotStart(gettext("正式考试只能从报名开始。"))
    version = syllabus_version or syllabi.in_force()
    if not syllabus.is_loaded(version):
        raise CannotStart(gettext("没有 %(version)s 年版考试大纲的数据，不能抽题。",
                                  version=str(version)[:10]))
    tree_chapters = frozenset(
        chapter.code for chapter in syllabus.load(version).trees[subject].chapters)
    if mode.is_practice and _sitting_in_progress(candidate_id, subject):
        raise CannotStart(gettext("你正在参加这个科目的正式考试，交卷前不能练习这个科目。"))
    today = now.astimezone(LOCAL_ZONE).date()
    if mode is Mode.MOCK:
        existing = open_mock(candidate_id, subject)
        if existing is not None:
            return existing
    if mode is Mode.DAILY:
        existing = _todays_daily_set(candidate_id, subject, today)
        if existing is not None:
            return existing
    if mode.is_practice:
        _refuse_too_many_starts(candidate_id, now)
    if variant not in specs.variants(subject):
        variant = None
    spec = specs.load(subject, variant)
    cutoff = law_cutoff(today) if subject.is_law else None
    cached = pools.current_pool(subject, version, cutoff)
    pool = cached.pool
    # Chapter quotas over this version's chapters only (weights the spec gives them, or
    # each chapter's share of the bank).
    chosen_chapters = tree_chapters
    weights = {code: weight for code, weight in (spec.weights or {}).items()
               if code in tree_chapters} or None
    if mode.is_full_paper:
        paper_spec = spec
    else:
        size = set_size(subject, mode)
        if size is None:
            raise CannotStart(gettext("这个科目没有这种练习方式。"))
        paper_spec = specs.practice_spec(spec, count if count in size.choices else size.default)
    if mode in (Mode.REDO, Mode.BOOKMARKS, Mode.REVIEW):
        if mode is Mode.REVIEW:
            ids = learning.due_item_ids(candidate_id, subject, now=now,
                                        limit=sum(s.count for s in paper_spec.sections),
                                        law_cutoff=cutoff)
            if not ids:
                raise CannotStart(gettext("今天这个科目没有要复习的题目。"))
        else:
            ids = (learning.book_item_ids if mode is Mode.REDO
                   else learning.bookmarked_item_ids)(candidate_id, subject)
        every = _published_by_item(subject, cutoff)
        pool = Pool(every[item_id] for item_id in ids if item_id in every)
        chosen_chapters, weights = None, None
    if mode.is_practice:
        # Practice would show the keys of the candidate's own exam paper before its
        # results are published: those items stay out until then.
        sat = _unpublished_exam_items(candidate_id, subject)
        if sat:
            pool = Pool((entry for entry in pool.by_version.values() if entry.item_id not in sat),
                        on_date=pool.on_date)
    if mode is Mode.CHAPTER:
        chosen_chapters = tree_chapters.intersection(chapters)
        if not chosen_chapters:
            raise CannotStart(gettext("请至少选择一章。"))
    seed = daily_seed(candidate_id, today, subject) if mode is Mode.DAILY \
        else secrets.randbits(62)
    seen = frozenset(
        cached.by_item[item_id].version_id
        for item_id in seen_item_ids(candidate_id, subject) if item_id in cached.by_item)
    paper = _draw(paper_spec, pool, cached, seed, seen=seen, chapters=chosen_chapters,
                  weights=weights, full=mode.is_full_paper, exposure=mode is Mode.MOCK)
    if not paper:
        raise CannotStart(gettext("没有可以练习的题目。"))
    sections = {section.code: section for section in paper_spec.sections}
    attempt = Attempt(
        candidate_id=candidate_id, mode=mode, subject=subject, spec_version=spec.version,
        spec_variant=spec.variant, seed=seed,
        chapters=sorted(chosen_chapters or ()) if mode is Mode.CHAPTER else [],
        law_cutoff=cutoff, started_at=now, status=AttemptStatus.IN_PROGRESS,
        device_token=secrets.token_hex(16), full_halves=0, pass_halves=0,
        deadline_at=now + timedelta(minutes=spec.minutes) if mode.is_timed else None,
    )
    for entry in paper:
        drawn = pool.by_version[entry.version_id]
        section = sections[entry.section]
        points = section.points if mode.is_full_paper or drawn.points is None \
            else drawn.points
        attempt.items.append(AttemptItem(
            position=entry.position, section=entry.section, item_id=drawn.item_id,
            item_version_id=drawn.version_id, chapter_code=drawn.chapter,
            option_order=delivery.encode_order(entry.option_order),
            points_halves=int(points * 2)))
    attempt.full_halves = sum(item.points_halves for item in attempt.items)
    attempt.pass_halves = int((attempt.full_halves * spec.pass_ratio)
                              .to_integral_value(ROUND_CEILING))
    if mode is Mode.MOCK:
        stored = _insert_mock(attempt)
        if stored is not attempt:
            return stored  # a parallel start won: its paper is the candidate's
        cached.record(entry.version_id for entry in paper)
    else:
        db.session.add(attempt)
        db.session.flush()
    pools.record_uses((item.item_id for item in attempt.items), now)
    return attempt


def _draw(paper_spec: specs.ExamSpec, pool: Pool, cached, seed: int, *, seen, chapters,
          weights, full: bool, exposure: bool):
    try:
        return assemble(
            # A seeded, replayable draw: the paper is rebuilt from its stored seed.
            paper_spec, pool, random.Random(seed), seen=seen,  # noqa: S311
            chapters=chapters, chapter_weights=weights, strict=full, match_points=full,
            exposure=cached.exposure if exposure else None,
            papers=cached.papers(sum(section.count for section in paper_spec.sections)),
            max_exposure=current_app.config["MOCK_MAX_EXPOSURE"])
    except QuotaNotMet as error:
        section = next(s for s in paper_spec.sections if s.code == error.section)
        raise CannotStart(gettext(
            "题库中可用于“%(section)s”的题目不足：需要 %(needed)d 道，现有 %(available)d 道。",
            section=gettext(section.title), needed=error.needed,
            available=error.available)) from error


def draw_full_paper(subject: Subject, *, now: datetime) -> FormPaper:
    """One paper built like the real exam (the subject's mock spec, chapter quotas of
    the syllabus in force) from the open pool, for everyone who sits it: a contest's."""
    version = syllabi.in_force()
    if not syllabus.is_loaded(version):
        raise CannotStart(gettext("没有 %(version)s 年版考试大纲的数据，不能抽题。",
                                  version=str(version)[:10]))
    spec = specs.load(subject)
    chapters = frozenset(chapter.code
                         for chapter in syllabus.load(version).trees[subject].chapters)
    cutoff = law_cutoff(now.astimezone(LOCAL_ZONE).date()) if subject.is_law else None
    cached = pools.current_pool(subject, version, cutoff)
    weights = {code: weight for code, weight in (spec.weights or {}).items()
               if code in chapters} or None
    paper = _draw(spec, cached.pool, cached, secrets.randbits(62), seen=frozenset(),
                  chapters=chapters, weights=weights, full=True, exposure=False)
    sections = {section.code: section for section in spec.sections}
    positions = []
    for entry in paper:
        drawn = cached.pool.by_version[entry.version_id]
        positions.append(FormPosition(
            entry.section, entry.position, drawn.version_id, drawn.item_id, drawn.item_type,
            drawn.chapter, int(sections[entry.section].points * 2), drawn.option_count,
            drawn.fixed_order))
    return FormPaper(None, spec.variant, tuple(positions))


def start_contest_paper(candidate_id: int, subject: Subject, *, now: datetime,
                        form: FormPaper) -> Attempt:
    """The candidate's timed mock paper of a contest, with the exam's own time: the
    contest's items for everyone, in a per-candidate order (as a sitting). Refused while
    another mock paper of the subject is open (a candidate has one at a time)."""
    existing = open_mock(candidate_id, subject)
    if existing is not None:
        raise CannotStart(gettext("你有一份这个科目的模拟考试还没交卷：请先交卷，再参加模考大赛。"))
    return _seat_mock(candidate_id, subject, form, now=now)


def start_sitting(candidate_id: int, subject: Subject, *, now: datetime, sitting: Sitting,
                  form: FormPaper) -> Attempt:
    """Seat the candidate at *form*: its items for everyone, in a per-candidate order of
    items within a choice section and of options (the attempt records both)."""
    spec = specs.load(subject, form.spec_variant)
    attempt = _seated(candidate_id, subject, Mode.EXAM, form, now=now,
                      deadline=min(now + timedelta(minutes=spec.minutes), sitting.closes_at))
    attempt.registration_id = sitting.registration_id
    attempt.law_cutoff = sitting.law_cutoff if subject.is_law else None
    return _insert_sitting(attempt)


def start_past_paper(candidate_id: int, subject: Subject, *, now: datetime,
                     form: FormPaper) -> Attempt:
    """A released exam form sat as a timed mock paper with the exam's own time (历年真题);
    an unfinished mock paper of the subject is resumed instead, as for any mock."""
    existing = open_mock(candidate_id, subject)
    if existing is not None:
        return existing
    _refuse_too_many_starts(candidate_id, now)
    return _seat_mock(candidate_id, subject, form, now=now)


def _seat_mock(candidate_id: int, subject: Subject, form: FormPaper, *,
               now: datetime) -> Attempt:
    """A timed mock paper of *form* with the exam's own time (or the paper a parallel
    start made first), unless the candidate is sitting the subject's exam."""
    if _sitting_in_progress(candidate_id, subject):
        raise CannotStart(gettext("你正在参加这个科目的正式考试，交卷前不能练习这个科目。"))
    spec = specs.load(subject, form.spec_variant)
    attempt = _seated(candidate_id, subject, Mode.MOCK, form, now=now,
                      deadline=now + timedelta(minutes=spec.minutes))
    stored = _insert_mock(attempt)
    if stored is attempt:
        pools.record_uses((item.item_id for item in attempt.items), now)
    return stored


def _seated(candidate_id: int, subject: Subject, mode: Mode, form: FormPaper, *,
            now: datetime, deadline: datetime) -> Attempt:
    spec = specs.load(subject, form.spec_variant)
    seed = secrets.randbits(62)
    paper = seat_form(form.items, random.Random(seed))  # noqa: S311 - an order, not a secret
    by_version = {entry.version_id: entry for entry in form.items}
    attempt = Attempt(
        candidate_id=candidate_id, mode=mode, subject=subject, spec_version=spec.version,
        spec_variant=form.spec_variant, seed=seed, chapters=[], started_at=now,
        status=AttemptStatus.IN_PROGRESS, device_token=secrets.token_hex(16),
        deadline_at=deadline, form_id=form.form_id, full_halves=0, pass_halves=0)
    for entry in paper:
        seat = by_version[entry.version_id]
        attempt.items.append(AttemptItem(
            position=entry.position, section=entry.section, item_id=seat.item_id,
            item_version_id=seat.version_id, chapter_code=seat.chapter,
            option_order=delivery.encode_order(entry.option_order),
            points_halves=seat.points_halves))
    attempt.full_halves = sum(item.points_halves for item in attempt.items)
    attempt.pass_halves = int((attempt.full_halves * spec.pass_ratio)
                              .to_integral_value(ROUND_CEILING))
    return attempt


def _refuse_too_many_starts(candidate_id: int, now: datetime) -> None:
    """Raise CannotStart, saying when the candidate can start again, if they have
    started PRACTICE_START_LIMIT practice sets or mock papers within the last
    PRACTICE_START_WINDOW_MINUTES. Counted in the database, so it holds across workers."""
    config = current_app.config
    limit = config["PRACTICE_START_LIMIT"]
    if limit <= 0:
        return
    window = timedelta(minutes=config["PRACTICE_START_WINDOW_MINUTES"])
    # PostgreSQL: parallel starts of one candidate queue here until the first commits,
    # so none counts before another's row is in (on SQLite a POST's transaction holds
    # the write lock already). NO KEY UPDATE leaves the foreign-key checks of other
    # inserts for this user unblocked.
    db.session.execute(sa.select(User.id).where(User.id == candidate_id)
                       .with_for_update(key_share=True))
    limiting = db.session.scalar(
        sa.select(Attempt.started_at)
        .where(Attempt.candidate_id == candidate_id, Attempt.mode != Mode.EXAM,
               Attempt.started_at > now - window)
        .order_by(Attempt.started_at.desc()).offset(limit - 1).limit(1))
    if limiting is not None:
        raise CannotStart(gettext(
            "%(minutes)d 分钟内最多可开始 %(limit)d 次练习或模拟考试，请在 %(time)s 之后再开始。"
            "未交卷的模拟考试和今天的每日一练可以继续作答。",
            minutes=config["PRACTICE_START_WINDOW_MINUTES"], limit=limit,
            time=_local_minute(limiting + window, now)))


def _local_minute(moment: datetime, now: datetime) -> str:
    """*moment* in local time, rounded up to the minute, with its date unless today."""
    local = moment.astimezone(LOCAL_ZONE)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    same_day = local.date() == now.astimezone(LOCAL_ZONE).date()
    return local.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M")


def _insert_mock(attempt: Attempt) -> Attempt:
    # Two "start" clicks at once: the partial unique index lets one through; the
    # other gets the mock paper that won.
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:
        existing = open_mock(attempt.candidate_id, attempt.subject)
        if existing is None:
            raise
        return existing
    return attempt


def _sitting_in_progress(candidate_id: int, subject: Subject) -> bool:
    return db.session.scalar(sa.select(sa.func.count(Attempt.id)).where(
        Attempt.candidate_id == candidate_id, Attempt.subject == subject,
        Attempt.mode == Mode.EXAM, Attempt.status == AttemptStatus.IN_PROGRESS)) > 0


def _unpublished_exam_items(candidate_id: int, subject: Subject) -> set[int]:
    from exam_portal.models.sittings import ExamSession, Registration

    return set(db.session.scalars(
        sa.select(AttemptItem.item_id)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .join(Registration, Registration.id == Attempt.registration_id)
        .join(ExamSession, ExamSession.id == Registration.session_id)
        .where(Attempt.candidate_id == candidate_id, Attempt.subject == subject,
               Attempt.mode == Mode.EXAM, ExamSession.results_published_at.is_(None))))


def _insert_sitting(attempt: Attempt) -> Attempt:
    # Two "start" clicks for one subject: the unique (registration, subject) lets one
    # through; the other gets the paper that won.
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:
        existing = db.session.scalar(sa.select(Attempt).where(
            Attempt.registration_id == attempt.registration_id,
            Attempt.subject == attempt.subject))
        if existing is None:
            raise
        return existing
    return attempt


def _published_by_item(subject: Subject, cutoff: date | None) -> dict:
    """item id → its published version's pool entry, whatever syllabus it is filed under."""
    every = {}
    for version in syllabi.loaded():
        every.update(pools.current_pool(subject, version, cutoff).by_item)
    return every


def chapter_sizes(subject: Subject, today: date, syllabus_version: str) -> dict[str, int]:
    """How many published items each chapter of *subject* offers to practise, among the
    items written against *syllabus_version*."""
    cached = pools.current_pool(subject, syllabus_version,
                                law_cutoff(today) if subject.is_law else None)
    sizes: dict[str, int] = {}
    for entry in cached.by_item.values():
        sizes[entry.chapter] = sizes.get(entry.chapter, 0) + 1
    return sizes


def open_mock(candidate_id: int, subject: Subject) -> Attempt | None:
    return db.session.scalar(sa.select(Attempt).where(
        Attempt.candidate_id == candidate_id, Attempt.subject == subject,
        Attempt.mode == Mode.MOCK, Attempt.status == AttemptStatus.IN_PROGRESS))


def _todays_daily_set(candidate_id: int, subject: Subject, today: date) -> Attempt | None:
    start = datetime.combine(today, datetime.min.time(), LOCAL_ZONE)
    return db.session.scalar(sa.select(Attempt).where(
        Attempt.candidate_id == candidate_id, Attempt.subject == subject,
        Attempt.mode == Mode.DAILY, Attempt.started_at >= start,
        Attempt.started_at < start + timedelta(days=1)).order_by(Attempt.id).limit(1))


def seen_item_ids(candidate_id: int, subject: Subject) -> set[int]:
    """Items that were in any of the candidate's attempts of *subject*."""
    return set(db.session.scalars(
        sa.select(AttemptItem.item_id).distinct()
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(Attempt.candidate_id == candidate_id, Attempt.subject == subject)))
