"""After the sitting: classical item analysis of each locked form, the key review of the
items it flags, and the rescoring a key decision causes, all before the results.

The statistics are computed from the handed-in papers of a form (question_bank's
item_analysis on a candidates × items matrix); a key decision (keep, re-key, accept
another key, void) rescores every paper of the form from the options chosen
(question_bank's key_review) and is audited with its effect. Publication waits until
every flagged item of every form has a decision.
"""

import dataclasses
from datetime import datetime
from io import BytesIO

import numpy as np
import sqlalchemy as sa
from flask_babel import gettext
from openpyxl import Workbook

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.attempts import Attempt, AttemptItem, AttemptStatus, Response
from exam_portal.models.bank import ItemVersion
from exam_portal.models.forms import ExamForm, ExamFormItem
from exam_portal.models.sittings import ExamSession, PassLine, SubjectResult
from exam_portal.models.statistics import FormStatistics, ItemStatistics, KeyDecision
from exam_portal.models.types import utcnow
from exam_portal.services import ServiceError
from exam_portal.services.delivery import responses
from exam_portal.services.exam_sessions import forms, online_exams, sittings
from exam_portal.services.item_bank import pools
from exam_portal.services.platform import audit, bulk, jobs
from question_bank import item_analysis, key_review, specs
from question_bank.key_review import DecisionKind, VoidPolicy
from question_bank.practice import Mode

ANALYSE_JOB = "session.analyse_forms"
PHASE_ANALYSING = "analyse"


@dataclasses.dataclass
class Sat:
    """A form's handed-in papers as matrices, one row per paper, one column per form
    position: the score (half-points) under the form's own keys, the options chosen,
    and where the item stood on each candidate's paper."""

    attempt_ids: np.ndarray
    scores: np.ndarray
    choices: np.ndarray
    positions: np.ndarray
    entries: list  # ExamFormItem, in form order
    items: list  # item_analysis.FormItem, in form order
    keys: list  # the form's own keys per position (letters), "" for subjective items


def load(form: ExamForm, *conditions) -> Sat:
    """Read every handed-in paper of *form* (of those meeting *conditions* on Attempt;
    streamed, one statement)."""
    entries = list(db.session.scalars(sa.select(ExamFormItem).where(
        ExamFormItem.form_id == form.id).order_by(ExamFormItem.position)))
    versions = {version.id: version for version in db.session.scalars(
        sa.select(ItemVersion).where(ItemVersion.id.in_([e.item_version_id for e in entries])))}
    items, keys = [], []
    for entry in entries:
        content = versions[entry.item_version_id].to_domain()
        if content.item_type.is_choice:
            items.append(item_analysis.FormItem(
                content.item_type, entry.points_halves, item_analysis.mask_of(content.keys),
                len(content.options)))
            keys.append("".join(content.keys))
        else:
            items.append(item_analysis.FormItem(content.item_type, entry.points_halves))
            keys.append("")
    attempt_ids = np.array(db.session.scalars(
        sa.select(Attempt.id).where(*_sat(form), *conditions).order_by(Attempt.id)).all(),
        dtype=np.int64)
    shape = (len(attempt_ids), len(entries))
    scores = np.zeros(shape, dtype=np.int32)
    choices = np.zeros(shape, dtype=np.uint8)
    positions = np.zeros(shape, dtype=np.int16)
    item_ids = np.array([entry.item_id for entry in entries], dtype=np.int64)
    order = np.argsort(item_ids)
    choice = np.array([bool(key) for key in keys], dtype=bool)
    # The options chosen as a bitmask, in SQL: no Python object per answer.
    rows = (sa.select(AttemptItem.attempt_id, AttemptItem.item_id, AttemptItem.position,
                      responses.selected_mask(), sa.func.coalesce(Response.score_halves, 0))
            .join(Attempt, Attempt.id == AttemptItem.attempt_id)
            .outerjoin(Response, (Response.attempt_id == AttemptItem.attempt_id)
                       & (Response.position == AttemptItem.position))
            .where(*_sat(form), *conditions))
    for block in bulk.int_rows(rows, group_by=0):  # a packed row per paper
        r = np.searchsorted(attempt_ids, block[:, 0])
        c = order[np.searchsorted(item_ids, block[:, 1], sorter=order)]
        positions[r, c] = block[:, 2]
        picked = choice[c]
        choices[r[picked], c[picked]] = block[picked, 3]
        scores[r[~picked], c[~picked]] = block[~picked, 4]
    for c, item in enumerate(items):
        if keys[c]:  # the form's own keys, whatever earlier decisions wrote since
            table = key_review.score_table(item, [item.key_mask])
            scores[:, c] = table[choices[:, c]]
    return Sat(attempt_ids, scores, choices, positions, entries, items, keys)


