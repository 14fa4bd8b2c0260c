"""Benchmark approving a reviewed import as one job, and the next paper after a publish.

Usage:
  .venv/bin/python bench/approvals.py --db sqlite|postgresql [--approve 10000]
                                      [--single 300] [--bank 20000] [--rounds 15]

Each run builds its own database (a file under /tmp/bench, or a private PostgreSQL
database dropped afterwards), migrated with `flask db upgrade`; nothing is shared with
the test suite. The code measured is the working tree's.

1. Approval: --approve items (3 in 4 SINGLE, the rest MULTI, over the objective
   subjects, as bench/bank.py makes them) imported by one trainer and put under review,
   then approved by a second trainer as one background job, started as the item list's
   "approve everything under review" button starts it (approvals.start_approving, the
   job run inline): the wall time from the start to the job's last commit. For contrast,
   --single more items approved one at a time (authoring.approve_item, one commit each):
   ms per item.
2. Pools: a bank of --bank published COMP_MID items. A candidate starts a mock paper
   (attempts.start_attempt: pool, draw, the paper written; then rolled back) with a warm
   pool; right after another item of the subject is published (approved and committed);
   right after one is retired; and after the pool is dropped (a cold build). Each round
   measures each once, warm first; medians over --rounds.
"""

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bank import database, flask, make_items  # noqa: E402

from question_bank import syllabus  # noqa: E402
from question_bank.items import ItemContent, ItemType  # noqa: E402
from question_bank.subjects import Subject  # noqa: E402

PASSWORD = "bench passphrase 2026"
SUBJECT = Subject.COMP_MID


def portal_app(url: str):
    from exam_portal import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret",
                       "RATELIMIT_ENABLED": False, "JOB_RUNNER": "inline"})


def trainers():
    from exam_portal.extensions import db
    from exam_portal.models.accounts import Role
    from exam_portal.services.accounts import accounts

    people = []
    for name in ("author", "reviewer"):
        people.append(accounts.create_staff(f"{name}@bench.example.com", PASSWORD,
                                            Role.TRAINER, actor=None))
        db.session.commit()
    return people


def under_review(author, items) -> None:
    """Import *items* as *author*'s drafts and send them all for review (set up, untimed)."""
    from exam_portal.extensions import db
    from exam_portal.models.bank import Item, ItemVersion
    from exam_portal.models.types import utcnow
    from exam_portal.services.item_bank import authoring
    from question_bank.workflow import ItemStatus

    authoring.create_items(items, author)
    db.session.execute(sa.update(ItemVersion).where(ItemVersion.status == ItemStatus.DRAFT)
                       .values(status=ItemStatus.REVIEW, submitted_at=utcnow()))
    db.session.execute(sa.update(Item).where(Item.status == ItemStatus.DRAFT)
                       .values(status=ItemStatus.REVIEW))
    db.session.commit()
    if db.session.get_bind().dialect.name == "postgresql":
        # The import's trigram entries wait in the GIN pending list until autovacuum
        # merges them: merged here, so the approval measured pays only for its own.
        db.session.execute(sa.text("SELECT gin_clean_pending_list("
                                   "'ix_item_versions_search_trgm'::regclass)"))
        db.session.commit()


def approve_job(url: str, count: int, single: int) -> dict:
    from exam_portal.extensions import db
    from exam_portal.models.bank import Item
    from exam_portal.models.jobs import Job, JobStatus
    from exam_portal.services.item_bank import approvals, authoring
    from question_bank.workflow import ItemStatus

    app = portal_app(url)
    with app.app_context():
        author, reviewer = trainers()
        under_review(author, make_items(count, random.Random(2026)))
        started = time.perf_counter()
        job = approvals.start_approving({"status": "REVIEW"}, reviewer, "基准测试：已核对。",
                                        expected=count)
        seconds = time.perf_counter() - started
        job = db.session.get(Job, job.id)
        published = db.session.scalar(sa.select(sa.func.count()).select_from(Item)
                                      .where(Item.status == ItemStatus.PUBLISHED))
        assert job.status is JobStatus.SUCCEEDED and published == count, (job.summary, published)
        summary = dict(job.summary)
        newest = db.session.scalar(sa.select(sa.func.max(Item.id)))
        under_review(author, [(f"one-{n}", content) for n, (_, content) in enumerate(
            make_items(single, random.Random(7)))])
        ids = db.session.scalars(sa.select(Item.id).where(Item.id > newest)).all()
        started = time.perf_counter()
        for item_id in ids:
            authoring.approve_item(db.session.get(Item, item_id), reviewer, "已核对。")
            db.session.commit()
        per_item = (time.perf_counter() - started) * 1000 / len(ids)
        db.session.remove()
        db.engine.dispose()
    return {"job_s": seconds, "per_item_ms": per_item, "summary": summary}


