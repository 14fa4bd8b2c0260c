"""Benchmark: do "forgot password" and sign-up answer as fast for a registered address
as for an unknown one, while the SMTP server is slow? (issue 15)

    .venv/bin/python bench/mail_enumeration.py [--db sqlite postgresql] [--pairs 300]
        [--smtp-delay 1.5] [--source DIR]

For each database: a private database (SQLite file, or a PostgreSQL database created and
dropped, never the test suite's), `flask db upgrade`, one candidate account whose
password hash uses the production scrypt cost; the portal under gunicorn (2 sync
workers, JOB_RUNNER=thread as without Redis, rate limits off so the figures are not
429s) with MAIL_BACKEND=smtp pointing at a local SMTP server that waits --smtp-delay
seconds before its greeting (as an overloaded or distant server would). A client
then posts, through HTTP with a form's CSRF token (a fresh visitor session for each
request), pairs of requests in random order:
"forgot password" for the registered address and for an unknown one, and sign-up for
the registered address and for a new one (a fresh address each time). It reports the
status codes and, per kind, the median and 90th percentile response time, the
difference of the medians with a bootstrap 95% interval, and the same difference
between two halves of the registered-address requests (A/A: the noise of the method).

--source serves another checkout of the portal (e.g. `git archive <commit>` unpacked
into a folder) with this checkout's virtualenv: the figures before the change.
"""

import argparse
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from http.cookiejar import CookieJar
from pathlib import Path

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bank import ROOT, database  # noqa: E402

sys.path.insert(0, str(ROOT))
from tests.smtp_server import FakeSMTP  # noqa: E402

KNOWN = "registered@bench.example.com"
PASSWORD = "bench passphrase long enough"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(url: str, source: Path, smtp_port: int) -> dict:
    env = {key: value for key, value in os.environ.items()
           if key not in ("REDIS_URL", "PORTAL_ENV", "JOB_RUNNER")}
    env.update({
        "DATABASE_URL": url, "SECRET_KEY": "bench-secret-not-for-production",
        "PYTHONPATH": str(source), "MAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port), "FLASK_SMTP_USE_TLS": "false",
        "FLASK_RATELIMIT_ENABLED": "false",
    })
    return env


def prepare(url: str, source: Path, env: dict) -> None:
    subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "exam_portal", "db", "upgrade"],
                   cwd=source, env=env, check=True, capture_output=True)
    now = datetime.now(UTC)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO users (email, password_hash, role, session_token, is_active, "
            "created_at, password_changed_at) VALUES (:email, :hash, 'candidate', 'bench', "
            ":active, :now, :now)"),
            {"email": KNOWN, "hash": generate_password_hash(PASSWORD, "scrypt"),
             "active": True, "now": now})
    engine.dispose()


class Server:
    def __init__(self, source: Path, env: dict, log: Path):
        self.port = _free_port()
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "-w", "2", "-b", f"127.0.0.1:{self.port}",
             "--timeout", "60", "--log-level", "warning", "exam_portal:create_app()"],
            cwd=source, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1).close()  # noqa: S310
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not answer: " + log.read_text()[-2000:])

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Visitor:
    """A browser session: cookies, the CSRF token of a form page, timed posts."""

    def __init__(self, base: str, form_path: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect())
        with self.opener.open(base + form_path, timeout=30) as response:
            page = response.read().decode()
        self.token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                               page).group(1)

    def post(self, path: str, form: dict) -> tuple[int, float]:
        data = urllib.parse.urlencode({**form, "csrf_token": self.token}).encode()
        request = urllib.request.Request(self.base + path, data=data, method="POST")  # noqa: S310
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=60) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            error.read()
            status = error.code
        return status, (time.perf_counter() - started) * 1000


def _percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _median_difference(first, second, rng) -> tuple[float, float, float]:
    """Median of *first* minus median of *second*, with a bootstrap 95% interval."""
    point = statistics.median(first) - statistics.median(second)
    resampled = sorted(
        statistics.median(rng.choices(first, k=len(first)))
        - statistics.median(rng.choices(second, k=len(second)))
        for _ in range(2000))
    return point, resampled[50], resampled[1949]


def measure(base: str, pairs: int, rng: random.Random) -> dict:
    kinds = {
        "forgot password": ("/auth/forgot-password",
                            lambda n: {"email": KNOWN},
                            lambda n: {"email": f"ghost{n}@bench.example.com"}),
        "sign-up": ("/auth/sign-up",
                    # The fields of the old sign-up form too (the new one takes the address).
                    lambda n: {"email": KNOWN, "password": PASSWORD, "confirm": PASSWORD},
                    lambda n: {"email": f"new{n}@bench.example.com", "password": PASSWORD,
                               "confirm": PASSWORD}),
    }
    results = {}
    for name, (path, known_form, unknown_form) in kinds.items():
        for n in range(10):  # warm-up: workers, connections, caches
            Visitor(base, path).post(path, known_form(n))
            Visitor(base, path).post(path, unknown_form(10_000 + n))
        timings = {"known": [], "unknown": []}
        statuses = {"known": set(), "unknown": set()}
        for n in range(pairs):
            order = ["known", "unknown"]
            rng.shuffle(order)
            for which in order:
                form = known_form(n) if which == "known" else unknown_form(n)
                # A visitor each (the old sign-up logged the new account in, which
                # ended the session and its CSRF token).
                status, elapsed = Visitor(base, path).post(path, form)
                timings[which].append(elapsed)
                statuses[which].add(status)
        results[name] = (timings, statuses)
    return results


def report(kind: str, results: dict, rng: random.Random) -> list[str]:
    lines = []
    for name, (timings, statuses) in results.items():
        known, unknown = timings["known"], timings["unknown"]
        difference, low, high = _median_difference(known, unknown, rng)
        a_a, a_low, a_high = _median_difference(known[0::2], known[1::2], rng)
        lines.append(
            f"| {kind} | {name} | {len(known)} + {len(unknown)} | "
            f"{sorted(statuses['known'])} / {sorted(statuses['unknown'])} | "
            f"{statistics.median(known):.1f} / {_percentile(known, 0.9):.1f} | "
            f"{statistics.median(unknown):.1f} / {_percentile(unknown, 0.9):.1f} | "
            f"{difference:+.2f} [{low:+.2f}, {high:+.2f}] | "
            f"{a_a:+.2f} [{a_low:+.2f}, {a_high:+.2f}] |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"],
                        choices=["sqlite", "postgresql"])
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--smtp-delay", type=float, default=1.5)
    parser.add_argument("--source", type=Path, default=ROOT)
    args = parser.parse_args()
    source = args.source.resolve()
    rng = random.Random(15)
    print(f"machine: {platform.platform()}, nproc {os.cpu_count()}, "
          f"Python {platform.python_version()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
          f"source {source}; SMTP greeting delay {args.smtp_delay} s")
    print("| DB | request | n (registered + unknown) | statuses registered / unknown | "
          "registered median / p90 ms | unknown median / p90 ms | "
          "median difference ms [95% CI] | A/A difference ms [95% CI] |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as workdir, \
            FakeSMTP(greeting_delay=args.smtp_delay) as smtp:
        for kind in args.db:
            url, drop = database(kind, Path(workdir))
            try:
                env = _environment(url, source, smtp.port)
                prepare(url, source, env)
                server = Server(source, env, Path(workdir) / f"gunicorn-{kind}.log")
                try:
                    results = measure(server.base, args.pairs, rng)
                finally:
                    server.stop()
                for line in report(kind, results, rng):
                    print(line, flush=True)
            finally:
                drop()


if __name__ == "__main__":
    main()