def _sat(form: ExamForm) -> tuple:
    """The exam papers handed in on *form* (not mock papers of it once released)."""
    return (Attempt.form_id == form.id, Attempt.mode == Mode.EXAM,
            Attempt.status == AttemptStatus.SUBMITTED)


def pass_line_halves(form: ExamForm) -> int:
    """The national line of the form's subject in its session, else the spec's 60 %."""
    line = db.session.scalar(sa.select(PassLine.line_halves).where(
        PassLine.session_id == form.session_id, PassLine.subject == form.subject,
        PassLine.region == ""))
    if line is not None:
        return line
    return int(specs.load(form.subject, form.spec_variant).pass_mark * 2)


# The analysis ----------------------------------------------------------------------

def forms_to_analyse(session: ExamSession) -> list[ExamForm]:
    return forms.locked_forms_of(session)


def start_analysis(session: ExamSession, actor: User, *, now: datetime):
    """Analyse the session's forms as a background job, once its exam window is over."""
    if now < session.exam_closes_at:
        raise ServiceError(gettext("考试结束后才能进行试题分析。"))
    if session.results_published_at is not None:
        raise ServiceError(gettext("成绩已发布，不能再重新分析。"))
    if not forms_to_analyse(session):
        raise ServiceError(gettext("这个考试批次没有锁定的试卷。"))
    return jobs.submit(ANALYSE_JOB, target_id=session.id,
                       params={"session_id": session.id, "actor_id": actor.id}, actor=actor)


@jobs.job_kind(ANALYSE_JOB)
def _analyse_job(params: dict, progress: jobs.Progress) -> dict:
    session = db.session.get(ExamSession, params["session_id"])
    actor = db.session.get(User, params["actor_id"])
    # The statistics score the choices themselves; the papers are marked first so that
    # the key review's rescoring compares with their marks.
    online_exams.close_sittings(session, now=utcnow())
    db.session.commit()
    forms = forms_to_analyse(session)
    done = {}
    for index, form in enumerate(forms):
        progress(PHASE_ANALYSING, index, len(forms))
        statistics = analyse(form, actor, now=utcnow())
        done[f"{form.subject.value}-{form.label}"] = statistics.candidates
        db.session.commit()
    progress(PHASE_ANALYSING, len(forms), len(forms))
    return {"forms": done}


def analyse(form: ExamForm, actor: User | None, *, now: datetime) -> FormStatistics:
    """Compute and store the statistics of *form* from its handed-in papers, under the
    form's own keys (decisions taken are shown beside them, not folded in)."""
    if not form.is_locked:
        raise ServiceError(gettext("只能分析锁定的试卷。"))
    sat = load(form)
    line = pass_line_halves(form)
    result = item_analysis.analyse(sat.scores, sat.items, sat.choices, pass_line_halves=line)
    first = db.session.get(FormStatistics, form.id) is None
    db.session.execute(sa.delete(ItemStatistics).where(ItemStatistics.form_id == form.id))
    db.session.execute(sa.delete(FormStatistics).where(FormStatistics.form_id == form.id))
    stats = result.form
    statistics = FormStatistics(
        form_id=form.id, candidates=stats.n, mean_points=stats.mean_points,
        sd_points=stats.sd_points, alpha=stats.alpha, kr20=stats.kr20,
        sem_points=stats.sem_points,
        distribution={"edges": list(stats.distribution.edges_halves),
                      "counts": list(stats.distribution.counts)},
        pass_line_halves=line, pass_rate=stats.pass_rate, computed_at=now)
    db.session.add(statistics)
    db.session.add_all(ItemStatistics(
        form_id=form.id, item_id=entry.item_id, item_version_id=entry.item_version_id,
        position=entry.position, candidates=stats.n, computed_at=now,
        **ItemStatistics.figures(item))
        for entry, item in zip(sat.entries, result.items, strict=True))
    if first and stats.n:
        # The exam's candidates are uses of its items: counted once, at the first analysis.
        pools.record_uses((entry.item_id for entry in sat.entries), now, times=stats.n)
    db.session.flush()
    audit.record("form.analysed", target=form, actor=actor, details={
        "candidates": stats.n, "alpha": stats.alpha, "flagged": [
            entry.item_id for entry, item in zip(sat.entries, result.items, strict=True)
            if item.flags]})
    return statistics