def subject_items(count: int, rng: random.Random, prefix: str) -> list:
    chapters = syllabus.load(syllabus.current(datetime.now(UTC).date())).trees[SUBJECT].chapters
    items = []
    for number in range(count):
        multi = number % 4 == 3
        items.append((f"{prefix}-{number:06d}", ItemContent(
            subject=SUBJECT, item_type=ItemType.MULTI if multi else ItemType.SINGLE,
            stem=f"第 {number} 题：社会工作者在这种情况下应当（  ）。{rng.random()}",
            options=tuple(f"选项{letter}{number}" for letter in ("ABCDE" if multi else "ABCD")),
            keys=("A", "C") if multi else ("A",), explanation="解析。",
            difficulty=rng.randint(1, 5), syllabus=(chapters[number % len(chapters)].code,))))
    return items


def pool_rounds(url: str, bank: int, rounds: int) -> dict:
    from exam_portal.extensions import db
    from exam_portal.models.bank import Item
    from exam_portal.models.types import utcnow
    from exam_portal.services.accounts import accounts
    from exam_portal.services.delivery import attempts, paper_cache
    from exam_portal.services.item_bank import approvals, authoring, pools
    from question_bank.practice import Mode
    from question_bank.workflow import ItemStatus

    app = portal_app(url)
    times = {"warm": [], "after publish": [], "after retire": [], "cold": []}
    with app.app_context():
        author, reviewer = trainers()
        under_review(author, subject_items(bank, random.Random(1), "pool"))
        approvals.approve_items(db.session.scalars(sa.select(Item.id)).all(), reviewer, "已核对。")
        db.session.commit()
        drafts = subject_items(rounds, random.Random(2), "new")
        candidate = accounts.create_user("candidate@bench.example.com", PASSWORD)
        db.session.commit()

        def start() -> float:
            began = time.perf_counter()
            attempt = attempts.start_attempt(candidate.id, SUBJECT, Mode.MOCK, now=utcnow())
            assert len(attempt.items) == 80
            elapsed = (time.perf_counter() - began) * 1000
            db.session.rollback()
            return elapsed

        pools.forget()
        paper_cache.clear()
        start()
        for number in range(rounds):
            start()
            times["warm"].append(start())
            item = authoring.create_item(drafts[number][1], author,
                                         external_id=drafts[number][0])
            authoring.submit_item(item, author)
            db.session.commit()
            authoring.approve_item(item, reviewer, "已核对。")
            db.session.commit()
            times["after publish"].append(start())
            start()
            retired = db.session.scalar(sa.select(Item).where(
                Item.status == ItemStatus.PUBLISHED).order_by(Item.id).offset(number).limit(1))
            authoring.retire_item(retired, reviewer)
            db.session.commit()
            times["after retire"].append(start())
            pools.forget()
            times["cold"].append(start())
        db.session.remove()
        db.engine.dispose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--approve", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=300)
    parser.add_argument("--bank", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    workdir = Path(tempfile.gettempdir()) / "bench"
    workdir.mkdir(exist_ok=True)
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores,"
          f" Python {platform.python_version()}, {args.db}", flush=True)
    if args.approve:
        url, drop = database(args.db, workdir)
        try:
            flask(url, "db", "upgrade")
            found = approve_job(url, args.approve, args.single)
        finally:
            drop()
        print(f"approve {args.approve} reviewed items as one job: {found['job_s']:.2f} s "
              f"(target ≤ 10 s: {'met' if found['job_s'] <= 10 else 'MISSED'}); summary "
              f"{found['summary']}; one at a time: {found['per_item_ms']:.1f} ms per item "
              f"({args.single} items)", flush=True)
    if args.bank:
        url, drop = database(args.db, workdir)
        try:
            flask(url, "db", "upgrade")
            times = pool_rounds(url, args.bank, args.rounds)
        finally:
            drop()
        med = {label: statistics.median(values) for label, values in times.items()}
        extra = med["after publish"] - med["warm"]
        print(f"mock paper from {args.bank} published {SUBJECT.value} items, medians of "
              f"{args.rounds}: warm {med['warm']:.1f} ms, right after a publish "
              f"{med['after publish']:.1f} ms (+{extra:.1f} ms, target ≤ +50 ms: "
              f"{'met' if extra <= 50 else 'MISSED'}), right after a retirement "
              f"{med['after retire']:.1f} ms, cold pool {med['cold']:.1f} ms; max after a "
              f"publish {max(times['after publish']):.1f} ms", flush=True)


if __name__ == "__main__":
    main()
