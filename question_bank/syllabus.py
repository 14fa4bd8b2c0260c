"""Syllabus trees (考试大纲) as versioned data: subject → chapter → section → knowledge point."""

import functools
import json
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

from .i18n import N_
from .items import Problem
from .subjects import Subject

VERSIONS = {
    "2018": "2018 年版考试大纲（2019–2025 年考试使用）",
    "2025": "2025 年版考试大纲（2026 年起使用）",
}
CURRENT_VERSION = "2018"


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


@functools.cache
def load(version: str = CURRENT_VERSION) -> Syllabus:
    """Load one syllabus version from the package data."""
    if version not in VERSIONS:
        raise KeyError(version)
    folder = resources.files("question_bank") / "data" / "syllabus" / version
    trees = {}
    for entry in sorted(folder.iterdir(), key=lambda path: path.name):
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
