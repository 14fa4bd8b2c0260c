"""Benchmark delivery: save an answer, load the delivery page, assemble a paper.

Usage:
  .venv/bin/python bench/delivery.py --db sqlite|postgresql|both [--rounds 3] [--duration 20]
                                     [--items 100000] [--pg-items 2000] [--profile]
                                     [--source HEAD|COMMIT|worktree] [--what-if SETTINGS]

The measured code is a clean export of --source (default HEAD) under
/tmp/bench-delivery/src-<commit>, never edits in progress in the work tree.

Each database kind gets its own portal database (SQLite under /tmp/bench-delivery/, or
a private PostgreSQL database dropped afterwards) migrated with `flask db upgrade`, and
the fixed baseline app (/work/shared/bench-baseline/db_app.py, served unchanged) its own.
Both are served the same way: gunicorn, 2 sync workers, nothing else changed.

1. Save an answer: PUT /practice/attempts/<id>/responses/<pos> as a logged-in candidate
   on an open mock paper (ownership, device, deadline and sequence checked) against the
   baseline's bare POST /save; wrk -t1 -c16 -d20s --timeout 5s.
2. The delivery page GET /practice/attempts/<id> (an 80-item mock paper, logged in,
   answers saved) against the baseline's GET /q/<id>, SQLite only; where the portal
   serves the questions from GET /practice/attempts/<id>/paper, that too (no target).
3. Paper assembly of an 80-item COMP_MID paper from a bank of --items published items of
   that subject: the domain draw alone, the per-draw service path with a warm pool
   cache, the whole start_attempt (written, then rolled back) and the cold pool build.

HTTP runs are interleaved (baseline, portal, baseline, portal, …) after one warm-up
run of each; medians of the rounds and their ratios are printed. The 100,000-item
SQLite bank is built through the services once (create_items, submit_item,
approve_items by a second trainer: about ten minutes) and kept as a template file
keyed by the migrations and the generator; --fresh-bank rebuilds it.
"""

import argparse
import functools
import hashlib
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
WORKDIR = Path(tempfile.gettempdir()) / "bench-delivery"


