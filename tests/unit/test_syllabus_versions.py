"""Which syllabus version is in force, and the 2018 → 2025 crosswalk as functions."""

import dataclasses
from datetime import date

import pytest

from question_bank import crosswalk, syllabus
from question_bank.crosswalk import Fit
from question_bank.subjects import Subject


@pytest.mark.parametrize(("year", "version"), [
    (2010, "2018"), (2019, "2018"), (2024, "2018"), (2025, "2018"),
    (2026, "2025"), (2027, "2025"), (2040, "2025"),
])
def test_an_exam_year_uses_2018_until_2025_and_2025_from_2026(year, version):
    assert syllabus.version_for_year(year) == version


@pytest.mark.parametrize(("today", "version"), [
    (date(2025, 1, 1), "2018"),
    (date(2025, 5, 31), "2018"),  # the 2025 exam is still ahead
    (date(2025, 6, 1), "2025"),  # after it, candidates prepare for 2026
    (date(2025, 12, 9), "2025"),
    (date(2026, 12, 6), "2025"),
])
def test_the_version_in_force_is_the_coming_exams(today, version):
    assert syllabus.current(today, exam_month=5) == version


def test_the_coming_exam_year_turns_after_the_exam_month():
    assert syllabus.coming_exam_year(date(2026, 5, 31), 5) == 2026
    assert syllabus.coming_exam_year(date(2026, 6, 1), 5) == 2027
    assert syllabus.coming_exam_year(date(2026, 6, 1), 6) == 2026


def test_versions_carry_their_first_exam_year_and_load_completely():
    assert {code: version.in_force_from for code, version in syllabus.VERSIONS.items()} == {
        "2018": 2019, "2025": 2026}
    assert all(syllabus.is_loaded(code) for code in syllabus.VERSIONS)
    assert not syllabus.is_loaded("2030")
    with pytest.raises(KeyError):
        syllabus.load("2030")


def test_a_version_without_its_data_is_not_loaded(monkeypatch):
    monkeypatch.setitem(syllabus.VERSIONS, "2031",
                        syllabus.Version("2031", "2031 年版", 2032))
    assert not syllabus.is_loaded("2031")
    assert syllabus.version_for_year(2032) == "2031"  # in force by the metadata alone


def test_the_shipped_crosswalk_is_valid_and_reviewed():
    table = crosswalk.load("2018", "2025")
    assert (table.source, table.target) == ("2018", "2025")
    assert table.reviewed_on and table.reviewed_by
    assert crosswalk.validate(table, syllabus.load("2018"), syllabus.load("2025")) == []


def test_propose_keeps_order_and_gives_target_and_fit():
    table = crosswalk.load()
    proposal = table.propose(["COMP_JR.07.04.01", "COMP_JR.01.02.01", "COMP_JR.01.01.01"])
    assert [(link.code, link.target, link.fit) for link in proposal] == [
        ("COMP_JR.07.04.01", "COMP_JR.10.03.01", Fit.MOVED),
        ("COMP_JR.01.02.01", "COMP_JR.01.02", Fit.BROADER),
        ("COMP_JR.01.01.01", "COMP_JR.01.01.01", Fit.SAME),
    ]


def test_relinked_codes_name_each_target_once():
    table = crosswalk.load()
    # Both 2018 nodes lead to one 2025 section: the item gets it once.
    proposal = table.propose(["LAW_MID.03.03.01", "LAW_MID.03.03"])
    assert {link.target for link in proposal} == {"LAW_MID.03.03"}
    assert crosswalk.relinked(proposal) == ("LAW_MID.03.03",)


def test_propose_refuses_a_code_it_does_not_know():
    table = crosswalk.load()
    assert not table.covers(["COMP_JR.99"])
    with pytest.raises(crosswalk.NotInCrosswalk) as raised:
        table.propose(["COMP_JR.01", "COMP_JR.99"])
    assert raised.value.code == "COMP_JR.99"


def test_validate_names_a_missing_node_an_unknown_target_and_another_subject():
    old, new = syllabus.load("2018"), syllabus.load("2025")
    table = crosswalk.load()
    links = dict(table.links)
    del links["COMP_JR.01"]
    links["COMP_JR.02"] = crosswalk.Link("COMP_JR.02", "COMP_JR.99", Fit.SAME)
    links["PRAC_JR.01"] = crosswalk.Link("PRAC_JR.01", "COMP_JR.01", Fit.SAME)
    links["NOPE.01"] = crosswalk.Link("NOPE.01", "COMP_JR.01", Fit.SAME)
    broken = dataclasses.replace(table, links=links, duplicates=("LAW_MID.01",))
    problems = crosswalk.validate(broken, old, new)
    assert "LAW_MID.01: listed more than once" in problems
    assert "COMP_JR.01: no entry" in problems
    assert "COMP_JR.02: target COMP_JR.99 is not a node of 2025" in problems
    assert "PRAC_JR.01: target COMP_JR.01 is in another subject" in problems
    assert "NOPE.01: not a node of 2018" in problems
    assert len(problems) == 5


def test_a_duplicated_key_in_the_data_is_caught_when_loading(tmp_path, monkeypatch):
    import json
    from importlib import resources

    source = resources.files("question_bank") / "data" / "syllabus" / "crosswalk-2018-2025.json"
    text = source.read_text(encoding="utf-8")
    data = json.loads(text)
    first = next(iter(data["links"]))
    entry = json.dumps(data["links"][first])
    doubled = text.replace('"links": {', f'"links": {{\n    "{first}": {entry},', 1)
    folder = tmp_path / "question_bank" / "data" / "syllabus"
    folder.mkdir(parents=True)
    (folder / "crosswalk-2018-2025.json").write_text(doubled, encoding="utf-8")
    monkeypatch.setattr(crosswalk.resources, "files", lambda _package: tmp_path / "question_bank")
    crosswalk._load.cache_clear()
    try:
        table = crosswalk.load()
        assert table.duplicates == (first,)
        assert crosswalk.validate(table, syllabus.load("2018"), syllabus.load("2025")) == [
            f"{first}: listed more than once"]
    finally:
        crosswalk._load.cache_clear()


def test_every_subject_keeps_its_items_in_its_own_subject():
    table = crosswalk.load()
    new = syllabus.load("2025")
    for subject in Subject:
        codes = [code for code in table.links if code.startswith(subject.value + ".")]
        assert codes
        assert {new.node(link.target).subject for link in table.propose(codes)} == {subject}
