"""The 2025 syllabus trees for all six subjects, and the 2018 → 2025 crosswalk proposal."""

import json
import re
from importlib import resources

import pytest

from question_bank import syllabus
from question_bank.subjects import NAMES_ZH, Subject

POLITICAL_THEORY = "开展社会工作服务应重点掌握的相关政治理论"
CHAPTER_COUNTS = {
    Subject.COMP_JR: 12,
    Subject.COMP_MID: 13,
    Subject.PRAC_JR: 15,
    Subject.PRAC_MID: 16,
    Subject.LAW_MID: 14,
    Subject.PRAC_SR: 10,
}
# Chapter positions whose titles a source gives (see data/syllabus/2025/SOURCES.md).
OFFICIAL_POSITIONS = {
    Subject.COMP_JR: {1, 2, 3, 4, 10},
    Subject.COMP_MID: {1, 2, 3},
    Subject.PRAC_JR: {1, 2},
    Subject.PRAC_MID: set(),
    Subject.LAW_MID: set(),
    Subject.PRAC_SR: {1, 2},
}
FITS = {"same", "moved", "broader"}
DEPTHS = [syllabus.Depth.CHAPTER, syllabus.Depth.SECTION, syllabus.Depth.POINT]


def _crosswalk() -> dict:
    path = resources.files("question_bank") / "data" / "syllabus" / "crosswalk-2018-2025.json"

    def no_duplicate_keys(pairs):
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), "a key appears twice"
        return dict(pairs)

    return json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=no_duplicate_keys)


def test_every_subject_has_a_2025_tree_named_as_the_subject():
    trees = syllabus.load("2025").trees
    assert set(trees) == set(Subject)
    for subject, tree in trees.items():
        assert tree.name == NAMES_ZH[subject]


@pytest.mark.parametrize("subject", list(Subject))
def test_chapter_count_and_official_chapters(subject):
    tree = syllabus.load("2025").trees[subject]
    assert len(tree.chapters) == CHAPTER_COUNTS[subject]
    official = {c.position for c in tree.chapters if c.origin is syllabus.Origin.OFFICIAL}
    assert official == OFFICIAL_POSITIONS[subject]
    # Drafted chapters are said so: an incomplete tree explains itself.
    assert not tree.is_complete and "project" in tree.note


@pytest.mark.parametrize("subject", list(Subject))
def test_every_chapter_has_three_to_six_sections_of_two_to_four_points(subject):
    nodes = syllabus.load("2025").trees[subject].nodes
    children = {}
    for node in nodes:
        if node.parent_code:
            children.setdefault(node.parent_code, []).append(node)
    for node in nodes:
        if node.depth is syllabus.Depth.CHAPTER:
            assert 3 <= len(children.get(node.code, [])) <= 6, node.code
        elif node.depth is syllabus.Depth.SECTION:
            assert 2 <= len(children.get(node.code, [])) <= 4, node.code
            assert node.origin is syllabus.Origin.PROJECT
        else:
            assert node.code not in children
            assert node.origin is syllabus.Origin.PROJECT


@pytest.mark.parametrize("subject", list(Subject))
def test_codes_are_unique_well_formed_and_follow_positions(subject):
    nodes = syllabus.load("2025").trees[subject].nodes
    assert len({node.code for node in nodes}) == len(nodes)
    for node in nodes:
        depth = DEPTHS.index(node.depth)
        assert re.fullmatch(rf"{subject.value}(\.\d{{2}}){{{depth + 1}}}", node.code), node.code
        prefix = node.parent_code or subject.value
        assert node.code == f"{prefix}.{node.position:02d}"
        assert node.title.strip() == node.title and node.title


@pytest.mark.parametrize("subject", list(Subject))
def test_siblings_have_distinct_titles(subject):
    nodes = syllabus.load("2025").trees[subject].nodes
    seen = set()
    for node in nodes:
        key = (node.parent_code, node.title)
        assert key not in seen, node.code
        seen.add(key)


@pytest.mark.parametrize("subject", [Subject.COMP_JR, Subject.COMP_MID, Subject.PRAC_SR])
def test_the_political_theory_chapter_is_there_and_official(subject):
    chapters = syllabus.load("2025").trees[subject].chapters
    [chapter] = [c for c in chapters if c.title == POLITICAL_THEORY]
    assert chapter.origin is syllabus.Origin.OFFICIAL
    assert chapter.position == (2 if subject is Subject.PRAC_SR else 3)


def test_crosswalk_header():
    crosswalk = _crosswalk()
    assert (crosswalk["from"], crosswalk["to"]) == ("2018", "2025")
    assert crosswalk["reviewed_on"] == "2026-12-06" and crosswalk["reviewed_by"] == "project"
    assert "培训师" in crosswalk["note"]


def test_crosswalk_covers_every_2018_node_exactly_once():
    links = _crosswalk()["links"]
    assert set(links) == set(syllabus.load("2018").by_code)


def test_crosswalk_targets_exist_in_the_same_subject_with_a_known_fit():
    old, new = syllabus.load("2018"), syllabus.load("2025")
    for code, link in _crosswalk()["links"].items():
        assert set(link) == {"to", "fit"}, code
        assert link["fit"] in FITS, code
        target = new.node(link["to"])
        assert target is not None, code
        assert target.subject is old.node(code).subject, code


def test_crosswalk_fits_agree_with_where_the_target_sits():
    old, new = syllabus.load("2018"), syllabus.load("2025")
    links = _crosswalk()["links"]
    for code, link in links.items():
        source, target = old.node(code), new.node(link["to"])
        source_depth, target_depth = DEPTHS.index(source.depth), DEPTHS.index(target.depth)
        if source.depth is syllabus.Depth.CHAPTER:
            # A chapter goes to its successor chapter.
            assert target.depth is syllabus.Depth.CHAPTER and link["fit"] == "same", code
            continue
        successor = links[source.chapter_code]["to"]
        if link["fit"] == "broader":
            assert target_depth <= source_depth, code
        else:
            assert target_depth == source_depth, code
            assert (target.chapter_code == successor) == (link["fit"] == "same"), code


def test_crosswalk_prefers_point_targets():
    links = _crosswalk()["links"]
    old = syllabus.load("2018")
    points = [code for code, node in old.by_code.items() if node.depth is syllabus.Depth.POINT]
    to_points = [code for code in points if links[code]["to"].count(".") == 3]
    assert len(to_points) >= 0.9 * len(points)
