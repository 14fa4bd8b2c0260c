"""Syllabus trees (考试大纲) as versioned data: subject → chapter → section → knowledge point,
and which version is in force for an exam year."""

import functools
import json
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from importlib import resources

from .i18n import N_
from .items import Problem
from .subjects import Subject


@dataclass(frozen=True)
class Version:
    code: str
    label: str  # a msgid
    # The first exam year that uses this version; it is in force until the next one's.
    in_force_from: int


VERSIONS = {
    version.code: version for version in (
        Version("2018", N_("2018 年版考试大纲（2019–2025 年考试使用）"), 2019),
        # Published 2025-12-09 by 中央社会工作部, used from the 2026 exam on.
        Version("2025", N_("2025 年版考试大纲（2026 年起使用）"), 2026),
    )
}


def version_for_year(year: int) -> str:
    """The syllabus version an exam of *year* uses (the oldest one for earlier years)."""
    ordered = sorted(VERSIONS.values(), key=lambda version: version.in_force_from)
    chosen = ordered[0]
    for version in ordered:
        if version.in_force_from <= year:
            chosen = version
    return chosen.code


def coming_exam_year(today: date, exam_month: int = 5) -> int:
    """The year of the next exam: this year's until its month is over, then next year's."""
    return today.year if today.month <= exam_month else today.year + 1


def current(today: date, exam_month: int = 5) -> str:
    """The version in force on *today*: the one the coming exam uses, so new items and
    candidates' practice are written and drawn for the exam ahead."""
    return version_for_year(coming_exam_year(today, exam_month))


def is_loaded(version: str) -> bool:
    """True when *version* is known and its data holds a tree for every subject."""
    if version not in VERSIONS:
        return False
    return set(_load(version).trees) == set(Subject)


class Origin(StrEnum):
    OFFICIAL = "official"  # named in the published syllabus
    PROJECT = "project"  # written by this project to organise items


class Depth(StrEnum):
    CHAPTER = "chapter"
    SECTION = "section"
    POINT = "point"


@dataclass(frozen=True)
class SyllabusNode:
    code: str
    title: str
    origin: Origin
    depth: Depth
    subject: Subject
    chapter_code: str
    parent_code: str | None
    position: int


@dataclass(frozen=True)
class SubjectTree:
    subject: Subject
    name: str
    is_complete: bool
    note: str
    nodes: tuple[SyllabusNode, ...]

    @property
    def chapters(self) -> tuple[SyllabusNode, ...]:
        return tuple(node for node in self.nodes if node.depth is Depth.CHAPTER)


@dataclass(frozen=True)
class Syllabus:
    version: str
    trees: dict[Subject, SubjectTree]

    @functools.cached_property
    def by_code(self) -> dict[str, SyllabusNode]:
        return {node.code: node for tree in self.trees.values() for node in tree.nodes}

    def node(self, code: str) -> SyllabusNode | None:
        return self.by_code.get(code)

    def chapter_of(self, code: str) -> str | None:
        node = self.by_code.get(code)
        return node.chapter_code if node else None


def load(version: str) -> Syllabus:
    """Load one syllabus version from the package data."""
    if version not in VERSIONS:
        raise KeyError(version)
    return _load(version)


@functools.cache
def _load(version: str) -> Syllabus:
    folder = resources.files("question_bank") / "data" / "syllabus" / version
    trees = {}
    entries = folder.iterdir() if folder.is_dir() else ()
    for entry in sorted(entries, key=lambda path: path.name):
        if entry.name.endswith(".json"):
            tree = _tree(json.loads(entry.read_text(encoding="utf-8")))
            trees[tree.subject] = tree
    return Syllabus(version, trees)


def _tree(data: dict) -> SubjectTree:
    subject = Subject(data["subject"])
    nodes = []
    for chapter_position, chapter in enumerate(data["chapters"], 1):
        code = chapter["code"]
        nodes.append(_node(chapter, Depth.CHAPTER, subject, code, None, chapter_position))
        for section_position, section in enumerate(chapter.get("sections", []), 1):
            nodes.append(_node(section, Depth.SECTION, subject, chapter["code"], chapter["code"],
                               section_position))
            for point_position, point in enumerate(section.get("points", []), 1):
                nodes.append(_node(point, Depth.POINT, subject, chapter["code"], section["code"],
                                   point_position))
    return SubjectTree(subject, data["name"], data["complete"], data.get("note", ""), tuple(nodes))


def _node(data, depth, subject, chapter_code, parent_code, position) -> SyllabusNode:
    return SyllabusNode(data["code"], data["title"], Origin(data["origin"]), depth, subject,
                        chapter_code, parent_code, position)


def link_problems(content, syllabus: Syllabus) -> list:
    """Problems with an item's syllabus links: unknown codes, or another subject's nodes."""
    problems = []
    for code in content.syllabus:
        node = syllabus.node(code)
        if node is None:
            problems.append(Problem("syllabus", N_("大纲中没有编号为 %(code)s 的节点。"),
                                    {"code": code[:40]}))
        elif node.subject is not content.subject:
            problems.append(Problem("syllabus", N_("大纲节点 %(code)s 不属于本科目。"),
                                    {"code": code}))
    return problems
