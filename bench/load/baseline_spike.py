"""The yardstick for run 8's hand-in spike: the fixed baseline app's bare save
(../shared/bench-baseline/db_app.py, served unchanged) under the same spike.

Usage:
  .venv/bin/python bench/load/baseline_spike.py [--requests 1000] [--spread 1.0]
                                                [--workers 4] [--repeat 3]

It serves `db_app:app` with gunicorn as run.py serves the portal (sync workers,
--backlog 4096, --timeout 30) on a private PostgreSQL database (dropped afterwards),
seeded with `db_app.py init`, and sends --requests `POST /save` (one SELECT by key, one
INSERT, COMMIT: no login, no ownership or deadline check, no marking) whose start times
are spread evenly over --spread seconds, each on its own connection, as run 8's
candidates hand in. It prints the p50, p99 and max of the requests and when the last
one was answered: what the same machine can do for the cheapest possible write.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "load"))

from client import Servers, http  # noqa: E402
from run import percentile  # noqa: E402 - the same p99 as run 8's

BASELINE = Path(os.environ.get("BENCH_BASELINE_DIR", ROOT.parent / "shared" / "bench-baseline"))
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _database() -> tuple[str, callable]:
    name = f"bench_spike_{uuid.uuid4().hex[:8]}"
    admin = PG_ADMIN.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(False), drop


def _serve(url: str, workers: int) -> tuple[subprocess.Popen, int]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--workers", str(workers), "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--backlog", "4096", "--timeout", "30",
         "--log-level", "warning", "--chdir", str(BASELINE), "db_app:app"],
        cwd=BASELINE, env={**os.environ, "DB_URL": url, "PYTHONDONTWRITEBYTECODE": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return process, port


async def _spike(port: int, count: int, spread: float) -> tuple[list[float], float, int]:
    servers = Servers([port])
    start = time.monotonic() + 0.5
    latencies, failed = [], 0

    async def one(number: int) -> None:
        nonlocal failed
        await asyncio.sleep(max(0.0, start + spread * number / count - time.monotonic()))
        began = time.monotonic()
        body = json.dumps({"question_id": 1 + number % 1000, "candidate_id": number,
                           "value": "B"}).encode()
        answer = await http(servers, "POST", "/save", body=body,
                            headers={"Content-Type": "application/json"})
        latencies.append((time.monotonic() - began) * 1000)
        failed += answer.status != 200

    await asyncio.gather(*(one(n) for n in range(count)))
    return latencies, time.monotonic() - start, failed


def _warm(port: int, workers: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        latencies, _, failed = asyncio.run(_spike(port, 4 * workers, 0.5))
        if not failed:
            return
        time.sleep(0.5)
    raise RuntimeError("the baseline app did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    url, drop = _database()
    process = None
    try:
        subprocess.run([str(ROOT / ".venv/bin/python"), "db_app.py", "init"], cwd=BASELINE,
                       env={**os.environ, "DB_URL": url, "PYTHONDONTWRITEBYTECODE": "1"},
                       check=True, capture_output=True)
        process, port = _serve(url, args.workers)
        _warm(port, args.workers)
        for run in range(1, args.repeat + 1):
            latencies, last, failed = asyncio.run(_spike(port, args.requests, args.spread))
            print(f"run {run}: {args.requests} bare saves over {args.spread:g} s, "
                  f"{args.workers} workers: p50 {percentile(latencies, 50):.0f} ms, "
                  f"p99 {percentile(latencies, 99):.0f} ms, max {max(latencies):.0f} ms, "
                  f"last answered "
                  f"{last:.2f} s after the first was sent, {failed} failed", flush=True)
            time.sleep(2)
    finally:
        if process is not None:
            process.terminate()
            process.wait(20)
        drop()


if __name__ == "__main__":
    main()