def workbook(form: ExamForm) -> bytes:
    """The form's statistics as an XLSX workbook: the form's figures, one row per item,
    and one row per option."""
    book = Workbook()
    summary = book.active
    summary.title = "form"
    statistics = db.session.get(FormStatistics, form.id)
    for name in ("candidates", "mean_points", "sd_points", "alpha", "kr20", "sem_points",
                 "pass_line_halves", "pass_rate"):
        summary.append([name, getattr(statistics, name) if statistics else None])
    rows = item_statistics(form)
    decisions = decisions_of(form)
    items = book.create_sheet("items")
    items.append(["position", "item", "version", "candidates", "facility", "discrimination",
                  "upper_lower", "blank", "flags", "decision"])
    options = book.create_sheet("options")
    options.append(["position", "item", "option", "key", "chosen", "q1", "q2", "q3", "q4",
                    "q5", "upper", "lower", "point_biserial"])
    for row in rows:
        decision = decisions.get(row.item_id)
        items.append([row.position, row.item_id, row.item_version_id, row.candidates,
                      row.facility, row.discrimination, row.upper_lower, row.blank,
                      " ".join(flag["code"] for flag in row.flags),
                      decision.kind.value if decision else ""])
        for option in row.options:
            quintiles = list(option.get("chosen_by_quintile") or [None] * 5)
            options.append([row.position, row.item_id, option["letter"],
                            "Y" if option["is_key"] else "", option["chosen"], *quintiles,
                            option["chosen_upper"], option["chosen_lower"],
                            option["point_biserial"]])
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def item_statistics(form: ExamForm) -> list[ItemStatistics]:
    return list(db.session.scalars(sa.select(ItemStatistics).where(
        ItemStatistics.form_id == form.id).order_by(ItemStatistics.position)))


def decisions_of(form: ExamForm) -> dict[int, KeyDecision]:
    return {decision.item_id: decision for decision in db.session.scalars(
        sa.select(KeyDecision).where(KeyDecision.form_id == form.id))}


def undecided(session: ExamSession) -> list[tuple[int, int]]:
    """(form id, item id) for each flagged item of the session's forms without a
    decision, in form and position order."""
    statistics = db.session.scalars(
        sa.select(ItemStatistics).join(ExamForm, ExamForm.id == ItemStatistics.form_id)
        .where(ExamForm.session_id == session.id)
        .order_by(ItemStatistics.form_id, ItemStatistics.position)).all()
    decided = {(form_id, item_id) for form_id, item_id in db.session.execute(
        sa.select(KeyDecision.form_id, KeyDecision.item_id)
        .join(ExamForm, ExamForm.id == KeyDecision.form_id)
        .where(ExamForm.session_id == session.id))}
    return [(s.form_id, s.item_id) for s in statistics
            if s.flags and (s.form_id, s.item_id) not in decided]


