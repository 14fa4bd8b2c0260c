"""Benchmark the item bank: import 100,000 items with the command, then time the list.

Usage:
  .venv/bin/python bench/bank.py --db sqlite|postgresql [--items 100000] [--repeat 30]
                                 [--formats csv,xlsx,moodle-xml,gift]

It builds its own database (a file under /tmp/bench, or a private PostgreSQL database
dropped afterwards), never the test suite's. It times `flask bank import` of each file
into an empty bank, then (after the CSV) the median of the trainers' item list for: no
filter, subject + status, and a Chinese text search. Prints one line per figure.

CSV and XLSX are the portal's own files. moodle-xml and gift are the same items as
another system writes them (Moodle 4.x's shape: HTML text with entities, one category
per chapter named "科目/章 code title", general feedback, per-answer feedback, an
idnumber; no portal extras), imported with the file's defaults (difficulty 3): the
HTML conversion, category mapping and defaults are in the measured time. The law
subject is left out of those two (other systems carry no statute), so they hold only
the other objective subjects' items.
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


def _html(text: str) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<p dir="ltr" style="text-align: left;">{escaped}&nbsp;</p>'


def _categories(items: list):
    """The items grouped as Moodle files them: one category per subject and chapter."""
    from question_bank.subjects import NAMES_ZH

    tree = syllabus.load(syllabus.current(datetime.now(UTC).date()))
    groups: dict[str, list] = {}
    for external_id, content in items:
        node = tree.node(content.syllabus[0])
        path = (f"$course$/top/Default for 社工班/{NAMES_ZH[content.subject]}/"
                f"{node.code} {node.title}")
        groups.setdefault(path, []).append((external_id, content))
    return groups


def _weight(content, letter: str) -> str:
    """Moodle's fraction of an answer: 100 / 0 for one answer, shares / -100 for several."""
    if content.item_type is ItemType.SINGLE:
        return "100" if letter in content.keys else "0"
    return f"{100 / len(content.keys):.5f}" if letter in content.keys else "-100"


def foreign_items(count: int, rng: random.Random) -> list:
    """*count* items of the objective subjects but the law one, as make_items makes them."""
    items = [item for item in make_items(count * 3 // 2, rng) if not item[1].subject.is_law]
    return items[:count]


def moodle_xml(items: list) -> bytes:
    """*items* as Moodle 4.x exports them to Moodle XML (HTML in CDATA, no extras)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<quiz>']
    for path, group in _categories(items).items():
        out.append(f'<question type="category"><category><text>{path}</text></category>'
                   '<info format="html"><text></text></info><idnumber></idnumber></question>')
        for external_id, content in group:
            single = content.item_type is ItemType.SINGLE
            answers = "".join(
                f'<answer fraction="{_weight(content, letter)}" format="html"><text><![CDATA['
                f'{_html(option)}]]></text><feedback format="html"><text><![CDATA[<p>反馈</p>]]>'
                '</text></feedback></answer>'
                for letter, option in zip("ABCDE", content.options, strict=False))
            out.append(
                f'<question type="multichoice"><name><text>{external_id}</text></name>'
                f'<questiontext format="html"><text><![CDATA[{_html(content.stem)}]]></text>'
                f'</questiontext><generalfeedback format="html"><text><![CDATA['
                f'{_html(content.explanation)}]]></text></generalfeedback>'
                f'<defaultgrade>1.0000000</defaultgrade><penalty>0.3333333</penalty>'
                f'<hidden>0</hidden><idnumber>{external_id}</idnumber>'
                f'<single>{"true" if single else "false"}</single>'
                f'<shuffleanswers>true</shuffleanswers><answernumbering>abc</answernumbering>'
                f'{answers}</question>')
    out.append("</quiz>\n")
    return "\n".join(out).encode()


def gift(items: list) -> bytes:
    """*items* as Moodle 4.x exports them to GIFT ([html] text, escaped specials)."""
    from question_bank.formats.gift import escape

    out = []
    for path, group in _categories(items).items():
        out.append(f"$CATEGORY: {path}\n")
        for external_id, content in group:
            single = content.item_type is ItemType.SINGLE
            answers = "\n".join(
                ("\t=" if single else f"\t~%{_weight(content, letter)}%")
                + escape(_html(option)) + "#" + escape("<p>对</p>") if letter in content.keys
                else ("\t~" if single else f"\t~%{_weight(content, letter)}%")
                + escape(_html(option))
                for letter, option in zip("ABCDE", content.options, strict=False))
            out.append(f"// question: 0  name: {external_id}\n// [id:{external_id}]\n"
                       f"::{external_id}::[html]{escape(_html(content.stem))}{{\n{answers}\n"
                       f"\t####{escape(_html(content.explanation))}\n}}\n")
    return "\n".join(out).encode()


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


def time_import(url: str, path: Path, *options: str) -> float:
    start = time.perf_counter()
    result = flask(url, "bank", "import", str(path), "--as", "bench@example.com", *options)
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
    parser.add_argument("--formats", default="csv,xlsx,moodle-xml,gift")
    args = parser.parse_args()
    workdir = Path(tempfile.gettempdir()) / "bench"
    workdir.mkdir(exist_ok=True)
    items = make_items(args.items, random.Random(2026))
    writers = {"csv": ("bank.csv", lambda: csv_format.write(items)),
               "xlsx": ("bank.xlsx", lambda: xlsx_format.write(items)),
               "moodle-xml": ("moodle.xml", lambda: moodle_xml(
                   foreign_items(args.items, random.Random(2026)))),
               "gift": ("moodle.gift", lambda: gift(
                   foreign_items(args.items, random.Random(2026))))}
    files = {}
    for fmt in args.formats.split(","):
        name, write = writers[fmt]
        files[fmt] = workdir / name
        files[fmt].write_bytes(write())
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores,"
          f" Python {platform.python_version()}, {args.db}, {args.items} items")
    for fmt, path in files.items():
        url, drop = database(args.db, workdir)
        try:
            prepare(url)
            options = ("--default-difficulty", "3") if fmt in ("moodle-xml", "gift") else ()
            seconds = time_import(url, path, *options)
            size = path.stat().st_size / 2**20
            print(f"import {fmt:10} {args.items} items ({size:.1f} MB): {seconds:.1f} s "
                  f"(target ≤ 60 s)", flush=True)
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
