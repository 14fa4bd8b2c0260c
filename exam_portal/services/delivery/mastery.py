"""Mastery of knowledge points: updated when an answer is marked, shown as a map of the
syllabus, and its parameters fitted from the portal's own answers."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.attempts import Attempt, AttemptItem, Response
from exam_portal.models.bank import Item, ItemLink, ItemVersion
from exam_portal.models.mastery import KnowledgeMastery, MasteryModel
from exam_portal.models.types import dialect_insert
from question_bank import mastery, syllabus
from question_bank.items import ItemType
from question_bank.practice import Mode
from question_bank.subjects import Subject


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


def record(candidate_id: int, answers: list[Answer], *, now: datetime) -> None:
    """Trace the candidate's knowledge of every syllabus node the answered item
    versions are linked to, in answer order."""
    if not answers:
        return
    links = defaultdict(list)
    for version_id, code, chapter, version in db.session.execute(
            sa.select(ItemLink.version_id, ItemLink.code, ItemLink.chapter_code,
                      ItemVersion.syllabus_version)
            .join(ItemVersion, ItemVersion.id == ItemLink.version_id)
            .where(ItemLink.version_id.in_({a.item_version_id for a in answers}))):
        links[version_id].append((version, code, chapter))
    nodes = {}
    for answer in answers:
        for version, code, chapter in links[answer.item_version_id]:
            nodes.setdefault((version, code), (answer.subject, chapter))
    if not nodes:
        return
    model = current_model()
    # A row no answer has reached yet holds answered = 0: its first answer starts from
    # the prior of its item type. Inserting first, then locking, lets parallel
    # markings of the same node queue on the row instead of failing on its key.
    insert = dialect_insert(KnowledgeMastery.__table__, db.session.get_bind().dialect.name)
    db.session.execute(insert.on_conflict_do_nothing(), [
        {"candidate_id": candidate_id, "syllabus_version": version, "code": code,
         "subject": subject, "chapter_code": chapter, "p_known": model.single.p_init,
         "answered": 0, "right": 0, "updated_at": now}
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
        params = model.for_type(answer.item_type)
        for version, code, _chapter in links[answer.item_version_id]:
            row = rows[(version, code)]
            row.p_known = mastery.update(row.p_known if row.answered else None,
                                         answer.correct, params)
            row.answered += 1
            row.right += int(answer.correct)
            row.updated_at = now
    db.session.flush()


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


def mastery_map(candidate_id: int, version: str) -> dict[Subject, list[ChapterMastery]]:
    """Every chapter of *version*'s syllabus per subject, with the candidate's answers and
    mastery at each node (nodes never answered show as such)."""
    traced = {row.code: row for row in db.session.scalars(
        sa.select(KnowledgeMastery).where(KnowledgeMastery.candidate_id == candidate_id,
                                          KnowledgeMastery.syllabus_version == version))}
    tree = syllabus.load(version)
    result = {}
    for subject, subject_tree in tree.trees.items():
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


def weakest(candidate_id: int, version: str, limit: int = 10) -> list[KnowledgeMastery]:
    """The candidate's least mastered nodes of *version* that they have answered."""
    return list(db.session.scalars(
        sa.select(KnowledgeMastery).where(KnowledgeMastery.candidate_id == candidate_id,
                                          KnowledgeMastery.syllabus_version == version,
                                          KnowledgeMastery.answered > 0)
        .order_by(KnowledgeMastery.p_known, KnowledgeMastery.code).limit(limit)))


# Fitting -------------------------------------------------------------------------

def answer_sequences() -> dict[str, list[tuple[int, list[int]]]]:
    """Every candidate's marked practice and mock choice answers, as right/wrong
    sequences per candidate × syllabus node × item type, in marking order."""
    right = sa.case((Response.score_halves == AttemptItem.points_halves, 1), else_=0)
    rows = db.session.execute(
        sa.select(Attempt.candidate_id, ItemLink.code, ItemVersion.syllabus_version,
                  Item.item_type, right)
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
                  Response.position)
        .execution_options(yield_per=10_000))
    sequences: dict[tuple, list[int]] = defaultdict(list)
    for candidate_id, code, version, item_type, is_right in rows:
        kind = "multi" if item_type is ItemType.MULTI else "single"
        sequences[(kind, candidate_id, version, code)].append(int(is_right))
    by_type: dict[str, list[tuple[int, list[int]]]] = defaultdict(list)
    for (kind, candidate_id, _version, _code), answers in sequences.items():
        by_type[kind].append((candidate_id, answers))
    return dict(by_type)


def fit_and_store(*, now: datetime) -> tuple[MasteryModel, mastery.Fit]:
    """Fit knowledge tracing to the answers so far and put the result in use."""
    result = mastery.fit(answer_sequences(), fallback=current_model())
    row = MasteryModel(parameters=result.model.to_dict(),
                       quality={kind: vars(q) for kind, q in result.quality.items()},
                       sequences=result.sequences, answers=result.answers, fitted_at=now)
    db.session.add(row)
    db.session.flush()
    return row, result
