"""Paper assembly: quotas, chapter weights, unseen first, determinism, clear shortfalls."""

import random
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from question_bank import specs
from question_bank.assembly import PoolItem, allocate, assemble
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
