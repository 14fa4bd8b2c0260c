"""Training programme completion: mock papers passed per subject at a minimum score."""

from datetime import UTC, datetime, timedelta

import pytest

from question_bank.levels import Level
from question_bank.subjects import Subject
from question_bank.training import (
    InvalidProgramme,
    MockScore,
    Requirement,
    check_requirements,
    progress,
)

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
TWO_JR = (Requirement(Subject.COMP_JR, 2, 60), Requirement(Subject.PRAC_JR, 1, 70))


def _paper(subject, score, *, day=0, full=100) -> MockScore:
    return MockScore(subject, int(score * 2), full * 2, T0 + timedelta(days=day))


def test_no_papers_means_the_whole_requirement_is_missing():
    outcome = progress(TWO_JR, [])
    assert not outcome.is_complete and outcome.completed_at is None
    assert outcome.shortfall == {Subject.COMP_JR: 2, Subject.PRAC_JR: 1}


@pytest.mark.parametrize("score, counts", [(60, True), (59.5, False), (100, True), (0, False)])
def test_a_paper_counts_at_the_minimum_percentage_and_not_half_a_point_below(score, counts):
    outcome = progress([Requirement(Subject.COMP_JR, 1, 60)], [_paper(Subject.COMP_JR, score)])
    assert outcome.is_complete is counts


def test_the_percentage_is_of_the_papers_own_full_marks():
    # 72 of 120 is exactly 60 %; 71.5 of 120 is not.
    assert progress([Requirement(Subject.COMP_JR, 1, 60)],
                    [_paper(Subject.COMP_JR, 72, full=120)]).is_complete
    assert not progress([Requirement(Subject.COMP_JR, 1, 60)],
                        [_paper(Subject.COMP_JR, 71.5, full=120)]).is_complete


def test_completion_is_dated_by_the_paper_that_met_the_last_requirement():
    papers = [_paper(Subject.COMP_JR, 80, day=5), _paper(Subject.COMP_JR, 50, day=1),
              _paper(Subject.PRAC_JR, 75, day=2), _paper(Subject.COMP_JR, 65, day=3),
              _paper(Subject.COMP_JR, 90, day=9),  # a third pass adds nothing
              _paper(Subject.LAW_MID, 99, day=0)]  # another subject is ignored
    outcome = progress(TWO_JR, papers)
    assert outcome.is_complete and outcome.shortfall == {}
    assert outcome.completed_at == T0 + timedelta(days=5)
    assert [s.passed for s in outcome.subjects] == [3, 1]


def test_the_shortfall_names_only_the_subjects_still_missing():
    papers = [_paper(Subject.COMP_JR, 61), _paper(Subject.PRAC_JR, 69.5)]
    outcome = progress(TWO_JR, papers)
    assert outcome.shortfall == {Subject.COMP_JR: 1, Subject.PRAC_JR: 1}
    papers.append(_paper(Subject.COMP_JR, 60, day=1))
    assert progress(TWO_JR, papers).shortfall == {Subject.PRAC_JR: 1}


def test_a_paper_with_no_full_marks_never_counts():
    assert not progress([Requirement(Subject.COMP_JR, 1, 0)],
                        [MockScore(Subject.COMP_JR, 0, 0, T0)]).is_complete


@pytest.mark.parametrize("requirements, problem", [
    ((), "empty"),
    ((Requirement(Subject.PRAC_MID, 1, 60),), "subject"),  # subjective: never scored
    ((Requirement(Subject.COMP_JR, 1, 60), Requirement(Subject.COMP_JR, 2, 60)), "duplicate"),
    ((Requirement(Subject.COMP_JR, 0, 60),), "papers"),
    ((Requirement(Subject.COMP_JR, 51, 60),), "papers"),
    ((Requirement(Subject.COMP_JR, 1, 101),), "min_percent"),
    ((Requirement(Subject.COMP_JR, 1, -1),), "min_percent"),
])
def test_requirements_that_cannot_be_met_are_refused(requirements, problem):
    with pytest.raises(InvalidProgramme) as raised:
        check_requirements(requirements)
    assert raised.value.problem == problem
    with pytest.raises(InvalidProgramme):
        progress(requirements, [])


def test_a_programme_of_a_level_requires_only_that_levels_subjects():
    requirements = [Requirement(Subject.COMP_JR, 1, 60), Requirement(Subject.LAW_MID, 1, 60)]
    with pytest.raises(InvalidProgramme) as raised:
        check_requirements(requirements, Level.ASSISTANT)
    assert (raised.value.problem, raised.value.subject) == ("level", Subject.LAW_MID)
    assert check_requirements(requirements[:1], Level.ASSISTANT)
    assert check_requirements(requirements)  # no level: any objective subjects
