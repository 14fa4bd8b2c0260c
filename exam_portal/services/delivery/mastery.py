"""Mastery of knowledge points: updated when an answer is marked, shown as a map of the
syllabus, and its parameters fitted from the portal's own answers."""

import dataclasses
import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.accounts import User
from exam_portal.models.attempts import Attempt, AttemptItem, Response
from exam_portal.models.bank import Item, ItemLink, ItemVersion
from exam_portal.models.mastery import KnowledgeMastery, MasteryModel
from exam_portal.models.types import dialect_insert
from question_bank import mastery, prediction, specs, syllabus
from question_bank.items import ItemType
from question_bank.practice import Mode
from question_bank.subjects import Subject, SubjectKind


@dataclass(frozen=True)
class Answer:
    """One marked choice answer, as knowledge tracing reads it."""

    item_version_id: int
    item_type: ItemType
    subject: Subject
    correct: bool


def current_model() -> mastery.Model:
    stored = db.session.scalar(sa.select(MasteryModel.parameters)
                               .order_by(MasteryModel.id.desc()).limit(1))
    return mastery.Model.from_dict(stored) if stored else mastery.DEFAULT_MODEL


def _links(version_ids) -> dict[int, list[tuple[str, str, str]]]:
    """The syllabus nodes (version, code, chapter) each item version is linked to."""
    links = defaultdict(list)
    for version_id, code, chapter, version in db.session.execute(
            sa.select(ItemLink.version_id, ItemLink.code, ItemLink.chapter_code,
                      ItemVersion.syllabus_version)
            .join(ItemVersion, ItemVersion.id == ItemLink.version_id)
            .where(ItemLink.version_id.in_(set(version_ids)))
            .order_by(ItemLink.version_id, ItemLink.code)):
        links[version_id].append((version, code, chapter))
    return links


def _count(row: KnowledgeMastery, correct: bool, params: mastery.Parameters, share: float,
           now: datetime) -> None:
    """One answer at one of the nodes its item is linked to (*share*: 1 / how many)."""
    row.p_known = mastery.update(row.p_known if row.answered else None, correct, params)
    row.answered += 1
    row.right += int(correct)
    row.answer_share += share
    row.right_share += share * int(correct)
    row.updated_at = now


def _hold_candidate(candidate_id: int, *, exclusive: bool) -> None:
    """Markings of one candidate's answers share their candidate's row; a replay of
    their mastery holds it alone, so that no answer marked meanwhile is lost to it."""
    query = sa.select(User.id).where(User.id == candidate_id)
    db.session.execute(query.with_for_update(read=not exclusive))


def record(candidate_id: int, answers: list[Answer], *, now: datetime) -> None:
    """Trace the candidate's knowledge of every syllabus node the answered item
    versions are linked to, in answer order."""
    if not answers:
        return
    links = _links(a.item_version_id for a in answers)
    nodes = {}
    for answer in answers:
        for version, code, chapter in links[answer.item_version_id]:
            nodes.setdefault((version, code), (answer.subject, chapter))
    if not nodes:
        return
    _hold_candidate(candidate_id, exclusive=False)
    model = current_model()
    # A row no answer has reached yet holds answered = 0: its first answer starts from
    # the prior of its item type. Inserting first, then locking, lets parallel
    # markings of the same node queue on the row instead of failing on its key.
    insert = dialect_insert(KnowledgeMastery.__table__, db.session.get_bind().dialect.name)
    db.session.execute(insert.on_conflict_do_nothing(), [
        {"candidate_id": candidate_id, "syllabus_version": version, "code": code,
         "subject": subject, "chapter_code": chapter, "p_known": model.single.p_init,
         "answered": 0, "right": 0, "answer_share": 0.0, "right_share": 0.0,
         "updated_at": now}
        for (version, code), (subject, chapter) in sorted(nodes.items())])
    keys = sorted(nodes)
    rows = {(row.syllabus_version, row.code): row for row in db.session.scalars(
        sa.select(KnowledgeMastery)
        .where(KnowledgeMastery.candidate_id == candidate_id,
               sa.tuple_(KnowledgeMastery.syllabus_version, KnowledgeMastery.code)
               .in_(keys))
        .order_by(KnowledgeMastery.syllabus_version, KnowledgeMastery.code)
        .with_for_update().execution_options(populate_existing=True))}
    for answer in answers:
        nodes = links[answer.item_version_id]
        for version, code, _chapter in nodes:
            _count(rows[(version, code)], answer.correct, model.for_type(answer.item_type),
                   1 / len(nodes), now)
    db.session.flush()


