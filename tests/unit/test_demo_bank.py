"""The demo bank: enough original items per subject, type and chapter, each complete, all
written against the 2025 syllabus."""

import collections
import json
from datetime import date
from importlib import resources

import pytest

from question_bank import crosswalk, syllabus
from question_bank.formats.records import from_record
from question_bank.items import ItemType, Source
from question_bank.subjects import Subject

FOLDER = resources.files("question_bank") / "data" / "demo_bank"
MINIMUMS = {
    Subject.COMP_JR: {ItemType.SINGLE: 90, ItemType.MULTI: 30},
    Subject.COMP_MID: {ItemType.SINGLE: 90, ItemType.MULTI: 30},
    Subject.PRAC_JR: {ItemType.SINGLE: 90, ItemType.MULTI: 30},
    Subject.LAW_MID: {ItemType.SINGLE: 90, ItemType.MULTI: 30},
    Subject.PRAC_MID: {ItemType.CASE_ANALYSIS: 10, ItemType.PLAN_DESIGN: 3},
    Subject.PRAC_SR: {ItemType.CASE_ANALYSIS: 4, ItemType.ESSAY: 2},
}
LAW_CUTOFF = date(2025, 12, 31)
PRESENT = list(MINIMUMS)
VERSION = "2025"  # as the demo seed reads the bank (commands/demo.py DEMO_BANK_SYLLABUS)


def _successor_chapters(subject) -> set[str]:
    """The 2025 chapters a 2018 chapter of *subject* leads to: the chapters new in 2025
    (political theory, 信访, the senior paper's added chapters) have no demo items yet."""
    old = syllabus.load("2018")
    links = crosswalk.load("2018", "2025").links
    return {links[chapter.code].target for chapter in old.trees[subject].chapters}


def _records(subject):
    data = json.loads((FOLDER / f"{subject.value}.json").read_text(encoding="utf-8"))
    return [from_record(entry, number) for number, entry in enumerate(data, 1)]


@pytest.mark.parametrize("subject", PRESENT)
def test_every_item_is_valid_complete_and_original(subject):
    tree = syllabus.load(VERSION)
    for record in _records(subject):
        assert record.problems == (), (record.location, record.problems)
        content = record.content
        assert content.subject is subject and content.source is Source.ORIGINAL
        assert content.explanation.strip() and content.syllabus
        assert syllabus.link_problems(content, tree) == [], record.external_id
        assert record.external_id.startswith(f"demo-{subject.value.lower().replace('_', '-')}-")


@pytest.mark.parametrize("subject", PRESENT)
def test_counts_per_type_and_every_chapter_covered(subject):
    records = _records(subject)
    by_type = collections.Counter(r.content.item_type for r in records)
    for item_type, minimum in MINIMUMS[subject].items():
        assert by_type[item_type] >= minimum, (item_type, by_type[item_type])
    chapter_of = syllabus.load(VERSION).chapter_of
    covered = {chapter_of(code) for r in records for code in r.content.syllabus}
    chapters = _successor_chapters(subject)
    assert chapters <= covered, sorted(chapters - covered)
    if subject.kind.value == "OBJECTIVE":
        for chapter in chapters:
            types = {r.content.item_type for r in records
                     if chapter_of(r.content.syllabus[0]) == chapter}
            assert types == {ItemType.SINGLE, ItemType.MULTI}, chapter


def test_every_subject_has_a_file_and_the_bank_holds_at_least_500_items():
    assert sorted(path.name for path in FOLDER.iterdir() if path.name.endswith(".json")) == \
        sorted(f"{subject.value}.json" for subject in Subject)
    assert sum(len(_records(subject)) for subject in Subject) >= 500


def test_both_senior_paper_mixes_and_every_mock_paper_can_be_drawn_from_the_bank():
    import random

    from question_bank import specs
    from question_bank.assembly import Pool, PoolItem, assemble

    tree = syllabus.load(VERSION)
    for subject in Subject:
        entries = [PoolItem(n, r.content.item_type, tree.chapter_of(r.content.syllabus[0]),
                            fixed_order=r.content.fixed_order, item_id=n,
                            points=None if r.content.item_type.is_choice else r.content.points,
                            law_from=r.content.law.valid_from if r.content.law else None,
                            law_to=r.content.law.valid_to if r.content.law else None)
                   for n, r in enumerate(_records(subject))]
        for variant in specs.variants(subject) or (None,):
            paper = assemble(specs.load(subject, variant), Pool(entries, on_date=LAW_CUTOFF),
                             random.Random(0))
            assert len(paper) == sum(s.count for s in specs.load(subject, variant).sections)


def test_external_ids_and_stems_are_unique_across_the_bank():
    records = [r for subject in PRESENT for r in _records(subject)]
    assert records
    assert len({r.external_id for r in records}) == len(records)
    assert len({r.content.stem for r in records}) == len(records)


@pytest.mark.parametrize("subject", PRESENT)
def test_law_references_name_statute_and_article_in_force_at_the_cutoff(subject):
    records = _records(subject)
    for record in records:
        law = record.content.law
        if law is None:
            assert subject is not Subject.LAW_MID, record.external_id
            continue
        assert law.statute.strip() and law.article.strip()
        assert law.in_force_on(LAW_CUTOFF), record.external_id
