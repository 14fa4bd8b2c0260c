"""The plan to the exam date: its arithmetic on hand-worked cases."""

from datetime import date

from question_bank.study_plan import ChapterNeed, ChapterToday, chapter_goal, make_plan

TODAY = date(2027, 2, 10)
EXAM = date(2027, 5, 21)  # 100 days on


def test_new_items_are_spread_over_the_days_before_the_revision_week():
    needs = [ChapterNeed("A", 0.5, "learning", seen=100, available=1000),
             ChapterNeed("B", 0.5, "weak", seen=0, available=400)]
    plan = make_plan(TODAY, EXAM, needs, [12, 8, 10])
    # A: ⌈1200 × 0.5 × 1⌉ = 600 to see, 500 left; B: ⌈1200 × 0.5 × 1.5⌉ = 900, but the
    # pool holds 400. 900 over 100 − 7 = 93 days: ⌈9.68⌉ = 10 a day.
    assert (plan.days_left, plan.days_for_new, plan.new_left) == (100, 93, 900)
    assert plan.new_per_day == 10 and plan.reviews_per_day == 10
    # 10 shared 500 : 400 is 5.56 : 4.44; the spare item goes to the larger remainder.
    assert plan.today == (ChapterToday("A", 6, 494), ChapterToday("B", 4, 396))


def test_a_mastered_chapter_asks_for_half_its_share():
    assert chapter_goal(ChapterNeed("A", 0.25, "mastered", 0, 1000)) == 150
    assert chapter_goal(ChapterNeed("A", 0.25, None, 0, 1000)) == 300


def test_the_revision_week_and_a_finished_syllabus_add_no_new_items():
    needs = [ChapterNeed("A", 1.0, "learning", seen=0, available=50)]
    late = make_plan(date(2027, 5, 16), EXAM, needs, [30])
    assert late.days_left == 5 and late.new_per_day == 0 and late.today == ()
    done = make_plan(TODAY, EXAM, [ChapterNeed("A", 1.0, None, seen=60, available=50)], [])
    assert done.finished_new and done.new_per_day == 0 and done.reviews_per_day == 0


def test_a_past_exam_date_leaves_nothing_to_plan():
    plan = make_plan(EXAM, TODAY, [ChapterNeed("A", 1.0, None, 0, 10)], [3])
    assert plan.days_left == 0 and plan.new_per_day == 0
