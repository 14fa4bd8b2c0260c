"""Paper assembly: quotas, chapter weights, unseen first, determinism, clear shortfalls."""

import random
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from question_bank import specs
from question_bank.allocation import allocate
from question_bank.assembly import Pool, PoolItem, assemble
from question_bank.errors import QuotaNotMet
from question_bank.items import ItemType
from question_bank.subjects import Subject

SPEC = specs.load(Subject.COMP_JR)


def _pool(singles=200, multis=60, chapters=9):
    pool = [PoolItem(n, ItemType.SINGLE, f"C{n % chapters:02d}", 4) for n in range(singles)]
    pool += [PoolItem(10_000 + n, ItemType.MULTI, f"C{n % chapters:02d}", 5, n % 7 == 0)
             for n in range(multis)]
    return pool


def test_a_full_paper_has_every_section_filled_without_repeats():
    paper = assemble(SPEC, _pool(), random.Random(1))
    assert Counter(p.section for p in paper) == {"single": 60, "multi": 20}
    assert len({p.version_id for p in paper}) == 80
    assert [p.position for p in paper] == list(range(1, 81))


def test_the_same_seed_rebuilds_the_same_paper_and_another_seed_differs():
    pool = _pool()
    assert assemble(SPEC, pool, random.Random(7)) == assemble(SPEC, list(reversed(pool)),
                                                               random.Random(7))
    assert assemble(SPEC, pool, random.Random(7)) != assemble(SPEC, pool, random.Random(8))


def test_options_are_shuffled_unless_the_item_fixes_them():
    paper = assemble(SPEC, _pool(), random.Random(3))
    fixed = [p for p in paper if p.version_id >= 10_000 and (p.version_id - 10_000) % 7 == 0]
    assert fixed and all(p.option_order == (0, 1, 2, 3, 4) for p in fixed)
    assert any(p.option_order != tuple(range(len(p.option_order))) for p in paper)
    assert all(sorted(p.option_order) == list(range(len(p.option_order))) for p in paper)


def test_unseen_items_come_first():
    pool = _pool(singles=120, multis=40)
    seen = frozenset(range(60))  # half of the singles
    paper = assemble(SPEC, pool, random.Random(5), seen=seen)
    assert not {p.version_id for p in paper} & seen


def test_chapters_follow_their_weights():
    weights = {f"C{n:02d}": 1 for n in range(9)} | {"C00": 4}
    paper = assemble(SPEC, _pool(singles=900), random.Random(2), chapter_weights=weights)
    chapters = Counter(n % 9 for n in (p.version_id for p in paper if p.section == "single"))
    assert chapters[0] == 20 and all(chapters[c] == 5 for c in range(1, 9))


def test_a_bank_too_small_names_the_section_and_the_shortfall():
    with pytest.raises(QuotaNotMet) as raised:
        assemble(SPEC, _pool(multis=12), random.Random(1))
    assert (raised.value.section, raised.value.needed, raised.value.available) == ("multi", 20, 12)


@given(count=st.integers(0, 80),
       available=st.lists(st.integers(0, 30), min_size=1, max_size=12),
       weights=st.lists(st.integers(0, 5), min_size=12, max_size=12))
def test_allocation_never_exceeds_availability_and_fills_what_it_can(count, available, weights):
    names = [f"c{n}" for n in range(len(available))]
    quotas = allocate(count, dict(zip(names, weights, strict=False)),
                      dict(zip(names, available, strict=True)))
    assert all(0 <= quotas[n] <= a for n, a in zip(names, available, strict=True))
    assert sum(quotas.values()) == min(count, sum(available))


def test_no_item_is_in_more_than_the_exposure_cap_of_500_papers_when_the_bank_allows_it():
    # 60 of 400 singles and 20 of 150 multis per paper: about 15% each if spread evenly.
    pool = Pool(_pool(singles=400, multis=150))
    exposure, cap = Counter(), 0.2
    rng = random.Random(11)
    for papers in range(500):
        paper = assemble(SPEC, pool, rng, exposure=exposure, papers=papers, max_exposure=cap)
        exposure.update(p.version_id for p in paper)
    assert max(exposure.values()) / 500 <= cap
    # Without the cap the same draws do exceed it for some items.
    free = Counter()
    for _ in range(500):
        free.update(p.version_id for p in assemble(SPEC, pool, rng))
    assert max(free.values()) / 500 > cap


def test_a_cap_the_bank_cannot_meet_still_fills_the_paper():
    pool = Pool(_pool(singles=60, multis=20))
    exposure = Counter({n: 5 for n in range(60)})
    paper = assemble(SPEC, pool, random.Random(1), exposure=exposure, papers=5, max_exposure=0.1)
    assert len(paper) == 80


def test_unseen_items_win_over_less_exposed_ones():
    pool = Pool(_pool(singles=130, multis=40))
    seen = frozenset(range(60))
    exposure = Counter({n: 10 for n in range(60, 120)})
    paper = assemble(SPEC, pool, random.Random(4), seen=seen, exposure=exposure, papers=10,
                     max_exposure=0.5)
    singles = {p.version_id for p in paper if p.section == "single"}
    assert singles >= set(range(120, 130)) and not singles & seen


