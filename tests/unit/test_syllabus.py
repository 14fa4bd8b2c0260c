"""Syllabus trees: every chapter DOMAIN.md §5 names exists, codes nest, origins are honest."""

import pytest

from question_bank import syllabus
from question_bank.subjects import Subject

COMMON = ["社会工作的内涵、原则及主要领域", "社会工作价值观与专业伦理", "人类行为与社会环境",
          "个案工作方法", "小组工作方法", "社区工作方法", "社会工作行政", "社会工作督导",
          "社会工作研究"]
FIELDS = ["儿童", "青少年", "老年", "妇女", "残疾人", "矫正", "优抚安置", "社会救助", "家庭",
          "学校", "社区", "医务", "企业"]
OFFICIAL_CHAPTERS = {
    Subject.COMP_JR: COMMON,
    Subject.COMP_MID: COMMON[:3] + ["社会工作理论"] + COMMON[3:],
    Subject.PRAC_JR: ["通用过程"] + [f"{field}社会工作" for field in FIELDS],
    Subject.PRAC_MID: ["通用过程模式", "通用过程（接案、预估、计划、介入、评估、结案）"]
    + [f"{field}社会工作" for field in FIELDS],
    Subject.LAW_MID: ["概述", "社会工作服务机构", "社会救助", "特定人群权益保护", "婚姻家庭",
                      "人民调解、信访", "社区矫正、禁毒", "基层群众自治", "社会组织",
                      "慈善", "劳动就业", "社会保险", "健康与卫生"],
}


@pytest.mark.parametrize("subject", OFFICIAL_CHAPTERS)
def test_every_chapter_named_in_the_domain_notes_exists_in_order(subject):
    tree = syllabus.load("2018").trees[subject]
    titles = [chapter.title for chapter in tree.chapters]
    assert len(titles) == len(OFFICIAL_CHAPTERS[subject])
    for expected, title in zip(OFFICIAL_CHAPTERS[subject], titles, strict=True):
        assert expected in title
    assert tree.is_complete
    assert all(chapter.origin is syllabus.Origin.OFFICIAL for chapter in tree.chapters)


def test_partly_known_trees_are_marked_incomplete_not_invented():
    senior = syllabus.load("2018").trees[Subject.PRAC_SR]
    assert not senior.is_complete and senior.note
    assert all(node.origin is syllabus.Origin.PROJECT for node in senior.nodes)
    edition_2025 = syllabus.load("2025")
    for tree in edition_2025.trees.values():
        assert not tree.is_complete
    for subject in (Subject.COMP_JR, Subject.COMP_MID):
        assert [c.title for c in edition_2025.trees[subject].chapters][:2] == [
            "社会工作服务的内涵", "社会工作服务发展的基本原则"]


@pytest.mark.parametrize("version", syllabus.VERSIONS)
def test_codes_are_unique_and_nest_under_their_parents(version):
    tree = syllabus.load(version)
    codes = [node.code for t in tree.trees.values() for node in t.nodes]
    assert len(codes) == len(set(codes))
    for node in tree.by_code.values():
        assert node.code.startswith(node.subject.value + ".")
        if node.parent_code:
            assert node.code.startswith(node.parent_code + ".")
        if node.depth is not syllabus.Depth.CHAPTER:
            assert node.origin is syllabus.Origin.PROJECT
