"""Benchmark the item bank: import 100,000 items with the command, then time the list.

Usage:
  .venv/bin/python bench/bank.py --db sqlite|postgresql [--items 100000] [--repeat 30]

It builds its own database (a file under /tmp/bench, or a private PostgreSQL database
dropped afterwards), never the test suite's. It times `flask bank import` on a CSV and
on an XLSX file (each into an empty bank), then the median of the trainers' item list
for: no filter, subject + status, and a Chinese text search. Prints one line per figure.
"""

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from question_bank import syllabus  # noqa: E402
from question_bank.formats import csv_format, xlsx_format  # noqa: E402
from question_bank.items import ItemContent, ItemType  # noqa: E402
from question_bank.subjects import Subject  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
WORDS = ["社会工作者", "服务对象", "社区", "老年人", "青少年", "家庭", "小组", "个案", "评估",
         "资源链接", "督导", "政策", "救助", "残疾人", "志愿者", "需求", "介入", "关系"]
PASSWORD = "bench passphrase 2026"
# Common characters for varied, realistic-looking text (real stems rarely repeat a
# small vocabulary); the searched phrase is planted in one item in 200.
POOL = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动"
        "同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自"
        "二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日"
        "那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变"
        "条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总"
        "次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指")
SEARCHED = "资源链接督导"


def make_items(count: int, rng: random.Random) -> list:
    # The version in force: the portal reads new items against it.
    tree = syllabus.load(syllabus.current(datetime.now(UTC).date()))
    objective = [s for s in Subject if s.kind.value == "OBJECTIVE" and s in tree.trees]
    items = []
    for number in range(count):
        subject = objective[number % len(objective)]
        chapters = tree.trees[subject].chapters
        chapter = chapters[rng.randrange(len(chapters))]
        multi = number % 4 == 0
        options = tuple(f"{rng.choice(WORDS)}{''.join(rng.choices(POOL, k=6))}选项{n}"
                        for n in range(5 if multi else 4))
        keys = tuple(sorted(rng.sample("ABCDE", 3))) if multi else (rng.choice("ABCD"),)
        stem = "".join(rng.choice(WORDS) + "".join(rng.choices(POOL, k=3)) for _ in range(8))
        if number % 200 == 7:
            stem = SEARCHED + stem
        stem += f"（第 {number} 题）（  ）。"
        law = None
        if subject.is_law:
            from datetime import date

            from question_bank.items import LawReference
            law = LawReference("中华人民共和国社会救助暂行办法", "第二条", date(2019, 3, 2))
        items.append((f"bench-{number:06d}", ItemContent(
            subject=subject, item_type=ItemType.MULTI if multi else ItemType.SINGLE,
            stem=stem, options=options, keys=keys, explanation="解析：" + stem,
            difficulty=rng.randint(1, 5), syllabus=(chapter.code,), tags=(rng.choice(WORDS),),
            law=law)))
    return items


def database(kind: str, workdir: Path) -> tuple[str, callable]:
    if kind == "sqlite":
        path = workdir / f"bank-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = PG_ADMIN.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(False), drop


def flask(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-secret-not-for-production"}
    return subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "exam_portal", *args],
                          cwd=ROOT, env=env, check=True, capture_output=True, text=True)


def prepare(url: str) -> None:
    flask(url, "db", "upgrade")
    _create_trainer(url)


def _create_trainer(url: str) -> None:
    from exam_portal import create_app
    from exam_portal.extensions import db
    from exam_portal.models.accounts import Role
    from exam_portal.services.accounts import accounts

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret",
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        accounts.create_staff("bench@example.com", PASSWORD, Role.TRAINER, actor=None)
        db.session.commit()
        db.engine.dispose()


def time_import(url: str, path: Path) -> float:
    start = time.perf_counter()
    result = flask(url, "bank", "import", str(path), "--as", "bench@example.com")
    elapsed = time.perf_counter() - start
    assert "imported" in result.stdout, result.stdout + result.stderr
    return elapsed


def time_list(url: str, repeat: int) -> dict[str, float]:
    from exam_portal import create_app
    from exam_portal.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret",
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    client = app.test_client()
    response = client.post("/auth/login", data={"email": "bench@example.com",
                                                "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    queries = {
        "no filter": "/authoring/items",
        "subject + status": "/authoring/items?subject=LAW_MID&status=DRAFT",
        "Chinese text search": f"/authoring/items?q={SEARCHED}",
    }
    medians = {}
    for label, path in queries.items():
        client.get(path)  # warm the caches once
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        medians[label] = statistics.median(times)
    with app.app_context():
        db.engine.dispose()
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--keep", action="store_true",
                        help="Keep the CSV-imported database and print its URL.")
    args = parser.parse_args()
    workdir = Path(tempfile.gettempdir()) / "bench"
    workdir.mkdir(exist_ok=True)
    items = make_items(args.items, random.Random(2026))
    files = {"csv": workdir / "bank.csv", "xlsx": workdir / "bank.xlsx"}
    files["csv"].write_bytes(csv_format.write(items))
    files["xlsx"].write_bytes(xlsx_format.write(items))
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores,"
          f" Python {platform.python_version()}, {args.db}, {args.items} items")
    for fmt, path in files.items():
        url, drop = database(args.db, workdir)
        try:
            prepare(url)
            seconds = time_import(url, path)
            print(f"import {fmt:4} {args.items} items: {seconds:.1f} s (target ≤ 60 s)")
            if fmt == "csv":
                for label, ms in time_list(url, args.repeat).items():
                    print(f"item list, {label}: median {ms:.1f} ms over {args.repeat} "
                          f"(target < 50 ms)")
        finally:
            if args.keep and fmt == "csv":
                print(f"kept {url}")
            else:
                drop()


if __name__ == "__main__":
    main()
