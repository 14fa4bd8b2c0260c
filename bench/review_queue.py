"""Benchmark today's review (今日复习) of a candidate with 5,000 review cards.

    .venv/bin/python bench/review_queue.py --db sqlite|postgresql [--cards 5000]
                                           [--due 400] [--repeat 300]

Builds its own database (a file under /tmp/bench, or a private PostgreSQL database
dropped afterwards): 5,000 published choice items, one candidate holding a card for
each (FSRS states as a season of practice leaves them: most in review with due dates
spread over the coming months, --due of them due today), and another 20 candidates
with as many cards, so the candidate's rows are a slice of the table. Then it times
the whole request of the review page, GET /practice/review (the due count per
subject, the next week's load, the first page of due items), through the WSGI app as
the server runs it: median and p99 server time. Target (issue 20): ≤ 20 ms median,
≤ 50 ms p99.
"""

import argparse
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bank import PASSWORD, ROOT, database, make_items, prepare  # noqa: E402
from page_timing import summary, time_get  # noqa: E402

OTHERS = 20


def build(url: str, cards: int, due: int, now: datetime) -> None:
    from exam_portal import create_app
    from exam_portal.extensions import db
    from exam_portal.models.accounts import Role, User
    from exam_portal.models.attempts import ReviewCard
    from exam_portal.models.bank import Item
    from exam_portal.services.accounts import accounts
    from exam_portal.services.item_bank import authoring
    from exam_portal.services.platform import bulk

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret",
                      "RATELIMIT_ENABLED": False})
    rng = random.Random(20)
    with app.app_context():
        author = db.session.scalar(sa.select(User).where(User.role == Role.TRAINER))
        authoring.create_items(make_items(cards, rng), author)
        db.session.execute(sa.update(Item).values(
            published_version_id=Item.current_version_id, status="PUBLISHED"))
        items = db.session.execute(sa.select(Item.id, Item.subject).order_by(Item.id)).all()
        learner = accounts.create_user("learner@bench.example.com", PASSWORD, Role.CANDIDATE)
        others = [accounts.create_user(f"other{n}@bench.example.com", PASSWORD,
                                       Role.CANDIDATE) for n in range(OTHERS)]
        db.session.flush()
        rows = []
        for candidate in [learner, *others]:
            due_now = set(rng.sample(range(len(items)), due))
            for index, (item_id, subject) in enumerate(items):
                wrong = rng.random() < 0.7
                rows.append({
                    "candidate_id": candidate.id, "item_id": item_id, "subject": subject,
                    "state": 2, "step": None, "stability": rng.uniform(1, 120),
                    "difficulty": rng.uniform(1, 10),
                    "due": now - timedelta(hours=rng.uniform(0, 72)) if index in due_now
                    else now + timedelta(days=rng.uniform(1, 120)),
                    "last_review": now - timedelta(days=rng.uniform(1, 60)),
                    "reviews": rng.randint(1, 8), "in_book": wrong,
                    "times_wrong": rng.randint(1, 4) if wrong else 0,
                    "last_wrong_at": now - timedelta(days=70) if wrong else None,
                    "last_selected": "A", "created_at": now - timedelta(days=90)})
        bulk.insert_rows(ReviewCard.__table__, rows)
        db.session.commit()
        with db.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--cards", type=int, default=5000)
    parser.add_argument("--due", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--profile", action="store_true",
                        help="print where the timed requests spend their time")
    args = parser.parse_args()
    # 10:00 in China: a working day's morning review.
    now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    workdir = Path(tempfile.gettempdir()) / "bench"
    workdir.mkdir(exist_ok=True)
    url, drop = database(args.db, workdir)
    try:
        prepare(url)
        began = time.perf_counter()
        build(url, args.cards, args.due, now)
        print(f"built {args.cards} items and {(OTHERS + 1) * args.cards} cards "
              f"in {time.perf_counter() - began:.1f} s")
        times, page = time_get(url, "/practice/review", "learner@bench.example.com",
                               PASSWORD, repeat=args.repeat, now=now,
                               profile=args.profile)
        assert "今日复习" in page
        print(f"{args.db}: GET /practice/review, {args.cards} cards ({args.due} due): "
              f"{summary(times)} ({platform.node()}, {ROOT.name})")
    finally:
        drop()


if __name__ == "__main__":
    main()
