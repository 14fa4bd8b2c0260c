"""The weekly study report (学习报告) and the dashboard's progress charts: what a week
did, what it improved and what is next, on the page and as a PDF."""

from datetime import timedelta

import sqlalchemy as sa

from exam_portal.extensions import db
from exam_portal.models.attempts import Attempt, Response, ReviewCard
from exam_portal.services.platform.clock import today_local
from question_bank.items import ItemType
from question_bank.subjects import Subject

from .practice_support import (
    candidate,
    choice_item,
    open_attempt,
    publish,
    save,
    shown_keys,
    start,
    wrong_choice,
)


def _practise(app, client, pattern) -> int:
    attempt_id = start(client, mode="CHAPTER", chapters=["COMP_JR.01"], count="10",
                       syllabus_version="2025")
    device = open_attempt(client, attempt_id)["device"]
    keys = shown_keys(app, attempt_id)
    for seq, (position, right) in enumerate(zip(sorted(keys), pattern, strict=False), 1):
        save(client, attempt_id, position, device, seq,
             keys[position] if right else wrong_choice(keys[position]))
        client.post(f"/practice/attempts/{attempt_id}/responses/{position}/check")
    client.post(f"/practice/attempts/{attempt_id}/submit")
    return attempt_id


def _to_last_week(app, attempt_id):
    """Move an attempt, its answers and the cards it made seven days back."""
    week = timedelta(days=7)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        attempt.started_at -= week
        attempt.submitted_at -= week
        for row in db.session.scalars(sa.select(Response)
                                      .where(Response.attempt_id == attempt_id)):
            row.saved_at -= week
        for card in db.session.scalars(sa.select(ReviewCard)):
            card.created_at -= week
        db.session.commit()


def test_a_week_reports_what_was_done_what_improved_and_what_is_next(one_leg, app):
    publish(app, [choice_item(Subject.COMP_JR, ItemType.SINGLE, "COMP_JR.01")
                  for _ in range(20)], "2025")
    _user_id, client = candidate(app)
    last_week = _practise(app, client, [True, True, False, False, False, False, False, False,
                                        False, False])
    _to_last_week(app, last_week)
    _practise(app, client, [True] * 8 + [False] * 2)

    page = client.get("/practice/report?syllabus=2025")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "学习 1 天，交卷 1 份" in text
    assert "答选择题 10 道，答对 8 道" in text and "正确率 80%" in text
    # 01 rose from 20 % to 80 %: improved; nothing this week is below 60 %.
    assert "哪里进步了" in text and "正确率 80%，之前 20%（本周 10 题）" in text
    assert "再练" not in text
    assert "接下来 7 天有" in text

    # Last week's report: the weak chapter, nothing to compare with before it.
    monday = today_local() - timedelta(days=today_local().weekday() + 7)
    text = client.get(f"/practice/report?syllabus=2025&week={monday.isoformat()}") \
        .get_data(as_text=True)
    assert "答选择题 10 道，答对 2 道" in text and "新进错题本 8 道" in text
    assert "再练“" in text and "本周正确率 20%" in text
    assert "本周没有哪一章的正确率比之前高出" in text

    pdf = client.get(f"/practice/report.pdf?week={monday.isoformat()}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    assert "attachment" in pdf.headers["Content-Disposition"]

    # A week that is not a date, or in the future, is this week; another candidate's
    # report knows nothing of these answers.
    assert "答选择题 10 道，答对 8 道" in client.get("/practice/report?week=garbage") \
        .get_data(as_text=True)
    assert "答选择题 10 道，答对 8 道" in client.get("/practice/report?week=2999-01-01") \
        .get_data(as_text=True)
    _other_id, other = candidate(app, "other-report@example.com")
    assert "这一周还没有练习或复习" in other.get("/practice/report").get_data(as_text=True)


def test_the_dashboard_charts_accuracy_per_chapter_and_the_review_load_in_words_too(
        one_leg, app):
    publish(app, [choice_item(Subject.COMP_JR, ItemType.SINGLE, "COMP_JR.01")
                  for _ in range(10)], "2025")
    _user_id, client = candidate(app)
    _practise(app, client, [True, False, False, True])
    text = client.get("/practice/?syllabus=2025").get_data(as_text=True)
    assert "学习进度" in text and "本周学习报告" in text
    assert 'aria-label="各章正确率（%），参考线 60%"' in text
    assert 'aria-label="未来 7 天每天到期的复习题数"' in text
    # The same figures as tables: the chapter at 50 % (2 of 4, below the line) and the
    # two wrong items due for review today.
    assert "<td>50%</td><td>2/4</td>" in text
    assert "50% ✗" in text
    assert f"<td>{today_local().isoformat()}</td><td>2</td>" in text
