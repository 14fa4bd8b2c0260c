"""Benchmark ranking a mock contest of 200,000 candidates as a job (issue 20).

    .venv/bin/python bench/contest_ranking.py [--sitters 200000] [--profile]

Builds its own private PostgreSQL database, dropped afterwards: a contest paper of 100
published items, and 200,000 candidates who each handed in its paper in the window
(scores from a binomial, so ties abound; 31 provinces; a "1"/"0" mask of right answers
per sitter, as marking keeps it) plus 2,000 late takers. Then it times the ranking job
as an administrator starts it (JOB_RUNNER inline: submit, rank overall and by province,
count each item's national correct rate, write the standings, audit, commit) and checks
the result. Target: at most 10 s.
"""

import argparse
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bank import PASSWORD, ROOT, database, make_items, prepare  # noqa: E402

ITEMS = 100
PROVINCES = [f"{code}0000" for code in (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35,
                                        36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54,
                                        61, 62, 63, 64, 65)]


def build(app, sitters: int, late: int, now: datetime) -> int:
    from exam_portal.extensions import db
    from exam_portal.models.accounts import Role, User
    from exam_portal.models.attempts import Attempt
    from exam_portal.models.bank import Item, ItemVersion
    from exam_portal.models.contests import Contest, ContestEntry, ContestItem
    from exam_portal.services.item_bank import authoring
    from exam_portal.services.platform import bulk

    rng = random.Random(20)
    nrng = np.random.default_rng(20)
    with app.app_context():
        author = db.session.scalar(sa.select(User).where(User.role == Role.TRAINER))
        authoring.create_items(make_items(ITEMS, rng), author)
        db.session.execute(sa.update(Item).values(
            published_version_id=Item.current_version_id, status="PUBLISHED"))
        items = db.session.execute(
            sa.select(Item.id, Item.item_type, ItemVersion.id, ItemVersion.chapter_code)
            .join(ItemVersion, ItemVersion.id == Item.published_version_id)
            .order_by(Item.id).limit(ITEMS)).all()
        opens = now - timedelta(days=1)
        contest = Contest(title="bench", subject="COMP_JR", minutes=120, opens_at=opens,
                          closes_at=opens + timedelta(hours=12), created_by=author.id,
                          created_at=opens - timedelta(days=7))
        contest.items = [ContestItem(position=n, section="single", item_id=item_id,
                                     item_version_id=version_id, item_type=item_type,
                                     chapter_code=chapter, points_halves=2)
                         for n, (item_id, item_type, version_id, chapter) in
                         enumerate(items, 1)]
        db.session.add(contest)
        db.session.flush()
        total = sitters + late
        first_user = (db.session.scalar(sa.select(sa.func.max(User.id))) or 0) + 1
        first_attempt = (db.session.scalar(sa.select(sa.func.max(Attempt.id))) or 0) + 1
        bulk.insert_rows(User.__table__, [
            {"id": first_user + n, "email": f"sitter{n}@bench.example.com",
             "password_hash": "x", "role": "candidate", "session_token": "t",
             "is_active": True, "is_exam_author": False, "created_at": opens,
             "password_changed_at": opens} for n in range(total)])
        ability = nrng.beta(5, 3, total)
        right = nrng.random((total, len(items))) < ability[:, None]
        scores = right.sum(axis=1) * 2
        bulk.insert_rows(Attempt.__table__, [
            {"id": first_attempt + n, "candidate_id": first_user + n, "mode": "MOCK",
             "subject": "COMP_JR", "spec_version": "2025", "seed": n, "chapters": [],
             "started_at": opens, "submitted_at": opens + timedelta(hours=2),
             "status": "SUBMITTED", "ended_by": "CANDIDATE", "device_token": "d" * 32,
             "score_halves": int(scores[n]), "full_halves": 2 * len(items),
             "pass_halves": 120, "passed": bool(scores[n] >= 120)} for n in range(total)])
        masks = np.where(right, ord("1"), ord("0")).astype(np.uint8)
        bulk.insert_rows(ContestEntry.__table__, [
            {"contest_id": contest.id, "candidate_id": first_user + n,
             "attempt_id": first_attempt + n, "province": PROVINCES[n % len(PROVINCES)],
             "late": n >= sitters, "started_at": opens, "score_halves": int(scores[n]),
             "right_mask": masks[n].tobytes().decode("ascii")} for n in range(total)])
        if db.engine.dialect.name == "postgresql":
            for statement in (
                    "SELECT setval(pg_get_serial_sequence('users', 'id'), "
                    "(SELECT max(id) FROM users))",
                    "SELECT setval(pg_get_serial_sequence('attempts', 'id'), "
                    "(SELECT max(id) FROM attempts))"):
                db.session.execute(sa.text(statement))
        db.session.commit()
        with db.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
        return contest.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # PostgreSQL only: a national contest runs on the production database.
    parser.add_argument("--db", choices=("postgresql",), default="postgresql")
    parser.add_argument("--sitters", type=int, default=200_000)
    parser.add_argument("--profile", action="store_true",
                        help="print where the ranking job spends its time")
    args = parser.parse_args()
    now = datetime.now(UTC)
    workdir = Path(tempfile.gettempdir()) / "bench"
    workdir.mkdir(exist_ok=True)
    url, drop = database(args.db, workdir)
    try:
        prepare(url)
        from exam_portal import create_app
        from exam_portal.extensions import db
        from exam_portal.models.accounts import Role, User
        from exam_portal.models.contests import Contest, ContestStanding
        from exam_portal.services.accounts import accounts
        from exam_portal.services.exam_sessions import contests

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret",
                          "RATELIMIT_ENABLED": False, "JOB_RUNNER": "inline"})
        started = time.perf_counter()
        contest_id = build(app, args.sitters, args.sitters // 100, now)
        print(f"built in {time.perf_counter() - started:.1f} s")
        with app.app_context(), app.test_request_context():
            admin = accounts.create_user("admin@bench.example.com", PASSWORD, Role.ADMIN)
            db.session.commit()
            admin = db.session.get(User, admin.id)
            profiler = None
            if args.profile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            started = time.perf_counter()
            job = contests.start_ranking(db.session.get(Contest, contest_id), admin,
                                         now=datetime.now(UTC))
            elapsed = time.perf_counter() - started
            if profiler is not None:
                import pstats

                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            db.session.expire_all()
            job = db.session.get(type(job), job.id)
            assert job.status.value == "SUCCEEDED", (job.status, job.error)
            contest = db.session.get(Contest, contest_id)
            assert contest.ranked_sitters == args.sitters, contest.ranked_sitters
            best = db.session.scalar(sa.select(sa.func.min(ContestStanding.rank)))
            ties = db.session.scalar(sa.select(sa.func.count(sa.distinct(
                ContestStanding.rank))))
            assert best == 1 and ties < args.sitters
        print(f"{args.db}: ranking job, {args.sitters} sitters in the window "
              f"({args.sitters // 100} late, not ranked), {ITEMS} items, {ties} distinct "
              f"ranks: {elapsed:.2f} s ({platform.node()}, {ROOT.name})")
    finally:
        drop()


if __name__ == "__main__":
    main()
