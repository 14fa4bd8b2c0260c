"""Item validation: every type's rules, one clear problem per violation."""

import dataclasses
from decimal import Decimal

import pytest

from question_bank.items import ItemType, KeyPoint, SubQuestion, validate

from .bank_samples import ALL, CASE, ESSAY, LAW, MULTI, SINGLE


@pytest.mark.parametrize("name", ALL)
def test_samples_are_valid(name):
    assert validate(ALL[name]) == []


def _fields(content):
    return [problem.field for problem in validate(content)]


@pytest.mark.parametrize("options", [("a", "b", "c"), ("a", "b", "c", "d", "e")])
def test_single_needs_exactly_four_options(options):
    assert "options" in _fields(dataclasses.replace(SINGLE, options=options))


@pytest.mark.parametrize("keys", [(), ("A", "B"), ("E",), ("A", "A")])
def test_single_needs_exactly_one_valid_key(keys):
    assert "keys" in _fields(dataclasses.replace(SINGLE, keys=keys))


@pytest.mark.parametrize("keys", [("A",), ("A", "B", "C", "D", "E"), ("A", "F")])
def test_multi_needs_two_to_four_valid_keys(keys):
    assert "keys" in _fields(dataclasses.replace(MULTI, keys=keys))


def test_duplicate_options_are_refused():
    item = dataclasses.replace(SINGLE, options=("同", "同", "三", "四"))
    assert "options" in _fields(item)


def test_each_violation_gets_its_own_problem():
    item = dataclasses.replace(SINGLE, stem=" ", explanation="", difficulty=9, syllabus=(),
                               keys=("A", "B"))
    assert sorted(_fields(item)) == ["difficulty", "explanation", "keys", "stem", "syllabus"]


@pytest.mark.parametrize("text", ["<script>alert(1)</script>", "见 <img src=x>", "=HYPERLINK()",
                                  "+1 呼叫", "@SUM(A1)", "含\x00控制字符"])
def test_hostile_text_is_refused(text):
    assert "stem" in _fields(dataclasses.replace(SINGLE, stem=text))


def test_harmless_angle_brackets_and_minus_are_text():
    assert validate(dataclasses.replace(SINGLE, stem="年龄 <18 岁且收入 -5% 的家庭（  ）。")) == []


def test_law_subject_items_must_name_the_statute():
    assert "law" in _fields(dataclasses.replace(LAW, law=None))
    bad = dataclasses.replace(LAW.law, article=" ")
    assert "law.article" in _fields(dataclasses.replace(LAW, law=bad))


def test_law_reference_knows_when_it_is_in_force():
    from datetime import date

    law = dataclasses.replace(LAW.law, valid_to=date(2025, 12, 31))
    assert law.in_force_on(date(2025, 12, 31))
    assert not law.in_force_on(date(2026, 1, 1))
    assert not law.in_force_on(date(2018, 12, 31))


def test_case_sub_question_points_must_add_up_to_the_total():
    assert "points" in _fields(dataclasses.replace(CASE, points=Decimal(25)))


def test_key_points_must_cover_the_points_in_half_steps():
    short = SubQuestion("问", Decimal(10), (KeyPoint("一", Decimal(2)),))
    item = dataclasses.replace(CASE, sub_questions=(short, CASE.sub_questions[1]))
    assert "sub_questions.1.key_points" in _fields(item)
    odd = dataclasses.replace(ESSAY, key_points=(KeyPoint("一", Decimal("20.25")),))
    assert "key_points.1" in _fields(odd)


def test_subjective_items_have_no_options_and_choice_items_no_key_points():
    assert "options" in _fields(dataclasses.replace(ESSAY, options=("a",)))
    assert "type" in _fields(dataclasses.replace(SINGLE, points=Decimal(1)))


def test_type_must_fit_the_subject():
    assert "type" in _fields(dataclasses.replace(ESSAY, item_type=ItemType.ESSAY,
                                                 subject=SINGLE.subject))


def test_problem_messages_render_with_parameters():
    [problem] = [p for p in validate(dataclasses.replace(SINGLE, options=("a",)))
                 if p.field == "options"]
    assert problem.render() == "SINGLE 需要 4 个选项，现有 1 个。"
