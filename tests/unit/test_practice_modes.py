"""Practice modes: set sizes, the daily seed, the law cutoff, practice sets built like the paper."""

from datetime import date

from question_bank import specs
from question_bank.practice import Mode, daily_seed, default_law_cutoff, set_size
from question_bank.subjects import Subject


def test_only_full_papers_are_timed_and_hold_feedback_back():
    assert [m for m in Mode if m.is_timed] == [Mode.MOCK, Mode.EXAM]
    assert [m for m in Mode if not m.gives_feedback_per_item] == [Mode.MOCK, Mode.EXAM]
    assert [m for m in Mode if not m.is_practice] == [Mode.EXAM]


def test_the_daily_set_has_15_items_and_subjective_subjects_have_no_redo():
    assert set_size(Subject.COMP_JR, Mode.DAILY).default == 15
    assert set_size(Subject.PRAC_MID, Mode.REDO) is None
    assert set_size(Subject.COMP_JR, Mode.MOCK) is None


def test_the_daily_seed_is_stable_for_a_day_and_differs_by_day_candidate_and_subject():
    day = date(2026, 12, 1)
    seed = daily_seed(7, day, Subject.LAW_MID)
    assert seed == daily_seed(7, day, Subject.LAW_MID)
    assert 0 <= seed < 2**63
    others = {daily_seed(8, day, Subject.LAW_MID),
              daily_seed(7, date(2026, 12, 2), Subject.LAW_MID),
              daily_seed(7, day, Subject.COMP_MID)}
    assert seed not in others and len(others) == 3


def test_the_law_cutoff_is_the_last_day_of_the_year_before_the_coming_exam():
    assert default_law_cutoff(date(2026, 3, 1)) == date(2025, 12, 31)  # exam in May 2026
    assert default_law_cutoff(date(2026, 12, 1)) == date(2026, 12, 31)  # next exam in 2027


def test_a_practice_set_splits_its_items_like_the_paper():
    spec = specs.load(Subject.COMP_JR)
    daily = specs.practice_spec(spec, 15)
    assert [(s.code, s.count, s.points) for s in daily.sections] == [
        ("single", 11, spec.sections[0].points), ("multi", 4, spec.sections[1].points)]
    assert specs.practice_spec(spec, 1).sections[0].code == "single"


def test_the_senior_paper_mixes_add_up_to_100_marks():
    for variant in specs.variants(Subject.PRAC_SR):
        assert specs.load(Subject.PRAC_SR, variant).full_marks == 100
    for subject in Subject:
        assert specs.load(subject).full_marks == 100
