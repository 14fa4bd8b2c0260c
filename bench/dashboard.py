"""Benchmark a candidate's dashboard after 20,000 answered items (issue 20).

    .venv/bin/python bench/dashboard.py [--db postgresql|sqlite] [--answers 20000]
                                        [--repeat 200]

Builds its own database (a private PostgreSQL database dropped afterwards, or a file
under /tmp/bench): 5,000 published choice items of the 2025 syllabus, and one candidate
with 400 handed-in practice sets of 50 items (20,000 marked answers, three in four
right), their mastery of every chapter and point the items link to, a review card for
each item answered wrong, and an exam date to plan for. Then it times the whole request
of the dashboard, GET /practice/ (today's review, study days, weak chapters, today's
tasks, predicted scores, trends, recent attempts), through the WSGI app: median and p99
server time. Target: ≤ 50 ms median on PostgreSQL.
"""

import argparse
import platform
import random
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bank import PASSWORD, ROOT, database, make_items, prepare  # noqa: E402
from page_timing import summary, time_get  # noqa: E402

SET_SIZE = 50


def build(url: str, answers: int, now: datetime) -> None:
    from exam_portal import create_app
    from exam_portal.extensions import db
    from exam_portal.models.accounts import Role, User
    from exam_portal.models.attempts import Attempt, AttemptItem, Response, ReviewCard
    from exam_portal.models.bank import Item, ItemVersion
    from exam_portal.models.mastery import KnowledgeMastery, StudyGoal
    from exam_portal.services.accounts import accounts
    from exam_portal.services.item_bank import authoring
    from exam_portal.services.platform import bulk
    from question_bank import mastery

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret",
                      "RATELIMIT_ENABLED": False})
    rng = random.Random(21)
    with app.app_context():
        author = db.session.scalar(sa.select(User).where(User.role == Role.TRAINER))
        authoring.create_items(make_items(5000, rng), author)
        db.session.execute(sa.update(Item).values(
            published_version_id=Item.current_version_id, status="PUBLISHED"))
        items = db.session.execute(
            sa.select(Item.id, Item.subject, Item.item_type, ItemVersion.id,
                      ItemVersion.chapter_code, ItemVersion.syllabus_version)
            .join(ItemVersion, ItemVersion.id == Item.published_version_id)).all()
        learner = accounts.create_user("learner@bench.example.com", PASSWORD, Role.CANDIDATE)
        db.session.add(StudyGoal(candidate_id=learner.id, exam_day=date(2027, 5, 22),
                                 updated_at=now))
        db.session.flush()
        by_subject: dict = {}
        for row in items:
            by_subject.setdefault(row[1], []).append(row)
        subjects = sorted(by_subject)
        attempt_rows, item_rows, response_rows = [], [], []
        traced: dict = {}
        wrong: dict = {}
        first_id = (db.session.scalar(sa.select(sa.func.max(Attempt.id))) or 0) + 1
        for number in range(answers // SET_SIZE):
            attempt_id = first_id + number
            subject = subjects[number % len(subjects)]
            started = now - timedelta(days=200) + timedelta(hours=11 * number)
            attempt_rows.append({
                "id": attempt_id, "candidate_id": learner.id, "mode": "RANDOM",
                "subject": subject, "spec_version": "2025", "seed": number, "chapters": [],
                "started_at": started, "submitted_at": started + timedelta(minutes=30),
                "status": "SUBMITTED", "ended_by": "CANDIDATE", "device_token": "d" * 32,
                "score_halves": 0, "full_halves": SET_SIZE * 2, "pass_halves": 60,
                "passed": False})
            score = 0
            for position, (item_id, _s, item_type, version_id, chapter, version) in enumerate(
                    rng.sample(by_subject[subject], SET_SIZE), 1):
                right = rng.random() < 0.75
                score += 2 * right
                item_rows.append({"attempt_id": attempt_id, "position": position,
                                  "section": "single", "item_id": item_id,
                                  "item_version_id": version_id, "chapter_code": chapter,
                                  "option_order": "ABCD", "points_halves": 2})
                response_rows.append({"attempt_id": attempt_id, "position": position,
                                      "selected": "A", "text": None, "is_flagged": False,
                                      "seq": position, "saved_at": started
                                      + timedelta(seconds=30 * position),
                                      "is_locked": True, "score_halves": 2 * right,
                                      "self_score_halves": None})
                key = (version, chapter)
                p, n, r, _subject = traced.get(key, (None, 0, 0, subject))
                traced[key] = (mastery.update(p, right, mastery.DEFAULT_MODEL.for_type(
                    item_type)), n + 1, r + right, subject)
                if not right:
                    wrong[item_id] = subject
            attempt_rows[-1]["score_halves"] = score
            attempt_rows[-1]["passed"] = score >= 60
        bulk.insert_rows(Attempt.__table__, attempt_rows)
        bulk.insert_rows(AttemptItem.__table__, item_rows)
        bulk.insert_rows(Response.__table__, response_rows)
        bulk.insert_rows(KnowledgeMastery.__table__, [
            {"candidate_id": learner.id, "syllabus_version": version, "code": chapter,
             "subject": subject, "chapter_code": chapter, "p_known": p, "answered": n,
             "right": r, "updated_at": now}
            for (version, chapter), (p, n, r, subject) in traced.items()])
        bulk.insert_rows(ReviewCard.__table__, [
            {"candidate_id": learner.id, "item_id": item_id, "subject": subject,
             "state": 2, "step": None, "stability": rng.uniform(1, 60),
             "difficulty": rng.uniform(1, 10),
             "due": now + timedelta(days=rng.uniform(-3, 60)),
             "last_review": now - timedelta(days=5), "reviews": 2, "in_book": True,
             "times_wrong": 1, "last_wrong_at": now - timedelta(days=5),
             "last_selected": "A", "created_at": now - timedelta(days=100)}
            for item_id, subject in wrong.items()])
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("SELECT setval(pg_get_serial_sequence('attempts', "
                                       "'id'), (SELECT max(id) FROM attempts))"))
        db.session.commit()
        with db.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
        db.engine.dispose()
        print(f"{len(response_rows)} answers, {len(traced)} traced nodes, {len(wrong)} cards")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--answers", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--profile", action="store_true",
                        help="print where the timed requests spend their time")
    args = parser.parse_args()
    now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    workdir = Path(tempfile.gettempdir()) / "bench"
    workdir.mkdir(exist_ok=True)
    url, drop = database(args.db, workdir)
    try:
        prepare(url)
        build(url, args.answers, now)
        times, page = time_get(url, "/practice/?syllabus=2025", "learner@bench.example.com",
                               PASSWORD, repeat=args.repeat, now=now, profile=args.profile)
        assert "今日任务" in page and "预测分数" in page, "the dashboard lacks its parts"
        print(f"{args.db}: GET /practice/, {args.answers} answered items: "
              f"{summary(times)} ({platform.node()}, {ROOT.name})")
    finally:
        drop()


if __name__ == "__main__":
    main()
