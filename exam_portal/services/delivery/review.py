"""After submission: each item with the candidate's answer, the key and the explanation,
and the score broken down by section and by chapter."""

import dataclasses
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.attempts import Attempt, Response
from exam_portal.models.bank import ItemVersion
from exam_portal.services.delivery import learning, paper_cache
from question_bank import delivery, specs, syllabus


@dataclass(frozen=True)
class ReviewEntry:
    position: int
    section: str
    chapter: str
    syllabus_version: str  # the tree *chapter* belongs to
    item_id: int
    view: dict  # what the candidate saw
    feedback: dict  # key, explanation, key points
    selected: list[str]  # shown letters
    text: str
    flagged: bool
    score_halves: int | None
    points_halves: int
    self_score_halves: int | None
    is_bookmarked: bool

    @property
    def is_choice(self) -> bool:
        return "options" in self.view

    @property
    def is_answered(self) -> bool:
        return bool(self.selected or self.text.strip())

    @property
    def is_correct(self) -> bool:
        return self.score_halves == self.points_halves


@dataclass(frozen=True)
class Part:
    """A section or chapter of the paper: points earned of points possible."""

    code: str
    title: str
    score_halves: int
    full_halves: int
    right: int
    count: int

    @property
    def percent(self) -> float:
        return 100 * self.score_halves / self.full_halves if self.full_halves else 0.0


def review_entries(attempt: Attempt) -> list[ReviewEntry]:
    """Every item of a submitted attempt with what is revealed after submission."""
    if attempt.is_open:
        raise ValueError("an open attempt has no review")
    items = paper_cache.attempt_items(attempt.id)
    views = paper_cache.candidate_views(items)
    contents = paper_cache.contents(item.item_version_id for item in items)
    responses = {r.position: r for r in db.session.scalars(
        sa.select(Response).where(Response.attempt_id == attempt.id))}
    marked = learning.is_bookmarked(attempt.candidate_id, [item.item_id for item in items])
    versions = dict(db.session.execute(
        sa.select(ItemVersion.id, ItemVersion.syllabus_version)
        .where(ItemVersion.id.in_({item.item_version_id for item in items}))).all())
    entries = []
    for item, view in zip(items, views, strict=True):
        response = responses.get(item.position)
        order = delivery.decode_order(item.option_order)
        selected = (delivery.stored_to_shown(response.selected or "", order)
                    if response is not None else [])
        entries.append(ReviewEntry(
            position=item.position, section=item.section, chapter=item.chapter_code,
            syllabus_version=versions.get(item.item_version_id, ""),
            item_id=item.item_id, view=view,
            feedback=delivery.feedback_view(contents[item.item_version_id], order),
            selected=selected, text=(response.text or "") if response else "",
            flagged=bool(response and response.is_flagged),
            score_halves=response.score_halves if response else
            (0 if "options" in view else None),
            points_halves=item.points_halves,
            self_score_halves=response.self_score_halves if response else None,
            is_bookmarked=item.item_id in marked))
    return entries


def by_section(attempt: Attempt, entries: list[ReviewEntry]) -> list[Part]:
    spec = specs.load(attempt.subject, attempt.spec_variant)
    titles = {section.code: section.title for section in spec.sections}
    return _parts(entries, lambda entry: entry.section, titles.get)


def by_chapter(entries: list[ReviewEntry]) -> list[Part]:
    """The score per chapter, each titled from the tree its items are filed under."""

    def title(key):
        version, code = key
        node = syllabus.load(version).node(code) if version in syllabus.VERSIONS else None
        return node.title if node else code

    parts = _parts(entries, lambda entry: (entry.syllabus_version, entry.chapter), title)
    return [dataclasses.replace(part, code=part.code[1]) for part in parts]


def _parts(entries, key, title) -> list[Part]:
    groups: dict[str, list[ReviewEntry]] = defaultdict(list)
    for entry in entries:
        groups[key(entry)].append(entry)
    return [Part(code, title(code) or code,
                 sum(e.score_halves or 0 for e in group), sum(e.points_halves for e in group),
                 sum(1 for e in group if e.is_choice and e.is_correct), len(group))
            for code, group in groups.items()]