def replay(candidate_id: int, *, now: datetime) -> int:
    """Recompute the candidate's mastery from all their marked practice and mock choice
    answers with the model in use (after a fit, or over answers marked before mastery
    was traced); how many answers were replayed."""
    _hold_candidate(candidate_id, exclusive=True)
    db.session.execute(sa.delete(KnowledgeMastery)
                       .where(KnowledgeMastery.candidate_id == candidate_id))
    model, rows, answers = current_model(), {}, 0.0
    for answer in _marked_answers(candidate_id):
        row = rows.get((answer.version, answer.code))
        if row is None:
            row = rows[(answer.version, answer.code)] = KnowledgeMastery(
                candidate_id=candidate_id, syllabus_version=answer.version, code=answer.code,
                subject=answer.subject, chapter_code=answer.chapter, p_known=0.0,
                answered=0, right=0, answer_share=0.0, right_share=0.0, updated_at=now)
        _count(row, answer.right, model.for_type(answer.item_type), answer.share, now)
        answers += answer.share
    db.session.add_all(rows[key] for key in sorted(rows))
    db.session.flush()
    return round(answers)


def candidates_with_answers() -> list[int]:
    """Every candidate with a practice or mock attempt, for replaying them all."""
    return list(db.session.scalars(sa.select(Attempt.candidate_id).distinct()
                                   .where(Attempt.mode != Mode.EXAM)
                                   .order_by(Attempt.candidate_id)))


# The map -------------------------------------------------------------------------

@dataclass(frozen=True)
class NodeMastery:
    code: str
    title: str
    depth: str
    answered: int
    right: int
    p_known: float | None

    @property
    def accuracy(self) -> float | None:
        return 100 * self.right / self.answered if self.answered else None

    @property
    def level(self) -> str | None:
        return mastery.Level.of(self.p_known) if self.p_known is not None else None


@dataclass(frozen=True)
class ChapterMastery:
    chapter: NodeMastery
    nodes: tuple[NodeMastery, ...]  # sections and knowledge points, in syllabus order

    @property
    def answered(self) -> int:
        return sum(node.answered for node in (self.chapter, *self.nodes))

    @property
    def right(self) -> int:
        return sum(node.right for node in (self.chapter, *self.nodes))

    @property
    def accuracy(self) -> float | None:
        return 100 * self.right / self.answered if self.answered else None

    @property
    def p_known(self) -> float | None:
        """The mean over the chapter's traced nodes (None before any answer)."""
        known = [n.p_known for n in (self.chapter, *self.nodes) if n.p_known is not None]
        return sum(known) / len(known) if known else None

    @property
    def level(self) -> str | None:
        p = self.p_known
        return mastery.Level.of(p) if p is not None else None


def mastery_map(candidate_id: int, version: str,
                subjects=None) -> dict[Subject, list[ChapterMastery]]:
    """Every chapter of *version*'s syllabus per subject (of *subjects*, or all), with
    the candidate's answers and mastery at each node (nodes never answered show as
    such)."""
    query = sa.select(KnowledgeMastery).where(KnowledgeMastery.candidate_id == candidate_id,
                                              KnowledgeMastery.syllabus_version == version)
    if subjects is not None:
        query = query.where(KnowledgeMastery.subject.in_(list(subjects)))
    traced = {row.code: row for row in db.session.scalars(query)}
    wanted = set(subjects) if subjects is not None else None
    tree = syllabus.load(version)
    result = {}
    for subject, subject_tree in tree.trees.items():
        if wanted is not None and subject not in wanted:
            continue
        by_chapter = defaultdict(list)
        for node in subject_tree.nodes:
            row = traced.get(node.code)
            by_chapter[node.chapter_code].append(NodeMastery(
                node.code, node.title, node.depth.value, row.answered if row else 0,
                row.right if row else 0, row.p_known if row and row.answered else None))
        result[subject] = [
            ChapterMastery(by_chapter[chapter.code][0], tuple(by_chapter[chapter.code][1:]))
            for chapter in subject_tree.chapters]
    return result