def publication_problem(session: ExamSession) -> str | None:
    """Why the results may not be published yet as far as the key review goes: a
    form sat but not analysed, or a flagged item without a decision."""
    for form in forms_to_analyse(session):
        sat = db.session.scalar(sa.select(sa.func.count(Attempt.id)).where(*_sat(form)))
        statistics = db.session.get(FormStatistics, form.id)
        if sat and statistics is None:
            return gettext("试卷还没有做试题分析，请先进行试题分析并审查标记的题目。")
        if statistics is not None and statistics.candidates != sat:
            return gettext("试题分析之后又有答卷交卷，请重新进行试题分析。")
    waiting = undecided(session)
    if waiting:
        return gettext("还有 %(n)d 道被标记的题目没有答案审查结论。", n=len(waiting))
    return None


# Key review ------------------------------------------------------------------------

def set_void_policy(session: ExamSession, policy: VoidPolicy, actor: User) -> None:
    """How a voided item counts in *session*; fixed once an item has been voided."""
    if sittings.hold_results(session.id):
        raise ServiceError(gettext("成绩已发布，不能再改变作废题目的计分方式。"))
    if session.void_policy is policy:
        return
    voided = db.session.scalar(sa.select(sa.func.count(KeyDecision.id))
                               .join(ExamForm, ExamForm.id == KeyDecision.form_id)
                               .where(ExamForm.session_id == session.id,
                                      KeyDecision.kind == DecisionKind.VOID))
    if voided:
        raise ServiceError(gettext("已有作废的题目，不能再改变作废题目的计分方式。"))
    before, session.void_policy = session.void_policy, policy
    db.session.flush()
    audit.record("session.void_policy_set", target=session, actor=actor,
                 details={"before": before.value, "after": policy.value})


def decide(form: ExamForm, item_id: int, kind: DecisionKind, *, keys: str = "",
           reason: str, actor: User, now: datetime) -> KeyDecision:
    """Record the decision on one item of *form* and rescore every paper of the form
    under all its decisions (a void counts by the session's void policy); the decision
    stores (and the audit log shows) how many totals changed and how many crossed the
    pass line each way."""
    reason = reason.strip()
    if not reason:
        raise ServiceError(gettext("请填写结论的理由。"))
    # Before the results are held, as a hand-in and its marking take them: the rescoring
    # below compares with every paper's marks.
    online_exams.close_sittings(db.session.get(ExamSession, form.session_id), now=now)
    if sittings.hold_results(form.session_id):
        raise ServiceError(gettext("成绩已发布，不能再改变答案审查结论。"))
    entry = db.session.scalar(sa.select(ExamFormItem).where(
        ExamFormItem.form_id == form.id, ExamFormItem.item_id == item_id))
    if entry is None:
        raise ServiceError(gettext("这道题目不在这份试卷上。"))
    decision = db.session.scalar(sa.select(KeyDecision).where(
        KeyDecision.form_id == form.id, KeyDecision.item_id == item_id)
        .with_for_update())
    if decision is None:
        decision = KeyDecision(form_id=form.id, item_id=item_id)
        db.session.add(decision)
    before = None if decision.id is None else _describe(decision)
    policy = (db.session.get(ExamSession, form.session_id).void_policy
              if kind is DecisionKind.VOID else None)
    decision.kind, decision.policy, decision.reason = kind, policy, reason[:1000]
    decision.keys = sorted(set(keys.upper()))
    decision.decided_by_id, decision.decided_at = actor.id, now
    summary = rescore(form, changed_by=decision)
    decision.changed, decision.crossed_up = summary.changed, summary.crossed_up
    decision.crossed_down = summary.crossed_down
    db.session.flush()
    audit.record("key.decided", target=form, actor=actor, details={
        "item": item_id, "decision": _describe(decision), "before": before,
        "changed": summary.changed, "crossed_up": summary.crossed_up,
        "crossed_down": summary.crossed_down})
    return decision


def _describe(decision: KeyDecision) -> dict:
    return {"kind": decision.kind.value, "keys": "".join(decision.keys),
            "policy": decision.policy and decision.policy.value, "reason": decision.reason}


def rescore(form: ExamForm, *, changed_by: KeyDecision | None = None
            ) -> key_review.RescoreSummary:
    """Rescore every marked paper of *form* under all its key decisions: item scores
    of the decided items, paper totals, and the subject scores they became (which then
    wait for the results to be computed again). Returns what changed against the
    totals stored before. A paper handed in and not marked yet is left to its marking,
    which applies the decisions then (`apply_decisions`)."""
    return _rescore(form, Attempt.marked_at.is_not(None))


