"""Exam forms: a session's one paper per subject, built from its assembly plan out of the
secure pool, reviewed, and locked. Every candidate of the session sits a locked form;
its content hash goes to the audit log and is checked again whenever it is used."""

import functools
import hashlib
import json
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, gettext

from exam_portal.extensions import db
from exam_portal.models.bank import Item, ItemPool, ItemVersion
from exam_portal.models.forms import AssemblyPlan, ExamForm, ExamFormItem, FormStatus
from exam_portal.models.sittings import ExamSession, Registration
from exam_portal.services import ServiceError
from exam_portal.services.delivery.attempts import FormPaper
from exam_portal.services.platform import audit, labels, pdf
from question_bank import form_assembly, specs, syllabus
from question_bank.allocation import allocate
from question_bank.assembly import FormPosition
from question_bank.items import OPTION_COUNTS, ItemType
from question_bank.pass_rules import subjects_of
from question_bank.subjects import Subject

LABELS = "ABCD"


def subjects_of_session(session: ExamSession) -> tuple[Subject, ...]:
    subjects: list[Subject] = []
    for level in session.level_set:
        subjects += [subject for subject in subjects_of(level) if subject not in subjects]
    return tuple(subjects)


def forms_of(session: ExamSession, subject: Subject | None = None) -> list[ExamForm]:
    query = sa.select(ExamForm).where(ExamForm.session_id == session.id)
    if subject is not None:
        query = query.where(ExamForm.subject == subject)
    return list(db.session.scalars(query.order_by(ExamForm.subject, ExamForm.label)))


def plan_of(session: ExamSession, subject: Subject) -> AssemblyPlan | None:
    return db.session.scalar(sa.select(AssemblyPlan).where(
        AssemblyPlan.session_id == session.id, AssemblyPlan.subject == subject))