def _source_tree() -> tuple[Path, str]:
    """The code measured: a clean export of a commit (default HEAD), so that edits in
    progress in the work tree are not measured; --source worktree takes the tree."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--source", default="HEAD")
    wanted = parser.parse_known_args()[0].source
    if wanted == "worktree":
        return ROOT, "work tree"
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", wanted],
                            check=True, capture_output=True, text=True).stdout.strip()
    tree = WORKDIR / f"src-{commit[:12]}"
    if not tree.exists():
        WORKDIR.mkdir(exist_ok=True)
        partial = tree.with_suffix(".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(partial)], input=archive, check=True)
        subprocess.run([str(ROOT / ".venv/bin/pybabel"), "compile", "--use-fuzzy", "-d",
                        str(partial / "exam_portal/translations"), "-f"], check=True,
                       capture_output=True)
        partial.rename(tree)
    return tree, f"commit {commit[:12]}"


SRC, SOURCE = _source_tree()
# The measured tree's packages come first on sys.path (ahead of the editable install's
# finder); its bench/bank.py puts that tree first again and gives the text generator.
sys.path.insert(0, str(SRC))
sys.path.insert(0, str(SRC / "bench"))

from bank import POOL, WORDS  # noqa: E402

from question_bank import syllabus  # noqa: E402
from question_bank.items import ItemContent, ItemType  # noqa: E402
from question_bank.subjects import Subject  # noqa: E402

BASELINE = Path(os.environ.get("BENCH_BASELINE_DIR", ROOT.parent / "shared" / "bench-baseline"))
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-delivery-secret-not-for-production"
PASSWORD = "bench passphrase 2026"
USER_AGENT = "bench-delivery/1"
SUBJECT = Subject.COMP_MID
GENERATOR = "delivery-bank-v1"
# The syllabus version in force: the bank is written against it, and mock papers draw it.
SYLLABUS = syllabus.current(datetime.now(UTC).date())
GUNICORN = [str(ROOT / ".venv/bin/gunicorn"), "--workers", "2", "--worker-class", "sync",
            "--log-level", "warning"]
PY_SPY = os.environ.get("PY_SPY", shutil.which("py-spy")
                        or "/tmp/bench-tools/bin/py-spy")  # noqa: S108 - pip --target there


# The bank ----------------------------------------------------------------------------

def make_items(count: int, rng: random.Random) -> list:
    """*count* SINGLE (3 in 4) and MULTI items of one objective subject, varied text."""
    chapters = syllabus.load(SYLLABUS).trees[SUBJECT].chapters
    items = []
    for number in range(count):
        multi = number % 4 == 0
        options = tuple(f"{rng.choice(WORDS)}{''.join(rng.choices(POOL, k=6))}选项{n}"
                        for n in range(5 if multi else 4))
        keys = tuple(sorted(rng.sample("ABCDE", 3))) if multi else (rng.choice("ABCD"),)
        stem = "".join(rng.choice(WORDS) + "".join(rng.choices(POOL, k=3)) for _ in range(8))
        stem += f"（第 {number} 题）（  ）。"
        items.append((f"delivery-{number:06d}", ItemContent(
            subject=SUBJECT, item_type=ItemType.MULTI if multi else ItemType.SINGLE,
            stem=stem, options=options, keys=keys, explanation="解析：" + stem,
            difficulty=rng.randint(1, 5), syllabus=(chapters[rng.randrange(len(chapters))].code,),
            tags=(rng.choice(WORDS),))))
    return items


def portal_app(url: str):
    from exam_portal import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET,
                       "RATELIMIT_ENABLED": False})


def flask(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET}
    subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "exam_portal", *args],
                   cwd=SRC, env=env, check=True, capture_output=True, text=True)


def build_bank(url: str, count: int) -> None:
    """Migrate, then create *count* items as one trainer, submit them and have a
    second trainer approve them, through the services."""
    from exam_portal.extensions import db
    from exam_portal.models.accounts import Role, User
    from exam_portal.models.bank import Item
    from exam_portal.services.accounts import accounts
    from exam_portal.services.item_bank import approvals, authoring

    started = time.perf_counter()
    flask(url, "db", "upgrade")
    app = portal_app(url)
    with app.app_context():
        # One account per transaction: the password is hashed with none open.
        author = accounts.create_staff("author@bench.example.com", PASSWORD, Role.TRAINER,
                                       actor=None)
        db.session.commit()
        reviewer = accounts.create_staff("reviewer@bench.example.com", PASSWORD,
                                         Role.TRAINER, actor=None)
        db.session.commit()
        user_ids = (author.id, reviewer.id)
        authoring.create_items(make_items(count, random.Random(2026)), author, SYLLABUS)
        db.session.commit()
        print(f"  bank: {count} items created in {time.perf_counter() - started:.0f} s",
              flush=True)
        ids = db.session.scalars(sa.select(Item.id).order_by(Item.id)).all()
        for start in range(0, len(ids), 2000):
            chunk = ids[start:start + 2000]
            for item in db.session.scalars(sa.select(Item).where(Item.id.in_(chunk))).all():
                authoring.submit_item(item, author)
            approved, refused = approvals.approve_items(chunk, reviewer, "基准测试：已核对。")
            assert approved == len(chunk) and not refused, refused[:3]
            db.session.commit()
            db.session.expunge_all()  # keep the identity map small; take the two back
            author, reviewer = (db.session.get(User, user_id) for user_id in user_ids)
            if (start // 2000) % 10 == 9:
                print(f"  bank: {start + len(chunk)} published, "
                      f"{time.perf_counter() - started:.0f} s", flush=True)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE"))
        db.session.remove()
        db.engine.dispose()
    if url.startswith("sqlite:///"):  # fold the WAL into the file before it is copied
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"  bank: {count} items published in {time.perf_counter() - started:.0f} s",
          flush=True)


def sqlite_portal(count: int, fresh: bool) -> tuple[str, callable]:
    digest = hashlib.sha256(GENERATOR.encode())
    for path in sorted((SRC / "migrations" / "versions").glob("*.py")):
        digest.update(path.read_bytes())
    template = WORKDIR / f"bank-template-{count}-{digest.hexdigest()[:12]}.db"
    if fresh or not template.exists():
        building = template.with_suffix(".building")
        building.unlink(missing_ok=True)
        print(f"building the {count}-item SQLite bank template {template.name}", flush=True)
        build_bank(f"sqlite:///{building}", count)
        building.rename(template)
        for suffix in ("-wal", "-shm"):  # emptied by the checkpoint
            Path(f"{building}{suffix}").unlink(missing_ok=True)
    path = WORKDIR / f"portal-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(template, path)

    def drop():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}", drop


def pg_database(prefix: str) -> tuple[str, callable]:
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    assert name != "test"
    admin = PG_ADMIN.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(False), drop


# The candidate and the attempt -----------------------------------------------------

def start_mock(url: str) -> dict:
    """A new candidate with an open mock paper, opened on a device (the services)."""
    from exam_portal.extensions import db
    from exam_portal.models.types import utcnow
    from exam_portal.services.accounts import accounts
    from exam_portal.services.delivery import attempts, pages
    from question_bank.practice import Mode

    email = f"candidate-{uuid.uuid4().hex[:8]}@bench.example.com"
    app = portal_app(url)
    with app.app_context():
        user = accounts.create_user(email, PASSWORD)
        attempt = attempts.start_attempt(user.id, SUBJECT, Mode.MOCK, now=utcnow())
        db.session.commit()
        state = pages.open_attempt(attempt, now=utcnow())
        db.session.commit()
        found = {"email": email, "attempt_id": attempt.id, "device": state["device"],
                 "items": len(attempt.items), "deadline": attempt.deadline_at.isoformat()}
        db.session.remove()
        db.engine.dispose()
    return found


# HTTP: servers, login, wrk -----------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, label: str, app: str, cwd: Path, env: dict, probe: str):
        self.label, self.port = label, free_port()
        self.log = (WORKDIR / f"gunicorn-{label}.log").open("w")
        self.process = subprocess.Popen(
            [*GUNICORN, "--bind", f"127.0.0.1:{self.port}", "--chdir", str(cwd), app],
            # gunicorn also puts its starting directory on sys.path (its default --chdir,
            # applied before the given one): start in the measured tree, never /work/main.
            cwd=SRC, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=self.log,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, _ = request(self.port, "GET", probe)
                if status < 500:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"{label} did not start; see gunicorn-{label}.log")
            time.sleep(0.2)

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict | None = None) -> tuple[int, dict, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"User-Agent": USER_AGENT,
                                                       **(headers or {})})
        response = conn.getresponse()
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                response.read().decode("utf-8", "replace"))
    finally:
        conn.close()


def _cookie(headers: dict, old: str | None) -> str | None:
    found = re.match(r"(session=[^;]*)", headers.get("set-cookie", ""))
    return found.group(1) if found else old


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def log_in(port: int, email: str, attempt_id: int) -> dict:
    """POST /auth/login once, then the delivery page for the session's CSRF token."""
    status, headers, html = request(port, "GET", "/auth/login")
    cookie = _cookie(headers, None)
    form = urllib.parse.urlencode({"email": email, "password": PASSWORD, "next": "",
                                   "csrf_token": _csrf(html)}).encode()
    status, headers, _ = request(port, "POST", "/auth/login", form, {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    assert status == 302, f"login answered {status}"
    cookie = _cookie(headers, cookie)
    status, headers, html = request(port, "GET", f"/practice/attempts/{attempt_id}",
                                    headers={"Cookie": cookie})
    assert status == 200, f"delivery page answered {status}"
    return {"cookie": _cookie(headers, cookie), "csrf": _csrf(html), "page_bytes": len(html)}


def wrk(port: int, script: Path, path: str, env: dict, duration: int,
        connections: int) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "5s",
               "-s", str(script), f"http://127.0.0.1:{port}{path}"]
    result = subprocess.run(command, env={**os.environ, "PEER_DIR": str(BASELINE), **env},
                            capture_output=True, text=True, check=True)
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
    for refused in (line for line in result.stdout.splitlines() if line.startswith("STATUS ")):
        print(f"    {refused}", flush=True)
    return {key: float(value) for key, value in
            (field.split("=") for field in line.split()[1:])}


def profile(server: Server, seconds: int, run, out: Path) -> str:
    """py-spy both workers during *run*; return a summary of where the time goes."""
    if not Path(PY_SPY).exists():
        return "py-spy not found (pip install --target /tmp/bench-tools py-spy)"
    spies = [subprocess.Popen([PY_SPY, "record", "--nonblocking", "-r", "250", "-d",
                               str(seconds), "-f", "raw", "-o", f"{out}-{pid}.txt",
                               "-p", str(pid)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for pid in server.workers()]
    time.sleep(0.5)
    run()
    for spy in spies:
        spy.wait()
    return summarise_profile(sorted(out.parent.glob(f"{out.name}-*.txt")))


PROFILE_GROUPS = [
    # (label, predicate on a frame "function (file:line)"), counted once per sample.
    ("db: execute/fetch (driver + SQLAlchemy)", lambda f: "do_execute" in f
     or "_execute_context" in f),
    ("db: commit", lambda f: "do_commit" in f),
    ("db: connect/checkout (+ pre-ping)", lambda f: "_checkout " in f or "do_ping" in f),
    ("db: BEGIN IMMEDIATE", lambda f: "_begin_immediate" in f),
    ("user loader (flask_login)", lambda f: "_load_user" in f),
    ("CSRF check (flask_wtf)", lambda f: "csrf.py" in f and "protect" in f),
    ("responses.save_response", lambda f: "save_response (exam_portal/services" in f),
    ("  paper_cache.layout", lambda f: "layout (exam_portal/services/paper_cache" in f),
    ("  responses._upsert (build + run)", lambda f: "_upsert (" in f),
    ("  SQL compilation", lambda f: "_compiler (" in f or "compile (" in f
     and "sqlalchemy" in f),
    ("take_attempt view", lambda f: "take_attempt (" in f),
    ("  render_template", lambda f: "render_template (" in f),
    ("  attempt_state", lambda f: "attempt_state (" in f),
    ("  candidate_views", lambda f: "candidate_views (" in f),
    ("  attempt_items", lambda f: "attempt_items (" in f),
    ("  is_bookmarked", lambda f: "is_bookmarked (" in f),
    ("get_own_attempt", lambda f: "get_own_attempt (" in f),
    ("session cookie save/open", lambda f: "save_session" in f or "open_session" in f),
    ("babel locale/gettext", lambda f: "flask_babel" in f),
    ("security headers / after_request", lambda f: "security_headers" in f),
]


def summarise_profile(files: list[Path]) -> str:
    total, in_app, groups, leaf = 0, 0, Counter(), Counter()
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            count = int(count)
            total += count
            if any("wsgi_app" in frame for frame in frames):
                in_app += count
            for label, matches in PROFILE_GROUPS:
                if any(matches(frame) for frame in frames):
                    groups[label] += count
            leaf[re.sub(r" \(.*/site-packages/", " (", frames[-1])] += count
    if not total:
        return "no samples"
    share = 100 * in_app / total
    lines = [f"{total} samples over {len(files)} workers; Flask app (wsgi_app) {share:.0f} %,"
             f" gunicorn outside it {100 - share:.0f} %"]
    lines += [f"  {label:48} {100 * groups[label] / total:5.1f} %"
              for label, _ in PROFILE_GROUPS if groups[label]]
    lines.append("  hottest leaf frames:")
    lines += [f"    {100 * n / total:5.1f} %  {frame[:110]}" for frame, n in leaf.most_common(8)]
    return "\n".join(lines)


def http_benchmarks(kind: str, portal_url: str, baseline_url: str, attempt: dict, args,
                    report: dict) -> None:
    portal_env = {"DATABASE_URL": portal_url, "SECRET_KEY": SECRET}
    portal = Server(f"portal-{kind}", "exam_portal:create_app()", SRC, portal_env,
                    "/auth/login")
    baseline = Server(f"baseline-{kind}", "db_app:app", BASELINE,
                      {"DB_URL": baseline_url}, "/q/1")
    servers = [portal, baseline]
    # Diagnostic variants (bench/whatif_app.py), served the same way on the same data.
    what_ifs = {}
    try:
        for what in (args.what_if if kind == "sqlite" else []):
            what_ifs[what] = Server(f"whatif-{what.replace(',', '+')}", "whatif_app:app",
                                    BENCH, {**portal_env, "WHAT_IF": what,
                                            "PYTHONPATH": str(SRC)}, "/auth/login")
            servers.append(what_ifs[what])
        session = log_in(portal.port, attempt["email"], attempt["attempt_id"])
        aid = str(attempt["attempt_id"])
        seq_base = iter(range(1_000_000, 2_000_000_000, 20_000_000))
        check = json.dumps({"seq": next(seq_base), "device": attempt["device"],
                            "selected": ["A"], "flagged": False}).encode()
        status, _, body = request(portal.port, "PUT", f"/practice/attempts/{aid}/responses/1",
                                  check, {"Content-Type": "application/json",
                                          "X-CSRFToken": session["csrf"],
                                          "Cookie": session["cookie"]})
        assert status == 200, (status, body)
        common = {"ATTEMPT_ID": aid, "COOKIE": session["cookie"], "USER_AGENT": USER_AGENT}

        def portal_save(port):
            return lambda duration: wrk(
                port, BENCH / "save_response.lua", f"/practice/attempts/{aid}",
                {**common, "CSRF": session["csrf"], "DEVICE": attempt["device"],
                 "POSITIONS": str(attempt["items"]), "SEQ_BASE": str(next(seq_base))},
                duration, args.connections)

        def portal_page(port, suffix=""):
            return lambda duration: wrk(port, BENCH / "take_attempt.lua",
                                        f"/practice/attempts/{aid}{suffix}",
                                        {**common, "SUFFIX": suffix}, duration,
                                        args.connections)

        def portal_paper(port):
            return portal_page(port, "/paper")

        def bare_save(duration):
            return wrk(baseline.port, BASELINE / "save_answer.lua", "/save", {}, duration,
                       args.connections)

        def bare_read(duration):
            return wrk(baseline.port, BASELINE / "get_question.lua", "/q/1", {}, duration,
                       args.connections)

        benches = [("save", bare_save, portal_save)]
        if kind == "sqlite":
            benches.append(("page", bare_read, portal_page))
            # Newer portals send the (never changing) questions from their own URL,
            # which the browser keeps; a first load fetches both.
            if request(portal.port, "GET", f"/practice/attempts/{aid}/paper",
                       headers={"Cookie": session["cookie"]})[0] == 200:
                benches.append(("paper", bare_read, portal_paper))
        for name, bare, ours in benches:
            contenders = [("baseline", bare), ("portal", ours(portal.port))]
            contenders += [(f"what-if {what}", ours(server.port))
                           for what, server in what_ifs.items()]
            for _, run in contenders:  # warm-up: connections, caches, templates
                run(3)
            runs = {label: [] for label, _ in contenders}
            for round_number in range(args.rounds):
                for label, run in contenders:
                    result = run(args.duration)
                    runs[label].append(result)
                    print(f"  {kind} {name} round {round_number + 1} {label:8}: "
                          f"{result['rps']:7.1f} req/s  p50 {result['p50_ms']:6.1f} ms  "
                          f"p99 {result['p99_ms']:6.1f} ms  errors {int(result['non2xx_or_err'])}",
                          flush=True)
            report[f"{kind} {name}"] = runs
            if args.profile:
                out = WORKDIR / f"profile-{kind}-{name}"
                for old in WORKDIR.glob(f"{out.name}-*.txt"):
                    old.unlink()
                seconds = min(args.duration, 10)
                summary_text = profile(portal, seconds,
                                       functools.partial(ours(portal.port), seconds), out)
                report[f"{kind} {name} profile"] = summary_text
                print(f"  profile of the portal's {name} ({kind}), py-spy, both workers:\n"
                      + summary_text, flush=True)
    finally:
        for server in servers:
            server.stop()


# Assembly ----------------------------------------------------------------------------

def assembly_benchmarks(url: str, args, report: dict) -> None:
    from exam_portal.extensions import db
    from exam_portal.models.types import utcnow
    from exam_portal.services.accounts import accounts
    from exam_portal.services.delivery import attempts, paper_cache
    from exam_portal.services.item_bank import pools
    from question_bank import specs
    from question_bank.assembly import assemble
    from question_bank.practice import Mode

    app = portal_app(url)
    rounds = {"domain": [], "service": [], "start_attempt": [], "cold": []}
    with app.app_context():
        spec = specs.load(SUBJECT)
        max_exposure = app.config["MOCK_MAX_EXPOSURE"]
        candidate = accounts.create_user(f"draw-{uuid.uuid4().hex[:8]}@bench.example.com",
                                         PASSWORD)
        db.session.commit()
        pools.forget()
        paper_cache.clear()
        cached = pools.current_pool(SUBJECT, SYLLABUS, None)
        db.session.commit()
        bank_size = len(cached.pool)

        def timed(function, repeat):
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                function()
                times.append((time.perf_counter() - start) * 1000)
            return statistics.median(times)

        rng = random.Random(7)

        def domain():
            paper = assemble(spec, cached.pool, random.Random(rng.getrandbits(62)),
                             seen=frozenset(), chapter_weights=spec.weights, strict=True,
                             match_points=True, exposure=cached.exposure, papers=cached.papers,
                             max_exposure=max_exposure)
            assert len(paper) == 80

        def service():
            # What start_attempt reads and computes per MOCK draw before it writes.
            attempts.open_mock(candidate.id, SUBJECT)
            warm = pools.current_pool(SUBJECT, SYLLABUS, None)
            assert warm is cached
            seen = frozenset(warm.by_item[item_id].version_id for item_id in
                             attempts.seen_item_ids(candidate.id, SUBJECT)
                             if item_id in warm.by_item)
            paper = assemble(spec, warm.pool, random.Random(rng.getrandbits(62)), seen=seen,
                             chapter_weights=spec.weights, strict=True, match_points=True,
                             exposure=warm.exposure, papers=warm.papers,
                             max_exposure=max_exposure)
            assert len(paper) == 80
            db.session.commit()

        def whole():
            attempt = attempts.start_attempt(candidate.id, SUBJECT, Mode.MOCK, now=utcnow())
            assert len(attempt.items) == 80
            db.session.rollback()

        def cold():
            pools.forget()
            pools.current_pool(SUBJECT, SYLLABUS, None)
            db.session.commit()

        for _ in range(args.rounds):
            rounds["domain"].append(timed(domain, 200))
            rounds["service"].append(timed(service, 200))
            rounds["start_attempt"].append(timed(whole, 50))
            rounds["cold"].append(timed(cold, 3))
            cached = pools.current_pool(SUBJECT, SYLLABUS, None)
            db.session.commit()
        db.session.remove()
        db.engine.dispose()
    report["assembly"] = {"bank": bank_size, **rounds}


# Main ----------------------------------------------------------------------------------

def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def summary(report: dict) -> list[str]:
    lines = []
    for name in ("sqlite save", "postgresql save", "sqlite page", "sqlite paper"):
        if name not in report:
            continue
        runs = report[name]
        base_rps, ours_rps = median_of(runs["baseline"], "rps"), median_of(runs["portal"], "rps")
        base_p99, ours_p99 = (median_of(runs["baseline"], "p99_ms"),
                              median_of(runs["portal"], "p99_ms"))
        errors = sum(int(run["non2xx_or_err"]) for run in runs["portal"] + runs["baseline"])
        ratio = ours_rps / base_rps
        if name.endswith("save"):
            verdict = (f"req/s ratio {ratio:.2f}× (target ≥ 1.0×: "
                       f"{'met' if ratio >= 1.0 else 'MISSED'}), p99 ratio "
                       f"{ours_p99 / base_p99:.2f}× (target ≤ 1.2×: "
                       f"{'met' if ours_p99 <= 1.2 * base_p99 else 'MISSED'})")
        elif name.endswith("page"):
            verdict = f"ratio {ratio:.2f}× (target ≥ 0.5×: {'met' if ratio >= 0.5 else 'MISSED'})"
        else:
            verdict = f"ratio {ratio:.2f}× (no target: the questions' own URL, cacheable)"
        lines.append(f"{name}: baseline {base_rps:.0f} req/s p99 {base_p99:.1f} ms, portal "
                     f"{ours_rps:.0f} req/s p99 {ours_p99:.1f} ms (p50 "
                     f"{median_of(runs['portal'], 'p50_ms'):.1f} vs "
                     f"{median_of(runs['baseline'], 'p50_ms'):.1f} ms); {verdict}; "
                     f"non-2xx/errors {errors}")
        for label in (label for label in runs if label.startswith("what-if")):
            lines.append(f"  diagnostic {name} {label}: {median_of(runs[label], 'rps'):.0f} req/s"
                         f" ({median_of(runs[label], 'rps') / base_rps:.2f}× baseline), p99 "
                         f"{median_of(runs[label], 'p99_ms'):.1f} ms")
    for kind in ("sqlite", "postgresql"):
        found = report.get(f"{kind} assembly")
        if not found:
            continue
        med = {key: statistics.median(found[key])
               for key in ("domain", "service", "start_attempt", "cold")}
        lines.append(
            f"{kind} assembly, 80 items (60 SINGLE + 20 MULTI) from {found['bank']} published: "
            f"domain draw {med['domain']:.2f} ms, per-draw service path (warm pool) "
            f"{med['service']:.2f} ms (target ≤ 5 ms: "
            f"{'met' if med['service'] <= 5 else 'MISSED'}), whole start_attempt incl. "
            f"writing the paper {med['start_attempt']:.2f} ms, cold pool build "
            f"{med['cold']:.0f} ms; rounds "
            f"{json.dumps({k: [round(v, 2) for v in found[k]] for k in med})}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--items", type=int, default=100_000,
                        help="published items in the SQLite bank (assembly runs on it)")
    parser.add_argument("--pg-items", type=int, default=2_000,
                        help="published items in the PostgreSQL bank")
    parser.add_argument("--fresh-bank", action="store_true")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the portal's workers during one extra run of each")
    parser.add_argument("--what-if", action="append", default=[], metavar="SETTINGS",
                        help="also serve bench/whatif_app.py with WHAT_IF=SETTINGS (SQLite; "
                             "diagnostic, e.g. sync-normal or sync-normal,deferred-begin)")
    parser.add_argument("--source", default="HEAD",
                        help="commit to measure (exported to /tmp/bench-delivery/src-…), "
                             "or 'worktree'")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-assembly", action="store_true")
    args = parser.parse_args()
    WORKDIR.mkdir(exist_ok=True)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, nproc "
          f"{os.cpu_count()}, {cpu}, Python {platform.python_version()}, "
          f"{SOURCE}, {' '.join(sys.argv[1:])}", flush=True)
    report: dict = {"started": datetime.now(UTC).isoformat(), "argv": sys.argv[1:],
                    "source": SOURCE,
                    "nproc": os.cpu_count(), "cpu": cpu}
    for kind in kinds:
        cleanup = []
        try:
            if kind == "sqlite":
                portal_url, drop = sqlite_portal(args.items, args.fresh_bank)
                cleanup.append(drop)
                base_path = WORKDIR / f"baseline-{uuid.uuid4().hex[:8]}.db"
                baseline_url = f"sqlite:///{base_path}"
                cleanup.append(lambda p=base_path: [Path(f"{p}{s}").unlink(missing_ok=True)
                                                    for s in ("", "-wal", "-shm")])
            else:
                portal_url, drop = pg_database("bench_delivery")
                cleanup.append(drop)
                print(f"building the {args.pg_items}-item PostgreSQL bank", flush=True)
                build_bank(portal_url, args.pg_items)
                baseline_url, drop = pg_database("bench_baseline")
                cleanup.append(drop)
            subprocess.run([str(ROOT / ".venv/bin/python"), "db_app.py", "init"], cwd=BASELINE,
                           env={**os.environ, "DB_URL": baseline_url,
                                "PYTHONDONTWRITEBYTECODE": "1"},
                           check=True, capture_output=True)
            if not args.skip_http:
                attempt = start_mock(portal_url)
                print(f"  {kind}: attempt {attempt['attempt_id']} with {attempt['items']} items,"
                      f" deadline {attempt['deadline']}", flush=True)
                http_benchmarks(kind, portal_url, baseline_url, attempt, args, report)
            if not args.skip_assembly:
                assembly_benchmarks(portal_url, args, report)
                report[f"{kind} assembly"] = report.pop("assembly")
        finally:
            for drop in reversed(cleanup):
                drop()
    out = WORKDIR / f"results-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(f"# summary (medians of {args.rounds} interleaved rounds; raw figures in {out})")
    for line in summary(report):
        print(line)


if __name__ == "__main__":
    main()