def test_law_items_are_drawn_only_when_in_force_on_the_cutoff():
    law = specs.load(Subject.LAW_MID)
    entries = [PoolItem(n, ItemType.SINGLE, "L", law_from=date(2019, 1, 1),
                        law_to=date(2025, 12, 31) if n < 10 else None) for n in range(65)]
    entries += [PoolItem(100 + n, ItemType.MULTI, "L", law_from=date(2026, 1, 1))
                for n in range(5)]
    entries += [PoolItem(200 + n, ItemType.MULTI, "L", law_from=date(2018, 1, 1))
                for n in range(20)]
    paper = assemble(law, Pool(entries, on_date=date(2025, 12, 31)), random.Random(2))
    assert not {p.version_id for p in paper} & set(range(100, 105))
    with pytest.raises(QuotaNotMet) as raised:
        assemble(law, Pool(entries, on_date=date(2026, 12, 31)), random.Random(2))
    assert (raised.value.section, raised.value.available) == ("single", 55)


def test_subjective_items_fit_a_paper_section_only_at_its_points():
    spec = specs.load(Subject.PRAC_SR, "4+2")
    entries = [PoolItem(n, ItemType.CASE_ANALYSIS, f"C{n % 3}", points=Decimal(20))
               for n in range(6)]
    entries += [PoolItem(10 + n, ItemType.ESSAY, "C0", points=Decimal(20)) for n in range(3)]
    with pytest.raises(QuotaNotMet) as raised:
        assemble(spec, Pool(entries), random.Random(1))
    assert (raised.value.section, raised.value.available) == ("case", 0)
    entries += [PoolItem(20 + n, ItemType.CASE_ANALYSIS, "C1", points=Decimal(15))
                for n in range(4)]
    paper = assemble(spec, Pool(entries), random.Random(1))
    assert {p.version_id for p in paper if p.section == "case"} == set(range(20, 24))
    practice = specs.practice_spec(spec, 2)
    assert len(assemble(practice, Pool(entries), random.Random(1), match_points=False,
                        strict=False)) == 2


def test_a_chapter_set_draws_only_from_its_chapters_and_takes_what_there_is():
    pool = Pool(_pool(singles=90, multis=18))
    practice = specs.practice_spec(SPEC, 30)
    paper = assemble(practice, pool, random.Random(3), chapters=frozenset({"C01"}), strict=False)
    chapters = {pool.by_version[p.version_id].chapter for p in paper}
    assert chapters == {"C01"}
    assert len(paper) == 10 + 2  # every single and multi of chapter C01


def test_a_seated_form_keeps_its_items_and_sections_and_orders_them_per_candidate():
    from question_bank.assembly import FormPosition, seat_form

    form = [FormPosition("single", n, 100 + n, n, ItemType.SINGLE, "C.01", 2,
                         fixed_order=n == 3) for n in range(1, 11)]
    form += [FormPosition("case", 10 + n, 200 + n, 10 + n, ItemType.CASE_ANALYSIS, "C.02",
                          40) for n in range(1, 4)]
    papers = [seat_form(form, random.Random(seed)) for seed in range(5)]
    for paper in papers:
        assert [entry.position for entry in paper] == list(range(1, 14))
        assert [entry.section for entry in paper] == ["single"] * 10 + ["case"] * 3
        assert {entry.version_id for entry in paper} == {entry.version_id for entry in form}
        assert [entry.version_id for entry in paper[10:]] == [201, 202, 203]  # form order
        fixed = next(entry for entry in paper if entry.version_id == 103)
        assert fixed.option_order == (0, 1, 2, 3)
    assert len({tuple(entry.version_id for entry in paper) for paper in papers}) > 1


def _entries(rng: random.Random, first: int, count: int) -> list[PoolItem]:
    kinds = [(ItemType.SINGLE, None), (ItemType.MULTI, None), (ItemType.CASE_ANALYSIS,
             Decimal(20)), (ItemType.ESSAY, Decimal(10))]
    entries = []
    for version_id in range(first, first + count):
        item_type, points = rng.choice(kinds)
        law_from = date(2020, 1, 1) if rng.random() < 0.2 else None
        law_to = date(2021, 1, 1) if law_from and rng.random() < 0.5 else None
        entries.append(PoolItem(version_id, item_type, f"C.{rng.randint(1, 5):02d}",
                                item_id=version_id % 70, points=points,
                                law_from=law_from, law_to=law_to))
    return entries


def _same(a: Pool, b: Pool) -> bool:
    """Equal, chapters in the same order (the draw walks them in order)."""
    return (a.by_version == b.by_version and a._index == b._index and a._ids == b._ids
            and all(list(a._index[key]) == list(b._index[key]) for key in a._index))


@given(st.integers(0, 2**32), st.sampled_from([None, date(2020, 6, 1), date(2022, 1, 1)]))
def test_a_pool_changed_in_place_is_the_pool_built_from_scratch(seed, on_date):
    rng = random.Random(seed)
    entries = _entries(rng, 1, rng.randint(0, 60))
    pool = Pool(entries, on_date=on_date)
    removed = [entry.version_id for entry in rng.sample(entries, min(len(entries), 8))]
    added = _entries(rng, 1000, rng.randint(0, 8)) + rng.sample(entries, min(len(entries), 3))
    expected = Pool([entry for entry in entries if entry.version_id not in removed] + added,
                    on_date=on_date)
    assert _same(pool.changed(removed, added), expected)
    assert _same(pool, Pool(entries, on_date=on_date))  # the old pool is left as it was
