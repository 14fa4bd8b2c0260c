"""The weekly report's judgements on hand-worked weeks."""

from question_bank.study_report import ChapterWeek, improved, still_weak


def _week(key, right, answered, right_before, answered_before):
    return ChapterWeek(("COMP_JR", key), right, answered, right_before, answered_before)


def test_a_chapter_improved_when_enough_answers_rose_ten_points_or_more():
    chapters = [
        _week("01", 8, 10, 6, 10),  # 80 % from 60 %: +20
        _week("02", 7, 10, 6, 10),  # 70 % from 60 %: +10, just enough
        _week("03", 69, 100, 60, 100),  # +9: within the noise
        _week("04", 4, 4, 0, 10),  # +100, but only four answers this week
        _week("05", 9, 10, 0, 0),  # nothing before to compare with
    ]
    assert [c.key[1] for c in improved(chapters)] == ["01", "02"]
    assert chapters[0].gain == 20 and chapters[4].gain is None


def test_a_chapter_is_still_weak_below_sixty_percent_with_enough_answers():
    chapters = [_week("01", 5, 10, 0, 0), _week("02", 3, 10, 0, 0),
                _week("03", 6, 10, 0, 0), _week("04", 0, 4, 0, 0)]
    assert [c.key[1] for c in still_weak(chapters)] == ["02", "01"]