def hash_of(form: ExamForm) -> str:
    """SHA-256 over each position's section, item, version, the version's content hash
    and points, in position order: any change to what the form holds changes it."""
    rows = db.session.execute(
        sa.select(ExamFormItem.position, ExamFormItem.section, ExamFormItem.item_id,
                  ExamFormItem.item_version_id, ItemVersion.content_hash,
                  ExamFormItem.points_halves)
        .join(ItemVersion, ItemVersion.id == ExamFormItem.item_version_id)
        .where(ExamFormItem.form_id == form.id).order_by(ExamFormItem.position)).all()
    canonical = json.dumps([list(row) for row in rows], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def lock(form: ExamForm, actor, *, reviewed_hash: str, now: datetime) -> None:
    """Freeze *form* after review: it must still hold what the reviewer saw (its hash
    then, *reviewed_hash*) and every item must still be a published secure version; the
    content hash is stored and audited. Nothing in the form changes afterwards."""
    _hold_session(form.session_id)
    # Read again after the session's lock: a rebuild may just have replaced it.
    form = db.session.get(ExamForm, form.id, populate_existing=True)
    if form is None:
        raise ServiceError(gettext("这份试卷已被重新组卷，请刷新页面后审核新的试卷。"))
    if form.is_locked:
        raise ServiceError(gettext("这份试卷已经锁定。"))
    if not form.items:
        raise ServiceError(gettext("这份试卷没有题目，不能锁定。"))
    stale = db.session.scalars(
        sa.select(ExamFormItem.position).join(Item, Item.id == ExamFormItem.item_id)
        .where(ExamFormItem.form_id == form.id,
               sa.or_(Item.published_version_id.is_distinct_from(ExamFormItem.item_version_id),
                      Item.pool != ItemPool.SECURE))
        .order_by(ExamFormItem.position)).all()
    if stale:
        raise ServiceError(gettext(
            "第 %(positions)s 题在组卷后已被修改、停用或不在保密题库中，请重新组卷。",
            positions="、".join(str(position) for position in stale[:10])))
    content_hash = hash_of(form)
    if content_hash != reviewed_hash:
        raise ServiceError(gettext(
            "这份试卷在你审核之后已被重新组卷，请刷新页面后审核新的试卷。"))
    form.content_hash = content_hash
    form.status, form.locked_by_id, form.locked_at = FormStatus.LOCKED, actor.id, now
    db.session.flush()
    audit.record("form.locked", target=form, actor=actor, details={
        "session": form.session_id, "subject": form.subject.value, "label": form.label,
        "items": len(form.items), "content_hash": form.content_hash})


def locked_forms(session_id: int, subject: Subject) -> list[ExamForm]:
    return list(db.session.scalars(
        sa.select(ExamForm).where(ExamForm.session_id == session_id,
                                  ExamForm.subject == subject,
                                  ExamForm.status == FormStatus.LOCKED)
        .order_by(ExamForm.label)))


def locked_forms_of(session: ExamSession) -> list[ExamForm]:
    return list(db.session.scalars(
        sa.select(ExamForm).where(ExamForm.session_id == session.id,
                                  ExamForm.status == FormStatus.LOCKED)
        .order_by(ExamForm.subject, ExamForm.label)))


def form_for(registration: Registration, subject: Subject) -> ExamForm:
    """The locked form the candidate sits: with parallel forms, one chosen by the
    registration (stable, spread evenly over the forms)."""
    forms = locked_forms(registration.session_id, subject)
    if not forms:
        raise ServiceError(gettext(
            "这个科目的考试试卷尚未锁定，暂时不能开始考试，请联系考务人员。"))
    return forms[registration.id % len(forms)]


def paper_of(form: ExamForm) -> FormPaper:
    """The locked form as a sitting takes it, its hash checked against the audited one."""
    return _locked_paper(form.id, form.content_hash, form.spec_variant)


@functools.lru_cache(maxsize=64)
def _locked_paper(form_id: int, content_hash: str, spec_variant: str | None) -> FormPaper:
    # A locked form never changes: read and checked once per process (and hash).
    form = db.session.get(ExamForm, form_id)
    if hash_of(form) != content_hash:
        raise ServiceError(gettext("试卷内容与锁定时不一致，已停止开考，请联系考务人员。"))
    rows = db.session.execute(
        sa.select(ExamFormItem, Item.item_type, ItemVersion.fixed_order)
        .join(Item, Item.id == ExamFormItem.item_id)
        .join(ItemVersion, ItemVersion.id == ExamFormItem.item_version_id)
        .where(ExamFormItem.form_id == form_id).order_by(ExamFormItem.position)).all()
    items = tuple(
        FormPosition(entry.section, entry.position, entry.item_version_id, entry.item_id,
                 item_type, entry.chapter_code, entry.points_halves,
                 OPTION_COUNTS.get(item_type, 0), fixed_order)
        for entry, item_type, fixed_order in rows)
    return FormPaper(form_id, spec_variant, items)


def forget() -> None:
    """Drop the locked forms read so far (tests that reuse ids on a fresh database)."""
    _locked_paper.cache_clear()


# Assembly plans ---------------------------------------------------------------------

@dataclass(frozen=True)
class PlanFields:
    """What an administrator or exam author sets in a subject's assembly plan."""

    cells: dict[tuple[ItemType, str], int]
    facility_min: float
    facility_max: float
    rest_sessions: int = 1
    enemies: tuple[tuple[int, ...], ...] = ()
    form_count: int = 1
    max_overlap: int = 0


def spec_for(subject: Subject) -> specs.ExamSpec:
    """The paper a session's form follows: the subject's spec (its default mix)."""
    return specs.load(subject, None if not specs.variants(subject)
                      else specs.variants(subject)[0])


def chapters_of(session: ExamSession, subject: Subject) -> list:
    return list(syllabus.load(session.syllabus_version).trees[subject].chapters)


def secure_pool_items(session: ExamSession, subject: Subject) -> list[form_assembly.BankItem]:
    """The published secure items a form of *subject* in *session* may hold: written
    against the session's syllabus, law items in force at its law cutoff. Their
    facility is the exam statistics' where an item has them, else the author's rating."""
    rows = db.session.execute(
        sa.select(Item.id, Item.item_type, ItemVersion.chapter_code, ItemVersion.difficulty,
                  ItemVersion.points_halves, ItemVersion.law_valid_from,
                  ItemVersion.law_valid_to)
        .join(ItemVersion, ItemVersion.id == Item.published_version_id)
        .where(Item.subject == subject, Item.pool == ItemPool.SECURE,
               ItemVersion.syllabus_version == session.syllabus_version))
    cutoff = session.law_cutoff
    return [form_assembly.BankItem(
        item_id, item_type, chapter, form_assembly.facility_from_rating(difficulty),
        None if halves is None else Decimal(halves) / 2)
        for item_id, item_type, chapter, difficulty, halves, law_from, law_to in rows
        if law_from is None or (law_from <= cutoff and (law_to is None or cutoff <= law_to))]


def pool_counts(items: list[form_assembly.BankItem]) -> Counter:
    """(item type, chapter) → how many secure items the cell can draw from."""
    return Counter((item.item_type, item.chapter) for item in items)


def default_cells(session: ExamSession, subject: Subject,
                  counts: Counter) -> dict[tuple[ItemType, str], int]:
    """A first plan: each section's count spread over the chapters by the spec's
    chapter weights (or, without them, by what the secure pool holds per chapter),
    never more in a cell than the secure pool holds while other chapters have room."""
    spec = spec_for(subject)
    codes = [chapter.code for chapter in chapters_of(session, subject)]
    cells = {}
    for section in spec.sections:
        available = {code: counts[(section.item_type, code)] for code in codes}
        weights = {code: (spec.weights or {}).get(code, available[code]) for code in codes}
        if sum(available.values()) < section.count:  # too few anyway: show the shortfall
            available = dict.fromkeys(codes, section.count)
            weights = {code: weight or 1 for code, weight in weights.items()}
        quotas = allocate(section.count, weights, available)
        for code, count in quotas.items():
            cells[(section.item_type, code)] = cells.get((section.item_type, code), 0) + count
    return cells


def domain_plan(plan: PlanFields | AssemblyPlan, subject: Subject, *,
                excluded: frozenset[int] = frozenset()) -> form_assembly.AssemblyPlan:
    if isinstance(plan, AssemblyPlan):
        cells = {(ItemType(cell["type"]), cell["chapter"]): int(cell["count"])
                 for cell in plan.cells}
        enemies = tuple(tuple(group) for group in plan.enemies)
    else:
        cells, enemies = plan.cells, plan.enemies
    return form_assembly.plan_for_spec(
        spec_for(subject), cells, facility_range=(plan.facility_min, plan.facility_max),
        enemy_sets=tuple(frozenset(group) for group in enemies), excluded=excluded,
        forms=plan.form_count, max_overlap=plan.max_overlap if plan.form_count > 1 else None,
        time_limit=current_app.config["FORM_ASSEMBLY_SECONDS"])


def save_plan(session: ExamSession, subject: Subject, fields: PlanFields, actor) -> AssemblyPlan:
    """Store the subject's assembly plan; refused while one of its forms is locked."""
    _hold_session(session.id)
    if locked_forms(session.id, subject):
        raise ServiceError(gettext("这个科目的试卷已经锁定，不能再修改组卷方案。"))
    if fields.rest_sessions < 0 or fields.rest_sessions > 20:
        raise ServiceError(gettext("回避最近考试批次的数量应在 0 到 20 之间。"))
    problems = form_assembly.plan_problems(domain_plan(fields, subject))
    if problems:
        raise ServiceError(plan_problem_text(problems[0]))
    plan = plan_of(session, subject) or AssemblyPlan(session_id=session.id, subject=subject)
    plan.cells = [{"type": item_type.value, "chapter": chapter, "count": count}
                  for (item_type, chapter), count in sorted(fields.cells.items())
                  if count > 0]
    plan.facility_min, plan.facility_max = fields.facility_min, fields.facility_max
    plan.rest_sessions, plan.enemies = fields.rest_sessions, [list(g) for g in fields.enemies]
    plan.form_count, plan.max_overlap = fields.form_count, fields.max_overlap
    plan.updated_by_id = actor.id
    db.session.add(plan)
    db.session.flush()
    audit.record("form.plan_saved", target=plan, actor=actor, details={
        "session": session.id, "subject": subject.value, "cells": plan.cells,
        "facility": [plan.facility_min, plan.facility_max], "rest": plan.rest_sessions,
        "enemies": plan.enemies, "forms": plan.form_count, "overlap": plan.max_overlap})
    return plan


def _hold_session(session_id: int) -> None:
    """Plans, builds and locks of one session's forms come one after another (a row
    lock that leaves registrations' foreign-key checks alone)."""
    db.session.execute(sa.select(ExamSession.id).where(ExamSession.id == session_id)
                       .with_for_update(key_share=True))


def rested_items(session: ExamSession, rest_sessions: int) -> frozenset[int]:
    """Items on a locked form of the *rest_sessions* sessions before *session*."""
    if rest_sessions <= 0:
        return frozenset()
    earlier = (sa.select(ExamSession.id)
               .where(ExamSession.exam_opens_at < session.exam_opens_at)
               .order_by(ExamSession.exam_opens_at.desc()).limit(rest_sessions).subquery())
    return frozenset(db.session.scalars(
        sa.select(ExamFormItem.item_id).join(ExamForm, ExamForm.id == ExamFormItem.form_id)
        .where(ExamForm.session_id.in_(sa.select(earlier.c.id)),
               ExamForm.status == FormStatus.LOCKED)))


# Building and locking ---------------------------------------------------------------

@dataclass(frozen=True)
class Composition:
    """Forms found for a plan, not yet stored."""

    subject: Subject
    seed: int
    forms: tuple[form_assembly.Form, ...]


def compose(session: ExamSession, subject: Subject, *, seed: int | None = None) -> Composition:
    """Solve the subject's assembly plan against the secure pool (reads only: call it
    with no write lock held). ServiceError says which constraint cannot be met."""
    plan = plan_of(session, subject)
    if plan is None:
        raise ServiceError(gettext("请先保存这个科目的组卷方案。"))
    seed = secrets.randbits(31) if seed is None else seed
    rested = rested_items(session, plan.rest_sessions)
    try:
        found = form_assembly.solve(domain_plan(plan, subject, excluded=rested),
                                    secure_pool_items(session, subject), seed)
    except form_assembly.InvalidPlan as error:
        raise ServiceError(plan_problem_text(error.problems[0])) from error
    except form_assembly.AssemblyInfeasible as error:
        raise ServiceError(infeasible_text(error)) from error
    except form_assembly.AssemblyTimedOut as error:
        raise ServiceError(gettext(
            "在 %(seconds)d 秒内没有找到满足方案的试卷，请放宽方案后重试。",
            seconds=int(error.seconds))) from error
    return Composition(subject, seed, found)


def store(session: ExamSession, composition: Composition, actor, *, now: datetime
          ) -> list[ExamForm]:
    """Replace the subject's draft forms by *composition* (refused once one is locked)."""
    _hold_session(session.id)
    subject = composition.subject
    if locked_forms(session.id, subject):
        raise ServiceError(gettext("这个科目的试卷已经锁定，不能重新组卷。"))
    for old in forms_of(session, subject):
        db.session.delete(old)
    db.session.flush()
    spec = spec_for(subject)
    published = dict(db.session.execute(
        sa.select(Item.id, Item.published_version_id).where(
            Item.id.in_({i for form in composition.forms for i in form.item_ids}))).all())
    chapters = dict(db.session.execute(
        sa.select(ItemVersion.id, ItemVersion.chapter_code)
        .where(ItemVersion.id.in_(published.values()))).all())
    types = dict(db.session.execute(
        sa.select(Item.id, Item.item_type).where(Item.id.in_(published))).all())
    stored = []
    for label, found in zip(LABELS, composition.forms, strict=False):
        form = ExamForm(session_id=session.id, subject=subject, label=label,
                        status=FormStatus.DRAFT, spec_version=spec.version,
                        spec_variant=spec.variant, seed=composition.seed, built_by_id=actor.id,
                        built_at=now)
        position = 0
        for section in spec.sections:
            for item_id in (i for i in found.item_ids if types[i] is section.item_type):
                position += 1
                version_id = published[item_id]
                form.items.append(ExamFormItem(
                    position=position, section=section.code, item_id=item_id,
                    item_version_id=version_id, chapter_code=chapters[version_id],
                    points_halves=int(section.points * 2)))
        db.session.add(form)
        stored.append(form)
    db.session.flush()
    audit.record("form.built", actor=actor, details={
        "session": session.id, "subject": subject.value, "seed": composition.seed,
        "forms": {form.label: [entry.item_id for entry in form.items] for form in stored}})
    return stored


# What a plan or the solver says, for people ------------------------------------------

def _type_label(value) -> str:
    return str(labels.ITEM_TYPES.get(ItemType(value), value))


def plan_problem_text(problem: form_assembly.PlanProblem) -> str:
    params = problem.params
    if problem.code == "type_count":
        return gettext("%(type)s 应有 %(expected)d 道（按考试的题型结构），"
                       "方案中各章合计 %(cells)d 道。", type=_type_label(params["item_type"]),
                       expected=params["expected"], cells=params["cells"])
    if problem.code == "facility_range":
        return gettext("平均通过率的范围应在 0 到 1 之间，且下限不大于上限。")
    if problem.code == "empty":
        return gettext("方案中没有题目。")
    if problem.code == "max_overlap":
        return gettext("平行试卷的重复题目数不能为负。")
    return gettext("组卷方案不成立（%(code)s）。", code=problem.code)


def infeasible_text(error: form_assembly.AssemblyInfeasible) -> str:
    params, constraint = error.params, error.constraint
    if constraint is form_assembly.Constraint.CELL and "needed" in params:
        return gettext(
            "第 %(chapter)s 章的%(type)s需要 %(needed)d 道，保密题库中可用的只有 %(available)d 道"
            "（已除去最近考试批次用过的题目）。",
            chapter=params["chapter"], type=_type_label(params["item_type"]),
            needed=params["needed"], available=params["available"])
    if constraint is form_assembly.Constraint.FACILITY:
        if error.reason == "pool":
            return gettext(
                "平均通过率达不到 %(low)s–%(high)s：可用题目能组成的试卷在 "
                "%(lowest)s–%(highest)s 之间。",
                low=params["low"], high=params["high"], lowest=params["lowest"],
                highest=params["highest"])
        return gettext("在满足其他条件时，平均通过率无法落在方案的范围内，请放宽范围。")
    if constraint is form_assembly.Constraint.ENEMIES:
        return gettext("互斥题组使某些章的题目不够用，请调整互斥题组或增加题目。")
    if constraint is form_assembly.Constraint.OVERLAP:
        return gettext("保密题库的题目不足以组成重复不超过 %(n)d 道的平行试卷。",
                       n=params.get("max_overlap", 0))
    if constraint is form_assembly.Constraint.POINTS:
        return gettext("可用题目凑不出方案要求的总分。")
    return gettext("没有满足全部条件的试卷，请放宽组卷方案（%(what)s）。",
                   what=constraint.value)


# The review page ---------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewEntry:
    position: int
    section: str
    item: Item
    version: ItemVersion
    content: object  # ItemContent
    points_halves: int


def review_entries(form: ExamForm) -> list[ReviewEntry]:
    rows = db.session.execute(
        sa.select(ExamFormItem, Item, ItemVersion)
        .join(Item, Item.id == ExamFormItem.item_id)
        .join(ItemVersion, ItemVersion.id == ExamFormItem.item_version_id)
        .where(ExamFormItem.form_id == form.id).order_by(ExamFormItem.position)).all()
    return [ReviewEntry(entry.position, entry.section, item, version, version.to_domain(),
                        entry.points_halves) for entry, item, version in rows]


@dataclass(frozen=True)
class FormSummary:
    items: int
    points: Decimal
    mean_facility: float | None
    cells: dict  # (item type, chapter) → count
    hash_holds: bool | None  # None until locked


def summary(form: ExamForm, entries: list[ReviewEntry]) -> FormSummary:
    facilities = [form_assembly.facility_from_rating(entry.version.difficulty)
                  for entry in entries]
    return FormSummary(
        len(entries), Decimal(sum(entry.points_halves for entry in entries)) / 2,
        round(sum(facilities) / len(facilities), 3) if facilities else None,
        dict(Counter((entry.item.item_type, entry.version.chapter_code) for entry in entries)),
        hash_of(form) == form.content_hash if form.is_locked else None)


def printable(form: ExamForm, actor) -> bytes:
    """A locked form as a PDF for the printer (one order for everyone: the form's), with
    the answer-key sheet on its own pages; audited."""
    if not form.is_locked:
        raise ServiceError(gettext("只有锁定的试卷可以打印。"))
    entries = review_entries(form)
    spec = specs.load(form.subject, form.spec_variant)
    titles = {section.code: section.title for section in spec.sections}
    sections = []
    for entry in entries:
        if not sections or sections[-1][0] != titles.get(entry.section, entry.section):
            sections.append((titles.get(entry.section, entry.section), []))
        sections[-1][1].append(entry)
    session = db.session.get(ExamSession, form.session_id)
    # The printed paper is Chinese whatever the administrator's language.
    with force_locale("zh_CN"):
        html = render_template(
            "sittings/form_pdf.html", form=form, session=session, entries=entries,
            sections=sections, summary=summary(form, entries), minutes=spec.minutes,
            title=f"{session.year}年 {labels.SUBJECTS[form.subject]}")
    audit.record("form.printed", target=form, actor=actor,
                 details={"content_hash": form.content_hash})
    return pdf.html_to_pdf(html)