def apply_decisions(attempt: Attempt) -> None:
    """Score an exam paper marked after key decisions were taken on its form under
    them (exam_marking calls this before the paper's score becomes a subject score)."""
    if attempt.form_id is None:
        return
    form = db.session.get(ExamForm, attempt.form_id)
    if all(decision.kind is DecisionKind.KEEP for decision in decisions_of(form).values()):
        return
    _rescore(form, Attempt.id == attempt.id)


def _rescore(form: ExamForm, *papers) -> key_review.RescoreSummary:
    """Rescore the papers of *form* meeting the conditions *papers* on Attempt."""
    sat = load(form, *papers)
    column = {entry.item_id: index for index, entry in enumerate(sat.entries)}
    decisions = []
    for decision in decisions_of(form).values():
        index = column[decision.item_id]
        if decision.kind is DecisionKind.KEEP:
            continue
        if decision.kind is DecisionKind.VOID:
            decisions.append(key_review.KeyDecision.void(index, decision.policy))
        elif decision.kind is DecisionKind.REKEY:
            decisions.append(key_review.KeyDecision.rekey(index, "".join(decision.keys)))
        else:
            decisions.append(key_review.KeyDecision.add_key(index, "".join(decision.keys)))
    try:
        result = key_review.rescore(sat.scores, sat.choices, sat.items, decisions,
                                    pass_line_halves=pass_line_halves(form))
    except key_review.InvalidKeyDecision as error:
        raise ServiceError(gettext("这个结论不适用于这道题目：%(reason)s", reason=error.reason)
                           ) from error
    stored = dict(db.session.execute(sa.select(Attempt.id, Attempt.score_halves).where(
        *_sat(form), *papers)).all())
    old = np.array([stored[int(a)] or 0 for a in sat.attempt_ids], dtype=np.int64)
    line = pass_line_halves(form)
    new = result.totals.astype(np.int64)
    changed = np.nonzero(new != old)[0]
    # Every item with a decision row is rewritten: one that now says KEEP may undo
    # what an earlier decision on it wrote.
    _write_item_scores(sat, result.scores, {column[item_id] for item_id in decisions_of(form)})
    if len(changed):
        _write_totals(sat.attempt_ids[changed], new[changed])
    return key_review.RescoreSummary(
        changed=int(len(changed)), crossed_up=int(((old < line) & (new >= line)).sum()),
        crossed_down=int(((old >= line) & (new < line)).sum()), pass_line_halves=line,
        full_halves=int(sum(item.max_halves for item in sat.items)))


def _write_item_scores(sat: Sat, scores: np.ndarray, columns: set[int]) -> None:
    """The item scores of the form positions *columns*, where they differ from what is
    stored (an unanswered item has no response row, and keeps none)."""
    picked = sorted(columns)
    if not picked or not len(sat.attempt_ids):
        return
    table = Response.__table__
    with bulk.int_table(a=np.repeat(sat.attempt_ids, len(picked)),
                        p=sat.positions[:, picked].ravel(),
                        s=scores[:, picked].ravel()) as new:
        db.session.execute(
            sa.update(table).where(table.c.attempt_id == new.c.a,
                                   table.c.position == new.c.p,
                                   table.c.score_halves.is_distinct_from(new.c.s))
            .values(score_halves=new.c.s))


def _write_totals(attempt_ids: np.ndarray, totals: np.ndarray) -> None:
    attempts, results = Attempt.__table__, SubjectResult.__table__
    with bulk.int_table(a=attempt_ids, s=totals) as new:
        db.session.execute(
            sa.update(attempts).where(attempts.c.id == new.c.a)
            .values(score_halves=new.c.s, passed=new.c.s >= attempts.c.pass_halves))
        # The subject scores they became: recomputed before the results are.
        db.session.execute(
            sa.update(results).where(results.c.attempt_id == new.c.a)
            .values(score_halves=new.c.s, passed=None, line_halves=None,
                    passed_region=None))
    db.session.expire_all()