# Prediction ------------------------------------------------------------------------

# Mock papers whose outcome the raw predictions are scaled against, at the least.
MIN_MOCKS_TO_CALIBRATE = 30


def current_scaling() -> tuple[prediction.Scaling, int] | None:
    """The calibration of pass probabilities against mock results in use, and how many
    mock papers it was fitted on (None: not calibrated yet)."""
    stored = db.session.scalar(sa.select(MasteryModel.parameters)
                               .order_by(MasteryModel.id.desc()).limit(1))
    scaling = (stored or {}).get("scaling")
    if not scaling:
        return None
    return prediction.Scaling(scaling["a"], scaling["b"]), scaling["mocks"]


def _predict(subject: Subject, version: str, by_chapter: dict[str, float], answered: int,
             model: mastery.Model) -> prediction.Prediction:
    """A raw prediction from a candidate's mean mastery per chapter of one subject and
    version, and the answers it rests on."""
    return prediction.predict(
        specs.load(subject), [c.code for c in syllabus.load(version).trees[subject].chapters],
        by_chapter, answered, model)


@dataclass(frozen=True)
class SubjectMastery:
    by_chapter: dict[str, float]  # mean mastery over each chapter's traced nodes
    answered: int  # answers traced, each counted once


def chapter_mastery(candidate_id: int, version: str) -> dict[Subject, SubjectMastery]:
    """Per subject the candidate has practised against *version*: their mean mastery
    over each chapter's traced nodes, and the answers traced."""
    chapters: dict[Subject, dict[str, float]] = defaultdict(dict)
    answered: dict[Subject, int] = defaultdict(int)
    for subject, chapter, p_known, count in db.session.execute(
            sa.select(KnowledgeMastery.subject, KnowledgeMastery.chapter_code,
                      sa.func.avg(KnowledgeMastery.p_known),
                      sa.func.sum(KnowledgeMastery.answer_share))
            .where(KnowledgeMastery.candidate_id == candidate_id,
                   KnowledgeMastery.syllabus_version == version,
                   KnowledgeMastery.answered > 0)
            .group_by(KnowledgeMastery.subject, KnowledgeMastery.chapter_code)):
        chapters[subject][chapter] = float(p_known)
        answered[subject] += float(count)
    return {subject: SubjectMastery(by_chapter, round(answered[subject]))
            for subject, by_chapter in chapters.items()}


def predictions(candidate_id: int, version: str) -> dict[Subject, prediction.Prediction]:
    """The predicted score of each objective subject the candidate has practised against
    *version*'s syllabus (with the reason where there is too little to go on); pass
    probabilities calibrated against mock results once `fit-mastery` could."""
    practised = chapter_mastery(candidate_id, version)
    if not practised:
        return {}
    model, tree, scaling = current_model(), syllabus.load(version), current_scaling()
    result = {}
    for subject, known in sorted(practised.items()):
        if subject.kind is not SubjectKind.OBJECTIVE or subject not in tree.trees:
            continue
        raw = _predict(subject, version, known.by_chapter, known.answered, model)
        if raw.enough and scaling is not None:
            raw = dataclasses.replace(raw, pass_probability=round(
                scaling[0].apply(raw.pass_probability), 3))
        result[subject] = raw
    return result


# Fitting -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Marked:
    candidate_id: int
    attempt_id: int
    mode: Mode
    subject: Subject
    passed: bool | None
    version: str
    code: str
    chapter: str
    item_type: ItemType
    right: bool
    share: float = 1.0  # 1 / the nodes the answer's item is linked to


