"""The plan to the exam date through the portal: a date of the candidate's own (or their
registered exam's), today's tasks on the dashboard, and refusals of odd dates."""

from datetime import UTC, date, datetime

import sqlalchemy as sa
from freezegun import freeze_time

from exam_portal.extensions import db
from exam_portal.models.mastery import StudyGoal

from .practice_support import (
    candidate,
    objective_bank,
    open_attempt,
    save,
    shown_keys,
    start,
)

NOW = datetime(2027, 2, 10, 2, 0, tzinfo=UTC)  # 10:00 in China


def test_a_candidate_sets_an_exam_date_and_gets_todays_tasks(one_leg, app):
    objective_bank(app, singles=60, multis=20, chapters=12, syllabus_version="2025")
    with freeze_time(NOW):
        user_id, client = candidate(app)
        page = client.get("/practice/").get_data(as_text=True)
        assert "设置考试日期，生成备考计划" in page
        attempt_id = start(client, mode="RANDOM", count="20", syllabus_version="2025")
        device = open_attempt(client, attempt_id)["device"]
        keys = shown_keys(app, attempt_id)
        for seq, position in enumerate(sorted(keys), 1):
            save(client, attempt_id, position, device, seq, keys[position])
        client.post(f"/practice/attempts/{attempt_id}/submit")

        for odd, message in (("2027-02-10", "两年之内"), ("2030-01-01", "两年之内"),
                             ("not a date", "invalid-feedback"), ("", "请填写考试日期")):
            refused = client.post("/practice/plan?syllabus=2025", data={"exam_day": odd})
            text = refused.get_data(as_text=True)
            assert refused.status_code == 200 and message in text, (odd, text[-3000:])
            assert "is-invalid" in text, odd
        with app.app_context():
            assert db.session.get(StudyGoal, user_id) is None

        saved = client.post("/practice/plan?syllabus=2025", data={"exam_day": "2027-05-21"},
                            follow_redirects=True)
        text = saved.get_data(as_text=True)
        assert "计划已按新日期重新安排" in text
        # 100 days to go, 93 for new items; 80 items in the pool, 20 of them seen: the
        # chapters' goals are capped by the pool, so 60 are left, one a day.
        assert "距考试 100 天：每天新题 1 道" in text and "还有 60 道新题要做" in text
        with app.app_context():
            assert db.session.get(StudyGoal, user_id).exam_day == date(2027, 5, 21)
        dashboard = client.get("/practice/?syllabus=2025").get_data(as_text=True)
        assert "新题 1 道 · 复习约 0 道 · 距考试 100 天" in dashboard
        # A new date replaces the old one.
        client.post("/practice/plan?syllabus=2025", data={"exam_day": "2027-05-28"})
        with app.app_context():
            assert db.session.get(StudyGoal, user_id).exam_day == date(2027, 5, 28)
    # Another candidate has no plan of this one's.
    with freeze_time(NOW):
        _, other = candidate(app, "other@example.com")
        assert "设置考试日期" in other.get("/practice/").get_data(as_text=True)
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(StudyGoal)) == 1


def test_study_days_are_counted_by_the_day_in_china_on_both_databases(app):
    """A paper started at 15:59 UTC is on one day in China, one handed in at 16:01 on
    the next; the database works the day out (PostgreSQL's time zones, SQLite's fixed
    +8 hours)."""
    from exam_portal.models.attempts import Attempt
    from exam_portal.services.delivery import learning

    objective_bank(app, singles=12, multis=0, chapters=1)
    user_id, client = candidate(app)
    first = start(client, mode="RANDOM", count="10")
    client.post(f"/practice/attempts/{first}/submit")
    second = start(client, mode="RANDOM", count="10")
    times = {first: (datetime(2027, 2, 8, 15, 59, tzinfo=UTC),
                     datetime(2027, 2, 8, 16, 1, tzinfo=UTC)),
             second: (datetime(2027, 2, 10, 3, 0, tzinfo=UTC), None)}
    with app.app_context():
        for attempt_id, (started, submitted) in times.items():
            db.session.execute(sa.update(Attempt).where(Attempt.id == attempt_id)
                               .values(started_at=started, submitted_at=submitted))
        db.session.commit()
        days = learning.study_days(user_id, date(2027, 2, 10))
    # 8 Feb and 9 Feb (China) and 10 Feb: three days, all in a row up to today.
    assert (days.total, days.last_30, days.streak) == (3, 3, 3)