def _marked_answers(candidate_id: int | None = None) -> list[_Marked]:
    """Every marked practice and mock choice answer (of one candidate, or of all), once
    per syllabus node its item version is linked to, per candidate in marking order."""
    right = sa.case((Response.score_halves == AttemptItem.points_halves, 1), else_=0)
    query = (
        sa.select(Attempt.candidate_id, Attempt.id, Attempt.mode, Attempt.subject,
                  Attempt.passed, ItemVersion.syllabus_version, ItemLink.code,
                  ItemLink.chapter_code, Item.item_type, right, Response.position)
        .select_from(Response)
        .join(AttemptItem, sa.and_(AttemptItem.attempt_id == Response.attempt_id,
                                   AttemptItem.position == Response.position))
        .join(Attempt, Attempt.id == Response.attempt_id)
        .join(Item, Item.id == AttemptItem.item_id)
        .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
        .join(ItemLink, ItemLink.version_id == AttemptItem.item_version_id)
        .where(Attempt.mode != Mode.EXAM, Response.score_halves.is_not(None),
               Response.selected.is_not(None), Response.selected != "",
               Item.item_type.in_([ItemType.SINGLE, ItemType.MULTI]))
        .order_by(Attempt.candidate_id, Response.saved_at, Response.attempt_id,
                  Response.position, ItemLink.code)
        .execution_options(yield_per=10_000))
    if candidate_id is not None:
        query = query.where(Attempt.candidate_id == candidate_id)
    marked = []
    # One answer's rows (a row per linked node) come together.
    for _answer, nodes in itertools.groupby(db.session.execute(query),
                                            key=lambda row: (row[1], row[10])):
        nodes = list(nodes)
        marked += [_Marked(*row[:9], bool(row[9]), 1 / len(nodes)) for row in nodes]
    return marked


def answer_sequences(answers: list[_Marked]) -> dict[str, list[tuple[int, list[int]]]]:
    """Right/wrong sequences per candidate × syllabus node × item type."""
    sequences: dict[tuple, list[int]] = defaultdict(list)
    for answer in answers:
        kind = "multi" if answer.item_type is ItemType.MULTI else "single"
        sequences[(kind, answer.candidate_id, answer.version, answer.code)].append(
            int(answer.right))
    by_type: dict[str, list[tuple[int, list[int]]]] = defaultdict(list)
    for (kind, candidate_id, _version, _code), run in sequences.items():
        by_type[kind].append((candidate_id, run))
    return dict(by_type)


def mock_outcomes(answers: list[_Marked], model: mastery.Model) -> tuple[list, list]:
    """Replay every candidate's answers with *model*: at each handed-in mock paper, the
    raw pass probability their answers before it gave, and whether they passed it."""
    predicted, passed = [], []
    state: dict[tuple, dict[str, tuple[str, float]]] = defaultdict(dict)
    answered: dict[tuple, float] = defaultdict(float)
    seen: set[int] = set()
    for answer in answers:
        key = (answer.candidate_id, answer.version, answer.subject)
        if answer.mode is Mode.MOCK and answer.attempt_id not in seen \
                and answer.passed is not None and answer.subject.kind is SubjectKind.OBJECTIVE:
            means: dict[str, list[float]] = defaultdict(list)
            for chapter, p_known in state[key].values():
                means[chapter].append(p_known)
            guess = _predict(answer.subject, answer.version,
                             {chapter: sum(ps) / len(ps) for chapter, ps in means.items()},
                             round(answered[key]), model)
            if guess.enough:
                predicted.append(guess.pass_probability)
                passed.append(answer.passed)
        seen.add(answer.attempt_id)
        chapter, p_known = state[key].get(answer.code, (answer.chapter, None))
        state[key][answer.code] = (
            chapter, mastery.update(p_known, answer.right, model.for_type(answer.item_type)))
        answered[key] += answer.share
    return predicted, passed


def fit_and_store(*, now: datetime) -> tuple[MasteryModel, mastery.Fit, int]:
    """Fit knowledge tracing to the answers so far, calibrate its pass probabilities
    against the mock papers handed in (when there are enough), and put both in use;
    how many mock papers the calibration rests on (0: none)."""
    answers = _marked_answers()
    result = mastery.fit(answer_sequences(answers), fallback=current_model())
    parameters = result.model.to_dict()
    predicted, passed = mock_outcomes(answers, result.model)
    if len(predicted) >= MIN_MOCKS_TO_CALIBRATE and 0 < sum(passed) < len(passed):
        scaling = prediction.fit_scaling(predicted, passed)
        parameters["scaling"] = {"a": scaling.a, "b": scaling.b, "mocks": len(predicted)}
    row = MasteryModel(parameters=parameters,
                       quality={kind: vars(q) for kind, q in result.quality.items()},
                       sequences=result.sequences, answers=result.answers, fitted_at=now)
    db.session.add(row)
    db.session.flush()
    return row, result, parameters.get("scaling", {}).get("mocks", 0)
